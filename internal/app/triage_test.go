package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/triage"
)

// withRules gives an app the rules of a file, as serve --rules does.
func withRules(tb testing.TB, doc string) (*App, *clock) {
	tb.Helper()
	a, c := newApp(tb, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC))
	rules, err := triage.LoadFile("rules.yaml", []byte(doc))
	if err != nil {
		tb.Fatal(err)
	}
	a.cfg.TriageRules = rules
	return a, c
}

func ingestOne(tb testing.TB, a *App, body string) IngestResult {
	tb.Helper()
	res, err := a.IngestAlerts(context.Background(), SystemActor, "native", []byte(body))
	if err != nil {
		tb.Fatal(err)
	}
	return res[0]
}

func alertOf(tb testing.TB, a *App, id int64) *core.Alert {
	tb.Helper()
	al, err := a.GetAlert(context.Background(), SystemActor, id)
	if err != nil {
		tb.Fatal(err)
	}
	return al
}

// ruleEvents lists the payloads of events of a type made by a rule.
func ruleEvents(tb testing.TB, a *App, typ, rule string) []string {
	tb.Helper()
	var out []string
	if _, _, err := a.store.ScanEvents(context.Background(), func(ev *core.Event) error {
		if ev.Type == typ && ev.Actor == "triage:"+rule && strings.Contains(string(ev.Payload), `"rule":"`+rule+`"`) {
			out = append(out, string(ev.Payload))
		}
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestTriagePromoteAtIntake(t *testing.T) {
	a, _ := withRules(t, `rules:
  - id: ransom
    name: Ransomware note
    conditions: {title: "*ransom*", severity: ">= S2"}
    actions: [{promote: {category: ransomware}}, {set_severity: S1}]
`)
	r := ingestOne(t, a, `{"title":"Ransom note found","severity":"S2","host":"fs-01","src_ip":"198.51.100.7"}`)
	al := alertOf(t, a, r.ID)
	if al.Status != core.AlertPromoted || al.Severity != core.S1 || al.IncidentKey == "" {
		t.Fatalf("alert %+v", al)
	}
	inc, err := a.GetIncident(context.Background(), SystemActor, al.IncidentKey)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Category != core.CatRansomware || inc.Severity != core.S1 || len(inc.Phases) != 1 || inc.Phases[0].EnteredBy != "triage:ransom" || inc.Phase != core.PhaseDetect {
		t.Errorf("incident %+v", inc)
	}
	if len(ruleEvents(t, a, core.EvAlertPromoted, "ransom")) != 1 || len(ruleEvents(t, a, core.EvAlertSeverityChanged, "ransom")) != 1 {
		t.Error("promotion events do not name the rule")
	}
	// The incident's observables make the next alert's "seen in an incident" true.
	a.cfg.TriageRules = mustRules(t, `rules:
  - id: known
    name: Known address
    conditions: {observable_in_incident: [ip]}
    actions: [{attach: {by: [observable]}}]
`)
	a.triage.set.Store(nil)
	r2 := ingestOne(t, a, `{"title":"Beacon","src_ip":"198.51.100.7"}`)
	if al2 := alertOf(t, a, r2.ID); al2.Status != core.AlertPromoted || al2.IncidentKey != inc.Key {
		t.Errorf("attached alert %+v", al2)
	}
	if len(ruleEvents(t, a, core.EvAlertAttached, "known")) != 1 {
		t.Error("attach event does not name the rule")
	}
	r3 := ingestOne(t, a, `{"title":"Other","src_ip":"192.0.2.1"}`)
	if al3 := alertOf(t, a, r3.ID); al3.Status != core.AlertNew {
		t.Errorf("unrelated alert %s", al3.Status)
	}
}

func mustRules(tb testing.TB, doc string) []*triage.Rule {
	tb.Helper()
	rules, err := triage.LoadFile("rules.yaml", []byte(doc))
	if err != nil {
		tb.Fatal(err)
	}
	return rules
}

// Attach by host: an open incident with an alert from the same host.
func TestTriageAttachByHost(t *testing.T) {
	a, _ := withRules(t, `rules:
  - id: same-host
    name: Same host
    conditions: {format: native}
    actions: [{attach: {by: [host]}}]
`)
	first := ingestOne(t, a, `{"title":"First","host":"pc-7"}`)
	if al := alertOf(t, a, first.ID); al.Status != core.AlertNew {
		t.Fatalf("nothing to attach to, yet %s", al.Status)
	}
	_, inc, err := a.PromoteAlert(context.Background(), SystemActor, first.ID, PromoteInput{})
	if err != nil {
		t.Fatal(err)
	}
	second := ingestOne(t, a, `{"title":"Second","host":"pc-7"}`)
	if al := alertOf(t, a, second.ID); al.IncidentKey != inc.Key {
		t.Errorf("second alert attached to %q, want %s", al.IncidentKey, inc.Key)
	}
}

// A count rule fires on the repeat that reaches its threshold, within
// its window only, and acts once.
func TestTriageCountWindow(t *testing.T) {
	a, c := withRules(t, `rules:
  - id: flood
    name: Repeated login failures
    conditions: {count: {at_least: 3, within: 10m}}
    actions: [{set_severity: S1}]
`)
	body := `{"title":"Login failed","host":"vpn","rule_id":"5710"}`
	id := ingestOne(t, a, body).ID
	c.advance(11 * time.Minute)
	ingestOne(t, a, body)
	c.advance(time.Minute)
	if al := alertOf(t, a, id); al.Severity != core.S3 || al.Count != 2 {
		t.Fatalf("after 2 (one out of the window): %s count %d", al.Severity, al.Count)
	}
	ingestOne(t, a, body)
	if al := alertOf(t, a, id); al.Severity != core.S3 {
		t.Fatalf("2 within the window fired the rule")
	}
	ingestOne(t, a, body)
	ingestOne(t, a, body)
	if al := alertOf(t, a, id); al.Severity != core.S1 || al.Count != 5 {
		t.Errorf("after 3 within the window: %s count %d", al.Severity, al.Count)
	}
	if n := len(ruleEvents(t, a, core.EvAlertSeverityChanged, "flood")); n != 1 {
		t.Errorf("%d severity events, want 1", n)
	}
}

// With continue both rules act; without, the first match ends it.
func TestTriageContinueAtIntake(t *testing.T) {
	a, _ := withRules(t, `rules:
  - {id: a, name: A, continue: true, conditions: {host: "web-*"}, actions: [{set_severity: S2}]}
  - {id: b, name: B, actions: [{suppress: {reason: "web noise"}}]}
  - {id: c, name: C, actions: [{set_severity: S4}]}
`)
	al := alertOf(t, a, ingestOne(t, a, `{"title":"x","host":"web-9"}`).ID)
	if al.Severity != core.S2 || al.Status != core.AlertSuppressed || al.SuppressedUntil != nil {
		t.Errorf("alert %+v", al)
	}
	if a.triage.expiring.Load() {
		t.Error("a suppression without expiry marked expiring suppressions")
	}
}

// With no rules, intake evaluates nothing and loads the (empty) rule set once.
func TestTriageNoRules(t *testing.T) {
	a, _ := newApp(t, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC))
	ingestOne(t, a, `{"title":"x"}`)
	set := a.triage.set.Load()
	if set == nil || set.Active() {
		t.Fatalf("rule set %v", set)
	}
	ingestOne(t, a, `{"title":"x"}`)
	if a.triage.set.Load() != set {
		t.Error("the rule set was loaded again")
	}
	// An assignee who does not exist is skipped, not an intake failure.
	a.cfg.TriageRules = mustRules(t, "rules: [{id: a, name: A, actions: [{assign: ghost}]}]")
	a.triage.set.Store(nil)
	if al := alertOf(t, a, ingestOne(t, a, `{"title":"y"}`).ID); al.Assignee != "" {
		t.Errorf("assigned to %q", al.Assignee)
	}
}

// TestTriageRuleFromAnotherNode: two nodes share one database. A rule
// added through one node's API applies at once there, and on the other
// node once its cached rule set is older than triageCacheTTL, without a
// restart.
func TestTriageRuleFromAnotherNode(t *testing.T) {
	ctx := context.Background()
	nodeA, c := newApp(t, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC))
	nodeB := New(nodeA.store, nodeA.log, c.now, nodeA.cfg)
	if al := alertOf(t, nodeB, ingestOne(t, nodeB, `{"title":"before","host":"db-1"}`).ID); al.Status != core.AlertNew {
		t.Fatalf("before any rule: %+v", al)
	}
	if _, err := nodeA.CreateTriageRule(ctx, SystemActor, []byte(`{"id":"quiet-db","name":"Quiet DB","conditions":{"host":"db-*"},"actions":[{"suppress":{"reason":"maintenance"}}]}`)); err != nil {
		t.Fatal(err)
	}
	if al := alertOf(t, nodeA, ingestOne(t, nodeA, `{"title":"on A","host":"db-2"}`).ID); al.Status != core.AlertSuppressed {
		t.Errorf("node A, right after its own change: status %s, want suppressed", al.Status)
	}
	if al := alertOf(t, nodeB, ingestOne(t, nodeB, `{"title":"on B, cached","host":"db-3"}`).ID); al.Status != core.AlertNew {
		t.Errorf("node B within the cache period: status %s (the test means to show the cache)", al.Status)
	}
	c.advance(triageCacheTTL)
	if al := alertOf(t, nodeB, ingestOne(t, nodeB, `{"title":"on B, later","host":"db-4"}`).ID); al.Status != core.AlertSuppressed {
		t.Errorf("node B after %s: status %s, want suppressed by the rule made on node A", triageCacheTTL, al.Status)
	}
}
