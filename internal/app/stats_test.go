package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/deadline"
)

// TestStatsExcludeExercises: an exercise counts in no statistic, cost
// total or response time; the real incident does, with its times.
func TestStatsExcludeExercises(t *testing.T) {
	ctx := context.Background()
	a, c := newApp(t, kbStart)
	us := kbUsers(t, a, map[string]core.Role{"lead": core.RoleLead, "viewer": core.RoleViewer, "reporter": core.RoleReporter})
	lead := us["lead"]
	real, err := a.CreateIncident(ctx, lead, NewIncident{Title: "本番のマルウェア感染", Category: core.CatMalware, Severity: core.S2})
	if err != nil {
		t.Fatal(err)
	}
	drill, err := a.CreateIncident(ctx, lead, NewIncident{Title: "訓練: ランサムウェア", Category: core.CatRansomware, Severity: core.S1, Exercise: true})
	if err != nil {
		t.Fatal(err)
	}
	amount := int64(250_000)
	for _, key := range []string{real.Key, drill.Key} {
		if _, err := a.AddCost(ctx, lead, key, NewCost{Category: core.CostCategory("consulting"), Amount: &amount,
			Status: core.CostStatus("actual"), Date: "2026-05-01"}); err != nil {
			t.Fatal(err)
		}
		c.advance(30 * time.Minute)
		if _, err := a.Assign(ctx, lead, key, "lead", ""); err != nil {
			t.Fatal(err)
		}
	}
	st, err := a.Stats(ctx, us["viewer"], StatsQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != 1 {
		t.Fatalf("total %d, want 1 (the exercise left out)", st.Total)
	}
	get := func(list []StatCount, key string) int64 {
		for _, s := range list {
			if s.Key == key {
				return s.Count
			}
		}
		t.Fatalf("no %q in %+v", key, list)
		return 0
	}
	if get(st.ByCategory, "malware") != 1 || get(st.ByCategory, "ransomware") != 0 || get(st.BySeverity, "S1") != 0 ||
		get(st.ByPhase, "detect") != 1 || get(st.ByCauseClass, "unset") != 1 {
		t.Errorf("breakdowns %+v", st)
	}
	// Acknowledged by the first assignment, 30 minutes after filing.
	mtta := st.ResponseTimes[1]
	if mtta.Measure != "mtta" || mtta.Incidents != 1 || mtta.MedianSeconds == nil || *mtta.MedianSeconds != 1800 || *mtta.P90Seconds != 1800 {
		t.Errorf("mtta %+v %d %d", mtta, *mtta.MedianSeconds, *mtta.P90Seconds)
	}
	sum, err := a.SummarizeCosts(ctx, us["viewer"], CostSummaryQuery{})
	if err != nil || len(sum.Totals) != 1 || sum.Totals[0].Total != amount {
		t.Errorf("cost totals %+v %v", sum.Totals, err)
	}
	// The window is in Japan days, inclusive.
	if st, _ := a.Stats(ctx, us["viewer"], StatsQuery{From: "2026-05-01", To: "2026-05-01"}); st.Total != 1 {
		t.Errorf("same-day window: %d", st.Total)
	}
	if st, _ := a.Stats(ctx, us["viewer"], StatsQuery{To: "2026-04-30"}); st.Total != 0 {
		t.Errorf("window before: %d", st.Total)
	}
	if _, err := a.Stats(ctx, us["reporter"], StatsQuery{}); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("reporter: %v", err)
	}
	for _, bad := range []StatsQuery{{From: "2026-5-1"}, {From: "2026-05-02", To: "2026-05-01"}} {
		if _, err := a.Stats(ctx, us["viewer"], bad); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// TestExerciseClocksNeverFallDue: an exercise with personal data shows
// the same legal clocks as a real incident, each marked exercise, and
// none of them is ever listed as due or escalated, even long overdue.
func TestExerciseClocksNeverFallDue(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)
	a, c := newNotifyApp(t, start, NotifyConfig{})
	addContact(t, a, core.Contact{Name: "Legal", Roles: []string{"legal"}, Channels: email("legal@example.jp")})
	addContact(t, a, core.Contact{Name: "Board", Roles: []string{"management"}, Channels: email("board@example.jp")})
	flags := core.Flags{PersonalData: true, SensitivePersonalData: true}
	drill, err := a.CreateIncident(ctx, SystemActor, NewIncident{Title: "訓練: 顧客名簿の漏えい", Category: core.CatDataLeak, Flags: flags, Exercise: true})
	if err != nil {
		t.Fatal(err)
	}
	real, err := a.CreateIncident(ctx, SystemActor, NewIncident{Title: "顧客名簿の漏えい", Category: core.CatDataLeak, Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	drillClocks, err := a.Clocks(ctx, SystemActor, drill.Key)
	if err != nil {
		t.Fatal(err)
	}
	realClocks, err := a.Clocks(ctx, SystemActor, real.Key)
	if err != nil {
		t.Fatal(err)
	}
	if len(drillClocks) == 0 || len(drillClocks) != len(realClocks) {
		t.Fatalf("drill clocks %d, real %d", len(drillClocks), len(realClocks))
	}
	for _, v := range drillClocks {
		if !v.Exercise || v.State != deadline.StateExercise {
			t.Errorf("drill clock %+v", v)
		}
	}
	c.advance(60 * 24 * time.Hour)
	if _, err := a.RunEscalations(ctx); err != nil {
		t.Fatal(err)
	}
	due, err := a.DueClocks(ctx, SystemActor, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) == 0 {
		t.Fatal("the real incident's clocks are not due")
	}
	for _, v := range due {
		if v.Incident == drill.Key {
			t.Errorf("exercise clock listed as due: %+v", v)
		}
	}
	var realMsgs int
	for _, r := range outbox(t, a) {
		if r.IncidentID == drill.ID && (r.RuleID == "default-clock-overdue" || r.RuleID == "default-clock-due-soon") {
			t.Errorf("exercise escalated: %+v", r)
		}
		if r.IncidentID == real.ID && r.RuleID == "default-clock-overdue" {
			realMsgs++
		}
	}
	if realMsgs == 0 {
		t.Error("the real incident's overdue clock escalated to no one")
	}
	// Recording a drill's report still works and shows.
	legal, _, err := a.CreateUser(ctx, SystemActor, NewUser{Name: "legal", Role: core.RoleLead})
	if err != nil {
		t.Fatal(err)
	}
	views, err := a.RecordClock(ctx, Actor{User: legal}, drill.Key, drillClocks[0].RuleID, ClockDecision{State: deadline.StateSubmitted, Reference: "訓練"})
	if err != nil || views[0].State != deadline.StateSubmitted || !views[0].Exercise {
		t.Errorf("record: %v %+v", err, views)
	}
}
