// Package evidencetest helps tests of code that takes the evidence
// locker's lock wait for the moment another goroutine is blocked on it.
package evidencetest

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// WaitBlocked waits until at least n flock(2) requests of this process
// are blocked (the kernel lists them with "->" in /proc/locks) and returns
// true, or returns false if done is closed first. The only flocks a test
// process takes are the evidence locker's, so "blocked" means waiting for
// its lock: read from the kernel, not guessed from a sleep, which is what
// makes the tests of lock orderings deterministic. Without /proc/locks the
// test is skipped.
func WaitBlocked(tb testing.TB, n int, done <-chan struct{}) bool {
	tb.Helper()
	if _, err := os.ReadFile("/proc/locks"); err != nil {
		tb.Skipf("cannot see lock waiters: %v", err)
	}
	pid := strconv.Itoa(os.Getpid())
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return false
		default:
		}
		b, _ := os.ReadFile("/proc/locks")
		waiting := 0
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			// 3: -> FLOCK  ADVISORY  WRITE 3529 fe:00:9977904 0 EOF
			if len(f) >= 6 && f[1] == "->" && f[2] == "FLOCK" && f[5] == pid {
				waiting++
			}
		}
		if waiting >= n {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	tb.Fatalf("fewer than %d waiting for the evidence lock and nothing finished within 20s", n)
	return false
}
