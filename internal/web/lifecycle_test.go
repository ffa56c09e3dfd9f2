package web

import (
	"net/http"
	"testing"

	"github.com/irdesk/irdesk/internal/core"
)

// TestSixStepLifecycle walks an incident through the whole response flow,
// with a re-infection, and checks what each step records.
func TestSixStepLifecycle(t *testing.T) {
	env := newTestEnv(t)
	key := env.mustCreate("reporter", map[string]any{
		"title": "不審なメールの添付を開いた", "category": "malware",
		"facts": map[string]any{"occurred_at": "2026-11-20T09:00:00+09:00", "location": "本社 経理部", "how_found": "本人の申告"},
	})
	get := func() core.Incident {
		t.Helper()
		var inc core.Incident
		r := env.call("lead", "GET", "/api/v1/incidents/"+key, nil)
		if r.status != http.StatusOK {
			t.Fatalf("get: %d %s", r.status, r.body)
		}
		r.json(t, &inc)
		return inc
	}
	step := func(as, method, path string, body any, want int) {
		t.Helper()
		if path == "/phase" && want == 200 {
			env.finishBlocking(key, get().Phase)
		}
		if r := env.call(as, method, "/api/v1/incidents/"+key+path, body); r.status != want {
			t.Fatalf("%s %s as %s: %d, want %d: %s", method, path, as, r.status, want, r.body)
		}
	}
	inc := get()
	if inc.Phase != core.PhaseDetect || inc.Timestamps.AcknowledgedAt != nil || inc.Reporter != "reporter" || inc.Priority != core.P3 {
		t.Fatalf("new report: %+v", inc)
	}
	// The analyst takes it: that acknowledges it.
	step("analyst", "POST", "/assign", map[string]any{"user": "analyst"}, 200)
	if inc = get(); inc.Timestamps.AcknowledgedAt == nil || inc.Assignee != "analyst" {
		t.Fatalf("after taking it: %+v", inc.Timestamps)
	}
	step("analyst", "PATCH", "", map[string]any{"severity": "S2", "impact": 2, "urgency": 1, "cause_class": "external_attack"}, 200)
	if inc = get(); inc.Priority != core.P1 || inc.Severity != core.S2 {
		t.Fatalf("triage judgement: %s %s", inc.Priority, inc.Severity)
	}
	for _, ph := range []core.Phase{core.PhaseTriage, core.PhaseInvestigate, core.PhaseContain} {
		step("analyst", "POST", "/phase", map[string]any{"to": ph}, 200)
	}
	step("analyst", "POST", "/actions", map[string]any{"description": "端末をネットワークから隔離(電源は切らない)", "tool": "EDR"}, 201)
	// The owner carries over from phase to phase until someone reassigns.
	if inc = get(); inc.Assignee != "analyst" || len(inc.PhaseAssignees) != 4 {
		t.Fatalf("owners: %q %+v", inc.Assignee, inc.PhaseAssignees)
	}
	step("lead", "POST", "/assign", map[string]any{"user": "analyst2", "phase": "recover"}, 200)
	step("analyst", "POST", "/phase", map[string]any{"to": "recover"}, 200)
	inc = get()
	if inc.Timestamps.ContainedAt == nil || inc.Timestamps.EradicatedAt == nil || inc.Assignee != "analyst2" {
		t.Fatalf("after containment: assignee %q, %+v", inc.Assignee, inc.Timestamps)
	}
	// Re-infection: back to contain needs a reason.
	step("analyst", "POST", "/phase", map[string]any{"to": "contain"}, 422)
	step("analyst", "POST", "/phase", map[string]any{"to": "contain", "reason": "再感染を検知"}, 200)
	step("analyst", "POST", "/phase", map[string]any{"to": "recover"}, 200)
	step("analyst", "POST", "/phase", map[string]any{"to": "review"}, 200)
	if inc = get(); inc.Timestamps.RecoveredAt == nil {
		t.Fatalf("recovered_at not set")
	}
	// Closing needs the review written and a lead.
	step("lead", "POST", "/phase", map[string]any{"to": "closed"}, 422)
	step("analyst", "PATCH", "", map[string]any{"root_cause": "マクロ付き添付ファイル", "lessons_learned": "報告が早く被害が小さかった",
		"prevention_measures": "マクロの既定無効化、訓練"}, 200)
	step("analyst", "POST", "/phase", map[string]any{"to": "closed"}, 403)
	step("lead", "POST", "/phase", map[string]any{"to": "closed"}, 200)
	inc = get()
	if inc.Phase != core.PhaseClosed || inc.Timestamps.ClosedAt == nil {
		t.Fatalf("closed: %+v", inc)
	}
	wantPeriods := []core.Phase{"detect", "triage", "investigate", "contain", "recover", "contain", "recover", "review"}
	if len(inc.Phases) != len(wantPeriods) {
		t.Fatalf("periods %+v", inc.Phases)
	}
	for i, p := range inc.Phases {
		if p.Phase != wantPeriods[i] || p.LeftAt == nil || p.LeftAt.Before(p.EnteredAt) {
			t.Errorf("period %d: %+v, want %s, left", i, p, wantPeriods[i])
		}
	}
	if inc.Phases[5].Reason != "再感染を検知" {
		t.Errorf("the reason for going back was not kept: %+v", inc.Phases[5])
	}
	// Reopening is a move back: a lead, with a reason; it clears closed_at.
	step("lead", "POST", "/phase", map[string]any{"to": "investigate", "reason": "新たな被害端末"}, 200)
	if inc = get(); inc.Timestamps.ClosedAt != nil || inc.Phase != core.PhaseInvestigate {
		t.Fatalf("reopened: %+v", inc)
	}
	// The timeline tells the whole story, in order, from the audit events.
	var tl timelineResponse
	env.call("viewer", "GET", "/api/v1/incidents/"+key+"/timeline", nil).json(t, &tl)
	counts := map[string]int{}
	for _, ev := range tl.Items {
		counts[ev.Type]++
	}
	want := map[string]int{core.EvIncidentCreated: 1, core.EvAssigned: 2, core.EvIncidentUpdated: 2, core.EvPhaseChanged: 9, core.EvActionRecorded: 1}
	for typ, n := range want {
		if counts[typ] != n {
			t.Errorf("%d %s events, want %d (%v)", counts[typ], typ, n, counts)
		}
	}
	if tl.Items[0].Type != core.EvIncidentCreated || tl.Items[0].Actor != "reporter" {
		t.Errorf("first event %+v", tl.Items[0])
	}
	// Paging through the timeline gives the same events.
	var page1, page2 timelineResponse
	env.call("viewer", "GET", "/api/v1/incidents/"+key+"/timeline?limit=5", nil).json(t, &page1)
	env.call("viewer", "GET", "/api/v1/incidents/"+key+"/timeline?limit=500&after="+itoa(page1.NextAfter), nil).json(t, &page2)
	if len(page1.Items) != 5 || len(page1.Items)+len(page2.Items) != len(tl.Items) || page2.Items[0].ID != tl.Items[5].ID {
		t.Errorf("timeline paging: %d + %d of %d", len(page1.Items), len(page2.Items), len(tl.Items))
	}
}

