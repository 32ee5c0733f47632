package notify

import (
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/models"
)

// A push that falls due again inside the user's quiet hours (here a retry
// after the push service throttled it at 21:59; a provider's quota pause
// ending at Beijing midnight is the same) waits, pending, until they end,
// and then goes out once: preferences are applied when a push leaves, and
// quiet hours mean "later", not "never" and not "now".
func TestRetryDueInQuietHoursWaitsForTheirEnd(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	w.drain()
	w.clock.Set(shanghai(2026, 3, 10, 21, 59))
	if _, err := w.sink.AddFault(pushsink.Fault{Code: pushsink.CodeQuotaExceeded, Count: 1, RetryAfter: 90 * time.Second}); err != nil {
		t.Fatal(err)
	}
	w.sink.Reset()
	w.item("GH-02", models.StatusAccepted, nil) // an ordinary notice, outside quiet hours
	w.drain()
	if got := len(w.delivered("tok-ent-demo")); got != 0 {
		t.Fatalf("%d pushes delivered through the throttling", got)
	}

	w.clock.Set(shanghai(2026, 3, 10, 22, 5)) // the retry is due, inside quiet hours
	w.drain()
	if got := len(w.delivered("tok-ent-demo")); got != 0 {
		t.Fatalf("%d pushes delivered in quiet hours", got)
	}
	d := w.deliveryOf("GH-02")
	if end := shanghai(2026, 3, 11, 7, 30); d.State != models.DeliveryPending || !d.NextAt.Equal(end) {
		t.Fatalf("delivery %s due %v, want pending until %v", d.State, d.NextAt, end)
	}

	w.clock.Set(shanghai(2026, 3, 11, 7, 31))
	w.drain()
	if got := len(w.delivered("tok-ent-demo")); got != 1 {
		t.Fatalf("%d pushes delivered after quiet hours, want 1", got)
	}
	if d := w.deliveryOf("GH-02"); d.State != models.DeliverySent {
		t.Fatalf("delivery %s after quiet hours, want sent", d.State)
	}
}
