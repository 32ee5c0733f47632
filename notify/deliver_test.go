package notify

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/intake"
	"github.com/weifang/kaigong-zsb/notify/outbox"
	"github.com/weifang/kaigong-zsb/notify/push"
)

func TestPushPerCategory(t *testing.T) {
	tests := []struct {
		name      string
		status    string
		extra     map[string]any
		locale    string
		category  string
		title     string
		body      string
		route     string
		critical  bool
		agentSees bool
	}{
		{name: "next steps zh", status: models.StatusPreApproved, category: outbox.CategoryNextSteps,
			title: "建设工程规划许可证 已预审批", body: "下一步：施工图审查；需准备：施工图设计文件、勘察文件",
			route: "zsb://projects/WF-DEMO-CIVIL/next-steps", agentSees: true},
		{name: "next steps en", status: models.StatusPreApproved, locale: LocaleEn, category: outbox.CategoryNextSteps,
			title: "Construction planning permit pre-approved", body: "Next: Construction drawing review; prepare: 施工图设计文件, 勘察文件",
			route: "zsb://projects/WF-DEMO-CIVIL/next-steps", agentSees: true},
		{name: "progress", status: models.StatusAccepted, category: outbox.CategoryProgress,
			title: "建设工程规划许可证 已受理", body: "示例住宅", route: "zsb://projects/WF-DEMO-CIVIL/progress", agentSees: true},
		{name: "correction", status: models.StatusCorrectionRequired,
			extra:    map[string]any{"reason": "缺少签章", "materials_requested": []string{"总平面图", "委托书"}},
			category: outbox.CategoryCorrection, title: "补正通知：建设工程规划许可证", body: "示例住宅：缺少签章；需补正材料：总平面图、委托书",
			route: "zsb://projects/WF-DEMO-CIVIL/progress", critical: true, agentSees: true},
		{name: "rejection", status: models.StatusRejected, extra: map[string]any{"reason": "不符合规划"}, category: outbox.CategoryProgress,
			title: "建设工程规划许可证 未予许可", body: "示例住宅：不符合规划", route: "zsb://projects/WF-DEMO-CIVIL/progress", critical: true, agentSees: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 0)
			if tc.locale != "" {
				w.prefs(w.ent, func(p *Preferences) { p.Locale = tc.locale })
			}
			w.upsert(false)
			w.mustSend(map[string]any{"type": intake.EventAgentAssigned, "agent_username": "agent-town"}, intake.ResultApplied)
			w.item("GH-02", tc.status, tc.extra)
			w.drain()

			got := w.delivered("tok-ent-demo")
			if len(got) != 1 {
				t.Fatalf("enterprise got %d pushes, want 1", len(got))
			}
			m := got[0]
			if m.Notification.Title != tc.title || m.Notification.Body != tc.body {
				t.Errorf("text = %q / %q, want %q / %q", m.Notification.Title, m.Notification.Body, tc.title, tc.body)
			}
			inbox := w.inbox(w.ent)
			if len(inbox) != 1 {
				t.Fatalf("inbox has %d rows, want 1", len(inbox))
			}
			want := map[string]string{"notification_id": inbox[0].ID, "category": tc.category, "project_id": "WF-DEMO-CIVIL",
				"item_codes": "GH-02", "route": tc.route, "unread_count": "1"}
			for k, v := range want {
				if m.Data[k] != v {
					t.Errorf("data[%s] = %q, want %q", k, m.Data[k], v)
				}
			}
			if wantPrio := map[bool]string{true: "high", false: "normal"}[tc.critical]; m.Android.Priority != wantPrio {
				t.Errorf("priority %q, want %q", m.Android.Priority, wantPrio)
			}
			if inbox[0].Title != tc.title || inbox[0].Category != tc.category {
				t.Errorf("inbox row = %+v", inbox[0])
			}
			if n := len(w.delivered("tok-agent-town")); (n == 1) != tc.agentSees {
				t.Errorf("following agent got %d pushes", n)
			}
			if n := len(w.delivered("tok-ent-other")); n != 0 {
				t.Errorf("another enterprise got %d pushes", n)
			}
		})
	}
}

