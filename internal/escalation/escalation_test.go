package escalation

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

func TestDefaultsAreValid(t *testing.T) {
	ids := map[string]bool{}
	for _, r := range Defaults() {
		if err := r.Validate(); err != nil {
			t.Errorf("%s: %v", r.ID, err)
		}
		if ids[r.ID] {
			t.Errorf("duplicate id %s", r.ID)
		}
		ids[r.ID] = true
	}
	// The brief's three defaults are there.
	for _, id := range []string{"default-severe", "default-personal-data", "default-unacknowledged"} {
		if !ids[id] {
			t.Errorf("missing default %s", id)
		}
	}
}

func incident(sev core.Severity, cat core.Category, reported time.Time) *core.Incident {
	return &core.Incident{ID: 1, Key: "INC-2026-0001", Severity: sev, Category: cat, Phase: core.PhaseDetect,
		Timestamps: core.Timestamps{ReportedAt: reported}}
}

func subjects(fs []Firing) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule.ID+"/"+f.Subject)
	}
	return out
}

func TestEvaluateConditions(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	rules := Defaults()
	tests := []struct {
		name  string
		inc   func() *core.Incident
		sit   func(*Situation)
		sweep bool
		want  string
	}{
		{"S3 tells first on call only", func() *core.Incident { return incident(core.S3, core.CatMalware, t0) }, nil, false,
			"default-first-on-call/"},
		{"S2 tells lead and management", func() *core.Incident { return incident(core.S2, core.CatMalware, t0) }, nil, false,
			"default-first-on-call/ default-severe/"},
		{"personal data tells legal and PR", func() *core.Incident {
			i := incident(core.S4, core.CatMisdelivery, t0)
			i.Flags.PersonalData = true
			return i
		}, nil, false, "default-first-on-call/ default-personal-data/"},
		{"sweep before 30 minutes: nothing", func() *core.Incident { return incident(core.S3, core.CatMalware, t0) },
			func(s *Situation) { s.Now = t0.Add(29 * time.Minute) }, true, ""},
		{"sweep after 65 minutes: two steps down the order", func() *core.Incident { return incident(core.S3, core.CatMalware, t0) },
			func(s *Situation) { s.Now = t0.Add(65 * time.Minute) }, true,
			"default-unacknowledged/on_call:2 default-unacknowledged/on_call:3"},
		{"acknowledged: no escalation", func() *core.Incident {
			i := incident(core.S3, core.CatMalware, t0)
			ack := t0.Add(time.Minute)
			i.Timestamps.AcknowledgedAt = &ack
			return i
		}, func(s *Situation) { s.Now = t0.Add(3 * time.Hour) }, true, ""},
		{"overdue task and clocks", func() *core.Incident {
			i := incident(core.S3, core.CatMalware, t0)
			ack := t0
			i.Timestamps.AcknowledgedAt = &ack
			return i
		}, func(s *Situation) {
			s.Now = t0.Add(time.Hour)
			s.Overdue = []TaskRef{{ID: "t1", Title: "x"}}
			s.Clocks = []ClockRef{{RuleID: "appi-ppc-preliminary", State: "due_soon"}, {RuleID: "gdpr-art33", State: "overdue"}}
		}, true, "default-clock-due-soon/clock:appi-ppc-preliminary:due_soon default-clock-overdue/clock:gdpr-art33:overdue default-task-overdue/task:t1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sit := Situation{Incident: tt.inc(), Now: t0}
			if tt.sit != nil {
				tt.sit(&sit)
			}
			got := strings.Join(subjects(Evaluate(rules, sit, tt.sweep)), " ")
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestRuleConditionsCombine(t *testing.T) {
	r := &Rule{ID: "x", Name: "x", When: When{Severity: []core.Severity{core.S1}, Category: []core.Category{core.CatRansomware},
		Flags: []string{"personal_data", "exercise"}, Phase: []core.Phase{core.PhaseContain}}, Notify: Notify{Roles: []string{"lead"}}}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	inc := incident(core.S1, core.CatRansomware, time.Now())
	inc.Phase = core.PhaseContain
	inc.Flags.PersonalData = true
	inc.Exercise = true
	if n := len(Evaluate([]*Rule{r}, Situation{Incident: inc}, false)); n != 1 {
		t.Fatalf("all conditions hold: %d firings", n)
	}
	for _, change := range []func(*core.Incident){
		func(i *core.Incident) { i.Severity = core.S2 },
		func(i *core.Incident) { i.Category = core.CatMalware },
		func(i *core.Incident) { i.Phase = core.PhaseRecover },
		func(i *core.Incident) { i.Flags.PersonalData = false },
		func(i *core.Incident) { i.Exercise = false },
	} {
		c := *inc
		change(&c)
		if n := len(Evaluate([]*Rule{r}, Situation{Incident: &c}, false)); n != 0 {
			t.Errorf("a failed condition still fired")
		}
	}
	r.Disabled = true
	if n := len(Evaluate([]*Rule{r}, Situation{Incident: inc}, false)); n != 0 {
		t.Error("a disabled rule fired")
	}
}

func TestParseFileReportsEveryErrorWithItsLine(t *testing.T) {
	src := `rules:
  - id: ok-rule
    name: fine
    when: {severity: [S1]}
    notify: {roles: [lead]}
  - id: Bad Id
    name: broken
    when:
      severity: [S9]
      flags: [vip]
    notify:
      roles: [janitor]
      on_call: next
  - id: ok-rule
    name: dup
    notify: {channels: [{type: slack, address: "ftp://x"}]}
`
	_, err := ParseFile("esc.yaml", []byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, core.ErrInvalid) {
		t.Errorf("not ErrInvalid: %v", err)
	}
	for _, want := range []string{
		`esc.yaml:6: rules[1].id: invalid id "Bad Id"`,
		`esc.yaml:9: rules[1].when.severity[0]: unknown severity "S9"`,
		`esc.yaml:10: rules[1].when.flags[0]: unknown flag "vip"`,
		`esc.yaml:12: rules[1].notify.roles[0]: unknown role "janitor"`,
		`esc.yaml:13: rules[1].notify.on_call: "next" needs when.not_acknowledged_for`,
		`esc.yaml:14: rules[2].id: duplicate id "ok-rule", also rules[0]`,
		`esc.yaml:16: rules[2].notify.channels[0].address: must be an http(s) URL`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
	_, err = ParseFile("esc.yaml", []byte("rules:\n  - id: x\n    name: y\n    notify: {roles: [lead]}\n    colour: red\n"))
	if err == nil || !strings.Contains(err.Error(), "esc.yaml:5:") || !strings.Contains(err.Error(), "colour") {
		t.Errorf("unknown field: %v", err)
	}
	_, err = ParseFile("esc.yaml", []byte("rules:\n  - id: x\n    when: {not_acknowledged_for: soon}\n"))
	if err == nil || !strings.Contains(err.Error(), "esc.yaml:3:") {
		t.Errorf("bad duration: %v", err)
	}
	rules, err := ParseFile("esc.yaml", []byte("rules:\n  - id: slow\n    name: after 2h\n    when: {not_acknowledged_for: 2h, severity: [S3, S4]}\n    notify: {on_call: next, via: [email]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(rules[0].When.NotAcknowledgedFor) != 2*time.Hour || rules[0].Source != "file" {
		t.Errorf("%+v", rules[0])
	}
}

func TestMergeReplacesInPlace(t *testing.T) {
	a := []*Rule{{ID: "a", Name: "1"}, {ID: "b", Name: "1"}}
	b := []*Rule{{ID: "b", Name: "2"}, {ID: "c", Name: "2"}}
	got := Merge(a, b)
	if len(got) != 3 || got[1].Name != "2" || got[2].ID != "c" {
		t.Fatalf("%+v", got)
	}
}

func FuzzParseFile(f *testing.F) {
	f.Add([]byte("rules:\n  - id: x\n    name: y\n    notify: {roles: [lead]}\n"))
	f.Add([]byte("rules: [{id: a, when: {not_acknowledged_for: 1m}, notify: {on_call: next}}]"))
	f.Add([]byte("rules:\n  - null\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := ParseFile("f.yaml", data)
		if err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("error is not ErrInvalid: %v", err)
			}
			return
		}
		for _, r := range rules {
			if err := r.Validate(); err != nil {
				t.Fatalf("accepted rule does not validate: %v", err)
			}
		}
	})
}
