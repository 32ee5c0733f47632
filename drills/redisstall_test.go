package drills

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/models"
)

// TestRedisStalled puts a proxy between two BFF instances and Redis that
// stops forwarding for 10 s in the middle of a run of webhooks, while
// phones read the project's progress on both instances, then forwards
// again. Redis does not fail fast here: commands hang until the clients give
// up, and a write-through of the project's views fails after its change
// committed. No read may show a version older than one committed more than
// a few seconds before it (the in-process copy's TTL and a second), not
// during the stall and not after; every event is applied once and every
// change pushed; Redis holds the committed version again soon after. Once
// with what was sent into the stall lost (the connections reset), once with
// it arriving late.
func TestRedisStalled(t *testing.T) {
	drill(t)
	for _, drop := range []bool{true, false} {
		name := "sent into the stall arrives late"
		if drop {
			name = "sent into the stall is lost"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			redisStall(t, drop)
		})
	}
}

// staleBound is how much older than the committed version a read may be:
// another instance's in-process copy lives 5 s when the invalidation cannot
// reach it.
const staleBound = 6 * time.Second

func redisStall(t *testing.T, drop bool) {
	s := newStack(t)
	rdb, _ := sharedRedis(t)
	proxy := testenv.StartProxy(t, "127.0.0.1:6379")
	s.redisURL = "redis://" + proxy.Addr + "/0"
	a := s.startBFF("bff-a")
	b := s.startBFF("bff-b")
	ent := a.phoneFor("ent-demo")

	// The committed versions as the upstream learns of them (after each
	// 202), and every read.
	type commit struct {
		at      time.Time
		version int64
	}
	type read struct {
		at      time.Time
		on      string
		status  int
		body    string
		version int64
		err     error
	}
	var (
		mu      sync.Mutex
		commits []commit
		reads   []read
	)
	v0, _ := s.projectVersion(civil)
	commits = append(commits, commit{time.Now(), v0})
	for _, x := range []*bff{a, b} {
		x.must("GET", "/v1/projects/"+civil+"/progress", ent.access, nil, 200) // fill the caches
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, x := range []*bff{a, b, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				at := time.Now()
				r, err := x.call("GET", "/v1/projects/"+civil+"/progress", ent.access, nil)
				var p struct {
					Version int64 `json:"version"`
				}
				if err == nil && r.status == 200 {
					r.decode(t, &p)
				}
				mu.Lock()
				reads = append(reads, read{at: at, on: x.name, status: r.status, body: tail(string(r.body), 200), version: p.Version, err: err})
				mu.Unlock()
			}
		}()
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	_, seq := s.projectVersion(civil)
	plan := eventPlan(civil, models.ProjectCivil, "stall", int(seq)+1, 40, rng)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	results := map[string]string{}
	var (
		stalledAt time.Time
		resumed   = make(chan time.Time, 1)
	)
	for i, ev := range plan {
		if i == 10 {
			proxy.Stall(drop)
			stalledAt = time.Now()
			t.Logf("Redis stalled")
			time.AfterFunc(10*time.Second, func() {
				proxy.Resume()
				resumed <- time.Now()
			})
		}
		start := time.Now()
		res, _ := deliver(ctx, t, func() *bff { return a }, ev)
		results[ev.id()] = res
		if took := time.Since(start); took > 2*time.Second {
			t.Logf("event %d answered %q after %v", i, res, took.Round(time.Millisecond))
		}
		v, _ := s.projectVersion(civil)
		mu.Lock()
		commits = append(commits, commit{time.Now(), v})
		mu.Unlock()
		time.Sleep(200 * time.Millisecond)
	}
	resumedAt := <-resumed
	t.Logf("Redis forwarded again after %v", resumedAt.Sub(stalledAt).Round(time.Millisecond))
	time.Sleep(staleBound + 2*time.Second) // reads after the last change and the recovery
	close(stop)
	wg.Wait()

	for id, res := range results {
		if res != "applied" && res != "duplicate" {
			t.Errorf("event %s: %q", id, res)
		}
	}
	// Every read shows at least the version committed staleBound before it.
	stale, failed := 0, 0
	for _, r := range reads {
		if r.err != nil || r.status != 200 {
			failed++
			if failed <= 5 {
				t.Errorf("read on %s at %s: %d %s %v", r.on, r.at.Format("15:04:05.000"), r.status, r.body, r.err)
			}
			continue
		}
		var want commit
		for _, c := range commits {
			if c.at.Add(staleBound).Before(r.at) && c.version > want.version {
				want = c
			}
		}
		if r.version < want.version {
			stale++
			if stale <= 5 {
				t.Errorf("read on %s at %s (stall %s–%s): version %d, but %d was committed at %s",
					r.on, r.at.Format("15:04:05.000"), stalledAt.Format("15:04:05"), resumedAt.Format("15:04:05"),
					r.version, want.version, want.at.Format("15:04:05.000"))
			}
		}
	}
	t.Logf("%d reads, %d stale, %d failed; %d events", len(reads), stale, failed, len(results))

	final, _ := s.projectVersion(civil)
	eventually(t, 30*time.Second, "Redis to hold the committed version", func() (bool, string) {
		v, err := rdb.HGet(context.Background(), s.prefix+"{pv:"+civil+"}", "v").Int64()
		return err == nil && v == final, fmt.Sprintf("cached %d (%v), committed %d", v, err, final)
	})
	rep := s.waitDelivered(t, 3*time.Minute, map[string][]phone{civil: {ent}})
	t.Logf("after the stall: %s", rep)
}
