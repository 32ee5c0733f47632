package bff

import (
	"sync"
	"time"

	"github.com/weifang/kaigong-zsb/models"
)

// userCache keeps account rows for a few seconds so that authenticating a
// request does not cost a database round trip every time. It does not delay
// revocation: disabling an account or resetting its password moves the
// user's token generation in Redis, which VerifyAccess checks on every
// request; the cached row matters only for display fields and, while Redis is
// down, for the disabled flag (stale by at most the TTL).
type userCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	entries map[int64]cachedUser
}

type cachedUser struct {
	user    models.User
	fetched time.Time
}

func newUserCache(ttl time.Duration, max int) *userCache {
	return &userCache{ttl: ttl, max: max, entries: make(map[int64]cachedUser)}
}

func (c *userCache) get(id int64, now time.Time) (models.User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || now.Sub(e.fetched) > c.ttl {
		return models.User{}, false
	}
	return e.user, true
}

func (c *userCache) put(u models.User, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Bounded memory: start over rather than track recency; a refill
		// costs one query per active user.
		clear(c.entries)
	}
	c.entries[u.ID] = cachedUser{user: u, fetched: now}
}

func (c *userCache) forget(id int64) {
	c.mu.Lock()
	delete(c.entries, id)
	c.mu.Unlock()
}
