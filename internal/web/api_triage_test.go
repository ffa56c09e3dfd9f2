package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/metrics"
	"github.com/irdesk/irdesk/internal/store"
	"github.com/irdesk/irdesk/internal/triage"
)

// testClock is a time tests move forward instead of sleeping.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newTriageEnv is newTestEnv with triage rules from a file and a clock.
func newTriageEnv(tb testing.TB, rulesFile string) (*testEnv, *testClock) {
	tb.Helper()
	ctx := context.Background()
	clk := &testClock{t: time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)}
	var rules []*triage.Rule
	if rulesFile != "" {
		var err error
		if rules, err = triage.LoadFile("rules.yaml", []byte(rulesFile)); err != nil {
			tb.Fatal(err)
		}
	}
	st, err := store.OpenSQLite(ctx, tb.TempDir(), store.Options{Now: clk.now})
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := app.New(st, log, clk.now, app.Config{TriageRules: rules, PasswordParams: auth.Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32}})
	srv := httptest.NewServer(New(a, log, metrics.NewRegistry(), Config{}))
	tb.Cleanup(func() {
		srv.Close()
		if err := st.Close(); err != nil {
			tb.Error(err)
		}
	})
	env := &testEnv{t: tb, url: srv.URL, app: a, store: st, tokens: map[string]string{}, client: srv.Client()}
	for _, u := range testUsers {
		if _, _, err := a.CreateUser(ctx, app.SystemActor, app.NewUser{Name: u.name, Role: u.role, Password: testPassword}); err != nil {
			tb.Fatal(err)
		}
		_, secret, err := a.CreateToken(ctx, app.SystemActor, u.name, "test", 0)
		if err != nil {
			tb.Fatal(err)
		}
		env.tokens[u.name] = secret
	}
	return env, clk
}

