package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

func testContacts(t *testing.T, st *store.Store) {
	ctx := context.Background()
	alice := newUser(t, st, "alice", core.RoleLead)
	one, two := 1, 2
	b := &core.Contact{Name: "B 二番手", Kind: "internal", Roles: []string{"technical"}, Language: "ja", OnCallOrder: &two, Active: true,
		Channels: []core.Channel{{Type: "email", Address: "b@example.jp"}}}
	a := &core.Contact{Name: "A", Kind: "internal", Roles: []string{"lead", "technical"}, UserID: alice.ID, Language: "en", OnCallOrder: &one, Active: true,
		Channels: []core.Channel{{Type: "slack", Address: "https://hooks.slack.com/x"}, {Type: "phone", Address: "090-0000-0000"}}}
	z := &core.Contact{Name: "Police 警察", Kind: "external", Party: "police", Roles: []string{}, Language: "ja", Active: true, Channels: []core.Channel{}}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		for _, c := range []*core.Contact{b, a, z} {
			if err := tx.SaveContact(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	cs, err := st.ListContacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, c := range cs {
		order = append(order, c.Name)
	}
	diff(t, "contact order (on call first, then by name)", order, []string{"A", "B 二番手", "Police 警察"})
	got, err := st.GetContact(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.User != "alice" || got.UserID != alice.ID || len(got.Channels) != 2 || got.Channels[1].Type != "phone" || *got.OnCallOrder != 1 || got.Version != 1 {
		t.Errorf("round trip: %+v", got)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		return tx.SaveContact(ctx, &core.Contact{Name: "A", Kind: "internal", Language: "ja"})
	})
	wantConflict(t, err, "a second contact named A")
	stale := *got
	got.Notes = "changed"
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.SaveContact(ctx, got) })
	err = st.InTx(ctx, func(tx *store.Tx) error { return tx.SaveContact(ctx, &stale) })
	wantConflict(t, err, "a stale version")
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.DeleteContact(ctx, z.ID) })
	_, err = st.GetContact(ctx, z.ID)
	wantNotFound(t, err, "a deleted contact")
	err = st.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteContact(ctx, z.ID) })
	wantNotFound(t, err, "deleting twice")
}

func testEscalationBookkeeping(t *testing.T, st *store.Store) {
	ctx := context.Background()
	inc := newIncident(t, st, "escalated")
	k := store.FiredKey{RuleID: "default-severe", IncidentID: inc.ID, Subject: ""}
	for i, want := range []bool{true, false} {
		inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
			got, err := tx.MarkEscalationFired(ctx, k)
			if err == nil && got != want {
				err = fmt.Errorf("mark %d: new=%v, want %v", i, got, want)
			}
			return err
		})
	}
	fired, err := st.EscalationsFired(ctx, []int64{inc.ID})
	if err != nil || !fired[k] || len(fired) != 1 {
		t.Fatalf("fired %v, %v", fired, err)
	}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.SaveEscalationRule(ctx, "r1", `{"id":"r1"}`); err != nil {
			return err
		}
		return tx.SaveEscalationRule(ctx, "r1", `{"id":"r1","name":"v2"}`)
	})
	rules, err := st.ListEscalationRules(ctx)
	if err != nil || len(rules) != 1 || rules[0].Definition != `{"id":"r1","name":"v2"}` {
		t.Fatalf("rules %v, %v", rules, err)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteEscalationRule(ctx, "nope") })
	wantNotFound(t, err, "an unknown rule")
}

func outboxItem(inc *core.Incident, key string) *store.Outbox {
	return &store.Outbox{Notification: core.Notification{IdempotencyKey: key, IncidentID: inc.ID, IncidentKey: inc.Key, RuleID: "r",
		Recipient: "A", Channel: "webhook", Address: "https://example.jp/hook", Language: "ja", Subject: "件名 " + key, MaxAttempts: 3},
		Body: "本文", Link: "https://irdesk.example.jp/incidents/" + inc.Key, Severity: "S2"}
}

