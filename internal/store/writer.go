package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/irdesk/irdesk/internal/audit"
)

// ErrClosed is returned for writes submitted after Close.
var ErrClosed = errors.New("store is closed")

type writeReq struct {
	ctx  context.Context
	fn   func(*Tx) error
	done chan error
	// seq is the batch the request was committed in, when it must still
	// wait for the WAL to reach the disk (SQLite); set before done.
	seq uint64
}

// writer owns the only write connection. It takes whatever write requests
// are queued, runs them in one transaction (a savepoint each), commits
// once and then answers each: group commit, so N concurrent writers pay
// for one fsync instead of N.
type writer struct {
	conn     *sql.Conn
	stmts    *stmtCache
	d        dialect
	now      func() time.Time
	maxBatch int
	reqs     chan *writeReq
	quit     chan struct{}
	stopped  chan struct{}
	head     chainHead
	last     time.Time
	// keySeq holds the incident key sequences this batch has used, read
	// once under the write lock and written back before the commit, so a
	// batch of creates costs one read and one write instead of one upsert each.
	keySeq map[int]int64
	// walPath is the WAL file, watched for growth; empty to never check.
	walPath  string
	walLimit int64
	// reconnect, when set (PostgreSQL), gives a new write connection when
	// the database dropped the old one (a restart, a failover), so the
	// node recovers by itself; nil for SQLite, whose connection is a file.
	reconnect func(context.Context) (*sql.Conn, error)
	// broken means the connection was found dead and not yet replaced.
	broken bool
	// observables caches the ids of committed observables on SQLite,
	// where nothing deletes or replaces them under a running server: most
	// alerts name addresses, users and hosts seen before, and intake then
	// looks nothing up (see observableCache).
	observables observableCache

	// feed receives each batch's changes once committed. On PostgreSQL
	// they also go to the other nodes by NOTIFY, tagged with node (to
	// tell this node's own apart) and schema (the database it is).
	feed   *feed
	node   string
	schema string

	// syncer, on SQLite, tells callers when their committed batch has
	// reached the disk, while the writer already runs the next batch
	// (walsync.go); nil on PostgreSQL, whose COMMIT is durable when it
	// returns.
	syncer *walSyncer

	batches  atomic.Int64
	requests atomic.Int64

	// closeMu orders submissions before close: do holds it shared while it
	// queues, so once close holds it, nothing more can be queued.
	closeMu sync.RWMutex
	closed  bool
}

func newWriter(ctx context.Context, conn *sql.Conn, d dialect, opts Options, walPath string,
	reconnect func(context.Context) (*sql.Conn, error)) (*writer, error) {
	head, err := loadHead(ctx, conn, headSelect)
	if err != nil {
		return nil, fmt.Errorf("read audit head: %w", err)
	}
	w := &writer{
		conn:      conn,
		stmts:     &stmtCache{db: conn},
		d:         d,
		now:       opts.Now,
		maxBatch:  opts.MaxBatch,
		reqs:      make(chan *writeReq, opts.MaxBatch),
		quit:      make(chan struct{}),
		stopped:   make(chan struct{}),
		head:      head,
		keySeq:    map[int]int64{},
		walPath:   walPath,
		walLimit:  opts.WALLimit,
		reconnect: reconnect,
		feed:      &feed{},
		node:      newNodeID(),
	}
	if d.name == postgresDialect.name {
		if err := conn.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&w.schema); err != nil {
			return nil, fmt.Errorf("read schema: %w", err)
		}
	}
	if d.name == sqliteDialect.name && walPath != "" {
		w.syncer = newWALSyncer(walPath, w.feed)
	}
	go w.loop()
	return w, nil
}

// ErrOverloaded means the write queue is full and the caller asked not to
// wait: the write was not made, and may be retried later.
var ErrOverloaded = errors.New("the write queue is full")

