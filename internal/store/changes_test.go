package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// next waits for the next change, failing the test after a while.
func next(tb testing.TB, ch <-chan store.Change) store.Change {
	tb.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			tb.Fatal("the change feed closed")
		}
		return c
	case <-time.After(10 * time.Second):
		tb.Fatal("no change within 10 s")
	}
	return store.Change{}
}

// noChange asserts that nothing arrives for a moment.
func noChange(tb testing.TB, ch <-chan store.Change, d time.Duration) {
	tb.Helper()
	select {
	case c := <-ch:
		tb.Fatalf("unexpected change %+v", c)
	case <-time.After(d):
	}
}

// appendEvents appends events of the given types in one request.
func appendEvents(st *store.Store, fail bool, types ...string) ([]int64, error) {
	var ids []int64
	err := st.InTx(context.Background(), func(tx *store.Tx) error {
		ids = nil
		for _, typ := range types {
			ev := &core.Event{Actor: "alice", Type: typ}
			if err := tx.AppendEvent(context.Background(), ev); err != nil {
				return err
			}
			ids = append(ids, ev.ID)
		}
		if fail {
			return errors.New("changed my mind")
		}
		return nil
	})
	return ids, err
}

// testChangeFeed: a subscriber hears of committed events, in commit order,
// and never of events whose request failed, also when a failing request
// shares its batch with others that commit.
func testChangeFeed(t *testing.T, st *store.Store) {
	ch, cancel := st.Subscribe()
	defer cancel()
	ids, err := appendEvents(st, false, core.EvIncidentCreated, core.EvCommentAdded)
	if err != nil {
		t.Fatal(err)
	}
	for i, typ := range []string{core.EvIncidentCreated, core.EvCommentAdded} {
		if c := next(t, ch); c.EventID != ids[i] || c.Type != typ || c.Resync {
			t.Fatalf("change %d: %+v, want event %d %s", i, c, ids[i], typ)
		}
	}
	if _, err := appendEvents(st, true, core.EvIncidentUpdated); err == nil {
		t.Fatal("the failing request committed")
	}
	noChange(t, ch, 200*time.Millisecond)

	// Many writers at once, one in four failing: group commit puts them in
	// shared batches, which are rolled back and run again.
	var wg sync.WaitGroup
	var mu sync.Mutex
	committed := map[int64]bool{}
	for i := range 40 {
		wg.Go(func() {
			ids, err := appendEvents(st, i%4 == 0, core.EvCommentAdded)
			if err == nil {
				mu.Lock()
				committed[ids[0]] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(committed) != 30 {
		t.Fatalf("%d requests committed, want 30", len(committed))
	}
	last := ids[1]
	for range committed {
		c := next(t, ch)
		if !committed[c.EventID] || c.EventID <= last {
			t.Fatalf("change %+v: not committed, or out of order after %d", c, last)
		}
		last = c.EventID
	}
	noChange(t, ch, 200*time.Millisecond)
}

func TestChangeFeedSQLite(t *testing.T) { testChangeFeed(t, openSQLite(t)) }

func TestChangeFeedPostgres(t *testing.T) { testChangeFeed(t, openPostgres(t)) }

// TestChangeFeedSlowSubscriber: a subscriber that does not read does not
// hold up writes; once it reads, it learns it must resync.
func TestChangeFeedSlowSubscriber(t *testing.T) {
	st := openSQLite(t)
	slow, cancelSlow := st.Subscribe()
	defer cancelSlow()
	for i := range 600 {
		if _, err := appendEvents(st, false, core.EvCommentAdded); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	resync := false
	for {
		select {
		case c := <-slow:
			resync = resync || c.Resync
			continue
		case <-time.After(200 * time.Millisecond):
		}
		break
	}
	if !resync {
		t.Fatal("a subscriber 600 changes behind was not told to resync")
	}
	// It goes on receiving once it keeps up.
	ids, err := appendEvents(st, false, core.EvIncidentUpdated)
	if err != nil {
		t.Fatal(err)
	}
	if c := next(t, slow); c.EventID != ids[0] {
		t.Fatalf("after resync: %+v, want event %d", c, ids[0])
	}
}

// TestChangeFeedClosesWithStore: subscribers end when the store closes.
func TestChangeFeedClosesWithStore(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel := st.Subscribe()
	defer cancel()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("a change after close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the subscription did not end with the store")
	}
}

// TestChangeFeedAcrossNodes: a subscriber on node B hears of a commit on
// node A through LISTEN/NOTIFY, and not twice of its own. When B's LISTEN
// connection is killed, B reconnects, says resync, and hears later commits.
func TestChangeFeedAcrossNodes(t *testing.T) {
	dsn, app := withAppName(pgSchema(t))
	a := openPostgresAt(t, dsn, store.Options{})
	b := openPostgresAt(t, dsn, store.Options{})
	// Another irdesk database in the same PostgreSQL database (another
	// schema) shares the channel; its changes must not leak in.
	other := openPostgres(t)

	fromB, cancel := b.Subscribe()
	defer cancel()
	ids, err := appendEvents(a, false, core.EvIncidentCreated, core.EvCommentAdded)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ids {
		if c := next(t, fromB); c.EventID != ids[i] {
			t.Fatalf("B heard %+v, want event %d", c, ids[i])
		}
	}
	if _, err := appendEvents(other, false, core.EvIncidentCreated); err != nil {
		t.Fatal(err)
	}
	if _, err := appendEvents(a, true, core.EvIncidentUpdated); err == nil {
		t.Fatal("the failing request committed")
	}
	own, err := appendEvents(b, false, core.EvIncidentUpdated)
	if err != nil {
		t.Fatal(err)
	}
	if c := next(t, fromB); c.EventID != own[0] {
		t.Fatalf("B heard %+v, want its own event %d", c, own[0])
	}
	noChange(t, fromB, 300*time.Millisecond)

	admin, err := sql.Open("pgx", pgBaseDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var killed int
	// Both nodes LISTEN under the same application name; ending every
	// listener is what a database restart does anyway.
	if err := admin.QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND query LIKE 'LISTEN%'`, app).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 2 {
		t.Fatalf("ended %d LISTEN connections, want 2 (A's and B's)", killed)
	}
	if c := next(t, fromB); !c.Resync {
		t.Fatalf("after its LISTEN connection was ended, B said %+v, want resync", c)
	}
	later, err := appendEvents(a, false, core.EvCommentAdded)
	if err != nil {
		t.Fatal(fmt.Errorf("write on A after the kill: %w", err))
	}
	if c := next(t, fromB); c.EventID != later[0] {
		t.Fatalf("after reconnecting B heard %+v, want event %d", c, later[0])
	}
}