func testOutbox(t *testing.T, st *store.Store) {
	ctx := context.Background()
	inc := newIncident(t, st, "notified")
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		for _, k := range []string{"k1", "k2", "k1"} { // k1 twice: queued once
			if err := tx.EnqueueNotification(ctx, outboxItem(inc, k)); err != nil {
				return err
			}
		}
		return nil
	})
	if due, err := st.NotificationsDue(ctx, time.Now().Add(time.Second)); err != nil || !due {
		t.Fatalf("due: %v %v", due, err)
	}
	var claimed []*store.Outbox
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		var err error
		claimed, err = tx.ClaimNotifications(ctx, 10, time.Hour)
		return err
	})
	if len(claimed) != 2 || claimed[0].Attempts != 1 || claimed[0].Body != "本文" || claimed[0].IncidentKey != inc.Key {
		t.Fatalf("claimed %+v", claimed)
	}
	// Leased: nobody else gets them.
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		again, err := tx.ClaimNotifications(ctx, 10, time.Hour)
		if err == nil && len(again) != 0 {
			err = fmt.Errorf("claimed leased messages again: %d", len(again))
		}
		return err
	})
	past := time.Now().Add(-time.Minute)
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.NotificationDelivered(ctx, claimed[0].ID); err != nil {
			return err
		}
		return tx.NotificationFailed(ctx, claimed[1].ID, "503 from receiver", &past)
	})
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		again, err := tx.ClaimNotifications(ctx, 10, time.Hour)
		if err == nil && (len(again) != 1 || again[0].ID != claimed[1].ID || again[0].Attempts != 2 || again[0].LastError != "503 from receiver") {
			err = fmt.Errorf("retry claim: %+v", again)
		}
		if err == nil {
			err = tx.NotificationFailed(ctx, claimed[1].ID, "gave up", nil)
		}
		return err
	})
	failed, _, err := st.FindNotifications(ctx, store.NotificationFilter{Status: core.NotifyFailed, Scope: store.Scope{All: true}})
	if err != nil || len(failed) != 1 || failed[0].LastError != "gave up" || failed[0].NextAttemptAt != nil {
		t.Fatalf("failed list: %+v %v", failed, err)
	}
	delivered, err := st.GetNotification(ctx, claimed[0].ID)
	if err != nil || delivered.Status != core.NotifyDelivered || delivered.DeliveredAt == nil {
		t.Fatalf("delivered: %+v %v", delivered, err)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error { return tx.RetryNotification(ctx, claimed[0].ID) })
	wantConflict(t, err, "retrying a delivered notification")
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.RetryNotification(ctx, claimed[1].ID) })
	n, err := st.GetNotification(ctx, claimed[1].ID)
	if err != nil || n.Status != core.NotifyPending || n.Attempts != 0 {
		t.Fatalf("after retry: %+v %v", n, err)
	}
	_, err = st.GetNotification(ctx, 999999)
	wantNotFound(t, err, "an unknown notification")
}

// testOutboxConcurrentClaims: workers claiming at once never get the same
// message, and together they get every one.
func testOutboxConcurrentClaims(t *testing.T, st *store.Store) {
	ctx := context.Background()
	inc := newIncident(t, st, "many")
	const total = 200
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		for i := range total {
			if err := tx.EnqueueNotification(ctx, outboxItem(inc, fmt.Sprintf("key-%d", i))); err != nil {
				return err
			}
		}
		return nil
	})
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var got []*store.Outbox
				err := st.InTx(ctx, func(tx *store.Tx) error {
					var err error
					got, err = tx.ClaimNotifications(ctx, 7, time.Hour)
					return err
				})
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, o := range got {
					seen[o.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != total {
		t.Fatalf("claimed %d distinct messages, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("message %d claimed %d times", id, n)
		}
	}
}
