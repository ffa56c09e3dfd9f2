package triage

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
)

// history is an Env over a fixed past: the observables on incidents and
// the occurrence times per count key.
type history struct {
	inIncident map[ingest.Observable]bool
	byFP       map[string][]time.Time
	byRuleHost map[string][]time.Time
	calls      int
}

func (h *history) ObservableInIncident(o ingest.Observable) (bool, error) {
	h.calls++
	return h.inIncident[o], nil
}

func (h *history) CountOccurrences(of string, al *ingest.Alert, since time.Time) (int64, error) {
	h.calls++
	var times []time.Time
	switch of {
	case CountFingerprint:
		times = h.byFP[al.Fingerprint]
	case CountRuleHost:
		times = h.byRuleHost[al.Source+"|"+al.RuleID+"|"+al.Host]
	default:
		return 0, errors.New("unknown count")
	}
	var n int64
	for _, t := range times {
		if !t.Before(since) {
			n++
		}
	}
	return n, nil
}

var now = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

func sample() *ingest.Alert {
	return &ingest.Alert{
		Source: "wazuh", Severity: core.S2, RuleID: "5710", RuleName: "sshd: attempt to login using a non-existent user",
		Title: "SSH brute force", Host: "web-01", User: "root", Fingerprint: "fp1",
		Observables: []ingest.Observable{{Type: "host", Value: "web-01"}, {Type: "ip", Value: "203.0.113.9"}},
	}
}

