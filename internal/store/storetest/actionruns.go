package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
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

// testActionRunDecisions: a run awaiting approval can be rejected, and a
// run not yet started cancelled; both are final. A run a worker holds
// cannot be cancelled, a cancelled run is never claimed, and a claim and a
// cancel racing for the same run never both win.
func testActionRunDecisions(t *testing.T, st *store.Store) {
	ctx := context.Background()
	analyst := newUser(t, st, "dec-analyst", core.RoleAnalyst)
	lead := newUser(t, st, "dec-lead", core.RoleLead)
	inc := newIncident(t, st, "contain", func(i *core.Incident) { i.ReporterID = analyst.ID })
	mk := func(status string) *store.ActionRun {
		r := &store.ActionRun{IncidentID: inc.ID, Action: "falcon-contain-host", ObservableType: "host", ObservableValue: "abc",
			Destructive: status == store.ActionAwaitingApproval, Status: status, RequestedByID: analyst.ID, MaxAttempts: 3}
		inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.CreateActionRun(ctx, r) })
		return r
	}
	get := func(id int64) *store.ActionRun {
		t.Helper()
		r, err := st.GetActionRun(ctx, id, store.Scope{All: true})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	claim := func(lease time.Duration) []*store.ActionRun {
		t.Helper()
		var rs []*store.ActionRun
		inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
			var err error
			rs, err = tx.ClaimActionRuns(ctx, 10, lease)
			return err
		})
		return rs
	}
	// finalRefuses: an ended run takes no approval, rejection or cancel.
	finalRefuses := func(id int64, what string) {
		t.Helper()
		err := st.InTx(ctx, func(tx *store.Tx) error { return tx.ApproveActionRun(ctx, id, lead.ID) })
		wantConflict(t, err, "approving a "+what+" run")
		err = st.InTx(ctx, func(tx *store.Tx) error { return tx.RejectActionRun(ctx, id, lead.ID, "again") })
		wantConflict(t, err, "rejecting a "+what+" run")
		err = st.InTx(ctx, func(tx *store.Tx) error { return tx.CancelActionRun(ctx, id, analyst.ID, "again") })
		wantConflict(t, err, "cancelling a "+what+" run")
	}

	rejected := mk(store.ActionAwaitingApproval)
	queued := mk(store.ActionPending)
	err := st.InTx(ctx, func(tx *store.Tx) error { return tx.RejectActionRun(ctx, queued.ID, lead.ID, "no") })
	wantConflict(t, err, "rejecting a pending run")
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		return tx.RejectActionRun(ctx, rejected.ID, lead.ID, "EDR tenant is wrong")
	})
	got := get(rejected.ID)
	if got.Status != store.ActionRejected || got.RejectedBy != "dec-lead" || got.RejectedAt == nil || got.Reason != "EDR tenant is wrong" ||
		got.FinishedAt == nil || got.NextAttemptAt != nil || got.CancelledBy != "" || got.ApprovedBy != "" {
		t.Errorf("rejected run %+v", got)
	}
	finalRefuses(rejected.ID, "rejected")

	withdrawn := mk(store.ActionAwaitingApproval)
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		return tx.CancelActionRun(ctx, withdrawn.ID, analyst.ID, "")
	})
	got = get(withdrawn.ID)
	if got.Status != store.ActionCancelled || got.CancelledBy != "dec-analyst" || got.CancelledAt == nil || got.Reason != "" || got.FinishedAt == nil {
		t.Errorf("cancelled run %+v", got)
	}
	finalRefuses(withdrawn.ID, "cancelled")

	// The queued run is cancelled before any worker looks: it is never
	// claimed, and nothing is due.
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		return tx.CancelActionRun(ctx, queued.ID, lead.ID, "host already reimaged")
	})
	if got := get(queued.ID); got.Status != store.ActionCancelled || got.CancelledBy != "dec-lead" || got.NextAttemptAt != nil {
		t.Errorf("cancelled queued run %+v", got)
	}
	if rs := claim(time.Minute); len(rs) != 0 {
		t.Fatalf("claimed cancelled runs: %+v", rs)
	}
	if due, err := st.ActionRunsDue(ctx, time.Now().Add(time.Hour)); err != nil || due {
		t.Errorf("a cancelled run is due: %v %v", due, err)
	}
	finalRefuses(queued.ID, "cancelled pending")

	// A run a worker holds cannot be cancelled; once its failed attempt is
	// recorded and it waits for the next, it can.
	held := mk(store.ActionPending)
	if rs := claim(time.Minute); len(rs) != 1 || rs[0].ID != held.ID || rs[0].ClaimedUntil == nil {
		t.Fatalf("claim: %+v", rs)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error { return tx.CancelActionRun(ctx, held.ID, analyst.ID, "") })
	wantConflict(t, err, "cancelling a claimed run")
	if !strings.Contains(err.Error(), "being sent") {
		t.Errorf("conflict does not say the run is being sent: %v", err)
	}
	if got := get(held.ID); got.Status != store.ActionPending || got.ClaimedUntil == nil {
		t.Errorf("claimed run after a refused cancel %+v", got)
	}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		next := tx.Now().Add(time.Hour)
		ok, err := tx.RecordActionAttempt(ctx, held.ID, store.ActionAttempt{ResponseStatus: 503, Error: "busy"}, store.ActionFailed, &next)
		if err == nil && !ok {
			t.Error("retry not recorded")
		}
		return err
	})
	if got := get(held.ID); got.ClaimedUntil != nil || got.NextAttemptAt == nil {
		t.Errorf("run waiting to retry %+v", got)
	}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		return tx.CancelActionRun(ctx, held.ID, analyst.ID, "contained by hand")
	})
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		// The worker's late answer does not revive it.
		if ok, err := tx.RecordActionAttempt(ctx, held.ID, store.ActionAttempt{ResponseStatus: 200}, store.ActionSucceeded, nil); err != nil || ok {
			t.Errorf("a cancelled run took an attempt: %v %v", ok, err)
		}
		return nil
	})
	if got := get(held.ID); got.Status != store.ActionCancelled || got.Reason != "contained by hand" || got.Attempts != 1 {
		t.Errorf("cancelled retry %+v", got)
	}

	// A worker that died hands its run back when its lease runs out; the
	// run is then no longer held and can be cancelled.
	orphan := mk(store.ActionPending)
	if rs := claim(0); len(rs) != 1 || rs[0].ID != orphan.ID {
		t.Fatalf("claim: %+v", rs)
	}
	time.Sleep(2 * time.Millisecond)
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.CancelActionRun(ctx, orphan.ID, lead.ID, "") })

	// Claims and cancels race for the same runs: each run goes to exactly
	// one side.
	var runs []*store.ActionRun
	for range 8 {
		runs = append(runs, mk(store.ActionPending))
	}
	var mu sync.Mutex
	claimed := map[int64]int{}
	cancelled := map[int64]bool{}
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				var rs []*store.ActionRun
				if err := st.InTx(ctx, func(tx *store.Tx) error {
					var err error
					rs, err = tx.ClaimActionRuns(ctx, 2, time.Minute)
					return err
				}); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, r := range rs {
					claimed[r.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := st.InTx(ctx, func(tx *store.Tx) error { return tx.CancelActionRun(ctx, r.ID, lead.ID, "race") })
			switch {
			case err == nil:
				mu.Lock()
				cancelled[r.ID] = true
				mu.Unlock()
			case !errors.Is(err, core.ErrConflict):
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, r := range runs {
		got := get(r.ID)
		switch {
		case claimed[r.ID] > 1:
			t.Errorf("run %d claimed %d times", r.ID, claimed[r.ID])
		case claimed[r.ID] == 1 && (cancelled[r.ID] || got.Status != store.ActionPending || got.ClaimedUntil == nil):
			t.Errorf("run %d claimed, cancelled %v, now %+v", r.ID, cancelled[r.ID], got)
		case claimed[r.ID] == 0 && (!cancelled[r.ID] || got.Status != store.ActionCancelled):
			// A cancel is refused only when a claim won, so an
			// unclaimed run must be cancelled.
			t.Errorf("run %d neither claimed nor cancelled: %+v", r.ID, got)
		}
	}
	if rs := claim(time.Minute); len(rs) != 0 {
		t.Errorf("claimed after the race: %+v", rs)
	}
}
