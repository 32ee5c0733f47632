package notify

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/outbox"
	"github.com/weifang/kaigong-zsb/notify/push"
)

// discardSender accepts every push without a round trip, so a benchmark
// measures the dispatcher's database work alone.
type discardSender struct{}

func (discardSender) Send(_ context.Context, msgs []push.Message) []push.Result {
	out := make([]push.Result, len(msgs))
	for i := range out {
		out[i] = push.Result{Outcome: push.OutcomeSent}
	}
	return out
}

// fanOutWorld is a world whose enterprise user has n devices.
func fanOutWorld(b *testing.B, n int) *world {
	b.Helper()
	w := newWorld(b, 0)
	devs := make([]models.Device, 0, n)
	for i := range n {
		tok := fmt.Sprintf("tok-fan-%d", i)
		devs = append(devs, models.Device{InstallationID: "inst-" + tok, UserID: w.ent.ID, Platform: "android",
			Provider: push.ProviderFCM, PushToken: tok, PushTokenHash: "h-" + tok, Active: true})
	}
	if err := w.d.DB.CreateInBatches(devs, 500).Error; err != nil {
		b.Fatal(err)
	}
	return w
}

// dueNotice stores one inbox row for the enterprise user and its push job,
// due now, as the deliverer would.
func (w *world) dueNotice(i int) {
	w.t.Helper()
	now := w.clock.Now().UTC()
	id := fmt.Sprintf("n_bench_%d", i)
	n := models.Notification{ID: id, UserID: w.ent.ID, Category: outbox.CategoryProgress, Title: "t", Body: "b",
		ProjectID: "WF-DEMO-CIVIL", ItemCodes: "GH-02", Data: `{"route":"zsb://projects/WF-DEMO-CIVIL/progress"}`, CreatedAt: now}
	j := models.PushJob{NotificationID: id, UserID: w.ent.ID, ProjectID: "WF-DEMO-CIVIL", State: models.PushJobPending,
		DueAt: now, ReceivedAt: now}
	if err := w.d.DB.Create(&n).Error; err != nil {
		w.t.Fatal(err)
	}
	if err := w.d.DB.Create(&j).Error; err != nil {
		w.t.Fatal(err)
	}
}

// benchFanOut plans and sends one notice to the 2,000 devices of one user
// per op, through the dispatcher's own pass (dispatchDue).
func benchFanOut(b *testing.B, sender push.Sender) {
	w := fanOutWorld(b, 2000)
	if sender != nil {
		w.pipe.disp.d.Sender = sender
	}
	ctx := context.Background()
	var delivered int
	cpu0 := testenv.CPUTime(b)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		w.dueNotice(i)
		w.clock.Add(time.Second)
		b.StartTimer()
		for {
			pl, s, err := w.pipe.dispatchDue(ctx, ctx, true)
			if err != nil {
				b.Fatal(err)
			}
			delivered += s
			if pl+s == 0 {
				break
			}
		}
	}
	b.StopTimer()
	if want := b.N * 2001; delivered != want {
		b.Fatalf("%d pushes, want %d", delivered, want)
	}
	b.ReportMetric(float64(delivered)/b.Elapsed().Seconds(), "pushes/s")
	// The CPU of this process (dispatcher, client, and the sink when there
	// is one) per push, setup between ops included; PostgreSQL's is not.
	b.ReportMetric(float64((testenv.CPUTime(b)-cpu0).Microseconds())/float64(delivered), "cpu-µs/push")
}

// BenchmarkFanOut2000 is one notice to 2,000 devices (plus the user's
// first), sent to an in-process sender that accepts everything: the
// dispatcher's database work per fan-out.
func BenchmarkFanOut2000(b *testing.B) { benchFanOut(b, discardSender{}) }

// BenchmarkFanOut2000Sink is the same fan-out sent over HTTP to the local
// FCM sink through the real FCM client.
func BenchmarkFanOut2000Sink(b *testing.B) { benchFanOut(b, nil) }
