package projectview

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/internal/localcache"
	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/internal/workdays"
	"github.com/weifang/kaigong-zsb/models"
)

// instanceThrough is one BFF instance's views, its Redis client (and so its
// invalidation bus) going through proxy.
func instanceThrough(t *testing.T, proxy string, v0 *Views) *Views {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: proxy}) // as the application configures it
	t.Cleanup(func() { _ = rdb.Close() })
	v := New(v0.db, rdb, v0.prefix, v0.cat, v0.cal, v0.now, slog.New(slog.DiscardHandler))
	bus := localcache.NewBus(rdb, v0.prefix, nil)
	bus.Start()
	t.Cleanup(func() { _ = bus.Close() })
	testenv.Eventually(t, "subscription", bus.Live)
	v.UseBus(bus)
	return v
}

// A project view whose write-through failed because Redis stalled is
// never served older than the committed version for longer than the
// in-process copy's few seconds: not on the instance that wrote, not on
// another, not while Redis stalls and not after it is back, whether what
// was sent into the stall is lost or arrives late.
func TestStalledRedisServesNothingStale(t *testing.T) {
	for _, drop := range []bool{true, false} {
		name := "sent into the stall arrives late"
		if drop {
			name = "sent into the stall is lost"
		}
		t.Run(name, func(t *testing.T) { stalledRedis(t, drop) })
	}
}

func stalledRedis(t *testing.T, drop bool) {
	v0, db, rdb := setup(t)
	opts := rdb.(*redis.Client).Options()
	proxy := testenv.StartProxy(t, opts.Addr)
	writer, other := instanceThrough(t, proxy.Addr, v0), instanceThrough(t, proxy.Addr, v0)
	const id = "WF-T-1"
	ctx := context.Background()
	for _, v := range []*Views{writer, other} {
		if view, err := v.Get(ctx, id, Progress); err != nil || view.Version != 1 {
			t.Fatalf("before: %+v, %v", view, err)
		}
	}

	// Readers on both instances all along; each read must show at least
	// the version committed a bound ago (the in-process copy of another
	// instance may lag by its TTL while the invalidation cannot reach it).
	const bound = localTTL + time.Second
	var (
		committed   atomic.Int64 // version, once committed
		committedAt atomic.Int64 // unix nanos
		mu          sync.Mutex
		stale       []string
		reads       atomic.Int64
	)
	committed.Store(1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, v := range []*Views{writer, other, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				want, at := committed.Load(), time.Unix(0, committedAt.Load())
				start := time.Now()
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second) // the BFF's request deadline
				view, err := v.Get(rctx, id, Progress)
				cancel()
				reads.Add(1)
				switch {
				case err != nil:
					mu.Lock()
					stale = append(stale, fmt.Sprintf("reader %d at %s: %v", i, start.Format("15:04:05.000"), err))
					mu.Unlock()
				case view.Version < want && start.After(at.Add(bound)):
					mu.Lock()
					stale = append(stale, fmt.Sprintf("reader %d at %s: version %d, committed %d at %s",
						i, start.Format("15:04:05.000"), view.Version, want, at.Format("15:04:05.000")))
					mu.Unlock()
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}

	proxy.Stall(drop)
	time.Sleep(500 * time.Millisecond)
	// The intake commits a change, then writes it through: Redis does not
	// answer.
	if err := db.Create(&models.ItemState{ProjectID: id, ItemCode: "GH-01", Status: models.StatusAccepted, LastSequence: 2,
		AcceptedOn: ptr(time.Date(2026, 11, 3, 0, 0, 0, 0, workdays.Location))}).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Model(&models.Project{}).Where("id = ?", id).Update("version", 2).Error; err != nil {
		t.Fatal(err)
	}
	committedAt.Store(time.Now().UnixNano())
	committed.Store(2)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	start := time.Now()
	err := writer.Refresh(wctx, id)
	cancel()
	t.Logf("write-through into the stall: %v after %v", err, time.Since(start).Round(time.Millisecond))
	time.Sleep(7 * time.Second) // longer than the subscription's health limit
	proxy.Resume()
	t.Logf("Redis back after %v", time.Since(time.Unix(0, committedAt.Load())).Round(time.Millisecond))
	time.Sleep(5 * time.Second)
	close(stop)
	wg.Wait()
	for _, s := range stale {
		t.Error(s)
	}
	t.Logf("%d reads", reads.Load())
	// And Redis itself holds the committed version again.
	testenv.Eventually(t, "the committed version in Redis", func() bool {
		ver, err := rdb.HGet(ctx, v0.key(id), "v").Int64()
		return err == redis.Nil || (err == nil && ver == 2)
	})
}

func ptr[T any](v T) *T { return &v }

// A write-through lost for good (its instance died before its repair)
// leaves Redis behind the database; an instance that has seen its
// invalidation subscription come or go checks what it reads from Redis
// against the database, serves the committed version and stores it.
func TestLostWriteThroughIsCaughtOnRead(t *testing.T) {
	v, db, rdb := setup(t)
	ctx := context.Background()
	if err := v.Refresh(ctx, "WF-T-1"); err != nil {
		t.Fatal(err)
	}
	if err := db.Model(&models.Project{}).Where("id = ?", "WF-T-1").Update("version", 2).Error; err != nil {
		t.Fatal(err)
	}
	useBus(t, v) // a subscription gained: invalidations may have been missed before it
	view, err := v.Get(ctx, "WF-T-1", Progress)
	if err != nil || view.Version != 2 {
		t.Fatalf("read after a lost write-through: version %d, %v; want 2", view.Version, err)
	}
	if ver, err := rdb.HGet(ctx, v.key("WF-T-1"), "v").Int64(); err != nil || ver != 2 {
		t.Fatalf("Redis holds version %d (%v), want 2", ver, err)
	}
}
