package deadline_test

import (
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/deadline"
)

// FuzzCompute checks that Compute never panics, whatever the facts and the
// configuration, and that every clock it returns is well formed: due not
// before start, warn-from between them, sorted by due, in UTC.
func FuzzCompute(f *testing.F) {
	f.Add(int64(1769869800), int64(0), true, int64(1769873400), uint8(0xff), int64(2000), "data_leak", 7, int64(72*time.Hour), "essential", 3, int64(0), false)
	f.Add(int64(0), int64(0), false, int64(0), uint8(0), int64(0), "", 0, int64(0), "", 0, int64(0), false)
	f.Add(int64(-62135596800), int64(0), true, int64(0), uint8(1), int64(-5), "other", -1, int64(-1), "x", -2, int64(-1), true)
	f.Add(int64(253402300799), int64(999999999), true, int64(0), uint8(0x1f), int64(1<<62), "ransomware", 366, int64(1<<62), "important", 366, int64(366*24*time.Hour), true)
	f.Add(int64(1<<62), int64(-1), false, int64(-1<<62), uint8(0x3f), int64(1001), "dos", 1<<30, int64(1<<40), "important", 0, int64(time.Hour), false)
	f.Fuzz(func(t *testing.T, detSec, detNsec int64, hasDet bool, repSec int64, flags uint8, people int64, cat string,
		indivDays int, gdprTarget int64, nis2 string, customDays int, customAfter int64, dayOne bool) {
		fl := core.Flags{
			PersonalData:          flags&1 != 0,
			SensitivePersonalData: flags&2 != 0,
			MaliciousIntent:       flags&4 != 0,
			FinancialDamageRisk:   flags&8 != 0,
			EUResidents:           flags&16 != 0,
			PeopleAffected:        people,
		}
		facts := deadline.Facts{Category: core.Category(cat), Flags: fl, ReportedAt: time.Unix(repSec, 0)}
		if hasDet {
			d := time.Unix(detSec, detNsec)
			facts.DetectedAt = &d
		}
		custom := deadline.CustomRule{
			ID: "fuzz", TitleJA: "ファズ", TitleEN: "Fuzz", Recipient: "R",
			DueDays: customDays, DueAfter: time.Duration(customAfter),
		}
		if flags&32 != 0 {
			custom.Categories = []core.Category{core.Category(cat)}
		}
		if flags&64 != 0 {
			custom.RequiredFlags = []string{deadline.FlagPersonalData}
		}
		cfg := deadline.Config{
			APPIIndividualsDays:   indivDays,
			GDPRIndividualsTarget: time.Duration(gdprTarget),
			NIS2:                  deadline.NIS2Entity(nis2),
			AwarenessDayIsDayOne:  dayOne,
			Custom:                []deadline.CustomRule{custom},
		}
		_ = cfg.Validate()
		clocks := deadline.Compute(facts, cfg)
		checkInvariants(t, clocks)
		start, ok := facts.Start()
		if !ok && clocks != nil {
			t.Fatalf("clocks without a usable start: %v", clocks)
		}
		for _, c := range clocks {
			if !c.Start.Equal(start) {
				t.Fatalf("%s: start %v, want %v", c.RuleID, c.Start, start)
			}
			for _, now := range []time.Time{c.Start, c.WarnFrom, c.Due, c.Due.Add(1)} {
				switch s := deadline.State(c, now, false); s {
				case deadline.StatePending, deadline.StateDueSoon, deadline.StateOverdue:
				default:
					t.Fatalf("State = %q", s)
				}
			}
			if deadline.State(c, c.Due.Add(1), false) != deadline.StateOverdue {
				t.Fatalf("%s: not overdue just after due", c.RuleID)
			}
		}
		// A reportable leak with a usable start always gets its APPI clocks.
		if ok && fl.PersonalData && fl.MaliciousIntent {
			for _, id := range []string{deadline.APPIPreliminary, deadline.APPIFinal, deadline.APPIIndividuals} {
				findClock(t, clocks, id)
			}
		}
	})
}