func TestDuplicateAndStalePushNothing(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	w.item("GH-02", models.StatusAccepted, nil)
	w.drain()
	before := len(w.sink.Delivered())
	w.seq-- // the same sequence again: stale
	w.mustSend(map[string]any{"event_id": "ev-stale", "type": intake.EventItemStatusChanged, "item_code": "GH-02", "status": models.StatusApproved}, intake.ResultStale)
	w.seq--
	w.mustSend(map[string]any{"event_id": "ev-2", "type": intake.EventItemStatusChanged, "item_code": "GH-02", "status": models.StatusApproved}, intake.ResultDuplicate)
	w.drain()
	if after := len(w.sink.Delivered()); after != before {
		t.Fatalf("sink got %d more pushes after a stale and a duplicate event", after-before)
	}
	// Re-processing the same outbox entry maps to the same inbox row.
	var e models.OutboxEntry
	if err := w.d.DB.Take(&e).Error; err != nil {
		t.Fatal(err)
	}
	if err := w.d.DB.Model(&e).Updates(map[string]any{"processed_at": nil, "relayed_at": nil}).Error; err != nil {
		t.Fatal(err)
	}
	w.drain()
	if n := len(w.inbox(w.ent)); n != 1 {
		t.Fatalf("re-delivery made %d inbox rows, want 1", n)
	}
	if after := len(w.sink.Delivered()); after != before {
		t.Fatalf("re-delivery pushed %d more times", after-before)
	}
}

func TestQuietHoursDeferButCorrectionGoesThrough(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	w.clock.Set(shanghai(2026, 3, 10, 23, 0))
	w.item("GH-02", models.StatusAccepted, nil)
	w.drain()
	if n := len(w.delivered("tok-ent-demo")); n != 0 {
		t.Fatalf("%d pushes inside quiet hours", n)
	}
	var job models.PushJob
	if err := w.d.DB.Take(&job, "user_id = ?", w.ent.ID).Error; err != nil {
		t.Fatal(err)
	}
	if want := shanghai(2026, 3, 11, 7, 30); !job.DueAt.Equal(want) {
		t.Fatalf("deferred to %v, want %v", job.DueAt, want)
	}
	w.item("ST-01", models.StatusCorrectionRequired, map[string]any{"reason": "缺图"})
	w.drain()
	if got := w.delivered("tok-ent-demo"); len(got) != 1 || got[0].Data["category"] != outbox.CategoryCorrection {
		t.Fatalf("night correction pushes = %+v", got)
	}
	w.clock.Set(shanghai(2026, 3, 11, 7, 31))
	w.drain()
	got := w.delivered("tok-ent-demo")
	if len(got) != 2 || got[1].Data["category"] != outbox.CategoryProgress {
		t.Fatalf("after quiet hours pushes = %+v", got)
	}
}

func TestMutedCategorySilentCorrectionArrives(t *testing.T) {
	w := newWorld(t, 0)
	w.prefs(w.ent, func(p *Preferences) {
		p.Categories[outbox.CategoryProgress] = false
		p.Categories[outbox.CategoryCorrection] = false
		p.MutedProjects = []string{"WF-DEMO-CIVIL"}
	})
	w.prefs(w.other, func(p *Preferences) { p.PushEnabled = false })
	w.upsert(false)
	w.item("GH-02", models.StatusAccepted, nil)
	w.item("GH-02", models.StatusCorrectionRequired, map[string]any{"reason": "缺图"})
	w.drain()
	got := w.delivered("tok-ent-demo")
	if len(got) != 1 || got[0].Data["category"] != outbox.CategoryCorrection {
		t.Fatalf("pushes = %+v, want only the correction", got)
	}
	if n := len(w.inbox(w.ent)); n != 2 {
		t.Fatalf("inbox has %d rows, want both notices", n)
	}
}

