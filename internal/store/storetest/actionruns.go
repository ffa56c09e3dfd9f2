package storetest

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// testActionRuns: a run is created, approved once, claimed by one worker
// at a time under a lease, and ends with its answer; lists honour the
// scope and the status filter.
func testActionRuns(t *testing.T, st *store.Store) {
	ctx := context.Background()
	analyst := newUser(t, st, "ar-analyst", core.RoleAnalyst)
	lead := newUser(t, st, "ar-lead", core.RoleLead)
	inc := newIncident(t, st, "isolate", func(i *core.Incident) { i.ReporterID = analyst.ID })
	secret := newIncident(t, st, "need to know", func(i *core.Incident) { i.ReporterID = analyst.ID; i.Restricted = true })
	mk := func(incID int64, status string) *store.ActionRun {
		r := &store.ActionRun{IncidentID: incID, Action: "falcon-contain-host", ObservableType: "host", ObservableValue: "abc",
			Destructive: status == store.ActionAwaitingApproval, Status: status, RequestedByID: analyst.ID, MaxAttempts: 3}
		inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
			if err := tx.CreateActionRun(ctx, r); err != nil {
				return err
			}
			return tx.SetActionRunRequest(ctx, r.ID, json.RawMessage(`{"method":"POST","url":"https://x.example/"}`))
		})
		return r
	}
	waiting := mk(inc.ID, store.ActionAwaitingApproval)
	pending := mk(inc.ID, store.ActionPending)
	hidden := mk(secret.ID, store.ActionPending)

	got, err := st.GetActionRun(ctx, waiting.ID, store.Scope{UserID: lead.ID})
	if err != nil || got.IncidentKey != inc.Key || got.RequestedBy != "ar-analyst" || !got.Destructive || string(got.Request) == "" {
		t.Fatalf("GetActionRun = %+v, %v", got, err)
	}
	if _, err := st.GetActionRun(ctx, hidden.ID, store.Scope{UserID: lead.ID}); err == nil {
		t.Error("a run on a restricted incident reached a non-member")
	}
	runs, _, err := st.FindActionRuns(ctx, store.ActionRunFilter{Scope: store.Scope{UserID: lead.ID}})
	if err != nil || len(runs) != 2 || runs[0].ID != pending.ID {
		t.Fatalf("FindActionRuns = %d runs, %v", len(runs), err)
	}

	// Only pending runs are claimed, each by one of several workers.
	var mu sync.Mutex
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rs []*store.ActionRun
			if err := st.InTx(ctx, func(tx *store.Tx) error {
				var err error
				rs, err = tx.ClaimActionRuns(ctx, 10, time.Minute)
				return err
			}); err != nil {
				t.Error(err)
			}
			mu.Lock()
			for _, r := range rs {
				claimed[r.ID]++
				if r.Attempts != 1 {
					t.Errorf("claimed run %d with %d attempts", r.ID, r.Attempts)
				}
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(claimed) != 2 || claimed[pending.ID] != 1 || claimed[hidden.ID] != 1 {
		t.Fatalf("claims %v", claimed)
	}

	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.ApproveActionRun(ctx, waiting.ID, lead.ID); err != nil {
			return err
		}
		wantConflict(t, tx.ApproveActionRun(ctx, waiting.ID, lead.ID), "approving twice")
		next := tx.Now().Add(time.Hour)
		if ok, err := tx.RecordActionAttempt(ctx, pending.ID, store.ActionAttempt{ResponseStatus: 503, Error: "busy"}, store.ActionFailed, &next); err != nil || !ok {
			t.Errorf("retry later: %v %v", ok, err)
		}
		ok, err := tx.RecordActionAttempt(ctx, hidden.ID, store.ActionAttempt{ResponseStatus: 202, ResponseBody: `{"ok":true}`}, store.ActionSucceeded, nil)
		if err != nil || !ok {
			t.Errorf("succeed: %v %v", ok, err)
		}
		// An ended run is not changed again.
		if ok, _ := tx.RecordActionAttempt(ctx, hidden.ID, store.ActionAttempt{}, store.ActionFailed, nil); ok {
			t.Error("an ended run was changed")
		}
		return nil
	})
	got, _ = st.GetActionRun(ctx, waiting.ID, store.Scope{All: true})
	if got.Status != store.ActionPending || got.ApprovedBy != "ar-lead" || got.ApprovedAt == nil || got.NextAttemptAt == nil {
		t.Errorf("approved run %+v", got)
	}
	got, _ = st.GetActionRun(ctx, pending.ID, store.Scope{All: true})
	if got.Status != store.ActionPending || got.LastError != "busy" || got.ResponseStatus != 503 || got.NextAttemptAt == nil {
		t.Errorf("retried run %+v", got)
	}
	got, _ = st.GetActionRun(ctx, hidden.ID, store.Scope{All: true})
	if got.Status != store.ActionSucceeded || got.FinishedAt == nil || got.ResponseBody != `{"ok":true}` || got.NextAttemptAt != nil {
		t.Errorf("finished run %+v", got)
	}
	done, _, err := st.FindActionRuns(ctx, store.ActionRunFilter{Scope: store.Scope{All: true}, Status: store.ActionSucceeded})
	if err != nil || len(done) != 1 || done[0].ID != hidden.ID {
		t.Errorf("succeeded runs %d %v", len(done), err)
	}
	if due, err := st.ActionRunsDue(ctx, time.Now().Add(time.Second)); err != nil || !due {
		t.Errorf("the approved run is due: %v %v", due, err)
	}
}

// testOIDCUsers: a user is found by issuer and subject once linked, and
// no two users share one.
func testOIDCUsers(t *testing.T, st *store.Store) {
	ctx := context.Background()
	a := newUser(t, st, "oidc-a", core.RoleAnalyst)
	b := newUser(t, st, "oidc-b", core.RoleAnalyst)
	_, err := st.UserByOIDC(ctx, "https://idp.example", "sub-1")
	wantNotFound(t, err, "an unlinked subject")
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.LinkOIDC(ctx, a.ID, "https://idp.example", "sub-1"); err != nil {
			return err
		}
		return tx.SetUserRole(ctx, a.ID, core.RoleLead)
	})
	u, err := st.UserByOIDC(ctx, "https://idp.example", "sub-1")
	if err != nil || u.ID != a.ID || u.Role != core.RoleLead {
		t.Fatalf("UserByOIDC = %+v, %v", u, err)
	}
	if _, err := st.UserByOIDC(ctx, "https://other.example", "sub-1"); err == nil {
		t.Error("the subject matched under another issuer")
	}
	err = st.InTx(ctx, func(tx *store.Tx) error { return tx.LinkOIDC(ctx, b.ID, "https://idp.example", "sub-1") })
	wantConflict(t, err, "a second user on the same subject")
	if linked, err := st.OIDCLinked(ctx, b.ID); err != nil || linked {
		t.Errorf("b linked: %v %v", linked, err)
	}
}
