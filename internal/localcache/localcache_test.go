package localcache

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/internal/testenv"
)

func startBus(t *testing.T, rdb redis.UniversalClient, prefix string) *Bus {
	t.Helper()
	b := NewBus(rdb, prefix, nil)
	b.Start()
	t.Cleanup(func() { _ = b.Close() })
	testenv.Eventually(t, "subscription confirmed", b.Live)
	return b
}

func TestInvalidationReachesEveryInstance(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	a, b := startBus(t, rdb, prefix), startBus(t, rdb, prefix)
	ca := NewCache[string](a, TopicProject, time.Minute, 100, nil)
	cb := NewCache[string](b, TopicProject, time.Minute, 100, nil)
	other := NewCache[string](b, TopicUser, time.Minute, 100, nil)

	for _, c := range []*Cache[string]{ca, cb, other} {
		c.Put(c.Begin(), "P1", "v1")
		c.Put(c.Begin(), "P2", "v2")
	}
	if v, ok := cb.Get("P1"); !ok || v != "v1" {
		t.Fatalf("stored entry: %q %v", v, ok)
	}
	// Instance a changes P1: its own entry goes at once, b's when the
	// message arrives; other keys and other topics stay.
	if err := a.Publish(context.Background(), TopicProject, "P1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := ca.Get("P1"); ok {
		t.Fatal("the publishing instance still holds the invalidated entry")
	}
	testenv.Eventually(t, "b drops P1", func() bool { _, ok := cb.Get("P1"); return !ok })
	if _, ok := cb.Get("P2"); !ok {
		t.Fatal("an unrelated key was dropped")
	}
	if _, ok := other.Get("P1"); !ok {
		t.Fatal("another topic's entry with the same key was dropped")
	}
	if b.Received() == 0 {
		t.Fatal("b counted no invalidation")
	}

	// A bare publisher (a command-line tool) reaches the running buses too.
	if err := NewPublisher(rdb, prefix).Publish(context.Background(), TopicUser, "P1"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the user entry dropped", func() bool { _, ok := other.Get("P1"); return !ok })

	// Another prefix is another deployment: its invalidations do not reach us.
	before := b.Received()
	if err := NewPublisher(rdb, prefix+"elsewhere:").Publish(context.Background(), TopicProject, "P2"); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(context.Background(), TopicProject, "P-fence"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the fence message", func() bool { return b.Received() > before })
	if _, ok := cb.Get("P2"); !ok {
		t.Fatal("an invalidation from another prefix dropped our entry")
	}
}

func TestReadRacingAnInvalidationIsNotStored(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	b := startBus(t, rdb, prefix)
	c := NewCache[int](b, TopicProject, time.Minute, 100, nil)

	ticket := c.Begin() // the read of Redis begins
	echoed := b.Received()
	if err := b.Publish(context.Background(), TopicProject, "P1"); err != nil {
		t.Fatal(err)
	}
	c.Put(ticket, "P1", 1) // the (possibly old) answer arrives
	if _, ok := c.Get("P1"); ok {
		t.Fatal("an answer read across an invalidation was stored")
	}
	// The bus also hears its own announcement back from Redis, and drops P1
	// again then: a read is "after the invalidation" only once that is in.
	testenv.Eventually(t, "the announcement heard back", func() bool { return b.Received() > echoed })
	c.Put(c.Begin(), "P1", 2)
	if v, ok := c.Get("P1"); !ok || v != 2 {
		t.Fatalf("a read after the invalidation: %v %v", v, ok)
	}
}

func TestNothingIsTrustedWithoutTheSubscription(t *testing.T) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	addr := m.Addr()
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()

	b := NewBus(rdb, "t:", nil)
	c := NewCache[string](b, TopicUser, time.Minute, 100, nil)
	c.Put(c.Begin(), "u1", "before start")
	if _, ok := c.Get("u1"); ok {
		t.Fatal("stored before the subscription was confirmed")
	}
	b.Start()
	defer b.Close()
	testenv.Eventually(t, "live", b.Live)
	c.Put(c.Begin(), "u1", "cached")
	if _, ok := c.Get("u1"); !ok {
		t.Fatal("not stored while live")
	}

	// The server goes away: invalidations could be missed, so the entry is
	// no longer trusted and nothing new is stored.
	m.Close()
	testenv.Eventually(t, "subscription lost", func() bool { return !b.Live() })
	if _, ok := c.Get("u1"); ok {
		t.Fatal("an entry was trusted with the subscription down")
	}
	c.Put(c.Begin(), "u2", "while down")
	if _, ok := c.Get("u2"); ok {
		t.Fatal("stored while the subscription was down")
	}

	// The server is back (empty, as after a restart): a new subscription,
	// and what was cached before the gap still does not count.
	m2 := miniredis.NewMiniRedis()
	if err := m2.StartAddr(addr); err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	testenv.Eventually(t, "live again", b.Live)
	if _, ok := c.Get("u1"); ok {
		t.Fatal("an entry from before the gap was trusted")
	}
	if b.Resets() < 3 {
		t.Fatalf("resets %d, want gain, loss, gain", b.Resets())
	}
	c.Put(c.Begin(), "u1", "after")
	if v, ok := c.Get("u1"); !ok || v != "after" {
		t.Fatalf("after the gap: %q %v", v, ok)
	}
}

func TestExpiryWeightAndUpdate(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	b := startBus(t, rdb, prefix)
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	c := NewCache[[]string](b, TopicUser, 5*time.Second, 10, func(v []string) int { return len(v) * 4 })
	c.now = func() time.Time { return now }

	add := func(key, val string) {
		c.Update(c.Begin(), key, func(cur []string, ok bool) []string {
			if !ok {
				return []string{val}
			}
			return append(append([]string(nil), cur...), val)
		})
	}
	add("u1", "a")
	now = now.Add(3 * time.Second)
	add("u1", "b")
	if v, ok := c.Get("u1"); !ok || len(v) != 2 {
		t.Fatalf("gathered entry %v %v", v, ok)
	}
	// The entry lives as long as its first answer: 5 s from the first add.
	now = now.Add(2 * time.Second)
	if _, ok := c.Get("u1"); ok {
		t.Fatal("an entry outlived its TTL")
	}

	// Weight bound 10: a weight-8 entry pushes out the rest; one heavier
	// than the bound is not stored at all.
	add("u2", "x")
	add("u3", "y")
	c.Put(c.Begin(), "u4", []string{"p", "q"})
	if _, ok := c.Get("u4"); !ok {
		t.Fatal("the newest entry was not stored")
	}
	if n := c.Len(); n != 1 {
		t.Fatalf("%d entries held; the bound allows only the newest", n)
	}
	c.Put(c.Begin(), "u5", []string{"1", "2", "3"})
	if _, ok := c.Get("u5"); ok {
		t.Fatal("an entry heavier than the whole cache was stored")
	}

	var nilCache *Cache[int]
	nilCache.Put(nilCache.Begin(), "k", 1)
	if _, ok := nilCache.Get("k"); ok {
		t.Fatal("a nil cache returned something")
	}
}

func BenchmarkCacheGet(b *testing.B) {
	rdb, prefix := testenv.Redis(b)
	bus := NewBus(rdb, prefix, nil)
	bus.Start()
	defer bus.Close()
	for !bus.Live() {
		time.Sleep(time.Millisecond)
	}
	c := NewCache[int](bus, TopicProject, time.Minute, 1000, nil)
	for i := range 100 {
		c.Put(c.Begin(), "P"+strconv.Itoa(i), i)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := c.Get("P" + strconv.Itoa(i%100)); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
}
