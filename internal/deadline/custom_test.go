package deadline_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/deadline"
)

func validCustom() deadline.CustomRule {
	return deadline.CustomRule{
		ID: "fsa-report", TitleJA: "金融庁への報告", TitleEN: "Report to the FSA", Recipient: "金融庁 (FSA)",
		Source: "金融商品取引業者等向けの総合的な監督指針", DueDays: 3,
	}
}

func TestCustomRuleValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*deadline.CustomRule)
		field string // "" = valid
	}{
		{name: "valid, due in days", edit: func(*deadline.CustomRule) {}},
		{name: "valid, due as duration", edit: func(r *deadline.CustomRule) { r.DueDays, r.DueAfter, r.WarnBefore = 0, 48*time.Hour, 12*time.Hour }},
		{name: "valid, every condition", edit: func(r *deadline.CustomRule) {
			r.Categories = []core.Category{core.CatRansomware, core.CatDataLeak}
			r.RequiredFlags = []string{deadline.FlagPersonalData, deadline.FlagFinancialDamageRisk}
			r.MinPeopleAffected = 1
			r.WarnDays = 3
		}},
		{name: "valid, no source", edit: func(r *deadline.CustomRule) { r.Source = "" }},
		{name: "missing id", edit: func(r *deadline.CustomRule) { r.ID = "" }, field: "id"},
		{name: "upper-case id", edit: func(r *deadline.CustomRule) { r.ID = "FSA" }, field: "id"},
		{name: "id with space", edit: func(r *deadline.CustomRule) { r.ID = "fsa report" }, field: "id"},
		{name: "id too long", edit: func(r *deadline.CustomRule) { r.ID = strings.Repeat("a", 65) }, field: "id"},
		{name: "id of a built-in rule", edit: func(r *deadline.CustomRule) { r.ID = deadline.APPIPreliminary }, field: "id"},
		{name: "missing Japanese title", edit: func(r *deadline.CustomRule) { r.TitleJA = "" }, field: "title_ja"},
		{name: "missing English title", edit: func(r *deadline.CustomRule) { r.TitleEN = "" }, field: "title_en"},
		{name: "missing recipient", edit: func(r *deadline.CustomRule) { r.Recipient = "" }, field: "recipient"},
		{name: "source too long", edit: func(r *deadline.CustomRule) { r.Source = strings.Repeat("法", 201) }, field: "source"},
		{name: "unknown category", edit: func(r *deadline.CustomRule) { r.Categories = []core.Category{core.CatDoS, "volcano"} }, field: "categories[1]"},
		{name: "category twice", edit: func(r *deadline.CustomRule) { r.Categories = []core.Category{core.CatDoS, core.CatDoS} }, field: "categories[1]"},
		{name: "unknown flag", edit: func(r *deadline.CustomRule) { r.RequiredFlags = []string{"PersonalData"} }, field: "required_flags[0]"},
		{name: "flag twice", edit: func(r *deadline.CustomRule) {
			r.RequiredFlags = []string{deadline.FlagEUResidents, deadline.FlagEUResidents}
		}, field: "required_flags[1]"},
		{name: "negative people", edit: func(r *deadline.CustomRule) { r.MinPeopleAffected = -1 }, field: "min_people_affected"},
		{name: "both deadlines", edit: func(r *deadline.CustomRule) { r.DueAfter = time.Hour }, field: "due_after"},
		{name: "no deadline", edit: func(r *deadline.CustomRule) { r.DueDays = 0 }, field: "due_after"},
		{name: "negative duration", edit: func(r *deadline.CustomRule) { r.DueDays, r.DueAfter = 0, -time.Hour }, field: "due_after"},
		{name: "duration over a year", edit: func(r *deadline.CustomRule) { r.DueDays, r.DueAfter = 0, 367*24*time.Hour }, field: "due_after"},
		{name: "negative days", edit: func(r *deadline.CustomRule) { r.DueDays = -1 }, field: "due_days"},
		{name: "days over a year", edit: func(r *deadline.CustomRule) { r.DueDays = 367 }, field: "due_days"},
		{name: "warn_before with days", edit: func(r *deadline.CustomRule) { r.WarnBefore = time.Hour }, field: "warn_before"},
		{name: "warn_days beyond due_days", edit: func(r *deadline.CustomRule) { r.WarnDays = 4 }, field: "warn_days"},
		{name: "negative warn_days", edit: func(r *deadline.CustomRule) { r.WarnDays = -1 }, field: "warn_days"},
		{name: "warn_days with duration", edit: func(r *deadline.CustomRule) { r.DueDays, r.DueAfter, r.WarnDays = 0, time.Hour, 1 }, field: "warn_days"},
		{name: "warn_before beyond due_after", edit: func(r *deadline.CustomRule) { r.DueDays, r.DueAfter, r.WarnBefore = 0, time.Hour, 2*time.Hour }, field: "warn_before"},
		{name: "negative warn_before", edit: func(r *deadline.CustomRule) { r.DueDays, r.DueAfter, r.WarnBefore = 0, time.Hour, -time.Minute }, field: "warn_before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validCustom()
			tt.edit(&r)
			checkFieldError(t, r.Validate(), tt.field)
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   deadline.Config
		field string
	}{
		{name: "zero config", cfg: deadline.Config{}},
		{name: "full config", cfg: deadline.Config{APPIIndividualsDays: 10, GDPRIndividualsTarget: 48 * time.Hour, NIS2: deadline.NIS2Essential,
			AwarenessDayIsDayOne: true, Custom: []deadline.CustomRule{validCustom()}}},
		{name: "negative individuals days", cfg: deadline.Config{APPIIndividualsDays: -1}, field: "appi_individuals_days"},
		{name: "individuals days over a year", cfg: deadline.Config{APPIIndividualsDays: 367}, field: "appi_individuals_days"},
		{name: "negative GDPR target", cfg: deadline.Config{GDPRIndividualsTarget: -time.Hour}, field: "gdpr_individuals_target"},
		{name: "unknown NIS2 classification", cfg: deadline.Config{NIS2: "Essential"}, field: "nis2"},
		{name: "invalid second custom rule", cfg: deadline.Config{Custom: []deadline.CustomRule{validCustom(), func() deadline.CustomRule {
			r := validCustom()
			r.ID, r.DueDays = "other", 400
			return r
		}()}}, field: "custom[1].due_days"},
		{name: "duplicate custom id", cfg: deadline.Config{Custom: []deadline.CustomRule{validCustom(), validCustom()}}, field: "custom[1].id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkFieldError(t, tt.cfg.Validate(), tt.field) })
	}
}

func checkFieldError(tb testing.TB, err error, field string) {
	tb.Helper()
	if field == "" {
		if err != nil {
			tb.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var fe *core.FieldError
	if !errors.As(err, &fe) || !errors.Is(err, core.ErrInvalid) {
		tb.Fatalf("error = %v, want a core.FieldError for %q", err, field)
	}
	if fe.Field != field {
		tb.Fatalf("error names field %q (%v), want %q", fe.Field, err, field)
	}
}

func TestCustomRuleTriggers(t *testing.T) {
	rule := validCustom()
	rule.Categories = []core.Category{core.CatRansomware, core.CatDataLeak}
	rule.RequiredFlags = []string{deadline.FlagPersonalData, deadline.FlagEUResidents}
	rule.MinPeopleAffected = 100
	both := core.Flags{PersonalData: true, EUResidents: true, PeopleAffected: 100}
	tests := []struct {
		name  string
		rule  deadline.CustomRule
		cat   core.Category
		flags core.Flags
		want  bool
	}{
		{"all conditions met", rule, core.CatRansomware, both, true},
		{"other listed category", rule, core.CatDataLeak, both, true},
		{"category not listed", rule, core.CatDoS, both, false},
		{"one required flag missing", rule, core.CatRansomware, core.Flags{PersonalData: true, PeopleAffected: 100}, false},
		{"other required flag missing", rule, core.CatRansomware, core.Flags{EUResidents: true, PeopleAffected: 100}, false},
		{"one person too few", rule, core.CatRansomware, core.Flags{PersonalData: true, EUResidents: true, PeopleAffected: 99}, false},
		{"no conditions: every incident", validCustom(), core.CatOther, core.Flags{}, true},
		{"category only", deadline.CustomRule{Categories: []core.Category{core.CatPhishing}}, core.CatPhishing, core.Flags{}, true},
		{"category only, other category", deadline.CustomRule{Categories: []core.Category{core.CatPhishing}}, core.CatMalware, core.Flags{}, false},
		{"flag only", deadline.CustomRule{RequiredFlags: []string{deadline.FlagMaliciousIntent}}, core.CatOther, core.Flags{MaliciousIntent: true}, true},
		{"flag only, not set", deadline.CustomRule{RequiredFlags: []string{deadline.FlagMaliciousIntent}}, core.CatOther, core.Flags{FinancialDamageRisk: true}, false},
		{"sensitive flag", deadline.CustomRule{RequiredFlags: []string{deadline.FlagSensitivePersonalData}}, core.CatOther, core.Flags{SensitivePersonalData: true}, true},
		{"financial flag", deadline.CustomRule{RequiredFlags: []string{deadline.FlagFinancialDamageRisk}}, core.CatOther, core.Flags{FinancialDamageRisk: true}, true},
		{"people only, at the minimum", deadline.CustomRule{MinPeopleAffected: 500}, core.CatOther, core.Flags{PeopleAffected: 500}, true},
		{"people only, below", deadline.CustomRule{MinPeopleAffected: 500}, core.CatOther, core.Flags{PeopleAffected: 499}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := deadline.Facts{Category: tt.cat, Flags: tt.flags, ReportedAt: jst(2026, 4, 1, 9, 0)}
			if got := tt.rule.Applies(f); got != tt.want {
				t.Errorf("Applies = %v, want %v", got, tt.want)
			}
			if tt.rule.Validate() != nil {
				return // the bare condition rows are not complete rules
			}
			clocks := deadline.Compute(f, deadline.Config{Custom: []deadline.CustomRule{tt.rule}})
			got := slices.Contains(ruleIDs(clocks), tt.rule.ID)
			if got != tt.want {
				t.Errorf("Compute started %v, want clock %q = %v", ruleIDs(clocks), tt.rule.ID, tt.want)
			}
		})
	}
}

func TestCustomRuleDue(t *testing.T) {
	at := jst(2026, 1, 31, 23, 30)
	days := validCustom() // 3 days
	after := deadline.CustomRule{ID: "head-office", TitleJA: "本社報告", TitleEN: "Head office", Recipient: "HQ", DueAfter: 48 * time.Hour}
	tests := []struct {
		name     string
		rule     deadline.CustomRule
		cfg      deadline.Config
		due      time.Time
		warnFrom time.Time
	}{
		// Feb 1, 2, 3; default warning the last ceil(3/3) = 1 day.
		{"3 days, end of day JST", days, deadline.Config{}, eod(2026, 2, 3), jst(2026, 2, 3, 0, 0)},
		{"3 days, awareness day is day one", days, deadline.Config{AwarenessDayIsDayOne: true}, eod(2026, 2, 2), jst(2026, 2, 2, 0, 0)},
		{"3 days, warn the last 3 days", func() deadline.CustomRule { r := days; r.WarnDays = 3; return r }(), deadline.Config{}, eod(2026, 2, 3), jst(2026, 2, 1, 0, 0)},
		{"10 days, default warning last 4 days", func() deadline.CustomRule { r := days; r.DueDays = 10; return r }(), deadline.Config{}, eod(2026, 2, 10), jst(2026, 2, 7, 0, 0)},
		// 48 h exact; default warning a third of the period before (16 h).
		{"48 h exact", after, deadline.Config{}, jst(2026, 2, 2, 23, 30), jst(2026, 2, 2, 7, 30)},
		{"48 h, warn 6 h before", func() deadline.CustomRule { r := after; r.WarnBefore = 6 * time.Hour; return r }(), deadline.Config{}, jst(2026, 2, 2, 23, 30), jst(2026, 2, 2, 17, 30)},
		{"48 h, warn for the whole period", func() deadline.CustomRule { r := after; r.WarnBefore = 48 * time.Hour; return r }(), deadline.Config{}, jst(2026, 2, 2, 23, 30), at},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Custom = []deadline.CustomRule{tt.rule}
			clocks := deadline.Compute(detectedAt(at, core.Flags{}), cfg)
			checkInvariants(t, clocks)
			c := findClock(t, clocks, tt.rule.ID)
			if !c.Due.Equal(tt.due) || !c.WarnFrom.Equal(tt.warnFrom) {
				t.Errorf("due, warn = %v, %v; want %v, %v", c.Due.In(deadline.JST), c.WarnFrom.In(deadline.JST), tt.due, tt.warnFrom)
			}
			if c.Source != tt.rule.Source || c.Recipient != tt.rule.Recipient || c.TitleJA != tt.rule.TitleJA || !c.Custom {
				t.Errorf("clock does not carry the rule's texts: %+v", c)
			}
		})
	}
}

func TestComputeSkipsInvalidCustomRules(t *testing.T) {
	bad := validCustom()
	bad.ID = "bad"
	bad.DueDays = 0
	builtin := validCustom()
	builtin.ID = deadline.APPIFinal
	dup := validCustom()
	dup.DueDays = 1
	cfg := deadline.Config{Custom: []deadline.CustomRule{bad, builtin, validCustom(), dup}}
	if cfg.Validate() == nil {
		t.Fatal("Validate accepted invalid custom rules")
	}
	clocks := deadline.Compute(detectedAt(jst(2026, 1, 31, 23, 30), core.Flags{}), cfg)
	checkInvariants(t, clocks)
	if got := ruleIDs(clocks); !slices.Equal(got, []string{"fsa-report"}) {
		t.Fatalf("clocks = %v, want only the valid fsa-report", got)
	}
	if c := clocks[0]; !c.Due.Equal(eod(2026, 2, 3)) {
		t.Errorf("the first rule with a repeated ID wins: due = %v, want Feb 3", c.Due.In(deadline.JST))
	}
}