// TestListPagingAndFilters pages through a list with cursors and checks
// the filters against what was created.
func TestListPagingAndFilters(t *testing.T) {
	env := newTestEnv(t)
	var keys []string
	for i := range 23 {
		sev := []string{"S1", "S2", "S3", "S4"}[i%4]
		cat := []string{"phishing", "ransomware", "misdelivery"}[i%3]
		keys = append(keys, env.mustCreate("analyst", map[string]any{"title": "案件 " + itoa(int64(i)), "severity": sev, "category": cat}))
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		var list incidentList
		path := "/api/v1/incidents?limit=5"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := env.call("viewer", "GET", path, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		r.json(t, &list)
		for _, inc := range list.Items {
			seen = append(seen, inc.Key)
		}
		if list.NextCursor == "" {
			break
		}
		cursor = list.NextCursor
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != len(keys) {
		t.Fatalf("paged %d, created %d", len(seen), len(keys))
	}
	for i := range seen {
		if seen[i] != keys[len(keys)-1-i] {
			t.Fatalf("position %d: %s, want %s (newest first, no gap, no repeat)", i, seen[i], keys[len(keys)-1-i])
		}
	}
	count := func(q string) int {
		var list incidentList
		env.call("viewer", "GET", "/api/v1/incidents?limit=200&"+q, nil).json(t, &list)
		return len(list.Items)
	}
	tests := []struct {
		query string
		want  int
	}{
		{"severity=S1", 6}, {"severity=S1,S2", 12}, {"severity=S1&severity=S2", 12},
		{"category=ransomware", 8}, {"category=ransomware&severity=S2", 2},
		{"phase=detect", 23}, {"phase=triage", 0}, {"open=true", 23}, {"open=false", 0},
		{"assignee=none", 23}, {"assignee=analyst", 0}, {"assignee=nobody", 0}, {"reporter=analyst", 23}, {"reporter=lead", 0},
		{"q=案件", 23}, {"q=案件+7", 1}, {"created_after=2000-01-01", 23}, {"created_before=2000-01-01", 0},
	}
	for _, tt := range tests {
		if got := count(tt.query); got != tt.want {
			t.Errorf("%s: %d incidents, want %d", tt.query, got, tt.want)
		}
	}
}
