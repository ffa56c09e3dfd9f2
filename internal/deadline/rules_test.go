package deadline_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/deadline"
)

func TestRulesTableIsDocumented(t *testing.T) {
	want := []string{
		deadline.APPIPreliminary, deadline.APPIFinal, deadline.APPIIndividuals,
		deadline.GDPRAuthority, deadline.GDPRIndividuals,
		deadline.NIS2EarlyWarning, deadline.NIS2Notification, deadline.NIS2Final,
	}
	var got []string
	for _, r := range deadline.Rules {
		got = append(got, r.ID)
		if r.Source == "" || r.Recipient == "" || r.TitleJA == "" || r.TitleEN == "" || r.Deadline == "" {
			t.Errorf("rule %q: source, recipient, titles and deadline text are all required: %+v", r.ID, r)
		}
		if r.Applies == nil || r.Due == nil || r.WarnFrom == nil {
			t.Errorf("rule %q: applies, due and warn-from functions are all required", r.ID)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("rule IDs = %v, want %v", got, want)
	}
	ids := map[string]string{
		"appi-ppc-preliminary": deadline.APPIPreliminary, "appi-ppc-final": deadline.APPIFinal,
		"appi-individuals": deadline.APPIIndividuals, "gdpr-art33-authority": deadline.GDPRAuthority,
		"gdpr-art34-individuals": deadline.GDPRIndividuals, "nis2-early-warning": deadline.NIS2EarlyWarning,
		"nis2-notification": deadline.NIS2Notification, "nis2-final": deadline.NIS2Final,
	}
	for lit, c := range ids {
		if lit != c { // the IDs are stored: changing one orphans existing submissions
			t.Errorf("rule ID constant %q changed to %q", lit, c)
		}
	}
	for _, r := range deadline.Rules {
		if strings.HasPrefix(r.ID, "appi-") && !strings.Contains(r.Source, "個人情報保護法 第26条") {
			t.Errorf("rule %q: source %q does not cite APPI Art. 26", r.ID, r.Source)
		}
	}
}

func TestTriggers(t *testing.T) {
	appi := []string{deadline.APPIPreliminary, deadline.APPIFinal, deadline.APPIIndividuals}
	nis2 := []string{deadline.NIS2EarlyWarning, deadline.NIS2Notification, deadline.NIS2Final}
	g33 := deadline.GDPRAuthority
	g34 := deadline.GDPRIndividuals
	join := func(parts ...[]string) []string {
		var all []string
		for _, p := range parts {
			all = append(all, p...)
		}
		return all
	}
	tests := []struct {
		name  string
		cat   core.Category
		flags core.Flags
		cfg   deadline.Config
		want  []string
	}{
		{name: "no flags", want: nil},
		{name: "data leak category alone starts nothing", cat: core.CatDataLeak, want: nil},
		{name: "personal data alone, one person", flags: core.Flags{PersonalData: true, PeopleAffected: 1}, want: nil},
		{name: "personal data, exactly 1000 people (not more than 1000)", flags: core.Flags{PersonalData: true, PeopleAffected: 1000}, want: nil},
		// APPI: each condition alone, with personal data.
		{name: "APPI: 1001 people", flags: core.Flags{PersonalData: true, PeopleAffected: 1001}, want: appi},
		{name: "APPI: sensitive, one person", flags: core.Flags{PersonalData: true, SensitivePersonalData: true, PeopleAffected: 1}, want: appi},
		{name: "APPI: financial damage risk", flags: core.Flags{PersonalData: true, FinancialDamageRisk: true}, want: appi},
		{name: "APPI: malicious intent", flags: core.Flags{PersonalData: true, MaliciousIntent: true}, want: appi},
		{name: "APPI: sensitive implies personal data", flags: core.Flags{SensitivePersonalData: true}, want: appi},
		{name: "APPI: every condition", flags: core.Flags{PersonalData: true, SensitivePersonalData: true, FinancialDamageRisk: true, MaliciousIntent: true, PeopleAffected: 50_000}, want: appi},
		// The conditions without personal data start nothing.
		{name: "financial damage risk without personal data", flags: core.Flags{FinancialDamageRisk: true}, want: nil},
		{name: "malicious intent without personal data", flags: core.Flags{MaliciousIntent: true}, want: nil},
		{name: "many people without personal data", flags: core.Flags{PeopleAffected: 5000}, want: nil},
		{name: "all but personal data", flags: core.Flags{FinancialDamageRisk: true, MaliciousIntent: true, EUResidents: true, PeopleAffected: 5000}, want: nil},
		// GDPR.
		{name: "GDPR: EU residents without personal data", flags: core.Flags{EUResidents: true, PeopleAffected: 5000}, want: nil},
		{name: "GDPR 33: EU residents' personal data", flags: core.Flags{PersonalData: true, EUResidents: true}, want: []string{g33}},
		{name: "GDPR 33: EU, 1000 people is not high risk", flags: core.Flags{PersonalData: true, EUResidents: true, PeopleAffected: 1000}, want: []string{g33}},
		{name: "GDPR 34: EU, 1001 people", flags: core.Flags{PersonalData: true, EUResidents: true, PeopleAffected: 1001}, want: join(appi, []string{g33, g34})},
		{name: "GDPR 34: EU, sensitive", flags: core.Flags{PersonalData: true, EUResidents: true, SensitivePersonalData: true}, want: join(appi, []string{g33, g34})},
		{name: "GDPR 34: EU, sensitive flag alone", flags: core.Flags{EUResidents: true, SensitivePersonalData: true}, want: join(appi, []string{g33, g34})},
		{name: "GDPR 34: EU, financial damage risk", flags: core.Flags{PersonalData: true, EUResidents: true, FinancialDamageRisk: true}, want: join(appi, []string{g33, g34})},
		{name: "GDPR: malicious intent alone is not high risk", flags: core.Flags{PersonalData: true, EUResidents: true, MaliciousIntent: true}, want: join(appi, []string{g33})},
		// NIS2.
		{name: "NIS2 essential: every incident", cfg: deadline.Config{NIS2: deadline.NIS2Essential}, want: nis2},
		{name: "NIS2 important: every incident", cat: core.CatDoS, cfg: deadline.Config{NIS2: deadline.NIS2Important}, want: nis2},
		{name: "NIS2 unknown classification starts nothing", cfg: deadline.Config{NIS2: "yes"}, want: nil},
		{name: "NIS2 not an entity", flags: core.Flags{PersonalData: true, EUResidents: true}, cfg: deadline.Config{NIS2: deadline.NIS2None}, want: []string{g33}},
		{name: "everything at once", flags: core.Flags{PersonalData: true, EUResidents: true, FinancialDamageRisk: true},
			cfg: deadline.Config{NIS2: deadline.NIS2Essential}, want: join(appi, []string{g33, g34}, nis2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := detectedAt(jst(2026, 4, 1, 10, 0), tt.flags)
			f.Category = tt.cat
			clocks := deadline.Compute(f, tt.cfg)
			checkInvariants(t, clocks)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if got := ruleIDs(clocks); !slices.Equal(got, want) {
				t.Errorf("clocks = %v, want %v", got, want)
			}
		})
	}
}

func TestDueArithmetic(t *testing.T) {
	type row struct {
		name     string
		at       time.Time // awareness
		flags    core.Flags
		cfg      deadline.Config
		rule     string
		due      time.Time
		warnFrom time.Time
	}
	malicious := core.Flags{PersonalData: true, MaliciousIntent: true}
	eu := core.Flags{PersonalData: true, EUResidents: true, SensitivePersonalData: true}
	nis2 := deadline.Config{NIS2: deadline.NIS2Essential}
	tests := []row{
		// Aware 2026-01-31 23:30 JST, the last half hour of a month. 初日不算入: Jan 31
		// is not counted however little of it is left; Feb 1 is day 1. Day 5 is
		// Feb 5, and the deadline is the end of that day in JST. Due soon from the
		// start of day 3, Feb 3.
		{name: "PPC preliminary, month end 23:30 JST", at: jst(2026, 1, 31, 23, 30), flags: reportable,
			rule: deadline.APPIPreliminary, due: eod(2026, 2, 5), warnFrom: jst(2026, 2, 3, 0, 0)},
		// Final: Feb 1 is day 1; 2026 is not a leap year, so Feb 28 is day 28,
		// Mar 1 day 29 and Mar 2 day 30. Due soon for the last 7 days, Feb 24
		// (day 24) to Mar 2 (day 30).
		{name: "PPC final, month end 23:30 JST", at: jst(2026, 1, 31, 23, 30), flags: reportable,
			rule: deadline.APPIFinal, due: eod(2026, 3, 2), warnFrom: jst(2026, 2, 24, 0, 0)},
		// 60 days with malicious intent: Feb 1..28 are days 1–28, Mar 1..31
		// days 29–59, Apr 1 day 60.
		{name: "PPC final, malicious intent 60 days", at: jst(2026, 1, 31, 23, 30), flags: malicious,
			rule: deadline.APPIFinal, due: eod(2026, 4, 1), warnFrom: jst(2026, 3, 26, 0, 0)},
		{name: "individuals, default 7 days", at: jst(2026, 1, 31, 23, 30), flags: reportable,
			rule: deadline.APPIIndividuals, due: eod(2026, 2, 7), warnFrom: jst(2026, 2, 5, 0, 0)},
		{name: "individuals, configured 14 days", at: jst(2026, 1, 31, 23, 30), flags: reportable, cfg: deadline.Config{APPIIndividualsDays: 14},
			rule: deadline.APPIIndividuals, due: eod(2026, 2, 14), warnFrom: jst(2026, 2, 12, 0, 0)},
		{name: "individuals, 1 day target: warn clamped to start", at: jst(2026, 1, 31, 23, 30), flags: reportable, cfg: deadline.Config{APPIIndividualsDays: 1},
			rule: deadline.APPIIndividuals, due: eod(2026, 2, 1), warnFrom: jst(2026, 1, 31, 23, 30)},
		{name: "individuals, out-of-range target falls back to default", at: jst(2026, 1, 31, 23, 30), flags: reportable, cfg: deadline.Config{APPIIndividualsDays: -3},
			rule: deadline.APPIIndividuals, due: eod(2026, 2, 7), warnFrom: jst(2026, 2, 5, 0, 0)},
		// Awareness given in UTC: 2026-03-10 15:30 UTC is 2026-03-11 00:30 JST, so
		// day 1 is Mar 12 and day 5 Mar 16. Counting from the UTC date (Mar 10)
		// would wrongly give Mar 15.
		{name: "UTC awareness already the next day in JST", at: time.Date(2026, 3, 10, 15, 30, 0, 0, time.UTC), flags: reportable,
			rule: deadline.APPIPreliminary, due: eod(2026, 3, 16), warnFrom: jst(2026, 3, 14, 0, 0)},
		{name: "UTC awareness at the last instant of the JST day", at: time.Date(2026, 3, 10, 14, 59, 59, 999_999_999, time.UTC), flags: reportable,
			rule: deadline.APPIPreliminary, due: eod(2026, 3, 15), warnFrom: jst(2026, 3, 13, 0, 0)},
		{name: "UTC awareness at the first instant of the next JST day", at: time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC), flags: reportable,
			rule: deadline.APPIPreliminary, due: eod(2026, 3, 16), warnFrom: jst(2026, 3, 14, 0, 0)},
		{name: "awareness in another zone (New York)", at: time.Date(2026, 3, 10, 11, 0, 0, 0, time.FixedZone("EDT", -4*3600)), flags: reportable,
			rule: deadline.APPIPreliminary, due: eod(2026, 3, 16), warnFrom: jst(2026, 3, 14, 0, 0)},
		// Leap day: aware on 2028-02-29, day 1 is Mar 1, day 5 Mar 5, day 30 Mar 30.
		{name: "leap day, preliminary", at: jst(2028, 2, 29, 10, 0), flags: reportable,
			rule: deadline.APPIPreliminary, due: eod(2028, 3, 5), warnFrom: jst(2028, 3, 3, 0, 0)},
		{name: "leap day, final", at: jst(2028, 2, 29, 10, 0), flags: reportable,
			rule: deadline.APPIFinal, due: eod(2028, 3, 30), warnFrom: jst(2028, 3, 24, 0, 0)},
		// Feb 29 is counted when it exists: Feb 28, 29, Mar 1, 2, 3 in 2028 …
		{name: "period across a leap day", at: jst(2028, 2, 27, 10, 0), flags: reportable,
			rule: deadline.APPIPreliminary, due: eod(2028, 3, 3), warnFrom: jst(2028, 3, 1, 0, 0)},
		// … and Feb 28, Mar 1, 2, 3, 4 in 2026.
		{name: "same dates in a common year", at: jst(2026, 2, 27, 10, 0), flags: reportable,
			rule: deadline.APPIPreliminary, due: eod(2026, 3, 4), warnFrom: jst(2026, 3, 2, 0, 0)},
		// Year end: Dec 30, 31, Jan 1, 2, 3. No extension for the New Year
		// holidays: irdesk keeps the earlier, calendar deadline.
		{name: "year end, preliminary", at: jst(2026, 12, 29, 18, 0), flags: reportable,
			rule: deadline.APPIPreliminary, due: eod(2027, 1, 3), warnFrom: jst(2027, 1, 1, 0, 0)},
		// Dec 30, 31 are days 1–2, Jan 28 is day 30.
		{name: "year end, final", at: jst(2026, 12, 29, 18, 0), flags: reportable,
			rule: deadline.APPIFinal, due: eod(2027, 1, 28), warnFrom: jst(2027, 1, 22, 0, 0)},
		// Dec 30..Jan 31 are days 1–33, Feb 27 is day 60.
		{name: "year end, final 60 days", at: jst(2026, 12, 29, 18, 0), flags: malicious,
			rule: deadline.APPIFinal, due: eod(2027, 2, 27), warnFrom: jst(2027, 2, 21, 0, 0)},
		{name: "new year's eve 23:59 JST", at: jst(2026, 12, 31, 23, 59), flags: reportable,
			rule: deadline.APPIPreliminary, due: eod(2027, 1, 5), warnFrom: jst(2027, 1, 3, 0, 0)},
		// The stricter counting: Jan 31 itself is day 1.
		{name: "awareness day is day one: preliminary", at: jst(2026, 1, 31, 23, 30), flags: reportable, cfg: deadline.Config{AwarenessDayIsDayOne: true},
			rule: deadline.APPIPreliminary, due: eod(2026, 2, 4), warnFrom: jst(2026, 2, 2, 0, 0)},
		{name: "awareness day is day one: final", at: jst(2026, 1, 31, 23, 30), flags: reportable, cfg: deadline.Config{AwarenessDayIsDayOne: true},
			rule: deadline.APPIFinal, due: eod(2026, 3, 1), warnFrom: jst(2026, 2, 23, 0, 0)},
		// GDPR: exactly 72 hours, to the nanosecond, not the end of a day.
		{name: "GDPR 33: 72 h exact", at: jst(2026, 1, 31, 23, 30), flags: eu,
			rule: deadline.GDPRAuthority, due: jst(2026, 2, 3, 23, 30), warnFrom: jst(2026, 2, 2, 23, 30)},
		{name: "GDPR 33: 72 h exact with sub-second awareness", at: time.Date(2026, 5, 1, 8, 15, 42, 123456789, time.UTC), flags: eu,
			rule: deadline.GDPRAuthority, due: time.Date(2026, 5, 4, 8, 15, 42, 123456789, time.UTC), warnFrom: time.Date(2026, 5, 3, 8, 15, 42, 123456789, time.UTC)},
		{name: "GDPR 33 across a DST change is still 72 real hours", at: time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), flags: eu,
			rule: deadline.GDPRAuthority, due: time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC), warnFrom: time.Date(2026, 3, 30, 12, 0, 0, 0, time.UTC)},
		{name: "GDPR 34: default 72 h", at: jst(2026, 1, 31, 23, 30), flags: eu,
			rule: deadline.GDPRIndividuals, due: jst(2026, 2, 3, 23, 30), warnFrom: jst(2026, 2, 2, 23, 30)},
		{name: "GDPR 34: configured 24 h, warn from start", at: jst(2026, 1, 31, 23, 30), flags: eu, cfg: deadline.Config{GDPRIndividualsTarget: 24 * time.Hour},
			rule: deadline.GDPRIndividuals, due: jst(2026, 2, 1, 23, 30), warnFrom: jst(2026, 1, 31, 23, 30)},
		{name: "GDPR 34: configured 7 days", at: jst(2026, 1, 31, 23, 30), flags: eu, cfg: deadline.Config{GDPRIndividualsTarget: 7 * 24 * time.Hour},
			rule: deadline.GDPRIndividuals, due: jst(2026, 2, 7, 23, 30), warnFrom: jst(2026, 2, 6, 23, 30)},
		// NIS2.
		{name: "NIS2 early warning: 24 h", at: jst(2026, 1, 31, 23, 30), cfg: nis2,
			rule: deadline.NIS2EarlyWarning, due: jst(2026, 2, 1, 23, 30), warnFrom: jst(2026, 2, 1, 11, 30)},
		{name: "NIS2 notification: 72 h", at: jst(2026, 1, 31, 23, 30), cfg: nis2,
			rule: deadline.NIS2Notification, due: jst(2026, 2, 3, 23, 30), warnFrom: jst(2026, 2, 2, 23, 30)},
		// Notification due Jan 31 10:00 JST; February has no 31st: Feb 28.
		{name: "NIS2 final: Jan 31 clamps to Feb 28", at: jst(2026, 1, 28, 10, 0), cfg: nis2,
			rule: deadline.NIS2Final, due: jst(2026, 2, 28, 10, 0), warnFrom: jst(2026, 2, 21, 10, 0)},
		{name: "NIS2 final: Jan 31 clamps to Feb 29 in a leap year", at: jst(2028, 1, 28, 9, 0), cfg: nis2,
			rule: deadline.NIS2Final, due: jst(2028, 2, 29, 9, 0), warnFrom: jst(2028, 2, 22, 9, 0)},
		{name: "NIS2 final: Mar 31 clamps to Apr 30", at: jst(2026, 3, 28, 12, 0), cfg: nis2,
			rule: deadline.NIS2Final, due: jst(2026, 4, 30, 12, 0), warnFrom: jst(2026, 4, 23, 12, 0)},
		{name: "NIS2 final: Dec 31 rolls into January", at: jst(2026, 12, 28, 15, 0), cfg: nis2,
			rule: deadline.NIS2Final, due: jst(2027, 1, 31, 15, 0), warnFrom: jst(2027, 1, 24, 15, 0)},
		{name: "NIS2 final: ordinary day of month", at: jst(2026, 5, 10, 8, 0), cfg: nis2,
			rule: deadline.NIS2Final, due: jst(2026, 6, 13, 8, 0), warnFrom: jst(2026, 6, 6, 8, 0)},
		// The month is taken in JST: notification due 2026-01-31 20:00 UTC is
		// Feb 1 05:00 JST, so the final report is due Mar 1 05:00 JST. (UTC
		// month arithmetic clamps Jan 31 to Feb 28 20:00 UTC, by coincidence the
		// same instant; the next row shows a real difference.)
		{name: "NIS2 final: month taken in JST", at: time.Date(2026, 1, 28, 20, 0, 0, 0, time.UTC), cfg: nis2,
			rule: deadline.NIS2Final, due: jst(2026, 3, 1, 5, 0), warnFrom: jst(2026, 2, 22, 5, 0)},
		// Notification due 2026-04-30 16:00 UTC = May 1 01:00 JST → Jun 1 01:00
		// JST. UTC month arithmetic would give May 30 16:00 UTC, a day earlier.
		{name: "NIS2 final: JST date differs from UTC date", at: time.Date(2026, 4, 27, 16, 0, 0, 0, time.UTC), cfg: nis2,
			rule: deadline.NIS2Final, due: jst(2026, 6, 1, 1, 0), warnFrom: jst(2026, 5, 25, 1, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clocks := deadline.Compute(detectedAt(tt.at, tt.flags), tt.cfg)
			checkInvariants(t, clocks)
			c := findClock(t, clocks, tt.rule)
			if !c.Start.Equal(tt.at) {
				t.Errorf("start = %v, want %v", c.Start, tt.at)
			}
			if !c.Due.Equal(tt.due) {
				t.Errorf("due = %v, want %v", c.Due.In(deadline.JST), tt.due.In(deadline.JST))
			}
			if !c.WarnFrom.Equal(tt.warnFrom) {
				t.Errorf("warn from = %v, want %v", c.WarnFrom.In(deadline.JST), tt.warnFrom.In(deadline.JST))
			}
		})
	}
}

