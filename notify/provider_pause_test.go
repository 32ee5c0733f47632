package notify

import (
	"context"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/push"
)

// quotaSender answers every push as a provider whose daily quota is spent.
type quotaSender struct{ now func() time.Time }

func (s quotaSender) Send(_ context.Context, msgs []push.Message) []push.Result {
	out := make([]push.Result, len(msgs))
	for i := range out {
		out[i] = push.QuotaExhausted("10070", s.now())
	}
	return out
}

// A provider paused by its quota keeps the push pending, not failed, until
// the vendor's day resets; then it goes out once.
func TestQuotaPauseKeepsThePushPending(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	w.drain()
	working := w.pipe.disp.d.Sender
	w.pipe.disp.d.Sender = quotaSender{w.clock.Now}
	w.item("GH-02", models.StatusAccepted, nil)
	w.drain()
	if n := len(w.delivered("tok-ent-demo")); n != 0 {
		t.Fatalf("%d pushes while the provider was paused", n)
	}
	midnight := push.NextBeijingMidnight(w.clock.Now())
	var d models.PushDelivery
	if err := w.d.DB.Where("installation_id = ?", "inst-tok-ent-demo").Take(&d).Error; err != nil {
		t.Fatal(err)
	}
	if d.State != models.DeliveryPending || !d.NextAt.Equal(midnight) {
		t.Fatalf("delivery %s next %v, want pending until %v", d.State, d.NextAt, midnight)
	}
	if n := w.metric("zsb_pushes_total"); n != 1 {
		t.Fatalf("zsb_pushes_total = %v, want the one paused send", n)
	}

	w.pipe.disp.d.Sender = working
	w.clock.Set(midnight.Add(-time.Minute))
	w.drain()
	if n := len(w.delivered("tok-ent-demo")); n != 0 {
		t.Fatalf("%d pushes before the pause ended", n)
	}
	w.clock.Set(midnight.Add(8 * time.Hour))
	w.drain()
	if n := len(w.delivered("tok-ent-demo")); n != 1 {
		t.Fatalf("%d pushes after the pause, want 1", n)
	}
}
