package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/search"
	"github.com/irdesk/irdesk/internal/store"
)

func newArticle(tb testing.TB, st *store.Store, title, body string) *core.Knowledge {
	tb.Helper()
	k := &core.Knowledge{Kind: core.KnowledgeArticle, Title: title, Body: body, Tags: []string{"runbook"}, Language: "ja",
		CreatedAt: base, UpdatedAt: base}
	inTx(tb, st, func(ctx context.Context, tx *store.Tx) error { return tx.CreateKnowledge(ctx, k) })
	return k
}

func knowledgeIDs(tb testing.TB, st *store.Store, f store.KnowledgeFilter) []int64 {
	tb.Helper()
	rows, _, err := st.FindKnowledge(context.Background(), f)
	if err != nil {
		tb.Fatalf("FindKnowledge(%+v): %v", f, err)
	}
	var ids []int64
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	return ids
}

// testKnowledge: entries round-trip, search matches Japanese bigrams and
// English words on both databases, ranks title hits first, follows edits
// (keeping history), and applies the scope to entries of restricted
// incidents.
func testKnowledge(t *testing.T, st *store.Store) {
	ctx := context.Background()
	member := newUser(t, st, "member", core.RoleAnalyst)
	outsider := newUser(t, st, "outsider", core.RoleAnalyst)
	inc := newIncident(t, st, "restricted leak", func(i *core.Incident) { i.Restricted = true })
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.AddMember(ctx, inc.ID, member.ID)
		return err
	})
	entry := &core.Knowledge{Kind: core.KnowledgeIncident, IncidentID: inc.ID, IncidentKey: inc.Key, Title: "顧客情報の漏えい",
		Summary: "顧客情報の漏えいが発覚した", RootCause: "設定ミス", Category: core.CatDataLeak,
		Review: &core.KnowledgeReview{Scope: core.KnowledgeScope{AffectedSystems: []string{"crm"}}, Tools: []string{"EDR"},
			PhaseTimes: []core.PhaseTime{{Phase: core.PhaseDetect, Seconds: 60, Stays: 1}}},
		Tags: []string{}, CreatedAt: base, UpdatedAt: base, AuthorID: member.ID}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.CreateKnowledge(ctx, entry) })
	dup := &core.Knowledge{Kind: core.KnowledgeIncident, IncidentID: inc.ID, Title: "again", CreatedAt: base, UpdatedAt: base}
	err := st.InTx(ctx, func(tx *store.Tx) error { return tx.CreateKnowledge(ctx, dup) })
	wantConflict(t, err, "second entry for one incident")

	a1 := newArticle(t, st, "Phishing response", "Report the mail, then block the sender.")
	a2 := newArticle(t, st, "Mail gateway notes", "phishing filters and quarantine 漏えい対策")

	all := store.Scope{All: true}
	got, err := st.GetKnowledge(ctx, entry.ID, all)
	if err != nil {
		t.Fatal(err)
	}
	if got.IncidentKey != inc.Key || !got.Restricted || got.Review == nil || !slices.Equal(got.Review.Tools, []string{"EDR"}) ||
		got.Author != "member" || got.Version != 1 || !got.CreatedAt.Equal(base) {
		t.Errorf("round trip: %+v", got)
	}

	for _, tc := range []struct {
		q      string
		want   []int64
		anyOrd bool
	}{
		{"漏えい", []int64{entry.ID, a2.ID}, false},
		{"発覚", []int64{entry.ID}, false},
		{"PHISHING", []int64{a1.ID, a2.ID}, false}, // title hit first
		{"quarant", []int64{a2.ID}, false},
		{"runbook", []int64{a1.ID, a2.ID}, true}, // tags are searched; ranks differ by dialect
		{"nothing", nil, false},
	} {
		ids := knowledgeIDs(t, st, store.KnowledgeFilter{Scope: all, Query: tc.q})
		if tc.anyOrd {
			slices.Sort(ids)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("%q: %v, want %v", tc.q, ids, tc.want)
		}
	}
	// The restricted incident's entry: its member sees it, others do not.
	if ids := knowledgeIDs(t, st, store.KnowledgeFilter{Scope: store.Scope{UserID: member.ID}, Query: "漏えい"}); !slices.Equal(ids, []int64{entry.ID, a2.ID}) {
		t.Errorf("member: %v", ids)
	}
	if ids := knowledgeIDs(t, st, store.KnowledgeFilter{Scope: store.Scope{UserID: outsider.ID}, Query: "漏えい"}); !slices.Equal(ids, []int64{a2.ID}) {
		t.Errorf("outsider search: %v", ids)
	}
	if ids := knowledgeIDs(t, st, store.KnowledgeFilter{Scope: store.Scope{UserID: outsider.ID}}); !slices.Equal(ids, []int64{a2.ID, a1.ID}) {
		t.Errorf("outsider list: %v", ids)
	}
	if _, err := st.GetKnowledge(ctx, entry.ID, store.Scope{UserID: outsider.ID}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("outsider get: %v", err)
	}
	if ids := knowledgeIDs(t, st, store.KnowledgeFilter{Scope: all, Kind: core.KnowledgeArticle, Query: "漏えい"}); !slices.Equal(ids, []int64{a2.ID}) {
		t.Errorf("kind filter: %v", ids)
	}

	// An edit re-indexes, keeps the replaced text, and refuses a stale version.
	prev := a1.Content()
	a1.Body, a1.UpdatedAt = "Forward it to the CSIRT.", base.Add(1)
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.UpdateKnowledge(ctx, a1, prev, "member") })
	if a1.Version != 2 {
		t.Errorf("version %d", a1.Version)
	}
	stale := *a1
	stale.Version = 1
	err = st.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateKnowledge(ctx, &stale, prev, "member") })
	wantConflict(t, err, "stale knowledge update")
	if ids := knowledgeIDs(t, st, store.KnowledgeFilter{Scope: all, Query: "sender"}); len(ids) != 0 {
		t.Errorf("old text still found: %v", ids)
	}
	if ids := knowledgeIDs(t, st, store.KnowledgeFilter{Scope: all, Query: "csirt"}); !slices.Equal(ids, []int64{a1.ID}) {
		t.Errorf("new text: %v", ids)
	}
	h, err := st.KnowledgeHistory(ctx, a1.ID)
	if err != nil || len(h) != 1 || h[0].Version != 1 || h[0].Content.Body != "Report the mail, then block the sender." {
		t.Errorf("history %v %+v", err, h)
	}

	// Measures, and the overdue list in scope.
	m := core.Measure{KnowledgeID: entry.ID, Text: "MFA", OwnerID: member.ID, Due: "2026-04-10"}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.AddMeasure(ctx, &m) })
	m2 := core.Measure{KnowledgeID: a1.ID, Text: "training", Due: "2026-03-01"}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.AddMeasure(ctx, &m2) })
	if m.N != 1 || m2.N != 1 {
		t.Errorf("numbers %d %d", m.N, m2.N)
	}
	due, err := st.FindMeasures(ctx, store.MeasureFilter{Scope: all, Status: core.MeasureOpen, DueBefore: "2026-05-01"})
	if err != nil || len(due) != 2 || due[0].Text != "training" || due[1].Owner != "member" || due[1].IncidentKey != inc.Key {
		t.Errorf("overdue: %v %+v", err, due)
	}
	due, _ = st.FindMeasures(ctx, store.MeasureFilter{Scope: store.Scope{UserID: outsider.ID}})
	if len(due) != 1 || due[0].Text != "training" {
		t.Errorf("outsider measures: %+v", due)
	}
	m.Status = core.MeasureDone
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.UpdateMeasure(ctx, &m) })
	stale2 := m
	stale2.Version = 1
	wantConflict(t, st.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateMeasure(ctx, &stale2) }), "stale measure")
}

