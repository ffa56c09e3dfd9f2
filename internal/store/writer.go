package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// ErrClosed is returned for writes submitted after Close.
var ErrClosed = errors.New("store is closed")

type writeReq struct {
	ctx  context.Context
	fn   func(*Tx) error
	done chan error
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

	// closeMu orders submissions before close: do holds it shared while it
	// queues, so once close holds it, nothing more can be queued.
	closeMu sync.RWMutex
	closed  bool
}

func newWriter(ctx context.Context, conn *sql.Conn, d dialect, opts Options) (*writer, error) {
	head, err := loadHead(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("read audit head: %w", err)
	}
	w := &writer{
		conn:     conn,
		stmts:    &stmtCache{db: conn},
		d:        d,
		now:      opts.Now,
		maxBatch: opts.MaxBatch,
		reqs:     make(chan *writeReq, opts.MaxBatch),
		quit:     make(chan struct{}),
		stopped:  make(chan struct{}),
		head:     head,
	}
	go w.loop()
	return w, nil
}

func (w *writer) do(ctx context.Context, fn func(*Tx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	w.closeMu.RLock()
	if w.closed {
		w.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case w.reqs <- req:
	case <-ctx.Done():
		w.closeMu.RUnlock()
		return ctx.Err()
	}
	w.closeMu.RUnlock()
	// Once queued, wait for the answer even if ctx ends: the caller must
	// learn whether the write committed.
	return <-req.done
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

func (w *writer) exec(query string) error {
	_, err := w.conn.ExecContext(context.Background(), query)
	return err
}

func (w *writer) runBatch(batch []*writeReq) {
	results := make([]error, len(batch))
	answer := func(commitErr error) {
		for i, r := range batch {
			if results[i] == nil {
				results[i] = commitErr
			}
			r.done <- results[i]
		}
	}
	if err := w.exec(w.d.beginWrite); err != nil {
		answer(fmt.Errorf("begin: %w", err))
		return
	}
	// Re-read the head under the write lock: another process on the same
	// database (an irdesk CLI command, another node) may have appended.
	head, err := loadHead(context.Background(), w.conn)
	if err != nil {
		_ = w.exec("ROLLBACK")
		answer(fmt.Errorf("read audit head: %w", err))
		return
	}
	w.head = head
	startHead := w.head
	useSavepoints := len(batch) > 1
	anyOK := false
	var pendingFTS []ftsWrite
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		before := w.head
		if useSavepoints {
			if err := w.exec("SAVEPOINT req"); err != nil {
				results[i] = fmt.Errorf("savepoint: %w", err)
				continue
			}
		}
		fts, err := w.run(r)
		if err != nil {
			results[i] = err
			w.head = before
			if useSavepoints {
				if rbErr := w.exec("ROLLBACK TO req"); rbErr != nil {
					w.abort(batch, results, startHead, fmt.Errorf("rollback to savepoint: %w", rbErr))
					return
				}
			}
		} else {
			anyOK = true
			pendingFTS = append(pendingFTS, fts...)
		}
		if useSavepoints {
			if err := w.exec("RELEASE req"); err != nil {
				w.abort(batch, results, startHead, fmt.Errorf("release savepoint: %w", err))
				return
			}
		}
	}
	if !anyOK {
		_ = w.exec("ROLLBACK")
		w.head = startHead
		answer(nil)
		return
	}
	if err := w.writeFTS(pendingFTS); err != nil {
		w.abort(batch, results, startHead, fmt.Errorf("full-text index: %w", err))
		return
	}
	if w.head != startHead {
		if _, err := w.conn.ExecContext(context.Background(),
			w.d.rebind(`INSERT INTO audit_head (id, event_id, hash) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET event_id = excluded.event_id, hash = excluded.hash`), w.head.id, w.head.hash); err != nil {
			w.abort(batch, results, startHead, fmt.Errorf("record audit head: %w", err))
			return
		}
	}
	if err := w.exec("COMMIT"); err != nil {
		w.abort(batch, results, startHead, fmt.Errorf("commit: %w", err))
		return
	}
	answer(nil)
}

// abort rolls the whole batch back: every request that had succeeded now
// fails with err, and the chain head returns to where the batch began.
func (w *writer) abort(batch []*writeReq, results []error, startHead chainHead, err error) {
	_ = w.exec("ROLLBACK")
	w.head = startHead
	for i, r := range batch {
		if results[i] == nil {
			results[i] = err
		}
		r.done <- results[i]
	}
}

// run calls one request's function, turning a panic into an error so one
// bad request cannot take the writer (and every other writer) down.
func (w *writer) run(r *writeReq) (fts []ftsWrite, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in write transaction: %v\n%s", p, debug.Stack())
		}
	}()
	tx := &Tx{reader: reader{q: w.stmts, d: w.d}, now: w.tick(), w: w}
	err = r.fn(tx)
	return tx.fts, err
}

// writeFTS applies the batch's full-text index writes in one go.
func (w *writer) writeFTS(writes []ftsWrite) error {
	ctx := context.Background()
	for _, f := range writes {
		if f.replace {
			st, err := w.stmts.prepare(ctx, `DELETE FROM incident_fts WHERE rowid = ?`)
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, f.rowid); err != nil {
				return err
			}
		}
		st, err := w.stmts.prepare(ctx, `INSERT INTO incident_fts (rowid, terms) VALUES (?, ?)`)
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
	w.stmts.close()
	// Fold the WAL into the main file so the database is one file at rest
	// and the next start does not replay it.
	_, cpErr := w.conn.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)")
	return errors.Join(cpErr, w.conn.Close())
}
