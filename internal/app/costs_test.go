package app

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

func TestCostsCRUDTotalsAndSummary(t *testing.T) {
	ctx := context.Background()
	a, c := newApp(t, time.Date(2026, 3, 31, 16, 0, 0, 0, time.UTC)) // 1 April in Japan
	us := kbUsers(t, a, map[string]core.Role{"analyst": core.RoleAnalyst, "viewer": core.RoleViewer, "reporter": core.RoleReporter,
		"lead": core.RoleLead})
	an := us["analyst"]
	inc, err := a.CreateIncident(ctx, an, NewIncident{Title: "ransomware on file server", Category: core.CatRansomware})
	if err != nil {
		t.Fatal(err)
	}
	other, err := a.CreateIncident(ctx, an, NewIncident{Title: "lost laptop", Category: core.CatLostDevice})
	if err != nil {
		t.Fatal(err)
	}
	drill, err := a.CreateIncident(ctx, us["lead"], NewIncident{Title: "drill", Category: core.CatRansomware, Exercise: true})
	if err != nil {
		t.Fatal(err)
	}
	i64 := func(v int64) *int64 { return &v }
	add := func(key string, in NewCost) core.CostItem {
		t.Helper()
		item, err := a.AddCost(ctx, an, key, in)
		if err != nil {
			t.Fatalf("add %+v: %v", in, err)
		}
		return item
	}
	forensic := add(inc.Key, NewCost{Category: core.CostInvestigationRecovery, Amount: i64(3_300_000), Status: core.CostActual, Note: "forensics vendor"})
	if forensic.Currency != "JPY" || forensic.Date != "2026-04-01" || forensic.CreatedBy != "analyst" {
		t.Errorf("defaults: %+v", forensic)
	}
	staff := add(inc.Key, NewCost{Category: core.CostStaffOvertime, Kind: core.CostStaffHours, Hours: json.Number("12.5"), Rate: i64(4_001), Status: core.CostActual, Date: "2026-04-02"})
	if staff.Amount != 50_013 || staff.Hours != "12.5" { // 12.5 × 4001 = 50012.5, rounded half up
		t.Errorf("staff time: %+v", staff)
	}
	add(inc.Key, NewCost{Category: core.CostCompensation, Amount: i64(1_000_000), Status: core.CostEstimate, Date: "2026-05-10"})
	add(inc.Key, NewCost{Category: core.CostConsulting, Amount: i64(150_000), Currency: "usd", Status: core.CostEstimate, Date: "2026-05-11"})
	add(other.Key, NewCost{Category: core.CostInvestigationRecovery, Amount: i64(1), Status: core.CostActual, Date: "2026-05-01"})
	add(drill.Key, NewCost{Category: core.CostRansom, Amount: i64(99_999_999), Status: core.CostActual})

	before := auditLen(t, a)
	for _, bad := range []NewCost{
		{Category: "fines", Amount: i64(1), Status: core.CostActual},
		{Category: core.CostOther, Status: core.CostActual},
		{Category: core.CostOther, Amount: i64(-5), Status: core.CostActual},
		{Category: core.CostOther, Amount: i64(core.MaxCostAmount + 1), Status: core.CostActual},
		{Category: core.CostOther, Amount: i64(1), Status: "guess"},
		{Category: core.CostOther, Amount: i64(1), Status: core.CostActual, Currency: "¥"},
		{Category: core.CostOther, Amount: i64(1), Status: core.CostActual, Date: "2026-13-01"},
		{Category: core.CostStaffOvertime, Kind: core.CostStaffHours, Hours: "1.234", Rate: i64(1), Status: core.CostActual},
		{Category: core.CostStaffOvertime, Kind: core.CostStaffHours, Hours: "2", Status: core.CostActual},
		{Category: core.CostStaffOvertime, Kind: core.CostStaffHours, Hours: "-2", Rate: i64(1), Status: core.CostActual},
		{Category: core.CostStaffOvertime, Kind: core.CostStaffHours, Hours: "1e3", Rate: i64(1), Status: core.CostActual},
	} {
		if _, err := a.AddCost(ctx, an, inc.Key, bad); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if _, err := a.AddCost(ctx, us["viewer"], inc.Key, NewCost{Category: core.CostOther, Amount: i64(1), Status: core.CostActual}); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("viewer adds: %v", err)
	}
	if got := auditLen(t, a); got != before {
		t.Errorf("refused adds wrote %d events", got-before)
	}

	// Update with optimistic locking, delete; each audited.
	upd, err := a.UpdateCost(ctx, an, inc.Key, forensic.ID, CostPatch{Amount: i64(3_500_000), Version: i64(1)})
	if err != nil || upd.Amount != 3_500_000 || upd.Version != 2 {
		t.Fatalf("update: %v %+v", err, upd)
	}
	if _, err := a.UpdateCost(ctx, an, inc.Key, forensic.ID, CostPatch{Amount: i64(1), Version: i64(1)}); !errors.Is(err, core.ErrConflict) {
		t.Errorf("stale update: %v", err)
	}
	if _, err := a.UpdateCost(ctx, an, other.Key, forensic.ID, CostPatch{Amount: i64(1)}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("update through another incident: %v", err)
	}
	extra := add(inc.Key, NewCost{Category: core.CostOther, Amount: i64(7), Status: core.CostActual})
	if err := a.DeleteCost(ctx, an, inc.Key, extra.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteCost(ctx, an, inc.Key, extra.ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	tl, err := a.Timeline(ctx, an, inc.Key, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if last := tl[len(tl)-1]; last.Type != core.EvCostDeleted || !json.Valid(last.Payload) || !containsJSON(last.Payload, `"amount":7`) {
		t.Errorf("delete event %s %s", last.Type, last.Payload)
	}

	costs, err := a.Costs(ctx, us["viewer"], inc.Key)
	if err != nil {
		t.Fatal(err)
	}
	if len(costs.Items) != 4 {
		t.Errorf("%d items", len(costs.Items))
	}
	wantTotals := map[string]core.CostTotal{
		"JPY": {Currency: "JPY", Estimated: 1_000_000, Actual: 3_550_013, Total: 4_550_013, Items: 3},
		"USD": {Currency: "USD", Estimated: 150_000, Total: 150_000, Items: 1},
	}
	for _, tot := range costs.Totals {
		if tot != wantTotals[tot.Currency] {
			t.Errorf("total %+v, want %+v", tot, wantTotals[tot.Currency])
		}
	}
	if len(costs.ByCategory) != 4 {
		t.Errorf("by category %+v", costs.ByCategory)
	}
	if _, err := a.Costs(ctx, us["reporter"], inc.Key); err == nil {
		t.Errorf("a reporter reads costs")
	}

	// Summary across incidents, exercises left out.
	sum, err := a.SummarizeCosts(ctx, us["viewer"], CostSummaryQuery{Group: "month"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, g := range sum.Groups {
		got[g.Key+" "+g.Currency] = g.Total
	}
	want := map[string]int64{"2026-04 JPY": 3_550_013, "2026-05 JPY": 1_000_001, "2026-05 USD": 150_000}
	if len(got) != len(want) {
		t.Errorf("month groups %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d, want %d (all %v)", k, got[k], v, got)
		}
	}
	sum, err = a.SummarizeCosts(ctx, us["viewer"], CostSummaryQuery{Group: "incident_category", From: "2026-05-01", To: "2026-05-31"})
	if err != nil {
		t.Fatal(err)
	}
	got = map[string]int64{}
	for _, g := range sum.Groups {
		got[g.Key+" "+g.Currency] = g.Total
	}
	if got["ransomware JPY"] != 1_000_000 || got["lost_device JPY"] != 1 || got["ransomware USD"] != 150_000 || len(got) != 3 {
		t.Errorf("incident categories in May: %v", got)
	}
	for _, q := range []CostSummaryQuery{{Group: "year"}, {From: "yesterday"}, {From: "2026-05-02", To: "2026-05-01"}} {
		if _, err := a.SummarizeCosts(ctx, us["viewer"], q); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%+v: %v", q, err)
		}
	}
	_ = c
}

func containsJSON(b []byte, s string) bool {
	return json.Valid(b) && strings.Contains(string(b), s)
}
