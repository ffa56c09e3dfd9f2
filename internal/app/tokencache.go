package app

import (
	"sync"
	"time"
)

// tokenCacheTTL bounds how long a revocation made by another process (the
// CLI, another node) can go unnoticed. Revocations and lock-outs made
// through this process clear the cache at once.
const tokenCacheTTL = 2 * time.Second

// tokenCacheMax bounds the cache; when full it is simply emptied.
const tokenCacheMax = 10_000

// tokenCache remembers recently verified API tokens: looking one up costs a
// database read on every request, a noticeable share of an alert or
// incident ingest.
type tokenCache struct {
	mu      sync.Mutex
	entries map[string]tokenCacheEntry // by secret hash
	// gen counts resets. A lookup that started before a reset must not
	// store what it read: the token may have been revoked in between.
	gen uint64
}

type tokenCacheEntry struct {
	actor   Actor
	expires time.Time
}

func (c *tokenCache) get(hash string, now time.Time) (Actor, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || !now.Before(e.expires) {
		return Actor{}, false
	}
	return e.actor, true
}

// generation is read before the database lookup whose result put stores.
func (c *tokenCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *tokenCache) put(gen uint64, hash string, a Actor, now time.Time, tokenExpires *time.Time) {
	expires := now.Add(tokenCacheTTL)
	if tokenExpires != nil && tokenExpires.Before(expires) {
		expires = *tokenExpires
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.entries == nil || len(c.entries) >= tokenCacheMax {
		c.entries = map[string]tokenCacheEntry{}
	}
	c.entries[hash] = tokenCacheEntry{actor: a, expires: expires}
}

// reset forgets everything, after any change to tokens or users.
func (c *tokenCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = nil
	c.gen++
}
