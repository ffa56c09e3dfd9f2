package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Pipelined durability on SQLite.
//
// In WAL mode a commit is durable once the WAL is fsynced. With
// synchronous=FULL SQLite does that inside COMMIT, on the writer's only
// connection, so the writer sits idle for every fsync and the next batch
// waits behind it. Instead the write connection runs synchronous=NORMAL:
// COMMIT hands the WAL frames to the operating system and returns, and
// the writer goes on to the next batch at once. Each caller then waits in
// walSyncer.wait until an fsync of the WAL that started after its commit
// has returned; the first caller to find none running does the fsync
// itself, for everyone committed so far (leader and followers, as in a
// database's group flush), so no extra goroutine sits between the disk
// and the callers. Callers hear of success, and subscribers of the
// changes, only after that fsync, so an acknowledged write survives a
// power loss as before.
//
// Nothing acknowledged depends on SQLite's own syncs at commit: a process
// that dies leaves its frames in the operating system's cache, and a power
// cut can only lose batches whose callers were never answered. Checkpoints
// still sync the WAL before copying it and the database after, at
// synchronous=NORMAL too, so a WAL that starts over never holds the only
// copy of an acknowledged write. Other connections may read a committed
// batch before its fsync; only a power cut in that window could take back
// what they read, never what a caller was told was stored.
type walSyncer struct {
	path string
	feed *feed
	// checkpointer, when set, hears of every sync.
	checkpointer *checkpointer

	mu        sync.Mutex
	cond      *sync.Cond // broadcast when a sync ends
	committed uint64     // batches committed so far
	durable   uint64     // batches known to be on disk
	syncing   bool       // a caller is in fsync now
	pending   []pendingChanges
	err       error    // sticky: after a failed fsync nothing more is acknowledged
	wal       *os.File // opened by open, before the first write
	closed    bool
}

// pendingChanges are a committed batch's changes, published once durable.
type pendingChanges struct {
	seq     uint64
	changes []Change
}

func newWALSyncer(walPath string, f *feed) *walSyncer {
	s := &walSyncer{path: walPath, feed: f}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// commit records that the writer committed a batch and returns its
// sequence number, for its callers to wait on.
func (s *walSyncer) commit(changes []Change) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.committed++
	if len(changes) > 0 {
		s.pending = append(s.pending, pendingChanges{seq: s.committed, changes: changes})
	}
	return s.committed
}

// failed returns the error of a failed fsync, after which the store
// takes no more writes: the kernel may have dropped the pages it could
// not write, so a later fsync that succeeds proves nothing about them.
func (s *walSyncer) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// wait returns once batch seq is on disk, syncing the WAL itself when no
// one else is.
func (s *walSyncer) wait(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		switch {
		case s.durable >= seq:
			return nil
		case s.err != nil:
			return s.err
		case s.syncing:
			s.cond.Wait()
			continue
		}
		s.syncLocked()
	}
}

// syncLocked fsyncs the WAL for every batch committed so far. It is
// called with mu held and drops it for the fsync itself, so the writer
// can commit (and callers queue up) meanwhile.
func (s *walSyncer) syncLocked() {
	target := s.committed
	s.syncing = true
	s.mu.Unlock()
	err := s.syncWAL()
	s.mu.Lock()
	s.syncing = false
	if err != nil {
		s.err = fmt.Errorf("the database could not be written to disk; writes are refused until irdesk is restarted: %w", err)
	} else if target > s.durable {
		s.durable = target
		n := 0
		for n < len(s.pending) && s.pending[n].seq <= target {
			s.feed.publish(s.pending[n].changes)
			n++
		}
		s.pending = append(s.pending[:0], s.pending[n:]...)
		if s.checkpointer != nil {
			s.checkpointer.poke()
		}
	}
	s.cond.Broadcast()
}

func (s *walSyncer) syncWAL() error {
	if s.closed || s.wal == nil {
		return errors.New("the store is closed")
	}
	return syncWALFile(s.wal)
}

// open opens the WAL for syncing and makes its directory entry durable.
// OpenSQLite calls it once the migrations ran, so the WAL exists; a
// failure here fails the open, rather than leaving the first write to
// find out (and refuse every write after it).
func (s *walSyncer) open() error {
	// Read-write: Windows will not flush a file opened read-only.
	f, err := os.OpenFile(s.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open WAL: %w", err)
	}
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		f.Close()
		return err
	}
	s.wal = f
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	// Some file systems cannot sync a directory; they order it themselves.
	if err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// close makes every committed batch durable, so no caller is left
// waiting, and releases the WAL file. The writer has stopped.
func (s *walSyncer) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.syncing {
		s.cond.Wait()
	}
	if s.durable < s.committed && s.err == nil {
		s.syncLocked()
	}
	s.closed = true
	if s.wal != nil {
		s.wal.Close()
		s.wal = nil
	}
	if s.durable < s.committed && s.err == nil {
		s.err = errors.New("the store is closed")
	}
	s.cond.Broadcast()
}

// Checkpoints off the writer's path.
//
// A checkpoint copies pages from the WAL back into the database file, so
// the WAL can start over. SQLite runs one on the committing connection
// every wal_autocheckpoint frames, which puts the copying, and its two
// fsyncs, on the single writer. The checkpointer instead copies from a
// connection of its own, on another core, while the writer goes on: a
// PASSIVE checkpoint takes no lock a writer needs. The writer keeps a
// larger wal_autocheckpoint (writerAutoCheckpoint) as the step that lets
// the WAL start over: by then nearly every frame has been copied here, so
// it has little left to do.
type checkpointer struct {
	db    *sql.DB
	every time.Duration
	kick  chan struct{}
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once
	err   error
}

// checkpointEvery spaces background checkpoints: each syncs the WAL and
// the database file, and copies a page once however often it changed in
// between.
const checkpointEvery = 20 * time.Millisecond

// writerAutoCheckpoint is the writer connection's wal_autocheckpoint, in
// frames (SQLite's default is 1,000).
const writerAutoCheckpoint = 4000

func newCheckpointer(ctx context.Context, path string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", sqliteDSN(path, plainConn))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	c := &checkpointer{db: db, every: checkpointEvery, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c, nil
}

// poke asks for a checkpoint soon; it never waits.
func (c *checkpointer) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) loop() {
	defer close(c.done)
	for {
		select {
		case <-c.kick:
		case <-c.quit:
			return
		}
		// A failed or busy checkpoint is harmless: the writer's own
		// checkpoint and the WAL limit still bound the WAL.
		_, _ = c.db.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		select {
		case <-time.After(c.every):
		case <-c.quit:
			return
		}
	}
}

// close stops the checkpointer; a second call (Store.Close again) does
// nothing.
func (c *checkpointer) close() error {
	c.once.Do(func() {
		close(c.quit)
		<-c.done
		c.err = c.db.Close()
	})
	return c.err
}
