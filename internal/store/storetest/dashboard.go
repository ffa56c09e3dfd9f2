package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// testDashboardAggregates checks the dashboard's counting queries against
// counting the same incidents one by one from FindIncidents, for an
// admin, a member of the restricted incidents and a non-member.
func testDashboardAggregates(t *testing.T, st *store.Store) {
	ctx := context.Background()
	member := newUser(t, st, "dash-member", core.RoleAnalyst)
	outsider := newUser(t, st, "dash-outsider", core.RoleAnalyst)
	now := base.Add(100 * 24 * time.Hour)
	at := func(d time.Duration) time.Time { return now.Add(-d).Truncate(time.Microsecond) }
	day := 24 * time.Hour
	var restricted []int64
	for i := range 60 {
		inc := &core.Incident{Title: fmt.Sprintf("dash %d", i), Severity: core.Severities[i%4],
			Category: core.Categories[i%5], Phase: core.Phases[i%len(core.Phases)],
			Restricted: i%7 == 0, Exercise: i%11 == 0}
		// Filed from 2 to 150 days ago, so some fall before each window.
		inc.CreatedAt = at(time.Duration(2+i*5/2) * day)
		if inc.Phase == core.PhaseClosed {
			occurred, detected, acked := inc.CreatedAt.Add(-time.Duration(i)*time.Hour), inc.CreatedAt, inc.CreatedAt.Add(time.Duration(i)*time.Minute)
			contained, recovered, closed := detected.Add(time.Duration(i)*time.Hour), detected.Add(time.Duration(2*i)*time.Hour), inc.CreatedAt.Add(day)
			inc.Facts.OccurredAt, inc.Timestamps.DetectedAt, inc.Timestamps.AcknowledgedAt = &occurred, &detected, &acked
			inc.Timestamps.ContainedAt, inc.Timestamps.RecoveredAt, inc.Timestamps.ClosedAt = &contained, &recovered, &closed
		}
		if err := inc.Normalize(); err != nil {
			t.Fatal(err)
		}
		inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return create(ctx, tx, inc) })
		if inc.Restricted {
			restricted = append(restricted, inc.ID)
		}
	}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		for _, id := range restricted {
			if _, err := tx.AddMember(ctx, id, member.ID); err != nil {
				return err
			}
		}
		return nil
	})
	since := now.Add(-90 * day)
	bounds := []time.Time{now.Add(-120 * day), since, now.Add(-30 * day), now.Add(-7 * day)}
	scopes := []struct {
		name  string
		scope store.Scope
	}{
		{"all", store.Scope{All: true}},
		{"member", store.Scope{UserID: member.ID}},
		{"outsider", store.Scope{UserID: outsider.ID}},
	}
	counts := map[string]int{}
	for _, sc := range scopes {
		t.Run(sc.name, func(t *testing.T) {
			// The reference: every incident of the scope, one by one.
			var all []*core.Incident
			f := store.IncidentFilter{Scope: sc.scope, Limit: store.MaxListLimit}
			for {
				page, more, err := st.FindIncidents(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, page...)
				if !more {
					break
				}
				f.Before = page[len(page)-1].ID
			}
			wantOpen := map[store.OpenCount]int{}
			wantCreated := map[store.CreatedCount]int{}
			wantClosed := 0
			for _, inc := range all {
				if inc.Exercise {
					continue
				}
				if inc.Phase != core.PhaseClosed {
					wantOpen[store.OpenCount{Phase: inc.Phase, Severity: inc.Severity, Category: inc.Category}]++
				}
				for b := len(bounds) - 1; b >= 0; b-- {
					if !inc.CreatedAt.Before(bounds[b]) {
						wantCreated[store.CreatedCount{Bucket: b, Category: inc.Category, Closed: inc.Phase == core.PhaseClosed}]++
						break
					}
				}
				if inc.Phase == core.PhaseClosed && !inc.Timestamps.ClosedAt.Before(since) {
					wantClosed++
				}
			}
			open, err := st.CountOpenIncidents(ctx, sc.scope)
			if err != nil {
				t.Fatal(err)
			}
			gotOpen := map[store.OpenCount]int{}
			for _, c := range open {
				n := c.N
				c.N = 0
				gotOpen[c] += n
			}
			diff(t, "open counts", gotOpen, wantOpen)
			created, err := st.CountCreatedIncidents(ctx, sc.scope, bounds)
			if err != nil {
				t.Fatal(err)
			}
			gotCreated := map[store.CreatedCount]int{}
			for _, c := range created {
				n := c.N
				c.N = 0
				gotCreated[c] += n
			}
			diff(t, "created counts", gotCreated, wantCreated)
			ms, more, err := st.ClosedMilestones(ctx, sc.scope, since, 1000)
			if err != nil || more || len(ms) != wantClosed {
				t.Fatalf("ClosedMilestones: %d rows, more %v, %v; want %d", len(ms), more, err, wantClosed)
			}
			for i, m := range ms {
				if m.DetectedAt == nil || m.OccurredAt == nil || m.AckedAt == nil || m.Contained == nil || m.Recovered == nil || m.ClosedAt.Before(since) {
					t.Errorf("milestones %+v", m)
				}
				if i > 0 && m.ClosedAt.After(ms[i-1].ClosedAt) {
					t.Errorf("milestones not most recently closed first")
				}
			}
			if wantClosed > 1 {
				if page, more, err := st.ClosedMilestones(ctx, sc.scope, since, 1); err != nil || !more || len(page) != 1 {
					t.Errorf("bounded milestones: %d %v %v", len(page), more, err)
				}
			}
			total := 0
			for _, n := range wantOpen {
				total += n
			}
			counts[sc.name] = total
		})
	}
	// The fixture has restricted open incidents: a non-member counts fewer.
	if counts["outsider"] >= counts["member"] || counts["member"] != counts["all"] {
		t.Errorf("open counts by scope: %v", counts)
	}
	if _, err := st.CountCreatedIncidents(ctx, store.Scope{All: true}, []time.Time{now, since}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("descending bounds: %v", err)
	}
}

