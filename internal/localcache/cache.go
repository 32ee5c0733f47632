package localcache

import (
	"sync"
	"time"
)

// Ticket is taken before reading Redis and handed to Put with what was
// read: if any invalidation arrived in between, the answer may predate it
// and is not stored.
type Ticket struct {
	seq   uint64
	epoch uint64
	live  bool
}

// Cache is an in-process map whose entries are dropped by the bus's
// invalidations of one topic (the entry's key is the invalidation's key),
// trusted only while the bus is live, and kept at most ttl. Its size is
// bounded by a total weight; when full, arbitrary entries make room. The
// zero value is not usable; use NewCache. A nil *Cache caches nothing.
type Cache[V any] struct {
	bus       *Bus
	ttl       time.Duration
	maxWeight int
	weigh     func(V) int
	now       func() time.Time

	mu     sync.RWMutex // Get, on every request, takes only the read lock
	m      map[string]entry[V]
	weight int
}

type entry[V any] struct {
	v       V
	epoch   uint64
	expires time.Time
	weight  int
}

// NewCache returns a cache of topic on bus. weigh gives an entry's weight
// (nil: 1 each); the cache holds at most maxWeight in total.
func NewCache[V any](bus *Bus, topic string, ttl time.Duration, maxWeight int, weigh func(V) int) *Cache[V] {
	if weigh == nil {
		weigh = func(V) int { return 1 }
	}
	c := &Cache[V]{bus: bus, ttl: ttl, maxWeight: maxWeight, weigh: weigh, now: time.Now, m: map[string]entry[V]{}}
	bus.handle(topic, c.drop)
	return c
}

// Begin takes the ticket for a read of Redis that may be stored with Put.
func (c *Cache[V]) Begin() Ticket {
	if c == nil {
		return Ticket{}
	}
	// seq is read first: an epoch change moves seq too, so a ticket whose
	// seq still matches at Put also saw the current epoch.
	seq := c.bus.seq.Load()
	return Ticket{seq: seq, epoch: c.bus.epoch.Load(), live: c.bus.live.Load()}
}

// Get returns key's entry if it is current: the bus live, in the same
// epoch as when it was stored, and not expired.
func (c *Cache[V]) Get(key string) (V, bool) {
	var zero V
	if c == nil || !c.bus.live.Load() {
		return zero, false
	}
	epoch := c.bus.epoch.Load()
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || e.epoch != epoch || !c.now().Before(e.expires) {
		return zero, false
	}
	return e.v, true
}

// Put stores v under key unless an invalidation (or a change of
// subscription) happened since t was taken. update, when not nil, makes
// the stored value from the current one (for entries that gather several
// answers, e.g. the views of one project): it receives the current entry
// if there is a current one.
func (c *Cache[V]) Put(t Ticket, key string, v V) {
	c.Update(t, key, func(V, bool) V { return v })
}

// Update stores update(current, ok) under key under the same conditions as
// Put. update must not keep or modify the current value it is given.
func (c *Cache[V]) Update(t Ticket, key string, update func(cur V, ok bool) V) {
	if c == nil || !t.live {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	// Checked under the lock: an invalidation moves seq before it takes the
	// lock to drop, so either it is seen here or it drops what is stored.
	if c.bus.seq.Load() != t.seq || !c.bus.live.Load() {
		return
	}
	old, had := c.m[key]
	curOK := had && old.epoch == t.epoch && now.Before(old.expires)
	v := update(old.v, curOK)
	w := c.weigh(v)
	if w > c.maxWeight {
		return
	}
	if had {
		c.weight -= old.weight
		delete(c.m, key)
	}
	for k, e := range c.m {
		if c.weight+w <= c.maxWeight {
			break
		}
		c.weight -= e.weight
		delete(c.m, k)
	}
	expires := now.Add(c.ttl)
	if curOK && old.expires.Before(expires) {
		// Gathering more answers into an entry does not extend the
		// oldest one's life.
		expires = old.expires
	}
	c.m[key] = entry[V]{v: v, epoch: t.epoch, expires: expires, weight: w}
	c.weight += w
}

// Len is the number of entries held (current or not).
func (c *Cache[V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

func (c *Cache[V]) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		c.weight -= e.weight
		delete(c.m, key)
	}
}
