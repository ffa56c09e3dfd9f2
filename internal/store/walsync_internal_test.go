package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

func appendTestEvent(ctx context.Context, st *Store, typ string) error {
	return st.InTx(ctx, func(tx *Tx) error {
		return tx.AppendEvent(ctx, &core.Event{Actor: "test", Type: typ})
	})
}

// TestSyncedWritesReachSubscribersInOrder: with the WAL synced off the
// writer's path, every caller still returns only once its batch is
// durable, and subscribers hear of every committed change exactly once,
// in commit order.
func TestSyncedWritesReachSubscribersInOrder(t *testing.T) {
	ctx := context.Background()
	st, err := OpenSQLite(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.w.syncer == nil {
		t.Fatal("SQLite store without a WAL syncer")
	}
	changes, stop := st.Subscribe()
	defer stop()
	// Fewer changes than a subscriber may fall behind by, so none is
	// replaced by a resync.
	const writers, each = 16, 12
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for range writers {
		wg.Go(func() {
			for range each {
				errs <- appendTestEvent(ctx, st, "test.synced")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st.w.syncer.mu.Lock()
	durable, committed := st.w.syncer.durable, st.w.syncer.committed
	st.w.syncer.mu.Unlock()
	if durable != committed || committed == 0 {
		t.Fatalf("after every caller returned: %d of %d batches durable", durable, committed)
	}
	var last int64
	timeout := time.After(10 * time.Second)
	for seen := 0; seen < writers*each; seen++ {
		select {
		case c := <-changes:
			if c.Resync || c.EventID <= last {
				t.Fatalf("change %+v after event %d: want every event once, in order", c, last)
			}
			last = c.EventID
		case <-timeout:
			t.Fatalf("subscriber heard of %d of %d changes", seen, writers*each)
		}
	}
}

// TestFailedSyncRefusesWrites: when the WAL cannot be synced, the caller
// whose batch it was learns so, subscribers never hear of the batch, and
// the store takes no more writes (a later fsync that succeeds proves
// nothing about pages the kernel dropped).
func TestFailedSyncRefusesWrites(t *testing.T) {
	ctx := context.Background()
	st, err := OpenSQLite(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := appendTestEvent(ctx, st, "test.before"); err != nil {
		t.Fatal(err)
	}
	changes, stop := st.Subscribe()
	defer stop()
	// Close the syncer's WAL handle under it: its next fsync fails.
	st.w.syncer.mu.Lock()
	if st.w.syncer.wal == nil {
		st.w.syncer.mu.Unlock()
		t.Fatal("the WAL was never synced")
	}
	st.w.syncer.wal.Close()
	st.w.syncer.mu.Unlock()

	err = appendTestEvent(ctx, st, "test.unsynced")
	if err == nil || !strings.Contains(err.Error(), "could not be written to disk") {
		t.Fatalf("write whose sync failed: %v, want the disk error", err)
	}
	err = appendTestEvent(ctx, st, "test.after")
	if err == nil || !strings.Contains(err.Error(), "restarted") {
		t.Fatalf("write after a failed sync: %v, want it refused", err)
	}
	select {
	case c := <-changes:
		t.Fatalf("subscriber heard of %+v from a batch that never reached the disk", c)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestObservableCacheBounds: senders choose observable values, so the
// writer's cache is bounded by bytes and skips long values.
func TestObservableCacheBounds(t *testing.T) {
	var c observableCache
	long := observableKey("url", "https://example.com/"+strings.Repeat("a", observableCacheMaxKey))
	c.put(long, 1)
	if _, ok := c.get(long); ok {
		t.Error("a long value was cached")
	}
	key := func(i int) string {
		return observableKey("host", fmt.Sprintf("host-%06d-%s", i, strings.Repeat("x", 200)))
	}
	n := 0
	for c.bytes+len(key(n)) <= observableCacheBytes {
		c.put(key(n), int64(n))
		n++
	}
	if _, ok := c.get(key(0)); !ok || c.bytes > observableCacheBytes {
		t.Fatalf("before the bound: %d bytes, first key cached %v", c.bytes, ok)
	}
	c.put(key(n), int64(n))
	if _, ok := c.get(key(0)); ok || c.bytes > observableCacheBytes {
		t.Errorf("past the bound: %d bytes held, old keys kept %v; want it to start over", c.bytes, ok)
	}
	if id, ok := c.get(key(n)); !ok || id != int64(n) {
		t.Errorf("the newest key after starting over: %d %v", id, ok)
	}
}
