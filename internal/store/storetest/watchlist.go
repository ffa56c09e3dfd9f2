package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
	"github.com/irdesk/irdesk/internal/store"
)

func testWatchlist(t *testing.T, st *store.Store) {
	ctx := context.Background()
	lead := newUser(t, st, "wl-lead", core.RoleLead)
	now := time.Now().UTC()
	future, past := now.Add(time.Hour).Truncate(time.Microsecond), now.Add(-time.Hour).Truncate(time.Microsecond)
	entries := []store.WatchlistEntry{
		{Type: "ip", Value: "203.0.113.7", Source: "isac", Confidence: 80, TLP: "amber", ExpiresAt: &future},
		{Type: "ip", Value: "203.0.113.7", Source: "jpcert", Confidence: 50, TLP: "green"},
		{Type: "domain", Value: "old.example", Source: "isac", ExpiresAt: &past},
	}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		for i := range entries {
			added, err := tx.UpsertWatchlistEntry(ctx, &entries[i], lead.ID)
			if err != nil || !added || entries[i].ID == 0 {
				t.Errorf("upsert %d: added %v id %d err %v", i, added, entries[i].ID, err)
			}
		}
		return nil
	})
	// The same (type, value, source) again refreshes the row.
	again := store.WatchlistEntry{Type: "ip", Value: "203.0.113.7", Source: "isac", Confidence: 95, TLP: "red", ExpiresAt: &future}
	time.Sleep(2 * time.Millisecond) // a later transaction time than the insert
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		added, err := tx.UpsertWatchlistEntry(ctx, &again, lead.ID)
		if added || again.ID != entries[0].ID {
			t.Errorf("re-upsert: added %v id %d, want the existing %d", added, again.ID, entries[0].ID)
		}
		return err
	})
	if n, err := st.CountActiveWatchlist(ctx, now); err != nil || n != 2 {
		t.Errorf("CountActiveWatchlist = %d, %v; want 2", n, err)
	}
	all, more, err := st.FindWatchlist(ctx, store.WatchlistFilter{})
	if err != nil || more || len(all) != 3 || all[0].ID != entries[2].ID {
		t.Fatalf("FindWatchlist = %+v %v %v", all, more, err)
	}
	if e := all[2]; e.Confidence != 95 || e.TLP != "red" || e.CreatedBy != "wl-lead" || !e.ExpiresAt.Equal(future) {
		t.Errorf("refreshed entry %+v", e)
	}
	active, _, err := st.FindWatchlist(ctx, store.WatchlistFilter{ActiveAt: &now, Source: "isac"})
	if err != nil || len(active) != 1 || active[0].Value != "203.0.113.7" {
		t.Errorf("active isac entries %+v %v", active, err)
	}
	page1, more, err := st.FindWatchlist(ctx, store.WatchlistFilter{Limit: 2})
	if err != nil || !more || len(page1) != 2 {
		t.Fatalf("page 1: %d %v %v", len(page1), more, err)
	}
	page2, more, err := st.FindWatchlist(ctx, store.WatchlistFilter{Limit: 2, Before: page1[1].ID})
	if err != nil || more || len(page2) != 1 {
		t.Fatalf("page 2: %d %v %v", len(page2), more, err)
	}
	if m, err := st.WatchlistMatches(ctx, "ip", "203.0.113.7", now); err != nil || len(m) != 2 {
		t.Errorf("WatchlistMatches = %+v %v", m, err)
	}
	if in, err := st.InWatchlist(ctx, "domain", "old.example", now); err != nil || in {
		t.Errorf("expired entry in watchlist: %v %v", in, err)
	}

	// Marks: intake marks once per entry; a re-check finds what is left.
	a1 := ingestOne(t, st, alertFixture("wl-1", "fp-wl-1"), time.Hour)
	a2 := ingestOne(t, st, alertFixture("wl-2", "fp-wl-2", func(a *ingest.Alert) {
		a.Observables = append(a.Observables, ingest.Observable{Type: "domain", Value: "old.example"})
	}), time.Hour)
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		for _, want := range []bool{true, false} {
			added, err := tx.MarkAlertWatchlist(ctx, a1.id, all[2])
			if err != nil || added != want {
				t.Errorf("mark: %v %v, want %v", added, err, want)
			}
		}
		return nil
	})
	marks, entriesFound, err := st.UnmarkedWatchlistMatches(ctx, base.Add(-time.Hour), now, 100)
	if err != nil {
		t.Fatal(err)
	}
	// a1 lacks its jpcert mark, a2 both; the expired domain entry never matches.
	if len(marks) != 3 || len(entriesFound) != 3 || marks[0].AlertID != a1.id || marks[0].Source != "jpcert" || marks[1].AlertID != a2.id {
		t.Errorf("unmarked matches %+v", marks)
	}
	if m, _, err := st.UnmarkedWatchlistMatches(ctx, now.Add(time.Hour), now, 100); err != nil || len(m) != 0 {
		t.Errorf("matches of alerts seen after since: %+v %v", m, err)
	}

	deleted := store.WatchlistEntry{}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		var err error
		deleted, err = tx.DeleteWatchlistEntry(ctx, entries[0].ID)
		return err
	})
	if deleted.Source != "isac" {
		t.Errorf("deleted %+v", deleted)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error { _, err := tx.DeleteWatchlistEntry(ctx, entries[0].ID); return err })
	if !errors.Is(err, core.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	got, err := st.AlertWatchlistMarks(ctx, a1.id, a2.id)
	if err != nil || len(got[a1.id]) != 1 || got[a1.id][0].EntryID != 0 || got[a1.id][0].Source != "isac" || len(got[a2.id]) != 0 {
		t.Errorf("marks after delete: %+v %v", got, err)
	}

	// Red observables: only those marked red on some incident.
	inc := newIncident(t, st, "red one")
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		for _, o := range []core.IncidentObservable{
			{Observable: core.Observable{Type: "ip", Value: "198.51.100.9"}, TLP: "red"},
			{Observable: core.Observable{Type: "ip", Value: "198.51.100.10"}, TLP: "amber"},
		} {
			if err := tx.AddIncidentObservable(ctx, inc.ID, o, 0); err != nil {
				return err
			}
		}
		return nil
	})
	red, err := st.RedObservables(ctx)
	if err != nil || len(red) != 1 || !red[core.Observable{Type: "ip", Value: "198.51.100.9"}] {
		t.Errorf("RedObservables = %v %v", red, err)
	}
}
