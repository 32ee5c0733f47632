package notify

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/outbox"
	"github.com/weifang/kaigong-zsb/notify/push"
)

// senderFunc wraps a Sender with a hook that runs before each Send, with
// the context and messages the dispatcher passed.
type senderFunc struct {
	next   push.Sender
	before func(ctx context.Context, msgs []push.Message)
}

func (s senderFunc) Send(ctx context.Context, msgs []push.Message) []push.Result {
	if s.before != nil {
		s.before(ctx, msgs)
	}
	return s.next.Send(ctx, msgs)
}

// withSender makes every send of the world's dispatcher (the straight
// shortcut included) go through s.
func (w *world) withSender(s push.Sender) {
	w.pipe.disp.d.Sender = s
}

// deliveryOf is the enterprise user's delivery of the notice about code.
func (w *world) deliveryOf(code string) models.PushDelivery {
	return ofNotice[models.PushDelivery](w, "push_deliveries", code)
}

// jobOf is the enterprise user's push job of the notice about code.
func (w *world) jobOf(code string) models.PushJob {
	return ofNotice[models.PushJob](w, "push_jobs", code)
}

// ofNotice reads the row of table (keyed by notification_id) that belongs
// to the enterprise user's notice about code.
func ofNotice[T any](w *world, table, code string) T {
	w.t.Helper()
	var row T
	if err := w.d.DB.Joins("JOIN notifications ON notifications.id = "+table+".notification_id").
		Where("notifications.item_codes = ? AND notifications.user_id = ?", code, w.ent.ID).Take(&row).Error; err != nil {
		w.t.Fatalf("%s row for %s: %v", table, code, err)
	}
	return row
}

// A notice held back is pushed only if the user's preferences still allow
// it when it leaves: muted, switched off or disabled since, it stays in the
// inbox and its job or delivery ends withheld (not failed). A critical
// notice keeps its override.
func TestPreferencesDecidedWhenThePushLeaves(t *testing.T) {
	t.Run("project muted during the digest window", func(t *testing.T) {
		w := newWorld(t, 3*time.Second)
		w.upsert(false)
		w.item("GH-02", models.StatusSubmitted, nil)
		w.drain()
		w.prefs(w.ent, func(p *Preferences) { p.MutedProjects = []string{"WF-DEMO-CIVIL"} })
		w.clock.Add(4 * time.Second)
		w.drain()
		if got := w.delivered("tok-ent-demo"); len(got) != 0 {
			t.Fatalf("pushed %d after the project was muted", len(got))
		}
		if n := len(w.inbox(w.ent)); n != 1 {
			t.Fatalf("inbox has %d rows, want the notice", n)
		}
		if j := w.jobOf("GH-02"); j.State != "withheld" {
			t.Fatalf("job state %q, want withheld", j.State)
		}
	})
	t.Run("category switched off during quiet hours", func(t *testing.T) {
		w := newWorld(t, 0)
		w.upsert(false)
		w.clock.Set(shanghai(2026, 3, 10, 23, 0))
		w.item("GH-02", models.StatusAccepted, nil)
		w.drain()
		w.prefs(w.ent, func(p *Preferences) { p.Categories[outbox.CategoryProgress] = false })
		w.clock.Set(shanghai(2026, 3, 11, 7, 31))
		w.drain()
		if got := w.delivered("tok-ent-demo"); len(got) != 0 {
			t.Fatalf("pushed %d after progress was switched off", len(got))
		}
		if j := w.jobOf("GH-02"); j.State != "withheld" {
			t.Fatalf("job state %q, want withheld", j.State)
		}
	})
	t.Run("push disabled during a retry", func(t *testing.T) {
		w := newWorld(t, 0)
		if _, err := w.sink.AddFault(pushsink.Fault{Token: "tok-ent-demo", Code: pushsink.CodeQuotaExceeded, Count: 1, RetryAfter: 30 * time.Second}); err != nil {
			t.Fatal(err)
		}
		w.upsert(false)
		w.item("GH-02", models.StatusAccepted, nil)
		w.drain()
		w.prefs(w.ent, func(p *Preferences) { p.PushEnabled = false })
		w.clock.Add(31 * time.Second)
		w.drain()
		w.clock.Add(time.Hour)
		w.drain()
		if got := w.delivered("tok-ent-demo"); len(got) != 0 {
			t.Fatalf("pushed %d after push was disabled", len(got))
		}
		if n := len(w.sink.Messages()); n != 1 {
			t.Fatalf("the sink saw %d sends, want only the first attempt", n)
		}
		if d := w.deliveryOf("GH-02"); d.State != "withheld" {
			t.Fatalf("delivery state %q, want withheld", d.State)
		}
		if n := len(w.inbox(w.ent)); n != 1 {
			t.Fatalf("inbox has %d rows, want the notice", n)
		}
	})
	t.Run("critical still goes when muted during a retry", func(t *testing.T) {
		w := newWorld(t, 0)
		if _, err := w.sink.AddFault(pushsink.Fault{Token: "tok-ent-demo", Code: pushsink.CodeQuotaExceeded, Count: 1, RetryAfter: 30 * time.Second}); err != nil {
			t.Fatal(err)
		}
		w.upsert(false)
		w.item("GH-02", models.StatusCorrectionRequired, map[string]any{"reason": "缺图"})
		w.drain()
		w.prefs(w.ent, func(p *Preferences) {
			p.MutedProjects = []string{"WF-DEMO-CIVIL"}
			p.Categories[outbox.CategoryProgress] = false
		})
		w.clock.Add(31 * time.Second)
		w.drain()
		if got := w.delivered("tok-ent-demo"); len(got) != 1 || got[0].Data["category"] != outbox.CategoryCorrection {
			t.Fatalf("pushes = %+v, want the correction", got)
		}
	})
}

