package drills

import (
	"testing"
	"time"
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
	d := startFCMDrill(t)
	s := d.stack

	const (
		slow   = 150 * time.Second // longer than the lease (2 min)
		window = 100 * time.Second
	)
	start := time.Now()
	s.sink.fault(map[string]any{"delay_ms": int(slow / time.Millisecond), "for_seconds": int(window / time.Second)})

	d.sendEvents(t, "slow", 3, 11)
	// The slow answers still owed at the end of the window come back at
	// most slow later; wait past that so a duplicate would be seen.
	d.waitDelivered(t, window+slow+90*time.Second, "every push delivered after the slow spell", func() bool {
		return time.Since(start) > window+slow+5*time.Second
	})

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