func (w *writer) do(ctx context.Context, fn func(*Tx) error, wait bool) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	w.closeMu.RLock()
	if w.closed {
		w.closeMu.RUnlock()
		return ErrClosed
	}
	if !wait {
		select {
		case w.reqs <- req:
		default:
			w.closeMu.RUnlock()
			return ErrOverloaded
		}
	} else {
		select {
		case w.reqs <- req:
		case <-ctx.Done():
			w.closeMu.RUnlock()
			return ctx.Err()
		}
	}
	w.closeMu.RUnlock()
	// Once queued, wait for the answer even if ctx ends: the caller must
	// learn whether the write committed.
	if err := <-req.done; err != nil || req.seq == 0 {
		return err
	}
	return w.syncer.wait(req.seq)
}

func (w *writer) loop() {
	defer close(w.stopped)
	for {
		var first *writeReq
		select {
		case first = <-w.reqs:
		case <-w.quit:
			// Drain what was queued before Close so no caller hangs.
			for {
				select {
				case r := <-w.reqs:
					w.runBatch([]*writeReq{r})
				default:
					return
				}
			}
		}
		batch := []*writeReq{first}
	fill:
		for len(batch) < w.maxBatch {
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		w.runBatch(batch)
	}
}

// tick returns a time strictly after the previous one, so events are in
// time order even if the wall clock steps back.
func (w *writer) tick() time.Time {
	t := w.now().UTC().Truncate(time.Microsecond)
	if !t.After(w.last) {
		t = w.last.Add(time.Microsecond)
	}
	w.last = t
	return t
}

// exec runs a transaction-control statement, prepared once: at thousands
// of requests a second, parsing SAVEPOINT and RELEASE anew each time is a
// measurable share of the single writer's time.
func (w *writer) exec(query string) error {
	st, err := w.stmts.prepare(context.Background(), query)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(context.Background())
	return err
}

func (w *writer) runBatch(batch []*writeReq) {
	w.batches.Add(1)
	w.requests.Add(int64(len(batch)))
	results := make([]error, len(batch))
	// A request whose caller gave up before it started is skipped; once
	// started, it runs to the end, also when the batch is run again.
	for i, r := range batch {
		results[i] = r.ctx.Err()
	}
	if w.syncer != nil {
		if err := w.syncer.failed(); err != nil {
			w.answer(batch, results, err)
			return
		}
	}
	if w.broken {
		if err := w.redial(); err != nil {
			w.answer(batch, results, fmt.Errorf("the database is unavailable: %w", err))
			return
		}
	}
	// Most batches have no failing request, so the first attempt runs them
	// without savepoints, which cost two statements per request. If one
	// fails, the whole transaction is rolled back and the others run again,
	// each in its own savepoint.
	retry, changes, committed := w.attempt(batch, results, false)
	if retry {
		_, changes, committed = w.attempt(batch, results, true)
	}
	switch {
	case committed && w.syncer != nil:
		// The callers wait for the batch to reach the disk, and
		// subscribers hear of it then (walsync.go).
		seq := w.syncer.commit(changes)
		for i, r := range batch {
			if results[i] == nil {
				r.seq = seq
			}
		}
		w.answer(batch, results, nil)
	case committed:
		w.answer(batch, results, nil)
		// Only now: a subscriber must never hear of work that was rolled
		// back.
		w.feed.publish(changes)
	default:
		w.answer(batch, results, nil)
	}
	if w.reconnect != nil && slices.ContainsFunc(results, func(err error) bool { return err != nil }) {
		// A failure may be the connection's; if so, replace it now, so
		// the next batch need not fail to find out.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		w.broken = w.conn.PingContext(ctx) != nil
		cancel()
		if w.broken {
			_ = w.redial()
		}
	}
	w.maybeCheckpoint()
}

// answer tells each caller its result; err, when set, stands in for the
// results that are still nil.
func (w *writer) answer(batch []*writeReq, results []error, err error) {
	for i, r := range batch {
		if results[i] == nil {
			results[i] = err
		}
		r.done <- results[i]
	}
}

// redial replaces a dead write connection and its prepared statements.
// On failure the writer stays broken and the next batch tries again.
func (w *writer) redial() error {
	w.stmts.close()
	_ = w.conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := w.reconnect(ctx)
	if err == nil {
		err = conn.PingContext(ctx)
		if err != nil {
			conn.Close()
		}
	}
	if err != nil {
		w.broken = true
		return err
	}
	w.conn, w.stmts, w.broken = conn, &stmtCache{db: conn}, false
	return nil
}

// Checkpointing: SQLite's automatic checkpoint copies the WAL into the
// database but cannot start the WAL over while readers keep reading, so
// under steady reads the WAL grows without bound. Every so many batches
// the writer looks at the WAL's size and, past the limit, runs a TRUNCATE
// checkpoint: it waits only for readers of older snapshots (queries take
// milliseconds), copies everything, and empties the WAL file, so the disk
// space comes back too.
const (
	walCheckEvery   = 64
	defaultWALLimit = 64 << 20
)

func (w *writer) maybeCheckpoint() {
	if w.walPath == "" || w.batches.Load()%walCheckEvery != 0 {
		return
	}
	fi, err := os.Stat(w.walPath)
	if err != nil || fi.Size() < w.walLimit {
		return
	}
	_, _ = w.conn.ExecContext(context.Background(), w.d.checkpoint)
}

// attempt runs the requests whose result is still nil in one transaction
// and commits. Without savepoints, it stops at the first failing request,
// rolls everything back and reports that a retry is needed. When it
// committed, changes are what the committed requests did.
func (w *writer) attempt(batch []*writeReq, results []error, savepoints bool) (retry bool, changes []Change, committed bool) {
	fail := func(err error) (bool, []Change, bool) {
		_ = w.exec("ROLLBACK")
		for i := range results {
			if results[i] == nil {
				results[i] = err
			}
		}
		return false, nil, false
	}
	if err := w.exec(w.d.beginWrite); err != nil {
		return fail(fmt.Errorf("begin: %w", err))
	}
	// Re-read the head under the write lock: another process on the same
	// database (an irdesk CLI command, another node) may have appended.
	// On PostgreSQL, reading it is what takes that lock.
	head, err := w.readHead()
	if err != nil {
		return fail(fmt.Errorf("read audit head: %w", err))
	}
	w.head = head
	clear(w.keySeq)
	startHead := w.head
	anyOK := false
	var pendingFTS []ftsWrite
	var pendingChanges []Change
	var pendingObservables []learnedObservable
	for i, r := range batch {
		if results[i] != nil {
			continue
		}
		before := w.head
		seqBefore := maps.Clone(w.keySeq)
		if savepoints {
			if err := w.exec("SAVEPOINT req"); err != nil {
				return fail(fmt.Errorf("savepoint: %w", err))
			}
		}
		tx, err := w.run(r)
		if err != nil {
			results[i] = err
			if !savepoints {
				_ = w.exec("ROLLBACK")
				w.head = startHead
				// Run the batch again only if others are waiting in it.
				return slices.Contains(results, nil), nil, false
			}
			w.head = before
			w.keySeq = seqBefore
			if rbErr := w.exec("ROLLBACK TO req"); rbErr != nil {
				return fail(fmt.Errorf("rollback to savepoint: %w", rbErr))
			}
		} else {
			anyOK = true
			pendingFTS = append(pendingFTS, tx.fts...)
			pendingChanges = append(pendingChanges, tx.changes...)
			pendingObservables = append(pendingObservables, tx.learned...)
		}
		if savepoints {
			if err := w.exec("RELEASE req"); err != nil {
				return fail(fmt.Errorf("release savepoint: %w", err))
			}
		}
	}
	if !anyOK {
		_ = w.exec("ROLLBACK")
		w.head = startHead
		return false, nil, false
	}
	if err := w.writeKeySeqs(); err != nil {
		return fail(fmt.Errorf("record incident keys: %w", err))
	}
	if err := w.writeFTS(pendingFTS); err != nil {
		return fail(fmt.Errorf("full-text index: %w", err))
	}
	if w.head != startHead {
		st, err := w.stmts.prepare(context.Background(), w.d.rebind(`INSERT INTO audit_head (id, event_id, hash) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET event_id = excluded.event_id, hash = excluded.hash`))
		if err == nil {
			_, err = st.ExecContext(context.Background(), w.head.id, w.head.hash)
		}
		if err != nil {
			return fail(fmt.Errorf("record audit head: %w", err))
		}
	}
	if err := w.notifyChanges(pendingChanges); err != nil {
		return fail(fmt.Errorf("notify other nodes: %w", err))
	}
	if err := w.exec("COMMIT"); err != nil {
		w.head = startHead
		return fail(fmt.Errorf("commit: %w", err))
	}
	for _, o := range pendingObservables {
		w.observables.put(o.key, o.id)
	}
	return false, pendingChanges, true
}

// readHead reads the audit head inside the write transaction, with a
// statement prepared once: it runs at every commit.
func (w *writer) readHead() (chainHead, error) {
	st, err := w.stmts.prepare(context.Background(), w.d.headLock)
	if err != nil {
		return chainHead{}, err
	}
	h := chainHead{hash: audit.Genesis}
	err = st.QueryRowContext(context.Background()).Scan(&h.id, &h.hash)
	if errors.Is(err, sql.ErrNoRows) {
		return chainHead{hash: audit.Genesis}, nil
	}
	return h, err
}

// run calls one request's function, turning a panic into an error so one
// bad request cannot take the writer (and every other writer) down.
func (w *writer) run(r *writeReq) (tx *Tx, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in write transaction: %v\n%s", p, debug.Stack())
		}
	}()
	tx = &Tx{reader: reader{q: w.stmts, d: w.d, detached: true}, now: w.tick(), w: w}
	err = r.fn(tx)
	return tx, err
}