func TestNIS2FinalDueFromActualSubmission(t *testing.T) {
	tests := []struct{ notified, want time.Time }{
		{jst(2026, 1, 29, 9, 0), jst(2026, 2, 28, 9, 0)},
		{jst(2026, 1, 31, 23, 59), jst(2026, 2, 28, 23, 59)},
		{jst(2028, 1, 30, 0, 0), jst(2028, 2, 29, 0, 0)},
		{jst(2026, 2, 28, 12, 0), jst(2026, 3, 28, 12, 0)},
		{jst(2026, 8, 31, 12, 0), jst(2026, 9, 30, 12, 0)},
		{jst(2026, 12, 31, 12, 0), jst(2027, 1, 31, 12, 0)},
		{time.Date(2026, 1, 31, 15, 0, 0, 0, time.UTC), jst(2026, 3, 1, 0, 0)}, // Feb 1 00:00 JST
	}
	for _, tt := range tests {
		got := deadline.NIS2FinalDue(tt.notified)
		if !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("NIS2FinalDue(%v) = %v, want %v (UTC)", tt.notified.In(deadline.JST), got.In(deadline.JST), tt.want)
		}
	}
}

func TestStartFallsBackToReported(t *testing.T) {
	reported := jst(2026, 6, 1, 9, 0)
	detected := jst(2026, 5, 30, 22, 0)
	zero := time.Time{}
	tests := []struct {
		name      string
		f         deadline.Facts
		wantStart time.Time
		ok        bool
	}{
		{"detected wins", deadline.Facts{DetectedAt: &detected, ReportedAt: reported}, detected, true},
		{"no detection: reported", deadline.Facts{ReportedAt: reported}, reported, true},
		{"zero detection: reported", deadline.Facts{DetectedAt: &zero, ReportedAt: reported}, reported, true},
		{"nothing", deadline.Facts{}, time.Time{}, false},
		{"year 10000 is corrupt", deadline.Facts{ReportedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, ok := tt.f.Start()
			if ok != tt.ok || !start.Equal(tt.wantStart) {
				t.Errorf("Start() = %v, %v; want %v, %v", start, ok, tt.wantStart, tt.ok)
			}
			tt.f.Flags = reportable
			clocks := deadline.Compute(tt.f, deadline.Config{})
			if !tt.ok {
				if clocks != nil {
					t.Errorf("Compute without a start = %v, want nil", clocks)
				}
				return
			}
			if c := findClock(t, clocks, deadline.APPIPreliminary); !c.Start.Equal(tt.wantStart) {
				t.Errorf("clock start = %v, want %v", c.Start, tt.wantStart)
			}
		})
	}
}

