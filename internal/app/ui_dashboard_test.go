package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

func TestSummarizeIncidents(t *testing.T) {
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC) // Wednesday noon in Tokyo
	at := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	h := time.Hour
	closed := func(sev core.Severity, closedAgo, occurred, detected, acked, contained, recovered time.Duration) *core.Incident {
		return &core.Incident{Severity: sev, Phase: core.PhaseClosed, CreatedAt: *at(detected),
			Facts: core.Facts{OccurredAt: at(occurred)},
			Timestamps: core.Timestamps{ReportedAt: *at(detected), DetectedAt: at(detected), AcknowledgedAt: at(acked),
				ContainedAt: at(contained), RecoveredAt: at(recovered), ClosedAt: at(closedAgo)}}
	}
	incs := []*core.Incident{
		{Severity: core.S1, Phase: core.PhaseTriage, CreatedAt: *at(h)},                 // this week
		{Severity: core.S1, Phase: core.PhaseDetect, CreatedAt: *at(3 * 24 * h)},        // Sunday: last week
		{Severity: core.S3, Phase: core.PhaseTriage, CreatedAt: *at(200 * 24 * h)},      // before the chart
		{Severity: core.S2, Phase: core.PhaseTriage, CreatedAt: *at(h), Exercise: true}, // a drill: nowhere
		// Closed in the window: MTTD 2h/4h/6h, MTTA 1h/1h/3h, MTTC 10h/20h/30h.
		closed(core.S2, 24*h, 102*h, 100*h, 99*h, 90*h, 80*h),
		closed(core.S2, 48*h, 204*h, 200*h, 199*h, 180*h, 150*h),
		closed(core.S2, 72*h, 306*h, 300*h, 297*h, 270*h, 250*h),
		// Closed before the window: left out of the medians.
		closed(core.S2, 100*24*h, 3000*h, 2999*h, 2998*h, 2997*h, 2996*h),
	}
	d := SummarizeIncidents(incs, now, jst)
	if d.Open != 3 || d.OpenBySev[core.S1] != 2 || d.OpenBySev[core.S3] != 1 || d.OpenBySev[core.S2] != 0 ||
		d.OpenByPhase[core.PhaseTriage] != 2 || d.OpenByPhase[core.PhaseDetect] != 1 {
		t.Errorf("open: %d %v %v", d.Open, d.OpenBySev, d.OpenByPhase)
	}
	// This week: the triage one. Last week: Sunday's and the closed ones
	// detected 100h and 200h ago; the week before: the one of 300h ago.
	if len(d.Weeks) != DashboardWeeks || d.Weeks[11].Count != 1 || d.Weeks[10].Count != 3 || d.Weeks[9].Count != 1 {
		t.Errorf("weeks: %+v", d.Weeks)
	}
	if d.Weeks[11].Start != time.Date(2026, 11, 23, 0, 0, 0, 0, jst) || d.Weeks[0].Start.Weekday() != time.Monday {
		t.Errorf("week starts: %v %v", d.Weeks[0].Start, d.Weeks[11].Start)
	}
	if d.Closed != 3 || d.MTTD != (Median{4 * h, 3}) || d.MTTA != (Median{h, 3}) || d.MTTC != (Median{20 * h, 3}) || d.MTTR != (Median{50 * h, 3}) {
		t.Errorf("closed %d, MTTD %v MTTA %v MTTC %v MTTR %v", d.Closed, d.MTTD, d.MTTA, d.MTTC, d.MTTR)
	}
	if m := median([]time.Duration{4, 1, 3, 2}); m != (Median{2, 4}) {
		t.Errorf("even median: %v", m)
	}
	if m := median(nil); m.N != 0 {
		t.Errorf("empty median: %v", m)
	}
}

func TestDashboardScopeAndClocks(t *testing.T) {
	ctx := context.Background()
	a, _ := newNotifyApp(t, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC), NotifyConfig{})
	inc, err := a.CreateIncident(ctx, SystemActor, NewIncident{Title: "leak", Flags: core.Flags{PersonalData: true, PeopleAffected: 5000}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateIncident(ctx, SystemActor, NewIncident{Title: "secret", Restricted: true}); err != nil {
		t.Fatal(err)
	}
	viewer := Actor{User: core.User{ID: 50, Name: "v", Role: core.RoleViewer}}
	d, err := a.Dashboard(ctx, viewer, jst)
	if err != nil {
		t.Fatal(err)
	}
	// The restricted incident is not the viewer's to count.
	if d.Open != 1 || d.Scanned != 1 || d.Truncated || d.Weeks[11].Count != 1 {
		t.Errorf("viewer's dashboard: open %d scanned %d weeks %+v", d.Open, d.Scanned, d.Weeks[11])
	}
	if len(d.Clocks) == 0 || d.Clocks[0].Incident != inc.Key {
		t.Errorf("clocks due: %+v", d.Clocks)
	}
	reporter := Actor{User: core.User{ID: 51, Name: "r", Role: core.RoleReporter}}
	if _, err := a.Dashboard(ctx, reporter, jst); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("reporter's dashboard: %v", err)
	}
}
