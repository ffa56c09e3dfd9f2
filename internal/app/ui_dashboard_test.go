package app

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
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

// TestDashboardAggregatesMatchList checks the dashboard the database
// counts against SummarizeIncidents over the same incidents read one by
// one, for an admin and for a viewer who is not a member of the
// restricted ones (which must not count for them).
func TestDashboardAggregatesMatchList(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	a, _ := newApp(t, now)
	day := 24 * time.Hour
	err := a.store.InTx(ctx, func(tx *store.Tx) error {
		for i := range 120 {
			key, err := tx.NextIncidentKey(ctx, 2026)
			if err != nil {
				return err
			}
			created := now.Add(-time.Duration(i*37%160)*day - time.Duration(i)*time.Hour)
			inc := &core.Incident{Key: key, Title: "fixture", Severity: core.Severities[i%4], Category: core.Categories[i%7],
				Phase: core.Phases[i%len(core.Phases)], Restricted: i%9 == 0, Exercise: i%13 == 0, Impact: 2, Urgency: 2}
			if err := inc.Normalize(); err != nil {
				return err
			}
			inc.CreatedAt, inc.UpdatedAt, inc.Timestamps.ReportedAt = created, created, created.Add(time.Duration(i)*time.Minute)
			if inc.Phase == core.PhaseClosed {
				occ, det, ack := created.Add(-time.Duration(i)*time.Hour), created, created.Add(time.Duration(i+30)*time.Minute)
				con, rec, clo := det.Add(time.Duration(i)*time.Hour), det.Add(time.Duration(3*i)*time.Hour), det.Add(time.Duration(i%20)*day)
				inc.Facts.OccurredAt, inc.Timestamps.DetectedAt, inc.Timestamps.AcknowledgedAt = &occ, &det, &ack
				inc.Timestamps.ContainedAt, inc.Timestamps.RecoveredAt, inc.Timestamps.ClosedAt = &con, &rec, &clo
			}
			if err := tx.CreateIncident(ctx, inc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	admin := Actor{User: core.User{ID: 70, Name: "adm", Role: core.RoleAdmin}}
	viewer := Actor{User: core.User{ID: 71, Name: "v", Role: core.RoleViewer}}
	opens := map[string]int{}
	for name, actor := range map[string]Actor{"admin": admin, "viewer": viewer} {
		var all []*core.Incident
		f := store.IncidentFilter{Limit: store.MaxListLimit}
		for {
			page, more, err := a.ListIncidents(ctx, actor, f)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if !more {
				break
			}
			f.Before = page[len(page)-1].ID
		}
		want := SummarizeIncidents(all, now, jst)
		first, since := want.Weeks[0].Start, now.Add(-DashboardMTTWindow)
		wantScanned := 0
		for _, inc := range all {
			if !inc.Exercise && (inc.Phase != core.PhaseClosed || !inc.CreatedAt.Before(first) ||
				inc.Timestamps.ClosedAt != nil && !inc.Timestamps.ClosedAt.Before(since)) {
				wantScanned++
			}
		}
		got, err := a.Dashboard(ctx, actor, jst)
		if err != nil {
			t.Fatal(err)
		}
		got.Clocks = nil
		want.Scanned = wantScanned
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: aggregates differ from the list\n got  %+v\n want %+v", name, got, want)
		}
		if want.Closed == 0 || len(want.RecentByCategory) == 0 || want.MTTR.N == 0 {
			t.Errorf("%s: the fixture should exercise every figure: %+v", name, want)
		}
		opens[name] = got.Open
	}
	if opens["viewer"] >= opens["admin"] {
		t.Errorf("restricted incidents counted for a non-member: %v", opens)
	}
}
