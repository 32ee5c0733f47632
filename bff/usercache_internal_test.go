package bff

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/models"
)

// fakeUsers is a user table whose loads can be held and counted.
type fakeUsers struct {
	mu      sync.Mutex
	rows    map[int64]models.User
	loads   atomic.Int64
	release chan struct{} // when set, each load waits for it
	fail    error
}

func (f *fakeUsers) load(ctx context.Context, id int64) (*models.User, error) {
	f.loads.Add(1)
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	u, ok := f.rows[id]
	if !ok {
		return nil, gorm.ErrRecordNotFound
	}
	return &u, nil
}

func (f *fakeUsers) set(u models.User) {
	f.mu.Lock()
	f.rows[u.ID] = u
	f.mu.Unlock()
}

func newTestUserCache(f *fakeUsers) (*userCache, *testenv.Clock) {
	clk := testenv.NewClock(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	c := newUserCache(10*time.Second, time.Minute, 100, f.load, nil)
	c.now = clk.Now
	return c, clk
}

// waitFor polls cond for up to 10 s: background loads finish on their own
// schedule, and the test is about what happens, not how fast.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestUserCacheLoadsOnceForConcurrentMisses(t *testing.T) {
	f := &fakeUsers{rows: map[int64]models.User{7: {ID: 7, Username: "ent-demo"}}, release: make(chan struct{})}
	c, _ := newTestUserCache(f)
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := c.get(context.Background(), 7, false)
			if err == nil && u.Username != "ent-demo" {
				err = errors.New("wrong row " + u.Username)
			}
			errs <- err
		}()
	}
	waitFor(t, "a load started", func() bool { return f.loads.Load() > 0 })
	close(f.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The goroutines that arrived after the load ended read the cache; the
	// ones that arrived during it shared it.
	if got := f.loads.Load(); got != 1 {
		t.Fatalf("%d loads for %d concurrent misses, want 1", got, n)
	}
}

func TestUserCacheAnswersAStaleRowWhileOneLoadReplacesIt(t *testing.T) {
	f := &fakeUsers{rows: map[int64]models.User{7: {ID: 7, DisplayName: "old"}}}
	c, clk := newTestUserCache(f)
	ctx := context.Background()
	if u, err := c.get(ctx, 7, false); err != nil || u.DisplayName != "old" {
		t.Fatalf("first get: %v %v", u, err)
	}
	f.set(models.User{ID: 7, DisplayName: "new"})

	clk.Add(5 * time.Second) // fresh: no load
	if u, _ := c.get(ctx, 7, false); u.DisplayName != "old" || f.loads.Load() != 1 {
		t.Fatalf("fresh row: %q after %d loads", u.DisplayName, f.loads.Load())
	}

	clk.Add(10 * time.Second) // stale: answered at once, replaced behind
	f.release = make(chan struct{})
	for range 5 {
		if u, err := c.get(ctx, 7, false); err != nil || u.DisplayName != "old" {
			t.Fatalf("stale row: %v %v", u, err)
		}
	}
	close(f.release)
	waitFor(t, "the stale row replaced", func() bool {
		u, _ := c.get(ctx, 7, false)
		return u.DisplayName == "new"
	})
	if got := f.loads.Load(); got != 2 {
		t.Fatalf("%d loads, want 2 (one background refresh for five stale reads)", got)
	}
}

func TestUserCacheLoadsARowTooOldToAnswer(t *testing.T) {
	f := &fakeUsers{rows: map[int64]models.User{7: {ID: 7, DisplayName: "old"}}}
	c, clk := newTestUserCache(f)
	ctx := context.Background()
	if _, err := c.get(ctx, 7, false); err != nil {
		t.Fatal(err)
	}
	f.set(models.User{ID: 7, DisplayName: "new"})
	clk.Add(2 * time.Minute)
	if u, err := c.get(ctx, 7, false); err != nil || u.DisplayName != "new" {
		t.Fatalf("a row past maxAge was answered: %v %v", u, err)
	}
}

func TestUserCacheDropsARowThatIsGoneAndKeepsOneThatFailedToLoad(t *testing.T) {
	f := &fakeUsers{rows: map[int64]models.User{7: {ID: 7}, 8: {ID: 8}}}
	c, clk := newTestUserCache(f)
	ctx := context.Background()
	for _, id := range []int64{7, 8} {
		if _, err := c.get(ctx, id, false); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(15 * time.Second)

	// 7 is deleted: the background load drops it, and the next request is
	// refused rather than served from the cache.
	f.mu.Lock()
	delete(f.rows, 7)
	f.mu.Unlock()
	if _, err := c.get(ctx, 7, false); err != nil {
		t.Fatalf("stale read: %v", err)
	}
	waitFor(t, "the deleted row dropped", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.entries[7]
		return !ok
	})
	if _, err := c.get(ctx, 7, false); !isNotFound(err) {
		t.Fatalf("get of a deleted user: %v", err)
	}

	// The database fails for 8: the row stays, and a later request tries
	// again.
	f.mu.Lock()
	f.fail = errors.New("database down")
	f.mu.Unlock()
	before := f.loads.Load()
	if _, err := c.get(ctx, 8, false); err != nil {
		t.Fatalf("stale read with the database down: %v", err)
	}
	waitFor(t, "the failed refresh given up", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		e, ok := c.entries[8]
		return ok && !e.refreshing && f.loads.Load() > before
	})
	f.mu.Lock()
	f.fail = nil
	f.mu.Unlock()
	if _, err := c.get(ctx, 8, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a second refresh", func() bool { return f.loads.Load() >= before+2 })
}

// While Redis is down (strict), a stale row is not answered: the account's
// disabled flag is then the only revocation check.
func TestUserCacheStrictReadsAStaleRowAgain(t *testing.T) {
	f := &fakeUsers{rows: map[int64]models.User{7: {ID: 7}}}
	c, clk := newTestUserCache(f)
	ctx := context.Background()
	if _, err := c.get(ctx, 7, true); err != nil {
		t.Fatal(err)
	}
	f.set(models.User{ID: 7, Disabled: true})
	clk.Add(5 * time.Second)
	if u, _ := c.get(ctx, 7, true); u.Disabled || f.loads.Load() != 1 {
		t.Fatalf("a fresh row was loaded again (%d loads)", f.loads.Load())
	}
	clk.Add(10 * time.Second)
	if u, err := c.get(ctx, 7, true); err != nil || !u.Disabled {
		t.Fatalf("strict get of a stale row answered %+v, %v; want the row read again", u, err)
	}
	// The database down: strict reads fail rather than answer the old row.
	f.mu.Lock()
	f.fail = errors.New("database down")
	f.mu.Unlock()
	clk.Add(15 * time.Second)
	if _, err := c.get(ctx, 7, true); err == nil {
		t.Fatal("a stale row was answered while the database failed")
	}
}
