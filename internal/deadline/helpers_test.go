package deadline_test

import (
	"slices"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/deadline"
)

// jst builds a wall-clock time in Japan.
func jst(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, deadline.JST)
}

// eod is the end of a JST calendar day as the package represents it.
func eod(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 23, 59, 59, 999_000_000, deadline.JST)
}

// reportable are flags that start every APPI clock and nothing else.
var reportable = core.Flags{PersonalData: true, SensitivePersonalData: true}

func detectedAt(t time.Time, fl core.Flags) deadline.Facts {
	return deadline.Facts{Category: core.CatDataLeak, Flags: fl, DetectedAt: &t, ReportedAt: t.Add(time.Hour)}
}

func ruleIDs(clocks []deadline.Clock) []string {
	ids := make([]string, 0, len(clocks))
	for _, c := range clocks {
		ids = append(ids, c.RuleID)
	}
	slices.Sort(ids)
	return ids
}

func findClock(tb testing.TB, clocks []deadline.Clock, id string) deadline.Clock {
	tb.Helper()
	for _, c := range clocks {
		if c.RuleID == id {
			return c
		}
	}
	tb.Fatalf("no clock %q among %v", id, ruleIDs(clocks))
	return deadline.Clock{}
}

// checkInvariants asserts what must hold for any result of Compute.
func checkInvariants(tb testing.TB, clocks []deadline.Clock) {
	tb.Helper()
	for i, c := range clocks {
		if c.Due.Before(c.Start) {
			tb.Errorf("%s: due %v before start %v", c.RuleID, c.Due, c.Start)
		}
		if c.WarnFrom.Before(c.Start) || c.WarnFrom.After(c.Due) {
			tb.Errorf("%s: warn from %v outside [start %v, due %v]", c.RuleID, c.WarnFrom, c.Start, c.Due)
		}
		if c.Start.Location() != time.UTC || c.Due.Location() != time.UTC || c.WarnFrom.Location() != time.UTC {
			tb.Errorf("%s: times not in UTC: %v %v %v", c.RuleID, c.Start.Location(), c.Due.Location(), c.WarnFrom.Location())
		}
		if i > 0 && c.Due.Before(clocks[i-1].Due) {
			tb.Errorf("clocks not sorted by due: %s (%v) after %s (%v)", c.RuleID, c.Due, clocks[i-1].RuleID, clocks[i-1].Due)
		}
		if c.RuleID == "" || c.TitleJA == "" || c.TitleEN == "" || c.Recipient == "" {
			tb.Errorf("clock with empty id, title or recipient: %+v", c)
		}
	}
}
