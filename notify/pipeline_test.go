package notify

import (
	"context"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/models"
)

func TestTwoRunningPipelinesPushEachChangeOnce(t *testing.T) {
	w := newWorld(t, 0)
	second := w.pipe.d
	second.Settings.Consumer = "second"
	other, err := NewPipeline(second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 2)
	for _, p := range []*Pipeline{w.pipe, other} {
		go func() { stopped <- p.Run(ctx) }()
	}
	defer func() {
		cancel()
		for range 2 {
			select {
			case err := <-stopped:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
		}
	}()

	w.upsert(false)
	const changes = 6
	for i := range changes {
		w.item([]string{"GH-02", "ST-01", "KG-01"}[i%3], []string{models.StatusSubmitted, models.StatusWithdrawn}[i/3], nil)
	}
	testenv.Eventually(t, "every change pushed", func() bool { return len(w.sink.Delivered()) >= changes })
	testenv.Eventually(t, "the pipeline to settle", func() bool {
		var open int64
		w.d.DB.Model(&models.OutboxEntry{}).Where("processed_at IS NULL").Count(&open)
		var pending int64
		w.d.DB.Model(&models.PushDelivery{}).Where("state = ?", models.DeliveryPending).Count(&pending)
		var jobs int64
		w.d.DB.Model(&models.PushJob{}).Where("state = ?", models.PushJobPending).Count(&jobs)
		return open+pending+jobs == 0
	})
	seen := map[string]int{}
	for _, m := range w.delivered("tok-ent-demo") {
		seen[m.Data["notification_id"]]++
	}
	if len(seen) != changes {
		t.Fatalf("%d distinct notifications pushed, want %d", len(seen), changes)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("notification %s pushed %d times", id, n)
		}
	}
	if got := w.metric("zsb_pushes_total"); got != changes {
		t.Errorf("pushes metric = %v, want %d", got, changes)
	}
	if got := w.metric("zsb_upstream_events_total"); got != changes+1 {
		t.Errorf("events metric = %v, want %d", got, changes+1)
	}
}