// testTOTP checks the second-factor rows: a pending enrolment, switching
// it on, each time step accepted once, recovery codes spent once, and the
// shared server key.
func testTOTP(t *testing.T, st *store.Store) {
	ctx := context.Background()
	u := newUser(t, st, "totp-user", core.RoleAnalyst)
	if _, err := st.TOTPFor(ctx, u.ID); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("TOTPFor before enrolment: %v", err)
	}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.PutTOTPEnrolment(ctx, u.ID, "FIRSTSECRET") })
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.PutTOTPEnrolment(ctx, u.ID, "SECONDSECRET") })
	got, err := st.TOTPFor(ctx, u.ID)
	if err != nil || got.Secret != "SECONDSECRET" || got.Enabled || got.EnabledAt != nil {
		t.Fatalf("pending enrolment: %+v %v", got, err)
	}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.EnableTOTP(ctx, u.ID, 100) })
	got, err = st.TOTPFor(ctx, u.ID)
	if err != nil || !got.Enabled || got.LastStep != 100 || got.EnabledAt == nil {
		t.Fatalf("enabled: %+v %v", got, err)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error { return tx.PutTOTPEnrolment(ctx, u.ID, "THIRD") })
	wantConflict(t, err, "enrolling over an enabled TOTP")
	err = st.InTx(ctx, func(tx *store.Tx) error { return tx.EnableTOTP(ctx, u.ID, 101) })
	wantConflict(t, err, "enabling twice")
	use := func(step int64) bool {
		var ok bool
		inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
			var err error
			ok, err = tx.UseTOTPStep(ctx, u.ID, step)
			return err
		})
		return ok
	}
	if use(100) || use(99) || !use(101) || use(101) || !use(103) || use(102) {
		t.Error("each step must be accepted once, and never one before the last used")
	}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		return tx.ReplaceRecoveryCodes(ctx, u.ID, []string{"h1", "h2", "h3"})
	})
	spend := func(hash string) bool {
		var ok bool
		inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
			var err error
			ok, err = tx.UseRecoveryCode(ctx, u.ID, hash)
			return err
		})
		return ok
	}
	if !spend("h2") || spend("h2") || spend("nope") {
		t.Error("a recovery code must be spent once")
	}
	if n, err := st.RecoveryCodesLeft(ctx, u.ID); err != nil || n != 2 {
		t.Errorf("left: %d %v", n, err)
	}
	other := newUser(t, st, "totp-other", core.RoleViewer)
	var ok bool
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		var err error
		ok, err = tx.UseRecoveryCode(ctx, other.ID, "h1")
		return err
	})
	if ok {
		t.Error("another user spent u's recovery code")
	}
	if users, err := st.TOTPUsers(ctx); err != nil || len(users) != 1 || !users[u.ID] {
		t.Errorf("TOTPUsers: %v %v", users, err)
	}
	var had bool
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		var err error
		had, err = tx.DeleteTOTP(ctx, u.ID)
		return err
	})
	if _, err := st.TOTPFor(ctx, u.ID); !had || !errors.Is(err, core.ErrNotFound) {
		t.Errorf("after DeleteTOTP: had %v, %v", had, err)
	}
	if n, _ := st.RecoveryCodesLeft(ctx, u.ID); n != 0 {
		t.Errorf("recovery codes left after delete: %d", n)
	}
	// The first key made wins; later callers read it.
	var k1, k2 string
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		var err error
		k1, err = tx.ServerKey(ctx, "test-key", "first")
		return err
	})
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		var err error
		k2, err = tx.ServerKey(ctx, "test-key", "second")
		return err
	})
	if k1 != "first" || k2 != "first" {
		t.Errorf("server key: %q %q", k1, k2)
	}
	if k, err := st.ServerKey(ctx, "test-key"); err != nil || k != "first" {
		t.Errorf("ServerKey: %q %v", k, err)
	}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.ChangeUserRole(ctx, other.ID, core.RoleLead) })
	if got, err := st.UserByID(ctx, other.ID); err != nil || got.Role != core.RoleLead {
		t.Errorf("role after change: %+v %v", got, err)
	}
}