// eventsOfType lists the audit events of a type, oldest first.
func (e *testEnv) eventsOfType(typ string) []core.Event {
	e.t.Helper()
	var out []core.Event
	if _, _, err := e.store.ScanEvents(context.Background(), func(ev *core.Event) error {
		if ev.Type == typ {
			out = append(out, *ev)
		}
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

const fileRules = `rules:
  - id: scanner
    name: Nightly scanner
    conditions: {host: "scan-*"}
    actions: [{suppress: {reason: "scheduled scan", for: 1h}}]
`

func TestTriageRulesAPI(t *testing.T) {
	env, _ := newTriageEnv(t, fileRules)
	rule := map[string]any{"id": "db-critical", "name": "Database hosts", "conditions": map[string]any{"host": []string{"db-*"}},
		"actions": []any{map[string]any{"set_severity": "S1"}, map[string]any{"assign": "analyst"}}}
	changed := map[string]any{"id": "db-critical", "name": "Database hosts (renamed)", "actions": []any{map[string]any{"set_severity": "S2"}}}
	steps := []struct {
		name, as, method, path string
		body                   any
		status                 int
		contains               string
		events                 int64
	}{
		{"viewer may not read", "viewer", "GET", "/api/v1/triage/rules", nil, 403, "", 0},
		{"reporter may not read", "reporter", "GET", "/api/v1/triage/rules", nil, 403, "", 0},
		{"analyst reads the file rule", "analyst", "GET", "/api/v1/triage/rules", nil, 200, `"read_only":true`, 0},
		{"analyst may not create", "analyst", "POST", "/api/v1/triage/rules", rule, 403, "", 0},
		{"lead creates", "lead", "POST", "/api/v1/triage/rules", rule, 201, `"db-critical"`, 1},
		{"the same id again", "admin", "POST", "/api/v1/triage/rules", rule, 409, "", 0},
		{"the id of a file rule", "admin", "POST", "/api/v1/triage/rules", map[string]any{"id": "scanner", "name": "x", "actions": []any{map[string]any{"set_severity": "S1"}}}, 409, "rules file", 0},
		{"every problem at once", "lead", "POST", "/api/v1/triage/rules", map[string]any{"id": "Bad", "conditions": map[string]any{"severity": ">= S9"}, "actions": []any{}}, 422, "conditions.severity", 0},
		{"unknown field", "lead", "POST", "/api/v1/triage/rules", map[string]any{"id": "x", "name": "x", "colour": 1, "actions": []any{map[string]any{"set_severity": "S1"}}}, 422, "colour: unknown field", 0},
		{"an assignee who does not exist", "lead", "POST", "/api/v1/triage/rules", map[string]any{"id": "x", "name": "x", "actions": []any{map[string]any{"assign": "nobody"}}}, 422, `"field":"actions[0].assign"`, 0},
		{"not an object", "lead", "POST", "/api/v1/triage/rules", `[1]`, 400, "", 0},
		{"malformed JSON", "lead", "POST", "/api/v1/triage/rules", `{"id":`, 400, "", 0},
		{"analyst may not change", "analyst", "PUT", "/api/v1/triage/rules/db-critical", changed, 403, "", 0},
		{"lead changes", "lead", "PUT", "/api/v1/triage/rules/db-critical", changed, 200, "renamed", 1},
		{"id differs from the URL", "lead", "PUT", "/api/v1/triage/rules/other", changed, 422, `"field":"id"`, 0},
		{"change a missing rule", "lead", "PUT", "/api/v1/triage/rules/db-critical2", map[string]any{"id": "db-critical2", "name": "x", "actions": []any{map[string]any{"set_severity": "S1"}}}, 404, "", 0},
		{"a file rule is read-only", "admin", "PUT", "/api/v1/triage/rules/scanner", map[string]any{"id": "scanner", "name": "x", "actions": []any{map[string]any{"set_severity": "S1"}}}, 409, "rules file", 0},
		{"a file rule cannot be deleted", "admin", "DELETE", "/api/v1/triage/rules/scanner", nil, 409, "", 0},
		{"analyst may not delete", "analyst", "DELETE", "/api/v1/triage/rules/db-critical", nil, 403, "", 0},
		{"lead deletes", "lead", "DELETE", "/api/v1/triage/rules/db-critical", nil, 204, "", 1},
		{"delete twice", "lead", "DELETE", "/api/v1/triage/rules/db-critical", nil, 404, "", 0},
	}
	for _, st := range steps {
		before := env.eventCount()
		r := env.call(st.as, st.method, st.path, st.body)
		if r.status != st.status {
			t.Fatalf("%s: status %d, want %d: %s", st.name, r.status, st.status, r.body)
		}
		if st.contains != "" && !strings.Contains(string(r.body), st.contains) {
			t.Errorf("%s: %s lacks %s", st.name, r.body, st.contains)
		}
		if got := env.eventCount() - before; got != st.events {
			t.Errorf("%s: %d events, want %d", st.name, got, st.events)
		}
	}
	for typ, n := range map[string]int{core.EvTriageRuleCreated: 1, core.EvTriageRuleUpdated: 1, core.EvTriageRuleDeleted: 1} {
		evs := env.eventsOfType(typ)
		if len(evs) != n || !strings.Contains(string(evs[0].Payload), `"rule":"db-critical"`) || evs[0].Actor != "lead" {
			t.Errorf("%s events: %+v", typ, evs)
		}
	}
	var list struct {
		Items []struct{ ID, Source string }
	}
	env.call("analyst", "GET", "/api/v1/triage/rules", nil).json(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != "scanner" || list.Items[0].Source != triage.SourceFile {
		t.Errorf("rules after delete: %+v", list.Items)
	}
}

// Rules made through the API apply to the next alert, each action an
// audit event naming the rule.
func TestTriageAtIntakeThroughAPI(t *testing.T) {
	env, clk := newTriageEnv(t, fileRules)
	env.call("lead", "POST", "/api/v1/triage/rules", map[string]any{"id": "db", "name": "Database hosts", "order": 5,
		"conditions": map[string]any{"host": "db-*"}, "actions": []any{map[string]any{"set_severity": "S1"}, map[string]any{"assign": "analyst"}}})
	rep := env.ingestOK("analyst", "/api/v1/alerts", `[{"title":"db","host":"db-01","severity":"S3"},{"title":"scan","host":"scan-7"},{"title":"other","host":"web-1"}]`)
	db, scan, other := env.getAlert(rep.Items[0].ID), env.getAlert(rep.Items[1].ID), env.getAlert(rep.Items[2].ID)
	if db.Severity != core.S1 || db.Assignee != "analyst" || db.Status != core.AlertNew {
		t.Errorf("db alert %+v", db)
	}
	if scan.Status != core.AlertSuppressed || scan.SuppressReason != "scheduled scan" || scan.SuppressedUntil == nil ||
		scan.SuppressedUntil.Sub(clk.now().Add(time.Hour)).Abs() > time.Millisecond {
		t.Errorf("scan alert %+v", scan)
	}
	if other.Status != core.AlertNew || other.Severity != core.S3 || other.Assignee != "" {
		t.Errorf("other alert %+v", other)
	}
	for _, tc := range []struct{ typ, rule string }{
		{core.EvAlertSeverityChanged, "db"}, {core.EvAlertAssigned, "db"}, {core.EvAlertSuppressed, "scanner"}} {
		evs := env.eventsOfType(tc.typ)
		if len(evs) != 1 || !strings.Contains(string(evs[0].Payload), `"rule":"`+tc.rule+`"`) || evs[0].Actor != "triage:"+tc.rule {
			t.Errorf("%s: %+v", tc.typ, evs)
		}
	}
	// Repeats of the suppressed alert count; after the expiry, one reopens it.
	clk.advance(30 * time.Minute)
	env.ingestOK("analyst", "/api/v1/alerts", `{"title":"scan","host":"scan-7"}`)
	if al := env.getAlert(scan.ID); al.Status != core.AlertSuppressed || al.Count != 2 {
		t.Errorf("repeat within suppression: %s count %d", al.Status, al.Count)
	}
	clk.advance(31 * time.Minute)
	env.ingestOK("analyst", "/api/v1/alerts", `{"title":"scan","host":"scan-7"}`)
	if al := env.getAlert(scan.ID); al.Status != core.AlertNew || al.Count != 3 || al.SuppressedUntil != nil {
		t.Errorf("repeat after expiry: %+v", al)
	}
	if evs := env.eventsOfType(core.EvAlertUnsuppressed); len(evs) != 1 {
		t.Errorf("unsuppressed events: %d", len(evs))
	}
}

func TestTriageDryRun(t *testing.T) {
	env, _ := newTriageEnv(t, fileRules)
	id := env.ingestOK("analyst", "/api/v1/alerts", `{"title":"web","host":"web-1","severity":"S2"}`).Items[0].ID
	rule := map[string]any{"id": "t", "name": "T", "conditions": map[string]any{"severity": ">= S2", "count": map[string]any{"at_least": 2, "within": "1h"}},
		"actions": []any{map[string]any{"promote": map[string]any{"category": "malware"}}}}
	before := env.eventCount()
	alertsBefore := env.alertCount()
	cases := []struct {
		name   string
		as     string
		body   any
		status int
		want   []string
	}{
		{"posted alert counts itself: 1 stored + 1", "analyst", map[string]any{"rule": rule, "alert": map[string]any{"title": "web", "host": "web-1", "severity": "S2"}}, 200, []string{"t"}},
		{"stored alert: count 1 is not enough", "analyst", map[string]any{"rule": rule, "alert_id": id}, 200, nil},
		{"the whole set on a scanner alert", "analyst", map[string]any{"alert": map[string]any{"title": "x", "host": "scan-1"}}, 200, []string{"scanner"}},
		{"a file rule by id", "analyst", map[string]any{"rule_id": "scanner", "alert": map[string]any{"title": "x", "host": "web-1"}}, 200, nil},
		{"a tool's payload", "analyst", map[string]any{"rule_id": "scanner", "format": "suricata", "alert": map[string]any{"event_type": "alert", "src_ip": "10.0.0.1", "dest_ip": "10.0.0.2", "alert": map[string]any{"signature": "x", "signature_id": 1}}}, 200, nil},
		{"viewer may not", "viewer", map[string]any{"rule_id": "scanner", "alert_id": id}, 403, nil},
		{"unknown rule id", "analyst", map[string]any{"rule_id": "nope", "alert_id": id}, 404, nil},
		{"missing alert", "analyst", map[string]any{"rule_id": "scanner", "alert_id": 99999}, 404, nil},
		{"no alert", "analyst", map[string]any{"rule_id": "scanner"}, 422, nil},
		{"both alerts", "analyst", map[string]any{"alert_id": id, "alert": map[string]any{"title": "x"}}, 422, nil},
		{"invalid rule", "analyst", map[string]any{"rule": map[string]any{"id": "x"}, "alert_id": id}, 422, nil},
		{"unparseable alert", "analyst", map[string]any{"rule_id": "scanner", "alert": map[string]any{"title": 5}}, 422, nil},
	}
	for _, tc := range cases {
		r := env.call(tc.as, "POST", "/api/v1/triage/rules/test", tc.body)
		if r.status != tc.status {
			t.Fatalf("%s: %d %s", tc.name, r.status, r.body)
		}
		if r.status != 200 {
			continue
		}
		var res triage.Result
		r.json(t, &res)
		if !slices.Equal(res.Matched, tc.want) && !(len(res.Matched) == 0 && len(tc.want) == 0) {
			t.Errorf("%s: matched %v, want %v (%s)", tc.name, res.Matched, tc.want, r.body)
		}
	}
	if env.eventCount() != before || env.alertCount() != alertsBefore {
		t.Error("a dry run wrote something")
	}
}

func TestBulkAlerts(t *testing.T) {
	env, _ := newTriageEnv(t, "")
	var ids []int64
	for i := range 6 {
		host := "web-1"
		if i >= 3 {
			host = "db-1"
		}
		ids = append(ids, env.ingestOK("analyst", "/api/v1/alerts", fmt.Sprintf(`{"title":"alert %d","host":%q,"severity":"S%d"}`, i, host, 4-i%3)).Items[0].ID)
	}
	key := env.mustCreate("lead", map[string]any{"title": "Open incident"})
	bad := []struct {
		name   string
		as     string
		body   any
		status int
		field  string
	}{
		{"viewer", "viewer", map[string]any{"action": "acknowledge", "ids": ids}, 403, ""},
		{"unknown action", "analyst", map[string]any{"action": "delete", "ids": ids}, 422, "action"},
		{"no action", "analyst", map[string]any{"ids": ids}, 422, "action"},
		{"no alerts", "analyst", map[string]any{"action": "acknowledge"}, 422, "ids"},
		{"ids and filter", "analyst", map[string]any{"action": "acknowledge", "ids": ids, "filter": map[string]any{}}, 422, "ids"},
		{"close without reason", "analyst", map[string]any{"action": "close", "ids": ids}, 422, "reason"},
		{"close with a bad reason", "analyst", map[string]any{"action": "close", "ids": ids, "reason": "meh"}, 422, "reason"},
		{"suppress without reason", "analyst", map[string]any{"action": "suppress", "ids": ids}, 422, "reason"},
		{"suppress with a bad duration", "analyst", map[string]any{"action": "suppress", "ids": ids, "reason": "x", "for": "soon"}, 422, "for"},
		{"attach to a malformed key", "analyst", map[string]any{"action": "attach", "ids": ids, "incident": "nope"}, 422, "incident"},
		{"attach to a missing incident", "analyst", map[string]any{"action": "attach", "ids": ids, "incident": "INC-2026-9999"}, 404, ""},
		{"promote with a bad category", "analyst", map[string]any{"action": "promote", "ids": ids, "category": "aliens"}, 422, "category"},
		{"an argument of another action", "analyst", map[string]any{"action": "acknowledge", "ids": ids, "incident": key}, 422, "incident"},
		{"a bad filter", "analyst", map[string]any{"action": "acknowledge", "filter": map[string]any{"status": "sleeping"}}, 400, "filter.status"},
		{"an unknown filter", "analyst", map[string]any{"action": "acknowledge", "filter": map[string]any{"colour": "red"}}, 400, "filter.colour"},
		{"a paging filter", "analyst", map[string]any{"action": "acknowledge", "filter": map[string]any{"limit": "5"}}, 400, "filter.limit"},
		{"a bad id", "analyst", map[string]any{"action": "acknowledge", "ids": []int64{0}}, 422, "ids"},
		{"too many ids", "analyst", map[string]any{"action": "acknowledge", "ids": make([]int64, app.MaxBulk+1)}, 422, "ids"},
		{"unknown field", "analyst", map[string]any{"action": "acknowledge", "ids": ids, "why": 1}, 400, ""},
	}
	for _, tc := range bad {
		before := env.eventCount()
		r := env.call(tc.as, "POST", "/api/v1/alerts/bulk", tc.body)
		if r.status != tc.status {
			t.Fatalf("%s: %d %s", tc.name, r.status, r.body)
		}
		if tc.field != "" && !strings.Contains(string(r.body), `"field":"`+tc.field+`"`) {
			t.Errorf("%s: %s does not name %s", tc.name, r.body, tc.field)
		}
		if env.eventCount() != before {
			t.Errorf("%s: wrote events", tc.name)
		}
	}
	for _, id := range ids {
		if al := env.getAlert(id); al.Status != core.AlertNew {
			t.Fatalf("alert %d is %s after refused requests", id, al.Status)
		}
	}

	type result struct {
		Changed  int
		Incident *core.Incident
		Items    []app.BulkItem
	}
	do := func(body any) result {
		t.Helper()
		r := env.call("analyst", "POST", "/api/v1/alerts/bulk", body)
		if r.status != 200 {
			t.Fatalf("bulk %v: %d %s", body, r.status, r.body)
		}
		var res result
		r.json(t, &res)
		return res
	}
	outcomes := func(res result) []string {
		var out []string
		for _, it := range res.Items {
			out = append(out, it.Outcome)
		}
		return out
	}
	// By ids, with a repeat and a missing one.
	before := env.eventCount()
	res := do(map[string]any{"action": "acknowledge", "ids": []int64{ids[0], ids[1], ids[0], 99999}})
	if want := []string{"changed", "changed", "not_found"}; !slices.Equal(outcomes(res), want) || res.Changed != 2 {
		t.Errorf("acknowledge: %+v", res)
	}
	if got := env.eventCount() - before; got != 2 {
		t.Errorf("acknowledge wrote %d events, want one per alert changed", got)
	}
	res = do(map[string]any{"action": "acknowledge", "ids": ids[:3]})
	if want := []string{"unchanged", "unchanged", "changed"}; !slices.Equal(outcomes(res), want) {
		t.Errorf("acknowledge again: %v", outcomes(res))
	}
	// By filter: the db-1 alerts, newest first.
	before = env.eventCount()
	res = do(map[string]any{"action": "suppress", "filter": map[string]any{"host": "db-1"}, "reason": "known noise", "for": "2h"})
	if res.Changed != 3 || res.Items[0].ID != ids[5] {
		t.Errorf("suppress by filter: %+v", res)
	}
	evs := env.eventsOfType(core.EvAlertSuppressed)
	if env.eventCount()-before != 3 || len(evs) != 3 || !strings.Contains(string(evs[0].Payload), `"bulk":true`) {
		t.Errorf("suppress events: %+v", evs)
	}
	if al := env.getAlert(ids[4]); al.Status != core.AlertSuppressed || al.SuppressReason != "known noise" || al.SuppressedUntil == nil {
		t.Errorf("suppressed alert %+v", al)
	}
	// Promote: one incident for the promotable ones, the rest conflicts.
	res = do(map[string]any{"action": "promote", "ids": []int64{ids[0], ids[1], ids[3]}, "category": "malware"})
	if want := []string{"changed", "changed", "conflict"}; !slices.Equal(outcomes(res), want) || res.Incident == nil {
		t.Fatalf("promote: %+v", res)
	}
	inc := res.Incident
	if inc.Category != core.CatMalware || inc.Title != "alert 0" || inc.Severity != core.S3 || !slices.Equal(inc.AffectedSystems, []string{"web-1"}) {
		t.Errorf("promoted incident %+v", inc)
	}
	for _, id := range ids[:2] {
		if al := env.getAlert(id); al.Status != core.AlertPromoted || al.IncidentKey != inc.Key {
			t.Errorf("alert %d: %s %s", id, al.Status, al.IncidentKey)
		}
	}
	var tl struct{ Items []core.Event }
	env.call("analyst", "GET", "/api/v1/incidents/"+inc.Key+"/timeline", nil).json(t, &tl)
	var types []string
	for _, ev := range tl.Items {
		types = append(types, ev.Type)
	}
	if !slices.Equal(types, []string{core.EvIncidentCreated, core.EvAlertPromoted, core.EvAlertPromoted}) {
		t.Errorf("timeline %v", types)
	}
	// Attach and close the rest.
	res = do(map[string]any{"action": "attach", "ids": []int64{ids[2], ids[0]}, "incident": key})
	if want := []string{"changed", "conflict"}; !slices.Equal(outcomes(res), want) {
		t.Errorf("attach: %v", outcomes(res))
	}
	res = do(map[string]any{"action": "close", "filter": map[string]any{"status": []string{"suppressed"}}, "reason": "benign"})
	if res.Changed != 3 {
		t.Errorf("close suppressed: %+v", res)
	}
	var js json.RawMessage = env.call("analyst", "GET", "/api/v1/alerts?status=new", nil).body
	if strings.Contains(string(js), `"id"`) {
		t.Errorf("alerts left new: %s", js)
	}
}
