package drills

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/models"
)

// TestPushServiceSlowerThanTheLease: FCM holds every answer for 150 s,
// longer than a delivery's two-minute lease, for the first 100 s of the
// drill. Each send gives up at its own deadline (well inside the lease), is
// retried, and goes through once FCM answers promptly again: every push
// arrives once, none is accepted twice, none ends failed, and the attempts
// stay few. (Before sends had a deadline, the first send outlived its lease,
// the delivery was leased and sent again, and both slow answers were
// accepted and recorded: two pushes for one notice.)
func TestPushServiceSlowerThanTheLease(t *testing.T) {
	drill(t)
	s := newStack(t)
	s.sink = startSinkProcess(t)
	b := s.startBFF("bff")
	ent := b.phoneFor("ent-demo")
	agent := b.phoneFor("agent-county")

	const (
		slow   = 150 * time.Second // longer than the lease (2 min)
		window = 100 * time.Second
	)
	start := time.Now()
	s.sink.fault(map[string]any{"delay_ms": int(slow / time.Millisecond), "for_seconds": int(window / time.Second)})

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	_, cseq := s.projectVersion(civil)
	_, iseq := s.projectVersion(industrial)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sendAll(ctx, t, func() *bff { return b },
		eventPlan(civil, models.ProjectCivil, "slow", int(cseq)+1, 3, rng),
		eventPlan(industrial, models.ProjectIndustrial, "slow", int(iseq)+1, 3, rng))

	recipients := map[string][]phone{civil: {ent}, industrial: {ent, agent}}
	// The slow answers still owed at the end of the window come back at
	// most slow later; wait past that so a duplicate would be seen.
	eventually(t, window+slow+90*time.Second, "every push delivered after the slow spell", func() (bool, string) {
		if st := s.deliveryStates(); st["failed"] > 0 || st["deactivated"] > 0 {
			t.Fatalf("a slow provider ended deliveries for good: %v\n  %s", st, s.failedDeliveries())
		}
		if diffs := s.inboxDiffs(t, recipients); len(diffs) > 0 {
			return false, joinLines(diffs, 3)
		}
		rep := s.pushReport(ent, agent)
		return rep.complete() && time.Since(start) > window+slow+5*time.Second, rep.String()
	})
	s.checkInbox(t, recipients)

	// At the sink: one accepted push per notice and token.
	accepted := map[string]int{}
	abandoned := 0
	for _, m := range s.sink.messages() {
		if m.ReceivedAt.Before(start) {
			continue
		}
		if m.Status == 499 {
			abandoned++
		}
		if m.Delivered() {
			accepted[m.Token+" "+parsePush(m).NotificationID]++
		}
	}
	for k, n := range accepted {
		if n != 1 {
			t.Errorf("%s: accepted %d times", k, n)
		}
	}
	if abandoned == 0 {
		t.Errorf("no send gave up on the slow answers")
	}
	if st := s.deliveryStates(); st["pending"] != 0 || st["failed"] != 0 {
		t.Errorf("push deliveries by state: %v", st)
	}
	// Each give-up is one attempt, at least 30 s apart: few per delivery.
	most := count(t, s.db, `SELECT COALESCE(max(n), 0) FROM (SELECT count(*) AS n FROM push_attempts
		GROUP BY notification_id, installation_id) AS per`)
	if most > 8 {
		t.Errorf("a delivery took %d attempts", most)
	}
	t.Logf("%d deliveries accepted once each; %d sends abandoned at their deadline; at most %d attempts for one", len(accepted), abandoned, most)
}
