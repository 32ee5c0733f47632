package bff

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/weifang/kaigong-zsb/models"
)

// userCache keeps account rows for a few seconds so that authenticating a
// request does not cost a database round trip every time. It does not delay
// revocation: disabling an account or resetting its password moves the
// user's token generation in Redis, which VerifyAccess checks on every
// request; the cached row matters only for display fields and, while Redis is
// down, for the disabled flag.
//
// A row is fresh for ttl. After that, up to maxAge, it is still answered
// while one background load replaces it, so an active user's requests never
// wait for the database; beyond maxAge, or when it is missing, the request
// loads it, one load per user at a time. Before this, every request of a
// user arriving when the row expired queried the database at once: under
// load, 32 connections' worth of the same query every 10 s, which stalled
// reads for 30 ms to 0.5 s.
type userCache struct {
	ttl    time.Duration
	maxAge time.Duration
	max    int
	load   func(ctx context.Context, id int64) (*models.User, error)
	now    func() time.Time
	log    *slog.Logger // refresh failures; nil: not logged

	mu      sync.Mutex
	entries map[int64]*cachedUser
	loads   singleflight.Group
}

// cachedUser holds a row that is never changed once cached: requests share
// the pointer (a request's locals hold it without a copy on the heap), and
// currentUser hands each handler its own copy.
type cachedUser struct {
	user       *models.User
	fetched    time.Time // when the load that read it began
	refreshing bool
}

// userLoadTimeout bounds one load, whoever waits for it.
const userLoadTimeout = 5 * time.Second

func newUserCache(ttl, maxAge time.Duration, max int, load func(ctx context.Context, id int64) (*models.User, error), log *slog.Logger) *userCache {
	return &userCache{ttl: ttl, maxAge: maxAge, max: max, load: load, log: log, now: time.Now, entries: make(map[int64]*cachedUser)}
}

// get returns user id's row: from the cache when it is young enough, else
// loaded. A user who does not exist answers the loader's error. With
// strict set, only a fresh row (at most ttl old) is answered from the cache:
// while Redis is down the row's disabled flag is the only revocation check,
// and it must not get older than it did before stale rows were served.
func (c *userCache) get(ctx context.Context, id int64, strict bool) (*models.User, error) {
	now := c.now()
	c.mu.Lock()
	if e, ok := c.entries[id]; ok {
		age := now.Sub(e.fetched)
		if age <= c.ttl || (!strict && age <= c.maxAge) {
			u := e.user
			if age > c.ttl && !e.refreshing {
				e.refreshing = true
				go c.refresh(context.WithoutCancel(ctx), id)
			}
			c.mu.Unlock()
			return u, nil
		}
	}
	c.mu.Unlock()
	return c.fetch(ctx, id)
}

// fetch loads and caches id's row, sharing one load among concurrent
// callers. The load does not end with the first caller's request.
func (c *userCache) fetch(ctx context.Context, id int64) (*models.User, error) {
	v, err, _ := c.loads.Do(strconv.FormatInt(id, 10), func() (any, error) {
		// A caller that missed just before another's load ended finds
		// its row here instead of loading it again.
		if u, ok := c.fresh(id); ok {
			return u, nil
		}
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), userLoadTimeout)
		defer cancel()
		began := c.now()
		u, err := c.load(lctx, id)
		if err != nil {
			return nil, err
		}
		c.put(u, began)
		return u, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*models.User), nil
}

func (c *userCache) fresh(id int64) (*models.User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[id]; ok && c.now().Sub(e.fetched) <= c.ttl {
		return e.user, true
	}
	return nil, false
}

// refresh replaces a stale row in the background. A row that no longer
// exists is dropped, so the user's next request is refused; any other
// failure is logged and leaves the row to be tried again by the next
// request (until it is maxAge old, when requests load it themselves).
func (c *userCache) refresh(ctx context.Context, id int64) {
	_, err := c.fetch(ctx, id)
	if err == nil {
		return
	}
	if !isNotFound(err) && c.log != nil {
		c.log.WarnContext(ctx, "account row refresh failed; the cached row is answered until it is 1 min old", "user_id", id, "err", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[id]; ok {
		if isNotFound(err) {
			delete(c.entries, id)
		} else {
			e.refreshing = false
		}
	}
}

// put caches u, which the caller must not change afterwards.
func (c *userCache) put(u *models.User, fetched time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Bounded memory: start over rather than track recency; a refill
		// costs one query per active user.
		clear(c.entries)
	}
	c.entries[u.ID] = &cachedUser{user: u, fetched: fetched}
}

func (c *userCache) forget(id int64) {
	c.mu.Lock()
	delete(c.entries, id)
	c.mu.Unlock()
}
