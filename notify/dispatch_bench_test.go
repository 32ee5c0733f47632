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
	w.devices(w.ent, "tok-fan", n)
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

// BenchmarkStraightFanOut2000 is one item change pushed to the 2,000
// devices of one user (plus the user's first) the way an event takes it
// when a sender is free: the stream reader plans the first chunk leased,
// the sender plans the rest chunk by chunk and records every outcome. The
// sender accepts everything in process, so what it measures is the
// pipeline's own cost per push: this process's CPU, and PostgreSQL's (its
// backends serving this benchmark's connections) on PostgreSQL.
func BenchmarkStraightFanOut2000(b *testing.B) {
	w := fanOutWorld(b, 2000)
	w.upsert(false)
	w.drain()
	w.pipe.disp.d.Sender = discardSender{}
	ctx := context.Background()
	var before int64
	if err := w.d.DB.Model(&models.PushDelivery{}).Count(&before).Error; err != nil {
		b.Fatal(err)
	}
	pg0 := pgBackendCPU(b, w)
	cpu0 := testenv.CPUTime(b)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		w.clock.Add(time.Second)
		w.item("ST-01", models.StatusCorrectionRequired, map[string]any{"reason": fmt.Sprintf("缺图 %d", i)})
		if _, err := w.pipe.relay.relayOnce(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := w.pipe.cons.readOnce(ctx, -1); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu, pg := testenv.CPUTime(b)-cpu0, pgBackendCPU(b, w)-pg0
	var after int64
	if err := w.d.DB.Model(&models.PushDelivery{}).Where("state = ?", models.DeliverySent).Count(&after).Error; err != nil {
		b.Fatal(err)
	}
	pushes := after - before
	if pushes < int64(b.N)*2001 {
		b.Fatalf("%d pushes sent, want at least %d", pushes, b.N*2001)
	}
	b.ReportMetric(float64(pushes)/b.Elapsed().Seconds(), "pushes/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(pushes), "cpu-µs/push")
	if pg > 0 {
		b.ReportMetric(float64(pg.Microseconds())/float64(pushes), "pg-cpu-µs/push")
	}
}

// pgBackendCPU is the CPU time so far of the PostgreSQL backends serving
// this process's connections (those with its application_name, which
// TEST_DATABASE_URL must set, e.g. &application_name=zsbbench; the
// benchmark's pool keeps them open). It is 0 on SQLite or without an
// application_name, and the figure is then not reported.
func pgBackendCPU(b *testing.B, w *world) time.Duration {
	b.Helper()
	if w.d.DB.Dialect != "postgres" {
		return 0
	}
	var pids []int
	if err := w.d.DB.Raw(`SELECT pid FROM pg_stat_activity WHERE application_name = current_setting('application_name')
		AND application_name <> ''`).Scan(&pids).Error; err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for _, pid := range pids {
		total += testenv.ProcCPU(pid)
	}
	return total
}
