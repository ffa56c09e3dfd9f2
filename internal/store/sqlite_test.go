package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/irdesk/irdesk/internal/audit"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
	"github.com/irdesk/irdesk/internal/store/storetest"
)

// openAt opens (creating) the SQLite store in dir and closes it when the
// test ends.
func openAt(tb testing.TB, dir string) *store.Store {
	tb.Helper()
	st, err := store.OpenSQLite(context.Background(), dir, store.Options{})
	if err != nil {
		tb.Fatalf("OpenSQLite: %v", err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return st
}

func openSQLite(tb testing.TB) *store.Store {
	tb.Helper()
	return openAt(tb, tb.TempDir())
}

func TestSQLiteContract(t *testing.T) {
	storetest.Run(t, openSQLite)
}

func TestMigrationsNumbered(t *testing.T) {
	ms, err := store.Migrations("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no sqlite migrations")
	}
	for i, m := range ms {
		if m.Version != i+1 {
			t.Errorf("migration %d is %s with version %d", i, m.Name, m.Version)
		}
		if want := fmt.Sprintf("%04d_", i+1); !strings.HasPrefix(m.Name, want) || !strings.HasSuffix(m.Name, ".sql") {
			t.Errorf("migration name %q, want %s<name>.sql", m.Name, want)
		}
		if strings.TrimSpace(m.SQL) == "" {
			t.Errorf("migration %s is empty", m.Name)
		}
	}
	if _, err := store.Migrations("nosuchdialect"); err == nil {
		t.Error("Migrations of an unknown dialect succeeded")
	}
}

// TestMigrationsSameNames checks that every dialect has the same
// migrations, so a schema change is never made for one database only.
func TestMigrationsSameNames(t *testing.T) {
	if _, err := os.Stat(filepath.Join("migrations", "postgres")); errors.Is(err, fs.ErrNotExist) {
		t.Skip("migrations/postgres does not exist yet: the PostgreSQL backend is not written; this test runs once it is")
	} else if err != nil {
		t.Fatal(err)
	}
	names := func(dialect string) []string {
		t.Helper()
		ms, err := store.Migrations(dialect)
		if err != nil {
			t.Fatalf("%s migrations: %v", dialect, err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return out
	}
	lite, pg := names("sqlite"), names("postgres")
	if !slices.Equal(lite, pg) {
		t.Fatalf("migration names differ:\nsqlite   %q\npostgres %q", lite, pg)
	}
	// Files that are not .sql are skipped by Migrations; make sure nothing
	// else is lying in one directory only either.
	dirNames := func(dialect string) []string {
		t.Helper()
		entries, err := os.ReadDir(filepath.Join("migrations", dialect))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	if a, b := dirNames("sqlite"), dirNames("postgres"); !slices.Equal(a, b) {
		t.Fatalf("migration directories differ:\nsqlite   %q\npostgres %q", a, b)
	}
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ms, err := store.Migrations("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range ms {
		want = append(want, m.Name)
	}
	applied, err := store.Migrate(ctx, dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(applied, want) {
		t.Fatalf("first Migrate applied %q, want %q", applied, want)
	}
	applied, err = store.Migrate(ctx, dir, time.Now())
	if err != nil || len(applied) != 0 {
		t.Fatalf("second Migrate applied %q, %v; want nothing", applied, err)
	}
	// A migrated database opens without applying anything more.
	st := openAt(t, dir)
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// rawDB opens the store's database file directly, bypassing the store.
func rawDB(tb testing.TB, dir string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(filepath.Join(dir, store.DBFileName))+"?_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestDatabaseNewerRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.OpenSQLite(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	ms, err := store.Migrations("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	future := len(ms) + 1
	db := rawDB(t, dir)
	if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		future, fmt.Sprintf("%04d_from_the_future.sql", future), time.Now().UnixMicro()); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	check := func(what string, err error) {
		t.Helper()
		var newer *store.ErrDatabaseNewer
		if !errors.As(err, &newer) {
			t.Fatalf("%s: error = %v (%T), want *store.ErrDatabaseNewer", what, err, err)
		}
		if newer.Database != future || newer.Binary != len(ms) {
			t.Fatalf("%s: ErrDatabaseNewer{Database: %d, Binary: %d}, want {%d, %d}", what, newer.Database, newer.Binary, future, len(ms))
		}
		if msg := newer.Error(); !strings.Contains(msg, fmt.Sprint(future)) || !strings.Contains(msg, fmt.Sprint(len(ms))) {
			t.Errorf("%s: message %q does not name both versions", what, msg)
		}
	}
	st, err = store.OpenSQLite(ctx, dir, store.Options{})
	if st != nil {
		st.Close()
		t.Fatal("OpenSQLite returned a store for a newer database")
	}
	check("OpenSQLite", err)
	_, err = store.Migrate(ctx, dir, time.Now())
	check("Migrate", err)
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.OpenSQLite(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	u := core.User{Name: "alice", Role: core.RoleAdmin, CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)}
	inc := &core.Incident{Title: "persisted ransomware", Phase: core.PhaseDetect}
	if err := inc.Normalize(); err != nil {
		t.Fatal(err)
	}
	create := func(st *store.Store, inc *core.Incident) error {
		return st.InTx(ctx, func(tx *store.Tx) error {
			key, err := tx.NextIncidentKey(ctx, 2026)
			if err != nil {
				return err
			}
			inc.Key, inc.CreatedAt, inc.UpdatedAt, inc.Timestamps.ReportedAt = key, tx.Now(), tx.Now(), tx.Now()
			if err := tx.CreateIncident(ctx, inc); err != nil {
				return err
			}
			if err := tx.EnterPhase(ctx, inc.ID, core.PhaseDetect, "alice", ""); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, &core.Event{Actor: "alice", IncidentID: inc.ID, Type: core.EvIncidentCreated})
		})
	}
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.CreateUser(ctx, &u, "h") }); err != nil {
		t.Fatal(err)
	}
	if err := create(st, inc); err != nil {
		t.Fatal(err)
	}
	before, err := st.GetIncident(ctx, inc.Key, store.Scope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// Close folds the WAL into the database file.
	if fi, err := os.Stat(filepath.Join(dir, store.DBFileName+"-wal")); err == nil && fi.Size() != 0 {
		t.Errorf("WAL holds %d bytes after Close, want it checkpointed", fi.Size())
	}

	st = openAt(t, dir)
	after, err := st.GetIncident(ctx, inc.Key, store.Scope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", after) != fmt.Sprintf("%+v", before) {
		t.Fatalf("incident changed across reopen:\nbefore %+v\n after %+v", before, after)
	}
	if got, err := st.UserByName(ctx, "alice"); err != nil || got != u {
		t.Fatalf("user after reopen: %+v, %v; want %+v", got, err, u)
	}
	if hits, _, err := st.FindIncidents(ctx, store.IncidentFilter{Scope: store.Scope{All: true}, Query: "ransom"}); err != nil || len(hits) != 1 {
		t.Fatalf("search after reopen: %d hits, %v", len(hits), err)
	}
	// The key sequence and the audit chain continue where they were.
	second := &core.Incident{Title: "second", Phase: core.PhaseDetect}
	if err := second.Normalize(); err != nil {
		t.Fatal(err)
	}
	if err := create(st, second); err != nil {
		t.Fatal(err)
	}
	if second.Key != "INC-2026-0002" {
		t.Fatalf("key after reopen = %s, want INC-2026-0002", second.Key)
	}
	v := audit.NewVerifier()
	headID, headHash, err := st.ScanEvents(ctx, v.Next)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Finish(headID, headHash); err != nil || v.Count() != 2 {
		t.Fatalf("chain after reopen: %d events, %v", v.Count(), err)
	}
}

func TestPragmas(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	want := map[string]string{"busy_timeout": "10000", "journal_mode": "wal", "foreign_keys": "1", "synchronous": "2"}
	check := func(what string, got map[string]string, queryOnly string) {
		t.Helper()
		for k, v := range want {
			if what == "write connection" && k == "synchronous" {
				// NORMAL (1): the walSyncer fsyncs the WAL before answering.
				v = "1"
			}
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", what, k, got[k], v)
			}
		}
		if got["query_only"] != queryOnly {
			t.Errorf("%s: query_only = %q, want %q", what, got["query_only"], queryOnly)
		}
	}
	// Several read connections at once, so more than one pool connection is checked.
	var wg sync.WaitGroup
	results := make([]map[string]string, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Go(func() {
			results[i], errs[i] = st.Pragmas(ctx)
		})
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		check("read pool", results[i], "1")
	}
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		got, err := tx.Pragmas(ctx)
		if err != nil {
			return err
		}
		check("write connection", got, "0")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestForeignKeysEnforced shows foreign_keys is on where the writes happen.
func TestForeignKeysEnforced(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	err := st.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.AddMember(ctx, 424242, 434343)
		return err
	})
	if err == nil {
		t.Fatal("a member of a missing incident and user was stored")
	}
}

// TestWALStaysBoundedUnderReads: with readers querying all the time, the
// automatic checkpoint cannot start the WAL over; the writer must.
func TestWALStaysBoundedUnderReads(t *testing.T) {
	dir := t.TempDir()
	const limit = 1 << 20
	st, err := store.OpenSQLite(context.Background(), dir, store.Options{WALLimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := st.FindIncidents(ctx, store.IncidentFilter{Scope: store.Scope{All: true}, Limit: 50}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// written adds up every growth of the WAL file: what the WAL would
	// reach if nothing ever started it over.
	var peak, last, written int64
	for i := range 600 {
		err := st.InTx(ctx, func(tx *store.Tx) error {
			key, err := tx.NextIncidentKey(ctx, 2026)
			if err != nil {
				return err
			}
			inc := &core.Incident{Key: key, Title: fmt.Sprintf("WAL test %d", i), Description: strings.Repeat("ログ ", 200)}
			if err := inc.Normalize(); err != nil {
				return err
			}
			inc.Phase, inc.CreatedAt, inc.UpdatedAt, inc.Timestamps.ReportedAt = core.PhaseDetect, tx.Now(), tx.Now(), tx.Now()
			return tx.CreateIncident(ctx, inc)
		})
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(filepath.Join(dir, store.DBFileName+"-wal")); err == nil {
			if fi.Size() > last {
				written += fi.Size() - last
			}
			last = fi.Size()
			peak = max(peak, last)
		}
	}
	close(stop)
	wg.Wait()
	// Between two checks the WAL grows by what 64 batches write, so with
	// the restarts it peaks at one or two such stretches; without them it
	// holds everything written (17 MiB here).
	if peak*3 > written {
		t.Errorf("the WAL peaked at %d bytes of %d written; it is not being started over", peak, written)
	}
	t.Logf("peak WAL %d bytes of %d written (limit %d)", peak, written, limit)
}

// TestTryInTxSheds: with the queue full, TryInTx refuses at once with
// ErrOverloaded and runs nothing, while what was queued still commits.
func TestTryInTxSheds(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), t.TempDir(), store.Options{MaxBatch: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	hold, started := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	// The first write holds the writer, so the one-slot queue fills up.
	go func() {
		first <- st.InTx(ctx, func(tx *store.Tx) error { close(started); <-hold; return nil })
	}()
	<-started
	const tries = 5
	results := make(chan error, tries)
	var ran atomic.Int32
	for range tries {
		go func() {
			results <- st.TryInTx(ctx, func(tx *store.Tx) error { ran.Add(1); return nil })
		}()
	}
	// At most one try fits in the queue; the others must be refused now,
	// while the writer is still held.
	for range tries - 1 {
		if err := <-results; !errors.Is(err, store.ErrOverloaded) {
			t.Fatalf("TryInTx on a full queue: %v, want ErrOverloaded", err)
		}
	}
	close(hold)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-results; err != nil {
		t.Fatalf("the queued try: %v", err)
	}
	if n := ran.Load(); n != 1 {
		t.Fatalf("%d tries ran, want exactly the queued one", n)
	}
}
