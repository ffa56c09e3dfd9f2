package evidence

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
)

// The store's lock is an flock(2) on its root directory. Uploads and the
// retention command run in different processes (the server and the CLI)
// on the same directory, so the lock has to live on disk: an upload holds
// it shared from the moment it puts its blob in place or finds it there
// until its record is committed; a purge holds it exclusive while it asks
// whether a blob is still named and deletes it. Uploads do not wait for
// each other, only for a purge, and a purge only for uploads that are
// between "the blob is there" and "the record names it".
//
// The directory itself rather than a lock file, so that every file in the
// tree is evidence (backups, verify and restore see nothing else). On NFS
// a directory's flock is local to the machine; that suffices while purge
// runs only on a SQLite data directory, one node. Purging from a node of
// a PostgreSQL cluster would need a regular file opened read-write.

// errLockBusy is what tryLock says when someone else holds the lock in a
// conflicting mode.
var errLockBusy = errors.New("evidence lock busy")

// lock takes the store's lock, shared or exclusive, and returns the
// function that lets it go (safe to call more than once). ctx bounds the
// wait. Each call opens the directory anew: flock(2) locks belong to the
// open file, so two holders in one process are as separate as two in
// different processes.
func (s *Store) lock(ctx context.Context, exclusive bool) (release func(), err error) {
	if err := os.MkdirAll(s.root, dirMode); err != nil {
		return nil, fmt.Errorf("evidence lock: %w", err)
	}
	f, err := os.Open(s.root)
	if err != nil {
		return nil, fmt.Errorf("evidence lock: %w", err)
	}
	release = func() {
		unlock(f)
		f.Close()
	}
	err = tryLock(f, exclusive)
	if err == nil {
		return sync.OnceFunc(release), nil
	}
	if !errors.Is(err, errLockBusy) {
		f.Close()
		return nil, fmt.Errorf("evidence lock: %w", err)
	}
	// A blocking flock cannot be interrupted, so it waits in its own
	// goroutine; if ctx ends first, that goroutine lets the lock go as
	// soon as it gets it. A client that went away does not leave an
	// upload stuck behind a purge.
	done := make(chan error, 1)
	go func() { done <- waitLock(f, exclusive) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("evidence lock: %w", err)
		}
		return sync.OnceFunc(release), nil
	case <-ctx.Done():
		go func() {
			<-done
			f.Close()
		}()
		return nil, ctx.Err()
	}
}