// writeFTS applies the batch's full-text index writes in one go.
func (w *writer) writeFTS(writes []ftsWrite) error {
	ctx := context.Background()
	for _, f := range writes {
		if f.replace {
			st, err := w.stmts.prepare(ctx, w.d.rebind(`DELETE FROM incident_fts WHERE rowid = ?`))
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, f.rowid); err != nil {
				return err
			}
		}
		st, err := w.stmts.prepare(ctx, w.d.rebind(`INSERT INTO incident_fts (rowid, terms) VALUES (?, ?)`))
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, f.rowid, f.terms); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) close() error {
	w.closeMu.Lock()
	if w.closed {
		w.closeMu.Unlock()
		return nil
	}
	w.closed = true
	w.closeMu.Unlock()
	close(w.quit)
	<-w.stopped
	if w.syncer != nil {
		w.syncer.close()
	}
	w.stmts.close()
	// Fold the WAL into the main file so the database is one file at rest
	// and the next start does not replay it.
	var cpErr error
	if w.d.checkpoint != "" {
		_, cpErr = w.conn.ExecContext(context.Background(), w.d.checkpoint)
	}
	closeErr := w.conn.Close()
	if errors.Is(closeErr, sql.ErrConnDone) {
		// A dead connection redial could not replace was closed already.
		closeErr = nil
	}
	return errors.Join(cpErr, closeErr)
}