// A send runs under a deadline shorter than its delivery's lease, on the
// straight shortcut and the dispatcher's way alike.
func TestSendRunsUnderADeadlineShorterThanTheLease(t *testing.T) {
	w := newWorld(t, 0)
	var (
		mu    sync.Mutex
		sends int
		bad   []string
	)
	w.withSender(senderFunc{next: w.d.Sender, before: func(ctx context.Context, _ []push.Message) {
		mu.Lock()
		defer mu.Unlock()
		sends++
		dl, ok := ctx.Deadline()
		switch {
		case !ok:
			bad = append(bad, "no deadline")
		case time.Until(dl) >= deliveryLease:
			bad = append(bad, "deadline "+time.Until(dl).String()+" away, not shorter than the lease")
		}
	}})
	w.upsert(false)
	w.item("GH-02", models.StatusAccepted, nil) // straight (PostgreSQL) or dispatcher
	w.drain()
	if _, err := w.sink.AddFault(pushsink.Fault{Token: "tok-ent-demo", Code: pushsink.CodeQuotaExceeded, Count: 1}); err != nil {
		t.Fatal(err)
	}
	w.item("ST-01", models.StatusAccepted, nil)
	w.drain()
	w.clock.Add(time.Minute) // the retry: always the dispatcher's way
	w.drain()
	if sends < 3 || len(bad) > 0 {
		t.Fatalf("%d sends; without a proper deadline: %v", sends, bad)
	}
}