func mustSet(t *testing.T, doc string) *Set {
	t.Helper()
	rules, err := LoadFile("rules.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	s, err := NewSet(rules...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Each condition, alone, on a matching and a non-matching alert.
func TestConditions(t *testing.T) {
	h := &history{
		inIncident: map[ingest.Observable]bool{{Type: "ip", Value: "203.0.113.9"}: true},
		byFP:       map[string][]time.Time{"fp1": {now.Add(-2 * time.Hour), now.Add(-30 * time.Minute), now.Add(-time.Minute), now}},
		byRuleHost: map[string][]time.Time{"wazuh|5710|web-01": {now.Add(-time.Minute), now}},
	}
	tests := []struct {
		name, cond string
		change     func(*ingest.Alert)
		want       bool
	}{
		{"format list", `format: [suricata, wazuh]`, nil, true},
		{"format other", `format: suricata`, nil, false},
		{"rule_id glob", `rule_id: "57*"`, nil, true},
		{"rule_id glob no", `rule_id: "58*"`, nil, false},
		{"rule_id regexp", `rule_id: 're:^57\d\d$'`, nil, true},
		{"rule_id regexp no", `rule_id: 're:^57\d$'`, nil, false},
		{"rule_name glob any of", `rule_name: ["*malware*", "sshd:*"]`, nil, true},
		{"title glob case-insensitive", `title: "ssh brute*"`, nil, true},
		{"title regexp case-sensitive", `title: "re:^ssh"`, nil, false},
		{"title question mark", `title: "SSH brute forc?"`, nil, true},
		{"severity list", `severity: [S1, S2]`, nil, true},
		{"severity list no", `severity: [S3]`, nil, false},
		{"severity >= S2", `severity: ">= S2"`, nil, true},
		{"severity > S2", `severity: "> S2"`, nil, false},
		{"severity <= S3 of S4", `severity: "<= S3"`, func(a *ingest.Alert) { a.Severity = core.S4 }, true},
		{"severity single", `severity: S2`, nil, true},
		{"host list", `host: [db-01, WEB-01]`, nil, true},
		{"host glob", `host: "web-*"`, nil, true},
		{"host no", `host: [db-01]`, nil, false},
		{"host empty alert", `host: ["*"]`, func(a *ingest.Alert) { a.Host = "" }, true},
		{"user list", `user: [root, admin]`, nil, true},
		{"user no", `user: [alice]`, nil, false},
		{"observable in incident any", `observable_in_incident: true`, nil, true},
		{"observable in incident of type", `observable_in_incident: [ip]`, nil, true},
		{"observable in incident other type", `observable_in_incident: [domain, hash]`, nil, false},
		{"observable never seen", `observable_in_incident: true`, func(a *ingest.Alert) { a.Observables = a.Observables[:1] }, false},
		{"count fingerprint met", `count: {at_least: 3, within: 1h}`, nil, true},
		{"count fingerprint window too short", `count: {at_least: 3, within: 10m}`, nil, false},
		{"count fingerprint whole window", `count: {at_least: 4, within: 1d}`, nil, true},
		{"count rule_host met", `count: {at_least: 2, within: 5m, of: rule_host}`, nil, true},
		{"count rule_host not met", `count: {at_least: 3, within: 5m, of: rule_host}`, nil, false},
		{"count rule_host without rule id", `count: {at_least: 1, within: 5m, of: rule_host}`, func(a *ingest.Alert) { a.RuleID = "" }, false},
		{"all together", "format: wazuh\nseverity: \">= S3\"\nhost: web-01\ncount: {at_least: 2, within: 1h}", nil, true},
		{"no conditions", `{}`, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := "rules:\n  - id: r\n    name: R\n    conditions:\n" + indent(tc.cond, 6) + "    actions: [{set_severity: S1}]\n"
			s := mustSet(t, doc)
			al := sample()
			if tc.change != nil {
				tc.change(al)
			}
			got, err := s.Rules()[0].Match(al, h, now)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func indent(s string, n int) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		b.WriteString(strings.Repeat(" ", n) + line + "\n")
	}
	return b.String()
}

// Cheap conditions are checked first: a rule that fails on its format
// never asks the database.
func TestEnvOnlyWhenNeeded(t *testing.T) {
	s := mustSet(t, `rules:
  - {id: r, name: R, conditions: {format: cef, count: {at_least: 1, within: 1h}, observable_in_incident: true}, actions: [{set_severity: S1}]}
`)
	h := &history{}
	if _, err := s.Evaluate(sample(), h, now, false); err != nil {
		t.Fatal(err)
	}
	if h.calls != 0 {
		t.Errorf("%d lookups for a rule whose format does not match", h.calls)
	}
}

// Evaluation order, first match, continue, terminal actions, disabled
// rules, repeats and expired suppression windows.
func TestEvaluate(t *testing.T) {
	h := &history{byFP: map[string][]time.Time{"fp1": {now.Add(-time.Minute), now}}}
	tests := []struct {
		name   string
		rules  string
		repeat bool
		want   []string // rule:kind
	}{
		{"first match wins", `
  - {id: a, name: A, actions: [{set_severity: S1}]}
  - {id: b, name: B, actions: [{assign: alice}]}`, false, []string{"a:set_severity"}},
		{"continue lets the next apply", `
  - {id: a, name: A, continue: true, actions: [{set_severity: S1}]}
  - {id: b, name: B, conditions: {host: nope}, actions: [{assign: bob}]}
  - {id: c, name: C, actions: [{assign: alice}]}
  - {id: d, name: D, actions: [{assign: carol}]}`, false, []string{"a:set_severity", "c:assign"}},
		{"order sorts before file position", `
  - {id: a, name: A, order: 20, actions: [{set_severity: S1}]}
  - {id: b, name: B, order: 10, actions: [{assign: alice}]}`, false, []string{"b:assign"}},
		{"disabled rules are skipped", `
  - {id: a, name: A, enabled: false, actions: [{set_severity: S1}]}
  - {id: b, name: B, actions: [{assign: alice}]}`, false, []string{"b:assign"}},
		{"a terminal action ends it despite continue", `
  - {id: a, name: A, continue: true, actions: [{suppress: {reason: noise, for: 1h}}]}
  - {id: b, name: B, actions: [{assign: alice}]}`, false, []string{"a:suppress"}},
		{"the terminal action runs last", `
  - {id: a, name: A, actions: [{promote: {category: malware}}, {set_severity: S1}, {assign: alice}]}`, false,
			[]string{"a:set_severity", "a:assign", "a:promote"}},
		{"repeats see only count rules", `
  - {id: a, name: A, actions: [{set_severity: S4}]}
  - {id: b, name: B, conditions: {count: {at_least: 2, within: 1h}}, actions: [{promote: {severity: S1}}]}`, true, []string{"b:promote"}},
		{"new alerts see every rule", `
  - {id: a, name: A, actions: [{set_severity: S4}]}
  - {id: b, name: B, conditions: {count: {at_least: 2, within: 1h}}, actions: [{promote: {severity: S1}}]}`, false, []string{"a:set_severity"}},
		{"a suppression window that is over suppresses nothing", `
  - {id: a, name: A, actions: [{suppress: {reason: maintenance, until: "2026-11-01T00:00:00Z"}}]}`, false, nil},
		{"a suppression window still open", `
  - {id: a, name: A, actions: [{suppress: {reason: maintenance, until: "2026-12-01"}}]}`, false, []string{"a:suppress"}},
		{"nothing matches", `
  - {id: a, name: A, conditions: {format: cef}, actions: [{set_severity: S1}]}`, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSet(t, "rules:"+tc.rules+"\n")
			res, err := s.Evaluate(sample(), h, now, tc.repeat)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range res.Decisions {
				got = append(got, d.RuleID+":"+d.Action.Kind)
				if d.RuleName != strings.ToUpper(d.RuleID) {
					t.Errorf("decision names rule %q", d.RuleName)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("decisions %v, want %v", got, tc.want)
			}
		})
	}
}

// File rules come before API rules of the same order; ids are unique
// across both.
func TestSetOrderAndConflicts(t *testing.T) {
	file, err := LoadFile("rules.yaml", []byte("rules:\n  - {id: z, name: Z, actions: [{assign: a}]}\n  - {id: y, name: Y, actions: [{assign: a}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	api, err := ParseRule("request", []byte(`{"id": "b", "name": "B", "actions": [{"assign": "a"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	api2, _ := ParseRule("request", []byte(`{"id": "a", "name": "A", "order": -1, "actions": [{"assign": "a"}]}`))
	s, err := NewSet(append(file, api, api2)...)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range s.Rules() {
		ids = append(ids, r.ID+"/"+r.Source)
	}
	if want := []string{"a/api", "z/file", "y/file", "b/api"}; !slices.Equal(ids, want) {
		t.Errorf("order %v, want %v", ids, want)
	}
	dup, _ := ParseRule("request", []byte(`{"id": "z", "name": "Z", "actions": [{"assign": "a"}]}`))
	if _, err := NewSet(append(file, dup)...); !errors.Is(err, core.ErrConflict) {
		t.Errorf("duplicate id across file and API: %v", err)
	}
	if (&Set{}).Active() || s.HasCountRules() || !s.Active() {
		t.Error("Active/HasCountRules wrong")
	}
}

// A rule written out as JSON reads back the same.
func TestJSONRoundTrip(t *testing.T) {
	rules, err := LoadFile("rules.yaml", []byte(fullRules))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		data, err := r.Stored()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseRule("db", data)
		if err != nil {
			t.Fatalf("%s: %v\n%s", r.ID, err, data)
		}
		again, _ := back.Stored()
		if string(again) != string(data) {
			t.Errorf("%s: round trip\n%s\n%s", r.ID, data, again)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil || m["source"] != nil {
			t.Errorf("stored form %s", data)
		}
	}
}

const fullRules = `# every field
rules:
  - id: noisy-scanner
    name: Internal vulnerability scanner
    description: Qualys scans every night.
    order: 10
    conditions:
      format: [suricata, cef]
      rule_id: ["2010935", "re:^20109[0-9]{2}$"]
      host: ["scan-*"]
      severity: ">= S3"
    actions:
      - suppress: {reason: "scheduled scan", for: 7d}
  - id: known-bad
    name: Indicator already in an incident
    continue: true
    conditions:
      observable_in_incident: [ip, hash]
      rule_name: "*"
      title: "*"
      user: [root]
    actions:
      - set_severity: S1
      - assign: alice
      - attach: {by: [observable], observable_types: [ip]}
  - id: flood
    name: Brute force flood
    enabled: false
    conditions:
      count: {at_least: 50, within: 10m, of: rule_host}
      severity: [S2, S3]
    actions:
      - promote: {category: unauthorized_access, severity: S2}
  - id: window
    name: Maintenance window
    conditions: {host: db-01}
    actions:
      - suppress: {reason: maintenance, until: 2026-12-01T09:00:00+09:00}
  - id: anything
    name: Attach anything
    actions: [{attach: true}, {set_severity: s3}]
`

func TestLoadValid(t *testing.T) {
	rules, err := LoadFile("rules.yaml", []byte(fullRules))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 5 {
		t.Fatalf("%d rules", len(rules))
	}
	r := rules[0]
	if r.Source != SourceFile || !r.Enabled || r.Order != 10 || r.Actions[0].For != 7*24*time.Hour ||
		!slices.Equal(r.Conditions.Severity, []core.Severity{core.S1, core.S2, core.S3}) {
		t.Errorf("rule 0: %+v", r)
	}
	if rules[2].Enabled || rules[2].Conditions.Count.Of != CountRuleHost || rules[2].Conditions.Count.Within != 10*time.Minute {
		t.Errorf("rule 2: %+v", rules[2])
	}
	if u := rules[3].Actions[0].Until; u == nil || !u.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("until %v", u)
	}
	if a := rules[4].Actions; a[0].Kind != ActSetSeverity || a[0].Severity != core.S3 || a[1].Kind != ActAttach {
		t.Errorf("rule 4 actions %+v", a)
	}
}

// Every problem of a file is reported at once, each as file:line: field: message.
func TestLoadErrors(t *testing.T) {
	doc := `rules:
  - id: Bad ID
    name: x
    colour: red
    conditions:
      format: [wazuh, nessus]
      severity: ">= S7"
      rule_id: "re:(unclosed"
      count: {at_least: 0, within: forever}
      observable_in_incident: [ipv9]
    actions:
      - suppress: {reason: "", for: 1h, until: 2026-01-01}
      - promote: {category: aliens}
      - teleport: mars
  - id: ok
    name: ok
    actions: []
  - id: ok
    actions: [{set_severity: S9}, {assign: ""}]
`
	_, err := LoadFile("rules.yaml", []byte(doc))
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, core.ErrInvalid) {
		t.Errorf("not ErrInvalid: %v", err)
	}
	want := []string{
		`rules.yaml:2: rules[0].id: invalid id "Bad ID"`,
		`rules.yaml:4: rules[0].colour: unknown field`,
		`rules.yaml:6: rules[0].conditions.format: unknown format "nessus"`,
		`rules.yaml:7: rules[0].conditions.severity: ">= S7" is not a severity`,
		`rules.yaml:8: rules[0].conditions.rule_id: invalid regular expression`,
		`rules.yaml:9: rules[0].conditions.count.at_least: must be a whole number`,
		`rules.yaml:9: rules[0].conditions.count.within: invalid duration "forever"`,
		`rules.yaml:10: rules[0].conditions.observable_in_incident: unknown observable type "ipv9"`,
		`rules.yaml:12: rules[0].actions[0].suppress.reason: must not be empty`,
		`rules.yaml:12: rules[0].actions[0].suppress.until: give for or until, not both`,
		`rules.yaml:13: rules[0].actions[1].promote.category: unknown category "aliens"`,
		`rules.yaml:13: rules[0].actions[1].promote: a rule may only suppress, promote or attach once`,
		`rules.yaml:14: rules[0].actions[2]: unknown action "teleport"`,
		`rules.yaml:17: rules[1].actions: a rule needs at least one action`,
		`rules.yaml:18: rules[2].id: duplicate rule id "ok", also on line 15`,
		`rules.yaml:18: rules[2].name: missing`,
		`rules.yaml:19: rules[2].actions[0].set_severity: unknown severity "S9"`,
		`rules.yaml:19: rules[2].actions[1].assign: must name a user`,
	}
	lines := strings.Split(err.Error(), "\n")
	for _, w := range want {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("missing %q in\n%s", w, err)
		}
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "rules.yaml:") {
			t.Errorf("line without file and line: %q", l)
		}
	}
}

func TestLoadDocumentErrors(t *testing.T) {
	for _, doc := range []string{"", "rules: [", "- a\n- b\n", "rules: {}\n", "rules: []\n---\nrules: []\n", "other: 1\n"} {
		if _, err := LoadFile("f.yaml", []byte(doc)); err == nil || !strings.HasPrefix(err.Error(), "f.yaml") {
			t.Errorf("%q: %v", doc, err)
		}
	}
	if _, err := ParseRule("request", []byte("{\n\t\"id\": \"tabs\",\n\t\"name\": \"JSON with tabs\",\n\t\"actions\": [{\"assign\": \"a\"}]\n}")); err != nil {
		t.Errorf("tab-indented JSON: %v", err)
	}
}

func FuzzLoadFile(f *testing.F) {
	f.Add([]byte(fullRules))
	f.Add([]byte("rules: [{id: a, name: b, actions: [{suppress: {reason: x, for: 1d}}]}]"))
	f.Add([]byte("rules: &a [*a]"))
	f.Add([]byte("rules:\n  - {id: a, name: b, conditions: {severity: '< S1'}, actions: [{attach: {by: [host]}}]}"))
	f.Add([]byte(`{"rules": [{"id": "x", "name": "y", "conditions": {"count": {"at_least": 9, "within": "366d"}}, "actions": [{"promote": null}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := LoadFile("f.yaml", data)
		if err != nil {
			if rules != nil {
				t.Fatal("rules with an error")
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "f.yaml") {
					t.Fatalf("error line without the file name: %q", line)
				}
			}
			return
		}
		for _, r := range rules {
			if len(r.Actions) == 0 || r.ID == "" || r.Name == "" {
				t.Fatalf("valid rule without id, name or actions: %+v", r)
			}
			data, err := r.Stored()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ParseRule("db", data); err != nil {
				t.Fatalf("stored form does not read back: %v\n%s", err, data)
			}
		}
		_, _ = NewSet(rules...)
	})
}