// testSimilarCandidates: shared observables, systems (case-insensitive,
// kept by triggers) and text are found, in scope.
func testSimilarCandidates(t *testing.T, st *store.Store) {
	ctx := context.Background()
	outsider := newUser(t, st, "outsider", core.RoleAnalyst)
	src := newIncident(t, st, "VPN brute force", func(i *core.Incident) { i.AffectedSystems = []string{"VPN-GW", "ad"} })
	sys := newIncident(t, st, "other", func(i *core.Incident) { i.AffectedSystems = []string{"vpn-gw"} })
	txt := newIncident(t, st, "brute force on mail")
	hidden := newIncident(t, st, "hidden", func(i *core.Incident) { i.Restricted = true; i.AffectedSystems = []string{"ad"} })
	moved := newIncident(t, st, "later", func(i *core.Incident) { i.AffectedSystems = []string{"x"} })
	// Changing the systems later is followed.
	moved.AffectedSystems = []string{"AD"}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.UpdateIncident(ctx, moved) })

	terms := []search.Term{{Text: "brute"}, {Text: "force"}}
	got, err := st.SimilarCandidates(ctx, src, store.Scope{UserID: outsider.ID}, terms)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]*store.SimilarCandidate{}
	for _, c := range got {
		by[c.Key] = c
	}
	if c := by[sys.Key]; c == nil || !slices.Equal(c.Systems, []string{"vpn-gw"}) {
		t.Errorf("system: %+v", c)
	}
	if c := by[moved.Key]; c == nil || !slices.Equal(c.Systems, []string{"ad"}) {
		t.Errorf("updated systems: %+v", c)
	}
	if c := by[txt.Key]; c == nil || c.TextScore <= 0 {
		t.Errorf("text: %+v", c)
	}
	if by[hidden.Key] != nil || by[src.Key] != nil {
		t.Errorf("hidden or itself listed: %v", by)
	}
	got, _ = st.SimilarCandidates(ctx, src, store.Scope{All: true}, terms)
	if !slices.ContainsFunc(got, func(c *store.SimilarCandidate) bool { return c.Key == hidden.Key }) {
		t.Errorf("admin does not get the restricted one")
	}
}