func TestFromIncident(t *testing.T) {
	detected := jst(2026, 7, 1, 8, 0)
	inc := &core.Incident{
		Category: core.CatRansomware,
		Flags:    core.Flags{PersonalData: true, PeopleAffected: 2000, EUResidents: true},
		Timestamps: core.Timestamps{
			DetectedAt: &detected,
			ReportedAt: jst(2026, 7, 1, 10, 0),
		},
	}
	f := deadline.FromIncident(inc)
	if f.Category != core.CatRansomware || f.Flags != inc.Flags || !f.ReportedAt.Equal(inc.Timestamps.ReportedAt) ||
		f.DetectedAt == nil || !f.DetectedAt.Equal(detected) {
		t.Fatalf("FromIncident = %+v", f)
	}
	want := detected
	*inc.Timestamps.DetectedAt = detected.Add(time.Hour)
	if !f.DetectedAt.Equal(want) {
		t.Error("Facts share the incident's DetectedAt pointer; later edits leak in")
	}
	if got := deadline.Compute(deadline.FromIncident(nil), deadline.Config{}); got != nil {
		t.Errorf("Compute(FromIncident(nil)) = %v, want nil", got)
	}
	inc.Timestamps.DetectedAt = nil
	clocks := deadline.Compute(deadline.FromIncident(inc), deadline.Config{})
	if c := findClock(t, clocks, deadline.GDPRAuthority); !c.Start.Equal(inc.Timestamps.ReportedAt) {
		t.Errorf("without detection the start is the report time: got %v", c.Start)
	}
}