// An answer that arrives after the lease ran out and another attempt sent
// the push cannot turn the delivery back to pending, so it is not sent
// again.
func TestLateAnswerCannotUndoASend(t *testing.T) {
	w := newWorld(t, 0)
	w.pipe.cons.dv.senders = nil // leave the push to the dispatcher's lease
	w.upsert(false)
	w.item("GH-02", models.StatusAccepted, nil)
	ctx := context.Background()
	if _, err := w.pipe.cons.readOnce(ctx, -1); err != nil {
		t.Fatal(err)
	}
	first, err := w.pipe.disp.lease(ctx)
	if err != nil || len(first) != 1 {
		t.Fatalf("first lease = %d, %v; want the one delivery", len(first), err)
	}
	// The first send hangs past the lease; another pass takes the delivery
	// over and its send is accepted.
	w.clock.Add(deliveryLease + time.Second)
	second, err := w.pipe.disp.lease(ctx)
	if err != nil || len(second) != 1 || second[0].Attempts != 2 {
		t.Fatalf("second lease = %+v, %v; want the delivery again, attempt 2", second, err)
	}
	if err := w.pipe.disp.deliver(ctx, second, false, nil); err != nil {
		t.Fatal(err)
	}
	if d := w.deliveryOf("GH-02"); d.State != models.DeliverySent {
		t.Fatalf("after the second attempt: %q, want sent", d.State)
	}
	// Then the first attempt's answer comes back: a transport error.
	late := []push.Result{{Outcome: push.OutcomeRetry, ErrorCode: "transport"}}
	if err := w.pipe.disp.record(ctx, first, late, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if d := w.deliveryOf("GH-02"); d.State != models.DeliverySent || d.LeaseUntil != nil {
		t.Fatalf("after the late answer: %q (lease %v), want sent", d.State, d.LeaseUntil)
	}
	w.clock.Add(time.Hour)
	w.drain()
	if got := w.delivered("tok-ent-demo"); len(got) != 1 {
		t.Fatalf("the phone got %d pushes, want 1", len(got))
	}
}

// UNREGISTERED for a token the app has replaced since (it registered again
// while the push was in flight) leaves the device active with its new
// token, which the next push reaches.
func TestUnregisteredOldTokenLeavesTheNewTokenActive(t *testing.T) {
	w := newWorld(t, 0)
	if _, err := w.sink.AddFault(pushsink.Fault{Token: "tok-ent-demo", Code: pushsink.CodeUnregistered}); err != nil {
		t.Fatal(err)
	}
	w.withSender(senderFunc{next: w.d.Sender, before: func(_ context.Context, msgs []push.Message) {
		for _, m := range msgs {
			if m.Token != "tok-ent-demo" {
				continue
			}
			if err := w.d.DB.Model(&models.Device{}).Where("installation_id = ?", "inst-tok-ent-demo").
				Updates(map[string]any{"push_token": "tok-ent-new", "push_token_hash": "h-tok-ent-new"}).Error; err != nil {
				t.Error(err)
			}
		}
	}})
	w.upsert(false)
	w.item("GH-02", models.StatusAccepted, nil)
	w.drain()
	var dev models.Device
	if err := w.d.DB.Take(&dev, "installation_id = ?", "inst-tok-ent-demo").Error; err != nil {
		t.Fatal(err)
	}
	if !dev.Active || dev.PushToken != "tok-ent-new" {
		t.Fatalf("device after UNREGISTERED for its old token: active %v, token %q; want active with the new token", dev.Active, dev.PushToken)
	}
	w.item("GH-02", models.StatusApproved, nil)
	w.drain()
	if got := w.delivered("tok-ent-new"); len(got) != 1 {
		t.Fatalf("the new token got %d pushes, want 1", len(got))
	}
}

// zsb_push_due_to_sent_seconds runs from when a push was due (here: the
// end of its retry wait) to the provider accepting it, so the wait itself
// does not count.
func TestDueToSentLatency(t *testing.T) {
	w := newWorld(t, 0)
	if _, err := w.sink.AddFault(pushsink.Fault{Token: "tok-ent-demo", Code: pushsink.CodeQuotaExceeded, Count: 1, RetryAfter: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	w.upsert(false)
	w.item("GH-02", models.StatusAccepted, nil)
	w.drain()
	w.clock.Add(32 * time.Second) // due after 30 s; the dispatcher comes 2 s late
	w.drain()
	if n := len(w.delivered("tok-ent-demo")); n != 1 {
		t.Fatalf("%d pushes, want 1", n)
	}
	count, sum := w.histogram("zsb_push_due_to_sent_seconds")
	if count != 1 || sum < 1.5 || sum > 2.5 {
		t.Fatalf("due-to-sent: %d observations summing to %vs; want one of about 2s", count, sum)
	}
	if count, sum := w.histogram("zsb_event_to_push_seconds"); count != 1 || sum < 31 {
		t.Fatalf("event-to-push: %d observations summing to %vs; want one of about 32s", count, sum)
	}
}

// histogram reads the named histogram's count and sum (0, 0 when it has no
// series).
func (w *world) histogram(name string) (uint64, float64) {
	w.t.Helper()
	mfs, err := w.reg.Gather()
	if err != nil {
		w.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var n uint64
		var s float64
		for _, m := range mf.GetMetric() {
			n += m.GetHistogram().GetSampleCount()
			s += m.GetHistogram().GetSampleSum()
		}
		return n, s
	}
	return 0, 0
}

// TestDeliveryOutlastsAnOutage drives one push through the dispatcher while
// the provider fails every send for an hour and a half: each retry waits the
// real push.Backoff recorded by the dispatcher, with the default attempt
// bound, and the push is still pending (not failed) at the end of the
// outage; it is sent once the provider is back.
func TestDeliveryOutlastsAnOutage(t *testing.T) {
	w := newWorld(t, 0)
	if _, err := w.sink.AddFault(pushsink.Fault{Token: "tok-ent-demo", Code: pushsink.CodeInternal}); err != nil {
		t.Fatal(err)
	}
	w.upsert(false)
	start := w.clock.Now()
	w.item("GH-02", models.StatusAccepted, nil)
	w.drain()
	for w.clock.Now().Sub(start) < 90*time.Minute {
		d := w.deliveryOf("GH-02")
		if d.State != models.DeliveryPending {
			t.Fatalf("after %v of outage and %d attempts the delivery is %q", w.clock.Now().Sub(start), d.Attempts, d.State)
		}
		if !d.NextAt.After(w.clock.Now()) {
			t.Fatalf("attempt %d: next try at %v, not after now %v", d.Attempts, d.NextAt, w.clock.Now())
		}
		w.clock.Set(d.NextAt)
		w.drain()
	}
	w.sink.ClearFaults()
	w.clock.Set(w.deliveryOf("GH-02").NextAt)
	w.drain()
	if got := w.delivered("tok-ent-demo"); len(got) != 1 {
		t.Fatalf("%d pushes after the outage, want 1", len(got))
	}
}