// testCosts: items round-trip, update with versions, delete, and sums are
// exact, grouped and scoped, exercises left out of summaries.
func testCosts(t *testing.T, st *store.Store) {
	ctx := context.Background()
	u := newUser(t, st, "analyst", core.RoleAnalyst)
	outsider := newUser(t, st, "outsider", core.RoleAnalyst)
	inc := newIncident(t, st, "ransomware", func(i *core.Incident) { i.Category = core.CatRansomware })
	drill := newIncident(t, st, "drill", func(i *core.Incident) { i.Exercise = true })
	hidden := newIncident(t, st, "hidden", func(i *core.Incident) { i.Restricted = true })
	items := []core.CostItem{
		{IncidentID: inc.ID, Category: core.CostInvestigationRecovery, Kind: core.CostAmount, Amount: 999_999_999_999_999, Currency: "JPY", Status: core.CostActual, Date: "2026-04-01"},
		{IncidentID: inc.ID, Category: core.CostInvestigationRecovery, Kind: core.CostAmount, Amount: 1, Currency: "JPY", Status: core.CostEstimate, Date: "2026-04-30"},
		{IncidentID: inc.ID, Category: core.CostStaffOvertime, Kind: core.CostStaffHours, HoursX100: 150, Rate: 3000, Amount: 4500, Currency: "JPY", Status: core.CostActual, Date: "2026-05-01"},
		{IncidentID: drill.ID, Category: core.CostRansom, Kind: core.CostAmount, Amount: 5, Currency: "JPY", Status: core.CostActual, Date: "2026-04-01"},
		{IncidentID: hidden.ID, Category: core.CostRansom, Kind: core.CostAmount, Amount: 7, Currency: "JPY", Status: core.CostActual, Date: "2026-04-01"},
	}
	for i := range items {
		inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.CreateCost(ctx, &items[i], u.ID) })
	}
	got, err := st.GetCost(ctx, inc.ID, items[2].ID)
	if err != nil || got.Hours != "1.5" || got.Rate != 3000 || got.CreatedBy != "analyst" || got.IncidentKey != inc.Key {
		t.Errorf("get: %v %+v", err, got)
	}
	if _, err := st.GetCost(ctx, drill.ID, items[2].ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("cost through another incident: %v", err)
	}
	sum := func(f store.CostFilter) map[string]int64 {
		t.Helper()
		ts, err := st.SumCosts(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, x := range ts {
			out[x.Key+"/"+x.Currency+"/e"] = x.Estimated
			out[x.Key+"/"+x.Currency+"/a"] = x.Actual
		}
		return out
	}
	if s := sum(store.CostFilter{Scope: store.Scope{All: true}, IncidentID: inc.ID}); s["/JPY/a"] != 1_000_000_000_004_499 || s["/JPY/e"] != 1 {
		t.Errorf("incident totals %v", s)
	}
	if s := sum(store.CostFilter{Scope: store.Scope{All: true}, Group: store.CostByMonth}); s["2026-04/JPY/a"] != 999_999_999_999_999+7 || s["2026-05/JPY/a"] != 4500 {
		t.Errorf("by month (admin; exercise left out) %v", s)
	}
	if s := sum(store.CostFilter{Scope: store.Scope{UserID: outsider.ID}, Group: store.CostByCategory, From: "2026-04-01", To: "2026-04-30"}); len(s) != 2 || s["investigation_recovery/JPY/a"] != 999_999_999_999_999 {
		t.Errorf("by category in April (outsider) %v", s)
	}
	if s := sum(store.CostFilter{Scope: store.Scope{All: true}, Group: store.CostByIncidentCategory}); s["ransomware/JPY/a"] != 1_000_000_000_004_499 {
		t.Errorf("by incident category %v", s)
	}
	if _, err := st.SumCosts(ctx, store.CostFilter{Group: "weekday"}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("bad group: %v", err)
	}

	c := items[1]
	c.Amount = 2
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.UpdateCost(ctx, &c, u.ID) })
	if c.Version != 2 {
		t.Errorf("version %d", c.Version)
	}
	c.Version = 1
	wantConflict(t, st.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateCost(ctx, &c, u.ID) }), "stale cost")
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.DeleteCost(ctx, inc.ID, items[0].ID) })
	err = st.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteCost(ctx, inc.ID, items[0].ID) })
	if !errors.Is(err, core.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	list, err := st.ListCosts(ctx, inc.ID)
	if err != nil || len(list) != 2 || list[0].Amount != 2 || list[1].Kind != core.CostStaffHours {
		t.Errorf("list %v %+v", err, list)
	}
}
