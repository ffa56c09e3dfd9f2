package app

import (
	"sync"
	"time"
)

// Failed sign-ins are throttled per user name and client address: after
// loginMaxFailures within loginWindow, that pair is refused until the
// window has passed. Keying on the pair stops guessing from one place
// without letting a stranger lock a responder out from another.
const (
	loginMaxFailures = 10
	loginWindow      = 15 * time.Minute
	loginTracked     = 50_000 // pairs remembered at most; then the oldest window restarts
)

type loginThrottle struct {
	mu       sync.Mutex
	failures map[string][]time.Time
}

func throttleKey(name, client string) string { return name + "\x00" + client }

// blocked reports whether the pair has used up its attempts.
func (l *loginThrottle) blocked(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(key, now)) >= loginMaxFailures
}

func (l *loginThrottle) recent(key string, now time.Time) []time.Time {
	fs := l.failures[key]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= loginWindow {
		i++
	}
	if i > 0 {
		fs = fs[i:]
		if len(fs) == 0 {
			delete(l.failures, key)
		} else {
			l.failures[key] = fs
		}
	}
	return fs
}

func (l *loginThrottle) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures == nil || len(l.failures) >= loginTracked {
		l.failures = map[string][]time.Time{}
	}
	l.failures[key] = append(l.recent(key, now), now)
}

func (l *loginThrottle) succeed(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, key)
}