func TestComputeSortsByDue(t *testing.T) {
	f := detectedAt(jst(2026, 1, 10, 10, 0), core.Flags{PersonalData: true, EUResidents: true, SensitivePersonalData: true})
	cfg := deadline.Config{NIS2: deadline.NIS2Important, Custom: []deadline.CustomRule{{
		ID: "customer-contract", TitleJA: "契約先への報告", TitleEN: "Report to customer", Recipient: "ACME", DueAfter: 72 * time.Hour,
	}}}
	clocks := deadline.Compute(f, cfg)
	checkInvariants(t, clocks)
	var got []string
	for _, c := range clocks {
		got = append(got, c.RuleID)
	}
	// Ties (four clocks at 72 h) keep the order of Rules, custom rules last.
	want := []string{
		deadline.NIS2EarlyWarning, deadline.GDPRAuthority, deadline.GDPRIndividuals, deadline.NIS2Notification, "customer-contract",
		deadline.APPIPreliminary, deadline.APPIIndividuals, deadline.APPIFinal, deadline.NIS2Final,
	}
	if !slices.Equal(got, want) {
		t.Errorf("order = %v\nwant    %v", got, want)
	}
	if c := findClock(t, clocks, "customer-contract"); !c.Custom {
		t.Error("custom clock not marked Custom")
	}
	if c := findClock(t, clocks, deadline.APPIFinal); c.Custom || c.Title("ja") != "漏えい等報告(確報)" || c.Title("en") != c.TitleEN {
		t.Errorf("built-in clock: custom=%v title ja=%q en=%q", c.Custom, c.Title("ja"), c.Title("en"))
	}
}

