package drills

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/models"
)

// TestCrashMidDelivery: 1,000 item changes are in flight on the two demo
// projects when the BFF is SIGKILLed at a random moment during delivery and
// started again on the same database, Redis and prefix. The upstream keeps
// retrying what was not acknowledged. Every inbox entry reaches the phone at
// least once, a repeat carries the same notification_id and payload, nothing
// is lost, and the inbox holds exactly one entry per recipient and change.
func TestCrashMidDelivery(t *testing.T) {
	drill(t)
	s := newStack(t)
	s.sink = startSinkProcess(t) // the standalone sink, as an operator would run it
	a := s.startBFF("bff")
	ent := a.phoneFor("ent-demo")
	agent := a.phoneFor("agent-county") // follows the industrial project

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("random seed %d", seed)
	plans := [][]event{
		eventPlan(civil, models.ProjectCivil, "crash", 1, 500, rng),
		eventPlan(industrial, models.ProjectIndustrial, "crash", 1, 500, rng),
	}
	expected := 500 + 2*500
	killAt := expected/20 + rng.IntN(expected/2) // pushes seen at the sink before the kill

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var current atomic.Pointer[bff]
	current.Store(a)
	sent := make(chan map[string]string, 1)
	go func() { sent <- sendAll(ctx, t, func() *bff { return current.Load() }, plans...) }()

	var killedAfter int
	eventually(t, 3*time.Minute, "pushes to start arriving", func() (bool, string) {
		killedAfter = 0
		for _, m := range s.sink.messages() {
			if m.Delivered() {
				killedAfter++
			}
		}
		return killedAfter >= killAt, itoa(int64(killedAfter)) + " delivered"
	})
	a.kill()
	t.Logf("SIGKILLed the BFF after %d pushes had arrived (of about %d)", killedAfter, expected)
	time.Sleep(time.Duration(rng.IntN(1000)) * time.Millisecond)
	a.restart()

	results := <-sent
	applied, dup := 0, 0
	for _, r := range results {
		switch r {
		case "applied":
			applied++
		case "duplicate":
			dup++ // committed before the kill, acknowledged only on the retry
		}
	}
	t.Logf("events: %d applied on first acknowledgement, %d acknowledged as duplicate after the crash", applied, dup)
	if n := count(t, s.db, "SELECT count(*) FROM events WHERE event_id LIKE 'drill-crash-%' AND result = 'applied'"); n != 1000 {
		t.Errorf("%d of 1000 events applied in the database", n)
	}
	if applied+dup != 1000 {
		t.Errorf("only %d of 1000 events acknowledged", applied+dup)
	}

	// Leases of deliveries in flight at the kill run out after two minutes;
	// stream entries of the dead consumer are reclaimed after 30 s.
	recipients := map[string][]phone{civil: {ent}, industrial: {ent, agent}}
	rep := s.waitDelivered(t, 4*time.Minute, recipients)
	t.Logf("all delivered: %s", rep)
	// Pushes the killed instance sent but could not record are sent again
	// once their lease runs out: at least once, under the same id.
	eventually(t, 4*time.Minute, "every push delivery to be settled", func() (bool, string) {
		st := s.deliveryStates()
		return st["pending"] == 0, fmt.Sprint(st)
	})
	if st := s.deliveryStates(); st["failed"] != 0 || st["deactivated"] != 0 {
		t.Errorf("push deliveries by state: %v", st)
	}
	rep = s.pushReport(ent, agent)
	if !rep.complete() {
		t.Errorf("after settling: %s", rep)
	}
	t.Logf("settled: %s", rep)
}
