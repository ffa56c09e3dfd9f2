package evidence

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/evidence/evidencetest"
)

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestEvidenceLockAcrossOpens: two opens of one root, as the server and the
// CLI have. Shared holders do not wait for each other; exclusive waits for
// shared and shared for exclusive.
func TestEvidenceLockAcrossOpens(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	root := t.TempDir()
	server, cli := New(root, 0), New(root, 0)

	up1, err := server.lock(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	up2, err := cli.lock(ctx, false) // uploads do not serialise
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	var purgeRelease func()
	go func() {
		defer close(got)
		r, err := cli.lock(ctx, true)
		if err != nil {
			t.Error(err)
			return
		}
		purgeRelease = r
	}()
	if !evidencetest.WaitBlocked(t, 1, got) {
		t.Fatal("the exclusive lock was granted while shared ones were held")
	}
	up1()
	up1() // releasing twice is harmless
	if !evidencetest.WaitBlocked(t, 1, got) {
		t.Fatal("the exclusive lock was granted while a shared one was held")
	}
	up2()
	<-got
	if purgeRelease == nil {
		t.Fatal("no exclusive lock")
	}
	// And the other way round: an upload waits for the purge.
	got = make(chan struct{})
	go func() {
		defer close(got)
		r, err := server.lock(ctx, false)
		if err != nil {
			t.Error(err)
			return
		}
		r()
	}()
	if !evidencetest.WaitBlocked(t, 1, got) {
		t.Fatal("a shared lock was granted while the exclusive one was held")
	}
	purgeRelease()
	<-got
}

// TestEvidenceLockAcrossProcesses: the purge in one process waits for an
// upload's shared lock held by another process, as the CLI waits for the
// server.
func TestEvidenceLockAcrossProcesses(t *testing.T) {
	if root := os.Getenv("IRDESK_TEST_HOLD_SHARED"); root != "" {
		// The child: hold the lock shared until the parent closes stdin.
		release, err := New(root, 0).lock(context.Background(), false)
		if err != nil {
			t.Fatal(err)
		}
		os.Stdout.WriteString("held\n")
		io.Copy(io.Discard, os.Stdin)
		release()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	root := t.TempDir()
	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestEvidenceLockAcrossProcesses$", "-test.count=1")
	child.Env = append(os.Environ(), "IRDESK_TEST_HOLD_SHARED="+root)
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	finish := func() error {
		if waited {
			return nil
		}
		waited = true
		stdin.Close() // the child lets go and exits
		io.Copy(io.Discard, stdout)
		return child.Wait()
	}
	defer finish()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "held\n" {
		t.Fatalf("child: %q %v", line, err)
	}
	got := make(chan struct{})
	go func() {
		defer close(got)
		release, err := New(root, 0).lock(ctx, true)
		if err != nil {
			t.Error(err)
			return
		}
		release()
	}()
	if !evidencetest.WaitBlocked(t, 1, got) {
		t.Fatal("the exclusive lock was granted while another process held it shared")
	}
	if err := finish(); err != nil {
		t.Errorf("child: %v", err)
	}
	<-got
}

// TestEvidenceWriteHoldsLockUntilCommit: a purge (in a second open of the
// root) that starts while an upload has found its blob but not yet
// committed its record waits, and asks whether the blob is in use only
// after the commit.
func TestEvidenceWriteHoldsLockUntilCommit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	root := t.TempDir()
	server, cli := New(root, 0), New(root, 0)
	first, err := server.Write(ctx, strings.NewReader("pcap"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var committed atomic.Bool
	purged := make(chan struct{})
	var removed bool
	b, err := server.Write(ctx, strings.NewReader("pcap"), func(b Blob) error {
		if !b.Existed {
			t.Error("the second upload did not find the blob")
		}
		go func() {
			defer close(purged)
			var err error
			removed, err = cli.Purge(ctx, b.SHA256, func(context.Context) (bool, error) {
				if !committed.Load() {
					t.Error("the purge asked about the blob before the upload committed")
				}
				return true, nil // the upload's record names it now
			})
			if err != nil {
				t.Error(err)
			}
		}()
		if !evidencetest.WaitBlocked(t, 1, purged) {
			t.Error("the purge ran while the upload held the blob")
		}
		committed.Store(true)
		return nil
	})
	if err != nil || b.SHA256 != first.SHA256 {
		t.Fatalf("%+v %v", b, err)
	}
	<-purged
	if removed {
		t.Error("a blob in use was removed")
	}
	if _, err := cli.Open(b.SHA256); err != nil {
		t.Fatal(err)
	}
}

// TestEvidencePurgeHoldsLockUntilRemoved: an upload of the same content
// that arrives while a purge has found the blob unused waits until the
// file is gone, then stores it afresh: it never commits a record to a file
// that is about to be deleted.
func TestEvidencePurgeHoldsLockUntilRemoved(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	root := t.TempDir()
	server, cli := New(root, 0), New(root, 0)
	old, err := server.Write(ctx, strings.NewReader("mail spool"), nil)
	if err != nil {
		t.Fatal(err)
	}
	uploaded := make(chan struct{})
	var up Blob
	removed, err := cli.Purge(ctx, old.SHA256, func(context.Context) (bool, error) {
		go func() {
			defer close(uploaded)
			var err error
			up, err = server.Write(ctx, strings.NewReader("mail spool"), func(b Blob) error {
				if _, err := server.Open(b.SHA256); err != nil {
					t.Errorf("committing a record to a blob that is not there: %v", err)
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
		if !evidencetest.WaitBlocked(t, 1, uploaded) {
			t.Error("the upload went through while the purge held the lock")
		}
		return false, nil
	})
	if err != nil || !removed {
		t.Fatalf("purge: removed %v, %v", removed, err)
	}
	<-uploaded
	if up.Existed || up.SHA256 != old.SHA256 {
		t.Errorf("upload after the purge: %+v", up)
	}
	if _, err := server.Open(up.SHA256); err != nil {
		t.Errorf("the re-uploaded blob is gone: %v", err)
	}
}

// TestEvidenceLockReleasedOnEveryPath: a commit that fails or panics, and
// an upload abandoned while it waits, all let the lock go.
func TestEvidenceLockReleasedOnEveryPath(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	root := t.TempDir()
	s := New(root, 0)
	unused := func(context.Context) (bool, error) { return false, nil }

	commitErr := errors.New("row refused")
	b, err := s.Write(ctx, strings.NewReader("one"), func(Blob) error { return commitErr })
	if !errors.Is(err, commitErr) || b.SHA256 == "" {
		t.Fatalf("failed commit: %+v %v", b, err)
	}
	if removed, err := New(root, 0).Purge(ctx, b.SHA256, unused); err != nil || !removed {
		t.Fatalf("purge after a failed commit: %v %v", removed, err)
	}

	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic was swallowed")
			}
		}()
		s.Write(ctx, strings.NewReader("two"), func(b Blob) error { panic("bug in the commit") })
	}()
	two, err := s.Write(ctx, strings.NewReader("two"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if removed, err := New(root, 0).Purge(ctx, two.SHA256, unused); err != nil || !removed {
		t.Fatalf("purge after a panicking commit: %v %v", removed, err)
	}

	// A client that goes away while its upload waits for a purge.
	three, err := s.Write(ctx, strings.NewReader("three"), nil)
	if err != nil {
		t.Fatal(err)
	}
	gaveUp := make(chan struct{})
	_, err = New(root, 0).Purge(ctx, three.SHA256, func(context.Context) (bool, error) {
		upCtx, upCancel := context.WithCancel(ctx)
		go func() {
			defer close(gaveUp)
			_, err := s.Write(upCtx, strings.NewReader("three"), func(Blob) error {
				t.Error("an abandoned upload committed")
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("abandoned upload: %v", err)
			}
		}()
		if !evidencetest.WaitBlocked(t, 1, gaveUp) {
			t.Error("the upload did not wait for the purge")
		}
		upCancel()
		<-gaveUp
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if tmp, _ := os.ReadDir(root + "/tmp"); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	// The waiter that was given up on let its lock go as soon as it got it.
	release, err := New(root, 0).lock(ctx, true)
	if err != nil {
		t.Fatalf("the lock stayed taken: %v", err)
	}
	release()
}