// WriteStats counts write batches (commits) and the requests they carried;
// their ratio is the group-commit factor.
type WriteStats struct {
	Batches  int64
	Requests int64
}

// WriteStats returns the counts since the store was opened.
func (s *Store) WriteStats() WriteStats {
	return WriteStats{Batches: s.w.batches.Load(), Requests: s.w.requests.Load()}
}

// nextKeySeq returns the next incident number of a year.
func (w *writer) nextKeySeq(ctx context.Context, year int) (int64, error) {
	seq, ok := w.keySeq[year]
	if !ok {
		st, err := w.stmts.prepare(ctx, w.d.rebind(`SELECT last_seq FROM incident_keys WHERE year = ?`))
		if err != nil {
			return 0, err
		}
		if err := st.QueryRowContext(ctx, year).Scan(&seq); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("read incident key sequence: %w", err)
		}
	}
	seq++
	w.keySeq[year] = seq
	return seq, nil
}

func (w *writer) writeKeySeqs() error {
	ctx := context.Background()
	for year, seq := range w.keySeq {
		st, err := w.stmts.prepare(ctx, w.d.rebind(`INSERT INTO incident_keys (year, last_seq) VALUES (?, ?)
			ON CONFLICT (year) DO UPDATE SET last_seq = excluded.last_seq`))
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, year, seq); err != nil {
			return err
		}
	}
	return nil
}
