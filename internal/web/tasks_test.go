package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

type taskList struct{ Items []core.Task }

func (l taskList) get(id string) (core.Task, bool) {
	for _, t := range l.Items {
		if t.ID == id {
			return t, true
		}
	}
	return core.Task{}, false
}

func TestPlaybookTasks(t *testing.T) {
	env := newTestEnv(t)
	key := env.mustCreate("analyst", map[string]any{"title": "身代金要求の画面が出た", "category": "ransomware"})
	tasks := func() taskList {
		t.Helper()
		var l taskList
		r := env.call("analyst", "GET", "/api/v1/incidents/"+key+"/tasks", nil)
		if r.status != 200 {
			t.Fatalf("tasks: %d %s", r.status, r.body)
		}
		r.json(t, &l)
		return l
	}
	l := tasks()
	if len(l.Items) < 10 || !strings.HasPrefix(l.Items[0].ID, "ransomware:") {
		t.Fatalf("ransomware playbook tasks: %+v", l.Items)
	}
	var blocking []core.Task
	for _, tk := range l.Items {
		if tk.Phase == core.PhaseDetect && tk.Blocking {
			blocking = append(blocking, tk)
		}
		if tk.Status != core.TaskTodo || tk.TitleJA == "" || tk.TitleEN == "" {
			t.Errorf("fresh task %+v", tk)
		}
	}
	if len(blocking) == 0 || blocking[0].DueAt == nil {
		t.Fatalf("no blocking detect task with a due time: %+v", blocking)
	}
	// Leaving the phase waits for its blocking tasks, and says which.
	r := env.call("analyst", "POST", "/api/v1/incidents/"+key+"/phase", `{"to":"triage"}`)
	if r.status != http.StatusConflict || !strings.Contains(string(r.body), blocking[0].ID) {
		t.Fatalf("move with open blocking tasks: %d %s", r.status, r.body)
	}
	before := env.eventCount()
	for i, tk := range blocking {
		path := "/api/v1/incidents/" + key + "/tasks/" + tk.ID
		if i == 0 {
			if r := env.call("analyst", "PATCH", path, `{"status":"skipped"}`); r.status != 422 {
				t.Errorf("skip without reason: %d %s", r.status, r.body)
			}
			if r := env.call("viewer", "PATCH", path, `{"status":"done"}`); r.status != 403 {
				t.Errorf("viewer changes a task: %d", r.status)
			}
			if r := env.call("analyst", "PATCH", path, `{"status":"skipped","skip_reason":"本人が既に報告済み"}`); r.status != 200 {
				t.Fatalf("skip: %d %s", r.status, r.body)
			}
			continue
		}
		if r := env.call("analyst", "POST", path+"/complete", nil); r.status != 200 {
			t.Fatalf("complete: %d %s", r.status, r.body)
		}
	}
	if got := env.eventCount() - before; got != int64(len(blocking)) {
		t.Errorf("%d events for %d task changes", got, len(blocking))
	}
	if r := env.call("analyst", "POST", "/api/v1/incidents/"+key+"/phase", `{"to":"triage"}`); r.status != 200 {
		t.Fatalf("move after the blocking tasks: %d %s", r.status, r.body)
	}
	// Work one triage task, then change the category: what was finished
	// stays, what was under way is skipped, the new playbook's steps come.
	l = tasks()
	var doing, done string
	for _, tk := range l.Items {
		if tk.Phase == core.PhaseTriage && doing == "" {
			doing = tk.ID
		} else if tk.Phase == core.PhaseTriage && done == "" {
			done = tk.ID
		}
	}
	env.call("analyst", "PATCH", "/api/v1/incidents/"+key+"/tasks/"+doing, `{"status":"doing","assignee":"analyst2","checklist":[{"text":"EDRで隔離"},{"text":"LAN抜線","done":true}]}`)
	env.call("analyst", "POST", "/api/v1/incidents/"+key+"/tasks/"+done+"/complete", nil)
	if r := env.call("analyst", "PATCH", "/api/v1/incidents/"+key, `{"category":"malware"}`); r.status != 200 {
		t.Fatalf("category change: %d %s", r.status, r.body)
	}
	l = tasks()
	if tk, ok := l.get(done); !ok || tk.Status != core.TaskDone {
		t.Errorf("finished task of the old playbook: %+v %v", tk, ok)
	}
	if tk, ok := l.get(doing); !ok || tk.Status != core.TaskSkipped || !strings.Contains(tk.SkipReason, "malware") || tk.Assignee != "analyst2" || len(tk.Checklist) != 2 {
		t.Errorf("unfinished task of the old playbook: %+v %v", tk, ok)
	}
	if !strings.HasPrefix(l.Items[0].ID, "malware:") {
		t.Errorf("new playbook first: %s", l.Items[0].ID)
	}
	// Tasks added by hand.
	r = env.call("analyst", "POST", "/api/v1/incidents/"+key+"/tasks", map[string]any{"title": "経理部へ連絡", "assignee": "viewer"})
	if r.status != 422 {
		t.Errorf("a viewer as assignee: %d", r.status)
	}
	due := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	r = env.call("lead", "POST", "/api/v1/incidents/"+key+"/tasks", map[string]any{"title": "経理部へ連絡", "assignee": "analyst", "due_at": due, "checklist": []string{"電話", "メール"}})
	var adhoc core.Task
	if r.status != 201 {
		t.Fatalf("ad-hoc task: %d %s", r.status, r.body)
	}
	r.json(t, &adhoc)
	if !strings.HasPrefix(adhoc.ID, "t") || adhoc.Phase != core.PhaseTriage || adhoc.Assignee != "analyst" || !adhoc.DueAt.Equal(due) || len(adhoc.Checklist) != 2 {
		t.Errorf("ad-hoc task %+v", adhoc)
	}
	if tk, ok := tasks().get(adhoc.ID); !ok || tk.TitleJA != "経理部へ連絡" {
		t.Errorf("ad-hoc task not listed: %+v", tk)
	}
	if r := env.call("analyst", "PATCH", "/api/v1/incidents/"+key+"/tasks/nope:none", `{"status":"done"}`); r.status != 404 {
		t.Errorf("unknown task: %d", r.status)
	}
	// Who may look.
	if r := env.call("reporter", "GET", "/api/v1/incidents/"+key+"/tasks", nil); r.status != 404 {
		t.Errorf("another's reporter: %d", r.status)
	}
	var pbs struct {
		Items []struct {
			ID    string
			Tasks []struct{ ID string }
		}
	}
	if r := env.call("reporter", "GET", "/api/v1/playbooks", nil); r.status != 200 {
		t.Fatalf("playbooks: %d", r.status)
	} else {
		r.json(t, &pbs)
	}
	if len(pbs.Items) < len(core.Categories)+3 {
		t.Errorf("%d playbooks", len(pbs.Items))
	}
}

// A personal-data leak gets the personal-information playbook.
func TestLeakTypePlaybook(t *testing.T) {
	env := newTestEnv(t)
	key := env.mustCreate("analyst", map[string]any{"title": "顧客名簿の流出", "category": "data_leak", "info_type": "personal"})
	var l taskList
	env.call("analyst", "GET", "/api/v1/incidents/"+key+"/tasks", nil).json(t, &l)
	if len(l.Items) == 0 || !strings.HasPrefix(l.Items[0].ID, "data_leak-personal:") {
		t.Fatalf("tasks %+v", l.Items)
	}
}
