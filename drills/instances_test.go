package drills

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/models"
)

// TestTwoInstances runs two BFF processes on one database and one Redis
// prefix, the upstream spreading its events over both. Every notification is
// pushed exactly once per device; the deadline scheduler's lock has one
// holder; when that instance is killed mid-delivery, the other finishes the
// pending work and takes the scheduler over.
func TestTwoInstances(t *testing.T) {
	drill(t)
	s := newStack(t)
	rdb, _ := sharedRedis(t)
	ctx := context.Background()
	lockKey := s.prefix + "{notify}:deadline-lock"

	a := s.startBFF("bff-a")
	var holder string
	eventually(t, 30*time.Second, "the first instance to take the deadline scheduler's lock", func() (bool, string) {
		holder, _ = rdb.Get(ctx, lockKey).Result()
		return holder != "", "no lock"
	})
	b := s.startBFF("bff-b") // started after a: demo seeding is not meant to race
	ent := a.phoneFor("ent-demo")
	agent := b.phoneFor("agent-county")
	if v, _ := rdb.Get(ctx, lockKey).Result(); v != holder {
		t.Fatalf("the scheduler lock changed hands while its holder was alive: %q → %q", holder, v)
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	var rr atomic.Int64
	both := func() *bff {
		if rr.Add(1)%2 == 0 {
			return a
		}
		return b
	}
	sctx, cancel := context.WithTimeout(ctx, 6*time.Minute)
	defer cancel()
	sendAll(sctx, t, both,
		eventPlan(civil, models.ProjectCivil, "two", 1, 100, rng),
		eventPlan(industrial, models.ProjectIndustrial, "two", 1, 100, rng))
	recipients := map[string][]phone{civil: {ent}, industrial: {ent, agent}}
	rep := s.waitDelivered(t, 3*time.Minute, recipients)
	if rep.repeats != 0 {
		t.Errorf("with both instances alive, pushes were repeated: %s", rep)
	}
	t.Logf("both alive: %s", rep)
	if v, _ := rdb.Get(ctx, lockKey).Result(); v != holder {
		t.Errorf("the scheduler lock changed hands while its holder was alive: %q → %q", holder, v)
	}

	// Kill the lock holder in the middle of the next batch; the upstream
	// sends to the survivor.
	base := len(delivered(s.sink.messages())[ent.token])
	done := make(chan map[string]string, 1)
	go func() {
		done <- sendAll(sctx, t, func() *bff { return b },
			eventPlan(civil, models.ProjectCivil, "two", 101, 150, rng),
			eventPlan(industrial, models.ProjectIndustrial, "two", 101, 150, rng))
	}()
	eventually(t, 2*time.Minute, "the second batch to reach the phones", func() (bool, string) {
		n := len(delivered(s.sink.messages())[ent.token]) - base
		return n >= 40, itoa(int64(n)) + " of the batch's 300 pushes to ent-demo"
	})
	a.kill()
	for id, res := range <-done {
		if res != "applied" && res != "duplicate" {
			t.Errorf("event %s: %q", id, res)
		}
	}
	rep = s.waitDelivered(t, 4*time.Minute, recipients)
	t.Logf("after the kill: %s", rep)
	eventually(t, 4*time.Minute, "the survivor to settle the dead instance's deliveries", func() (bool, string) {
		st := s.deliveryStates()
		return st["pending"] == 0, fmt.Sprint(st)
	})
	if rep = s.pushReport(ent, agent); !rep.complete() {
		t.Errorf("after settling: %s", rep)
	}
	if st := s.deliveryStates(); st["failed"] != 0 || st["deactivated"] != 0 {
		t.Errorf("push deliveries by state: %v", st)
	}
	// The lock lapses (two minutes) and the survivor's next scan takes it.
	eventually(t, 4*time.Minute, "the survivor to take the deadline scheduler over", func() (bool, string) {
		v, err := rdb.Get(ctx, lockKey).Result()
		if err == redis.Nil {
			return false, "no holder"
		}
		return v != "" && v != holder, "still held by the dead instance"
	})
}
