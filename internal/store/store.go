// Package store keeps irdesk's data in SQL: SQLite on one machine,
// PostgreSQL on many. It is the only package that knows SQL. Writes go
// through InTx; reads through the Store's methods, which take a Scope so
// that what a viewer may not see never leaves the database.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/irdesk/irdesk/internal/audit"
	"github.com/irdesk/irdesk/internal/search"
)

// dialect holds the few places where SQLite and PostgreSQL differ.
type dialect struct {
	name       string
	beginWrite string
	rebind     func(string) string
	// headLock reads the audit-chain head at the start of every write
	// transaction, after beginWrite, holding whatever lock orders writers.
	headLock string
	// textMatch is the condition that the full-text table, aliased f,
	// matches the query built by textQuery (one placeholder).
	textMatch string
	textQuery func([]search.Term) string
	// skipLocked ends the subquery that picks rows to claim.
	skipLocked string
	// snapshot opens a read transaction that sees one snapshot throughout.
	snapshot *sql.TxOptions
	// migrationsTable creates the migration bookkeeping table.
	migrationsTable string
	// lockMigrations and unlockMigrations bracket a migration run so that
	// processes starting together apply each migration once; empty when
	// the write transaction is lock enough.
	lockMigrations, unlockMigrations string
	// checkpoint folds the write-ahead log into the database; empty when
	// the database does that itself.
	checkpoint string
}

var sqliteDialect = dialect{
	name: "sqlite",
	// IMMEDIATE takes the write lock at BEGIN, so a transaction never
	// fails half-way with SQLITE_BUSY when it first writes.
	beginWrite: "BEGIN IMMEDIATE",
	rebind:     func(q string) string { return q },
	// BEGIN IMMEDIATE has taken the database's one write lock already.
	headLock:   headSelect,
	textMatch:  `incident_fts MATCH ?`,
	textQuery:  ftsMatch,
	skipLocked: "",
	// A read transaction in WAL mode is one snapshot from its first read.
	snapshot: &sql.TxOptions{ReadOnly: true},
	migrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
	checkpoint: "PRAGMA wal_checkpoint(TRUNCATE)",
}

// Options tune a store. The zero value is what production uses.
type Options struct {
	// Now is the clock; tests inject one to fast-forward time.
	Now func() time.Time
	// MaxBatch bounds how many write transactions share one commit.
	MaxBatch int
	// Readers is the size of the read connection pool.
	Readers int
	// WALLimit is the WAL size past which the writer restarts the WAL
	// (default 64 MiB).
	WALLimit int64
	// Existing opens only a database that exists and is at the current
	// schema, changing nothing: for commands that inspect (audit verify).
	Existing bool
}

// Store is an open database.
type Store struct {
	reader
	d       dialect
	path    string
	readDB  *sql.DB
	writeDB *sql.DB
	w       *writer
	// stopListen ends the PostgreSQL LISTEN loop; nil on SQLite.
	stopListen func()
}

// DBFileName is the SQLite database's file name inside the data directory.
const DBFileName = "irdesk.db"

// sqliteDSN sets up every connection the same way. busy_timeout comes
// first so the pragmas after it wait for a lock instead of failing;
// synchronous=FULL fsyncs the WAL at every commit, so an acknowledged
// write survives a power loss. The store's own write connection is the
// exception: its commits are made durable by the walSyncer, which fsyncs
// the WAL itself while the writer goes on (see walsync.go).
func sqliteDSN(path string, role connRole) string {
	sync := "FULL"
	if role == writerConn {
		sync = "NORMAL"
	}
	q := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(" + sync + ")"
	switch role {
	case readerConn:
		q += "&_pragma=query_only(1)"
	case writerConn:
		q += "&_pragma=wal_autocheckpoint(" + strconv.Itoa(writerAutoCheckpoint) + ")"
	}
	return "file:" + filepath.ToSlash(path) + "?" + q
}

type connRole int

const (
	plainConn connRole = iota
	readerConn
	writerConn
)