func TestUnregisteredDeactivatesDevice(t *testing.T) {
	w := newWorld(t, 0)
	if _, err := w.sink.AddFault(pushsink.Fault{Token: "tok-ent-demo", Code: pushsink.CodeUnregistered}); err != nil {
		t.Fatal(err)
	}
	w.upsert(false)
	w.item("GH-02", models.StatusAccepted, nil)
	w.drain()
	var dev models.Device
	if err := w.d.DB.Take(&dev, "user_id = ?", w.ent.ID).Error; err != nil {
		t.Fatal(err)
	}
	if dev.Active {
		t.Fatal("device still active after UNREGISTERED")
	}
	var att models.PushAttempt
	if err := w.d.DB.Take(&att, "installation_id = ?", dev.InstallationID).Error; err != nil || att.Outcome != "deactivated" || att.ErrorCode != "UNREGISTERED" {
		t.Fatalf("attempt = %+v, %v", att, err)
	}
	w.item("GH-02", models.StatusApproved, nil)
	w.drain()
	if n := len(w.sink.Messages()); n != 1 {
		t.Fatalf("sink saw %d sends, want none after deactivation", n)
	}
}

func TestRetryThenSent(t *testing.T) {
	w := newWorld(t, 0)
	w.d.Settings.MaxPushAttempts = 3
	if _, err := w.sink.AddFault(pushsink.Fault{Token: "tok-ent-demo", Code: pushsink.CodeQuotaExceeded, Count: 1, RetryAfter: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	w.upsert(false)
	w.item("GH-02", models.StatusAccepted, nil)
	w.drain()
	if n := len(w.delivered("tok-ent-demo")); n != 0 {
		t.Fatalf("%d delivered despite quota fault", n)
	}
	w.clock.Add(31 * time.Second) // Retry-After honoured; the backoff window is shorter
	w.drain()
	w.clock.Add(time.Minute)
	w.drain()
	if n := len(w.delivered("tok-ent-demo")); n != 1 {
		t.Fatalf("%d delivered after retry, want 1", n)
	}
	var attempts []models.PushAttempt
	if err := w.d.DB.Order("attempt").Find(&attempts, "installation_id = ?", "inst-tok-ent-demo").Error; err != nil {
		t.Fatal(err)
	}
	if len(attempts) != 2 || attempts[0].Outcome != push.OutcomeRetry || attempts[1].Outcome != push.OutcomeSent {
		t.Fatalf("attempts = %+v", attempts)
	}
}

func TestDigestMergesBurst(t *testing.T) {
	w := newWorld(t, 3*time.Second)
	w.upsert(false)
	// One after another, as they arrive (the digest lists items in arrival
	// order; with the test clock standing still they would tie).
	for _, code := range []string{"GH-02", "ST-01", "KG-01"} {
		w.item(code, models.StatusSubmitted, nil)
		w.clock.Add(time.Millisecond)
	}
	w.drain()
	if n := len(w.delivered("tok-ent-demo")); n != 0 {
		t.Fatalf("%d pushes inside the digest window", n)
	}
	w.clock.Add(4 * time.Second)
	w.drain()
	got := w.delivered("tok-ent-demo")
	if len(got) != 1 || got[0].Notification.Title != "3 项事项有更新" {
		t.Fatalf("pushes = %+v, want one digest", got)
	}
	if codes := got[0].Data["item_codes"]; codes != "GH-02,ST-01,KG-01" {
		t.Errorf("digest item_codes = %q", codes)
	}
	if n := len(w.inbox(w.ent)); n != 3 {
		t.Fatalf("inbox has %d rows, want 3", n)
	}
}

func TestRedisLossLosesNothing(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	w.item("GH-02", models.StatusAccepted, nil)
	ctx := context.Background()
	// The intake published the change itself; the relay leaves it alone.
	if n, err := w.d.Redis.XLen(ctx, w.pipe.keys.stream).Result(); err != nil || n != 1 {
		t.Fatalf("stream length after the event = %d, %v; want 1", n, err)
	}
	if n, err := w.pipe.relay.relayOnce(ctx); err != nil || n != 0 {
		t.Fatalf("relay = %d, %v; want nothing to relay", n, err)
	}
	// Redis loses everything before a consumer reads the entry.
	if err := w.d.Redis.Del(ctx, w.pipe.keys.stream, w.pipe.keys.wake).Err(); err != nil {
		t.Fatal(err)
	}
	w.drain()
	if n := len(w.delivered("tok-ent-demo")); n != 0 {
		t.Fatalf("pushed before the re-drive")
	}
	w.clock.Add(2 * time.Minute)
	w.drain()
	if n := len(w.delivered("tok-ent-demo")); n != 1 {
		t.Fatalf("%d pushes after re-drive, want 1", n)
	}
}

func TestDeadLetterAfterRepeatedFailures(t *testing.T) {
	w := newWorld(t, 0)
	ctx := context.Background()
	// A consumer whose database is gone fails every entry.
	dead := w.pipe.d
	dead.DB = testenv.DB(t)
	_ = dead.DB.Close()
	dead.Settings.MaxStreamDeliveries = 2
	dead.Settings.ClaimIdle = time.Millisecond
	broken := &consumer{d: dead, keys: w.pipe.keys, name: "c-broken", dv: &deliverer{d: dead, keys: w.pipe.keys}}
	if err := w.d.Redis.XAdd(ctx, &redis.XAddArgs{Stream: w.pipe.keys.stream, Values: map[string]any{"outbox_id": "42"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := broken.readOnce(ctx, -1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := w.d.Redis.XLen(ctx, w.pipe.keys.dead).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("entry never dead-lettered")
		}
		time.Sleep(5 * time.Millisecond) // let the entry idle past ClaimIdle
		if _, err := broken.reclaimOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.metric("zsb_notify_dead_letters_total"); got != 1 {
		t.Errorf("dead-letter metric = %v, want 1", got)
	}
	if p, err := w.d.Redis.XPending(ctx, w.pipe.keys.stream, consumerGroup).Result(); err != nil || p.Count != 0 {
		t.Errorf("pending entries: %+v, %v; want none", p, err)
	}
}

// When Redis refuses the intake's own publish, the event is still applied
// and its entry goes back to the relay, which publishes it at its next pass
// instead of waiting for the re-drive.
func TestIntakePublishFailureGoesBackToTheRelay(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	ctx := context.Background()
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = down.Close() })
	d := w.d
	d.Redis = down
	cut, err := NewPipeline(d)
	if err != nil {
		t.Fatal(err)
	}
	if w.intake, err = intake.New(w.in, cut, nil); err != nil {
		t.Fatal(err)
	}
	w.item("GH-02", models.StatusAccepted, nil)
	if len(cut.relayKick) != 1 {
		t.Error("the relay was not nudged after the failed publish")
	}
	if n, err := w.d.Redis.XLen(ctx, w.pipe.keys.stream).Result(); err != nil || n != 0 {
		t.Fatalf("stream has %d entries (%v); the publish should have failed", n, err)
	}
	// No clock movement: the relay takes the entry back at once.
	if n, err := w.pipe.relay.relayOnce(ctx); err != nil || n != 1 {
		t.Fatalf("relay = %d, %v; want the handed-back entry", n, err)
	}
	w.drain()
	if n := len(w.delivered("tok-ent-demo")); n != 1 {
		t.Fatalf("%d pushes, want 1", n)
	}
}

// The claim takes the entry once, returns its payload, and on PostgreSQL
// leaves the transaction committing without waiting for the disk.
func TestClaimTakesTheEntryOnceAndRelaxesTheCommit(t *testing.T) {
	w := newWorld(t, 0)
	entry := models.OutboxEntry{EventID: "ev-claim", Kind: outbox.KindChange, ProjectID: "P1", Payload: `{"kind":"x"}`}
	if err := w.d.DB.Create(&entry).Error; err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		err := w.d.DB.Transaction(func(tx *gorm.DB) error {
			payload, ok, err := claim(tx, w.d.DB.Dialect, entry.ID, w.clock.Now())
			if err != nil {
				return err
			}
			if ok != want || (ok && payload != entry.Payload) {
				t.Errorf("claim %d = %q, %v; want ok %v", i+1, payload, ok, want)
			}
			if ok && w.d.DB.Dialect == "postgres" {
				var setting string
				if err := tx.Raw("SELECT current_setting('synchronous_commit')").Scan(&setting).Error; err != nil {
					return err
				}
				if setting != "off" {
					t.Errorf("synchronous_commit in the claiming transaction = %q, want off", setting)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var setting string
	if w.d.DB.Dialect == "postgres" {
		if err := w.d.DB.Raw("SELECT current_setting('synchronous_commit')").Scan(&setting).Error; err != nil || setting != "on" {
			t.Errorf("synchronous_commit outside the transaction = %q, %v; want on", setting, err)
		}
	}
}

// A reader hands a push due now to a free sender, leased to the instance;
// with every sender busy it does not wait: the push is planned for the
// dispatcher, unleased, and the dispatcher sends it.
func TestReadersNeverWaitForASender(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	ctx := context.Background()
	pool := &pooledSenders{p: w.pipe, slots: make(chan struct{}, 1), handed: make(chan []straight, 1)}
	w.pipe.cons.dv.senders = pool

	// The only sender is free: the first push is written leased and handed.
	w.item("GH-02", models.StatusAccepted, nil)
	if _, err := w.pipe.cons.readOnce(ctx, -1); err != nil {
		t.Fatal(err)
	}
	first := w.deliveryOf("GH-02")
	if w.d.DB.Dialect == "postgres" {
		if len(pool.handed) != 1 || len(pool.slots) != 1 {
			t.Fatalf("handed %d, slots taken %d; want the push handed to the one sender", len(pool.handed), len(pool.slots))
		}
		if first.LeaseUntil == nil || first.Attempts != 1 {
			t.Fatalf("handed delivery: lease %v, attempts %d; want leased with its attempt counted", first.LeaseUntil, first.Attempts)
		}
	}

	// The sender is still busy: the next entry is written all the same and
	// its push left unleased for the dispatcher.
	w.item("ST-01", models.StatusAccepted, nil)
	done := make(chan error, 1)
	go func() { _, err := w.pipe.cons.readOnce(ctx, -1); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reader waited for a sender")
	}
	second := w.deliveryOf("ST-01")
	if second.LeaseUntil != nil || second.Attempts != 0 {
		t.Fatalf("delivery with no sender free: lease %v, attempts %d; want unleased", second.LeaseUntil, second.Attempts)
	}
	// On SQLite nothing is planned leased: the dispatcher sends both.
	want := 2
	if w.d.DB.Dialect == "postgres" {
		want = 1 // the handed one waits for its sender
	}
	if _, n, err := w.pipe.dispatchDue(ctx, ctx, false); err != nil || n != want {
		t.Fatalf("dispatcher sent %d, %v; want %d", n, err, want)
	}
	if got := w.delivered("tok-ent-demo"); len(got) != want {
		t.Fatalf("%d pushes at the sink, want %d", len(got), want)
	}
	// The metric tells the two ways apart.
	toSender := counterValue(t, w.d.Metrics.handoffs.WithLabelValues("sender"))
	toDispatcher := counterValue(t, w.d.Metrics.handoffs.WithLabelValues("dispatcher"))
	if wantSender := float64(2 - want); toSender != wantSender || toDispatcher != float64(want) {
		t.Fatalf("handoffs: %v to a sender, %v to the dispatcher; want %v and %v", toSender, toDispatcher, wantSender, want)
	}
}

// The badge counts every unread notice, the one being pushed included.
func TestBadgeCountsEveryUnreadNotice(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	for i, code := range []string{"GH-02", "ST-01", "GH-02"} {
		w.item(code, []string{models.StatusAccepted, models.StatusAccepted, models.StatusApproved}[i], nil)
		w.drain() // one at a time: each push's count is then known
		got := w.delivered("tok-ent-demo")
		if len(got) != i+1 {
			t.Fatalf("after %d events the enterprise got %d pushes", i+1, len(got))
		}
		if want := strconv.Itoa(i + 1); got[i].Data["unread_count"] != want {
			t.Fatalf("push %d: unread_count %q, want %s", i+1, got[i].Data["unread_count"], want)
		}
	}
	if n := len(w.inbox(w.ent)); n != 3 {
		t.Fatalf("inbox has %d rows, want 3", n)
	}
}

// counterValue reads a counter as /metrics would show it.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
