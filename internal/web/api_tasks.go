package web

import (
	"net/http"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/playbook"
)

// playbookJSON is a playbook as the API shows it, both languages side by side.
type playbookJSON struct {
	ID        string        `json:"id"`
	Category  core.Category `json:"category"`
	InfoType  core.InfoType `json:"info_type,omitempty"`
	TitleJA   string        `json:"title_ja"`
	TitleEN   string        `json:"title_en"`
	SummaryJA string        `json:"summary_ja"`
	SummaryEN string        `json:"summary_en"`
	Tasks     []taskJSON    `json:"tasks"`
}

type taskJSON struct {
	ID         string     `json:"id"`
	Phase      core.Phase `json:"phase"`
	TitleJA    string     `json:"title_ja"`
	TitleEN    string     `json:"title_en"`
	GuidanceJA string     `json:"guidance_ja"`
	GuidanceEN string     `json:"guidance_en"`
	Role       string     `json:"role"`
	DueAfter   string     `json:"due_after,omitempty"`
	Blocking   bool       `json:"blocking"`
}

func playbookOut(p *playbook.Playbook) playbookJSON {
	out := playbookJSON{ID: p.ID, Category: p.Category, InfoType: p.InfoType, TitleJA: p.Title.Ja, TitleEN: p.Title.En,
		SummaryJA: p.Summary.Ja, SummaryEN: p.Summary.En, Tasks: []taskJSON{}}
	for _, t := range p.Tasks {
		tj := taskJSON{ID: t.ID, Phase: t.Phase, TitleJA: t.Title.Ja, TitleEN: t.Title.En, GuidanceJA: t.Guidance.Ja,
			GuidanceEN: t.Guidance.En, Role: string(t.Role), Blocking: t.Blocking}
		if t.DueAfter > 0 {
			tj.DueAfter = t.DueAfter.String()
		}
		out.Tasks = append(out.Tasks, tj)
	}
	return out
}

// listPlaybooks is readable by every signed-in user: the procedures are
// not secret, and a reporter may read what will happen to their report.
func (s *Server) listPlaybooks(w http.ResponseWriter, r *http.Request) error {
	var items []playbookJSON
	for _, p := range s.app.Playbooks() {
		items = append(items, playbookOut(p))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(items)})
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) error {
	tasks, err := s.app.Tasks(r.Context(), actorFrom(r), r.PathValue("key"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(tasks)})
}

func (s *Server) createTask(w http.ResponseWriter, r *http.Request) error {
	var in app.NewTask
	if err := decode(w, r, &in); err != nil {
		return err
	}
	t, err := s.app.CreateTask(r.Context(), actorFrom(r), r.PathValue("key"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, t)
}

func (s *Server) updateTask(w http.ResponseWriter, r *http.Request) error {
	var patch core.TaskPatch
	if err := decode(w, r, &patch); err != nil {
		return err
	}
	t, err := s.app.UpdateTask(r.Context(), actorFrom(r), r.PathValue("key"), r.PathValue("task"), patch)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

// completeTask is the one-click "done" of a task.
func (s *Server) completeTask(w http.ResponseWriter, r *http.Request) error {
	patch := core.TaskPatch{Status: core.Opt[core.TaskStatus]{Set: true, Value: core.TaskDone}}
	t, err := s.app.UpdateTask(r.Context(), actorFrom(r), r.PathValue("key"), r.PathValue("task"), patch)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}