func TestState(t *testing.T) {
	// Preliminary: aware 2026-01-31 23:30 JST, due soon from Feb 3 00:00,
	// due Feb 5 23:59:59.999 JST.
	clocks := deadline.Compute(detectedAt(jst(2026, 1, 31, 23, 30), reportable), deadline.Config{})
	c := findClock(t, clocks, deadline.APPIPreliminary)
	// GDPR-style exact clock for the exact-boundary rows.
	g := deadline.Clock{Start: jst(2026, 1, 1, 0, 0), WarnFrom: jst(2026, 1, 3, 0, 0), Due: jst(2026, 1, 4, 0, 0)}
	tests := []struct {
		name      string
		c         deadline.Clock
		now       time.Time
		submitted bool
		want      string
	}{
		{"before start", c, jst(2026, 1, 30, 0, 0), false, deadline.StatePending},
		{"at start", c, c.Start, false, deadline.StatePending},
		{"last instant of day 2", c, jst(2026, 2, 3, 0, 0).Add(-time.Nanosecond), false, deadline.StatePending},
		{"first instant of day 3", c, jst(2026, 2, 3, 0, 0), false, deadline.StateDueSoon},
		{"day 5 noon", c, jst(2026, 2, 5, 12, 0), false, deadline.StateDueSoon},
		{"at due (23:59:59.999 JST)", c, eod(2026, 2, 5), false, deadline.StateDueSoon},
		{"1 ns after due", c, eod(2026, 2, 5).Add(time.Nanosecond), false, deadline.StateOverdue},
		{"next midnight JST", c, jst(2026, 2, 6, 0, 0), false, deadline.StateOverdue},
		{"same instant given in UTC", c, time.Date(2026, 2, 5, 15, 0, 0, 0, time.UTC), false, deadline.StateOverdue},
		{"submitted while pending", c, jst(2026, 2, 1, 0, 0), true, deadline.StateSubmitted},
		{"submitted while due soon", c, jst(2026, 2, 4, 0, 0), true, deadline.StateSubmitted},
		{"submitted late", c, jst(2026, 3, 1, 0, 0), true, deadline.StateSubmitted},
		{"exact: 1 ns before warn", g, g.WarnFrom.Add(-time.Nanosecond), false, deadline.StatePending},
		{"exact: at warn", g, g.WarnFrom, false, deadline.StateDueSoon},
		{"exact: at due", g, g.Due, false, deadline.StateDueSoon},
		{"exact: 1 ns after due", g, g.Due.Add(time.Nanosecond), false, deadline.StateOverdue},
		{"warn at start: due soon at once", deadline.Clock{Start: g.Start, WarnFrom: g.Start, Due: g.Due}, g.Start, false, deadline.StateDueSoon},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := deadline.State(tt.c, tt.now, tt.submitted); got != tt.want {
				t.Errorf("State at %v = %q, want %q", tt.now.In(deadline.JST), got, tt.want)
			}
		})
	}
	if deadline.StateNotRequired != "not_required" {
		t.Errorf("StateNotRequired = %q", deadline.StateNotRequired)
	}
}