// OpenSQLite opens (creating if needed) the database in dataDir and brings
// its schema up to date.
func OpenSQLite(ctx context.Context, dataDir string, opts Options) (*Store, error) {
	if opts.Existing {
		if _, err := os.Stat(filepath.Join(dataDir, DBFileName)); err != nil {
			return nil, fmt.Errorf("no irdesk database in %s: %w", dataDir, err)
		}
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Readers <= 0 {
		opts.Readers = 8
	}
	if opts.WALLimit <= 0 {
		opts.WALLimit = defaultWALLimit
	}
	path := filepath.Join(dataDir, DBFileName)
	writeDB, err := sql.Open("sqlite", sqliteDSN(path, writerConn))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	writeDB.SetMaxOpenConns(1)
	writeDB.SetConnMaxIdleTime(0)
	writeDB.SetConnMaxLifetime(0)
	conn, err := writeDB.Conn(ctx)
	if err != nil {
		writeDB.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	s := &Store{d: sqliteDialect, path: path, writeDB: writeDB}
	fail := func(err error) (*Store, error) {
		conn.Close()
		writeDB.Close()
		if s.readDB != nil {
			s.readDB.Close()
		}
		return nil, err
	}
	if _, err := migrate(ctx, conn, s.d, micros(opts.Now()), opts.Existing); err != nil {
		return fail(err)
	}
	s.readDB, err = sql.Open("sqlite", sqliteDSN(path, readerConn))
	if err != nil {
		return fail(fmt.Errorf("open database: %w", err))
	}
	s.readDB.SetMaxOpenConns(opts.Readers)
	s.readDB.SetMaxIdleConns(opts.Readers)
	s.reader = reader{q: &stmtCache{db: s.readDB}, d: s.d}
	s.w, err = newWriter(ctx, conn, s.d, opts, path+"-wal", nil)
	if err != nil {
		return fail(err)
	}
	if s.w.syncer != nil {
		if err := s.w.syncer.open(); err != nil {
			s.w.close()
			return fail(err)
		}
		cp, err := newCheckpointer(ctx, path)
		if err != nil {
			s.w.close()
			return fail(fmt.Errorf("open checkpoint connection: %w", err))
		}
		s.w.syncer.checkpointer = cp
	}
	return s, nil
}

// Migrate applies pending migrations to the database in dataDir and
// returns the names of those applied; it is what `irdesk migrate` runs.
func Migrate(ctx context.Context, dataDir string, now time.Time) ([]string, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	db, err := sql.Open("sqlite", sqliteDSN(filepath.Join(dataDir, DBFileName), plainConn))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return migrate(ctx, conn, sqliteDialect, micros(now), false)
}

// Path is the database file; empty on PostgreSQL.
func (s *Store) Path() string { return s.path }

// Dialect names the database: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// Close stops the writer after the writes already queued, checkpoints the
// WAL into the main file and closes every connection.
func (s *Store) Close() error {
	var errs []error
	if s.stopListen != nil {
		s.stopListen()
	}
	if s.w != nil {
		// The background checkpointer first, so the writer's last
		// checkpoint, which empties the WAL, does not wait for it.
		if s.w.syncer != nil && s.w.syncer.checkpointer != nil {
			errs = append(errs, s.w.syncer.checkpointer.close())
		}
		errs = append(errs, s.w.close())
		s.w.feed.close()
	}
	if s.readDB != nil {
		errs = append(errs, s.readDB.Close())
	}
	errs = append(errs, s.writeDB.Close())
	return errors.Join(errs...)
}

// Ping checks that the database answers a read.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.readDB.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// InTx runs fn in a write transaction and returns once it is durably
// committed (or failed). Concurrent calls are group-committed: they share
// one database transaction and one fsync, and one call's failure rolls
// back only that call's changes. To get there, fn may run more than once
// (when another call in its batch fails, the batch is rolled back and run
// again), so fn must only assign to variables outside it, never
// accumulate into them. fn may run after ctx is done only if it had
// already started.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	return s.w.do(ctx, fn, true)
}

// TryInTx is InTx for load that may be shed: when the write queue is
// full it returns ErrOverloaded at once instead of waiting, so intake
// answers "retry later" rather than piling up requests without bound.
func (s *Store) TryInTx(ctx context.Context, fn func(tx *Tx) error) error {
	return s.w.do(ctx, fn, false)
}

// Tx is one write transaction. It reads through the same connection, so it
// sees its own writes, except in full-text search (see index).
type Tx struct {
	reader
	now time.Time
	w   *writer
	fts []ftsWrite
	// changes are the events this request appended, for the change feed
	// once the batch commits.
	changes []Change
	// learned are observables this request looked up or added, for the
	// writer's cache once the batch commits.
	learned []learnedObservable
}

// ftsWrite is a pending change to the full-text index.
type ftsWrite struct {
	rowid   int64
	terms   string
	replace bool
}

// index queues a full-text index write until the batch commits. FTS5
// flushes its in-memory index at every savepoint, and the group commit
// takes a savepoint per request: writing the index inside each request
// made creation three times slower. A request that fails drops its queue.
func (tx *Tx) index(rowid int64, terms string, replace bool) {
	tx.fts = append(tx.fts, ftsWrite{rowid: rowid, terms: terms, replace: replace})
}

// Now is the transaction's single timestamp: the change and its audit
// event carry the same time.
func (tx *Tx) Now() time.Time { return tx.now }

// exec runs a write statement.
func (tx *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := tx.q.prepare(ctx, tx.d.rebind(query))
	if err != nil {
		return nil, err
	}
	return st.ExecContext(tx.ctx(ctx), args...)
}

// stmtCache prepares each query once per pool or connection: at thousands
// of writes a second, re-parsing SQL is a measurable share of the work.
type stmtCache struct {
	db interface {
		PrepareContext(context.Context, string) (*sql.Stmt, error)
	}
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func (c *stmtCache) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	st, err := c.db.PrepareContext(context.WithoutCancel(ctx), query)
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", firstLine(query), err)
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = nil
}

func firstLine(q string) string {
	q = strings.TrimSpace(q)
	if i := strings.IndexByte(q, '\n'); i > 0 {
		return q[:i]
	}
	return q
}

// micros is the stored form of a time.
func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(*t), Valid: true}
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// isUniqueViolation tells a constraint conflict by its code, never its text.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return isPGUniqueViolation(err)
}

const headSelect = `SELECT event_id, hash FROM audit_head WHERE id = 1`

// chainHead is where the next event attaches.
type chainHead struct {
	id   int64
	hash string
}

// loadHead reads the recorded head, not the newest row: if someone deleted
// the newest events, new events still point at the deleted ones, and
// verification shows the gap instead of the chain quietly healing over it.
//
// query is headSelect, or the dialect's headLock inside a write transaction.
func loadHead(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, query string) (chainHead, error) {
	h := chainHead{hash: audit.Genesis}
	err := q.QueryRowContext(ctx, query).Scan(&h.id, &h.hash)
	if errors.Is(err, sql.ErrNoRows) {
		return chainHead{hash: audit.Genesis}, nil
	}
	return h, err
}
