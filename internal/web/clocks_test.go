package web

import (
	"net/http"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

type clockList struct {
	Items []struct {
		Incident  string    `json:"incident"`
		RuleID    string    `json:"rule_id"`
		Due       time.Time `json:"due"`
		State     string    `json:"state"`
		Reference string    `json:"reference"`
		By        string    `json:"by"`
	} `json:"items"`
}

func (c clockList) find(rule string) (int, bool) {
	for i, it := range c.Items {
		if it.RuleID == rule {
			return i, true
		}
	}
	return 0, false
}

// TestLegalClocks: a personal-data leak of more than 1,000 people starts
// the APPI clocks; a changed flag moves them; recording a submission is
// audited; the cross-incident list shows what is due.
func TestLegalClocks(t *testing.T) {
	env := newTestEnv(t)
	key := env.mustCreate("analyst", map[string]any{
		"title": "顧客情報の漏えい", "category": "data_leak", "info_type": "personal",
		"detected_at": "2026-01-31T23:30:00+09:00",
		"flags":       map[string]any{"personal_data": true, "people_affected": 1200},
	})
	other := env.mustCreate("analyst", map[string]any{"title": "no personal data", "category": "dos"})
	var cl clockList
	if r := env.call("analyst", "GET", "/api/v1/incidents/"+key+"/clocks", nil); r.status != 200 {
		t.Fatalf("clocks: %d %s", r.status, r.body)
	} else {
		r.json(t, &cl)
	}
	jst := time.FixedZone("JST", 9*3600)
	i, ok := cl.find("appi-ppc-final")
	if !ok {
		t.Fatalf("no PPC final clock: %+v", cl.Items)
	}
	firstDue := cl.Items[i].Due
	if firstDue.In(jst).Month() != time.March || cl.Items[i].State != "overdue" {
		t.Errorf("final report due %s (%s), want early March 2026 and overdue by now", firstDue.In(jst), cl.Items[i].State)
	}
	if _, ok := cl.find("appi-ppc-preliminary"); !ok {
		t.Errorf("no PPC preliminary clock: %+v", cl.Items)
	}
	var none clockList
	env.call("analyst", "GET", "/api/v1/incidents/"+other+"/clocks", nil).json(t, &none)
	if len(none.Items) != 0 {
		t.Errorf("an incident without personal data has clocks: %+v", none.Items)
	}
	// Unlawful purpose gives the final report 60 days instead of 30.
	if r := env.call("analyst", "PATCH", "/api/v1/incidents/"+key, `{"flags":{"malicious_intent":true}}`); r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	env.call("analyst", "GET", "/api/v1/incidents/"+key+"/clocks", nil).json(t, &cl)
	i, _ = cl.find("appi-ppc-final")
	if got := cl.Items[i].Due.Sub(firstDue); got != 30*24*time.Hour {
		t.Errorf("malicious intent moved the final report by %s, want 30 days", got)
	}
	// Recording.
	before := env.eventCount()
	for _, tc := range []struct {
		as, rule, body string
		status         int
	}{
		{"viewer", "appi-ppc-preliminary", `{"state":"submitted"}`, 403},
		{"reporter", "appi-ppc-preliminary", `{"state":"submitted"}`, 404},
		{"analyst", "appi-ppc-preliminary", `{"state":"done"}`, 422},
		{"analyst", "appi-ppc-preliminary", `{"state":"not_required"}`, 422},
		{"analyst", "appi-ppc-preliminary", `{"state":"submitted","at":"2099-01-01T00:00:00Z"}`, 422},
		{"analyst", "gdpr-art33-authority", `{"state":"submitted"}`, 404},
		{"analyst", "appi-ppc-preliminary", `{"state":"submitted","reference":"PPC-2026-000123"}`, 200},
	} {
		if r := env.call(tc.as, "POST", "/api/v1/incidents/"+key+"/clocks/"+tc.rule, tc.body); r.status != tc.status {
			t.Errorf("%s %s %s: %d, want %d: %s", tc.as, tc.rule, tc.body, r.status, tc.status, r.body)
		}
	}
	if after := env.eventCount(); after != before+1 {
		t.Errorf("%d events for one recorded clock", after-before)
	}
	env.call("viewer", "GET", "/api/v1/incidents/"+key+"/clocks", nil).json(t, &cl)
	i, _ = cl.find("appi-ppc-preliminary")
	if it := cl.Items[i]; it.State != "submitted" || it.Reference != "PPC-2026-000123" || it.By != "analyst" {
		t.Errorf("recorded clock: %+v", it)
	}
	var tl timelineResponse
	env.call("viewer", "GET", "/api/v1/incidents/"+key+"/timeline", nil).json(t, &tl)
	if last := tl.Items[len(tl.Items)-1]; last.Type != core.EvClockRecorded {
		t.Errorf("last event %s, want %s", last.Type, core.EvClockRecorded)
	}
	// Across incidents: the overdue final report is listed, the submitted
	// preliminary one is not; reporters may not look.
	var due clockList
	if r := env.call("lead", "GET", "/api/v1/clocks?due_within=24h", nil); r.status != 200 {
		t.Fatalf("due clocks: %d %s", r.status, r.body)
	} else {
		r.json(t, &due)
	}
	if _, ok := due.find("appi-ppc-final"); !ok {
		t.Errorf("overdue final report not listed: %+v", due.Items)
	}
	if _, ok := due.find("appi-ppc-preliminary"); ok {
		t.Errorf("a submitted clock is listed as due")
	}
	for _, tc := range []struct {
		as, q  string
		status int
	}{{"reporter", "", 403}, {"lead", "?due_within=soon", 400}, {"lead", "?within=1h", 400}} {
		if r := env.call(tc.as, "GET", "/api/v1/clocks"+tc.q, nil); r.status != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.as, tc.q, r.status, tc.status)
		}
	}
	// Restricted incidents' clocks stay with their members.
	secret := env.mustCreate("admin", map[string]any{"title": "内部不正による持ち出し", "category": "insider", "restricted": true,
		"flags": map[string]any{"personal_data": true, "sensitive_personal_data": true}})
	env.call("lead", "GET", "/api/v1/clocks?due_within=8760h", nil).json(t, &due)
	for _, it := range due.Items {
		if it.Incident == secret {
			t.Fatalf("a restricted incident's clock leaked to a non-member: %+v", it)
		}
	}
	if r := env.call("lead", "GET", "/api/v1/incidents/"+secret+"/clocks", nil); r.status != http.StatusNotFound {
		t.Errorf("restricted clocks for a non-member: %d", r.status)
	}
}
