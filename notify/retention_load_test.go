package notify

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/retention"
)

// tableCounts are the row counts of the tables that grow with every event.
type tableCounts struct {
	events, bodies, outbox, jobs, deliveries, attempts, notices int64
}

func (c tableCounts) String() string {
	return fmt.Sprintf("events %5d (bodies %4d)  outbox %4d  jobs %4d  deliveries %4d  attempts %4d  notices %4d",
		c.events, c.bodies, c.outbox, c.jobs, c.deliveries, c.attempts, c.notices)
}

func countTables(t testing.TB, db *store.DB) tableCounts {
	t.Helper()
	var c tableCounts
	for _, q := range []struct {
		n     *int64
		model any
		where string
	}{
		{&c.events, &models.Event{}, ""}, {&c.bodies, &models.Event{}, "payload <> ''"},
		{&c.outbox, &models.OutboxEntry{}, ""}, {&c.jobs, &models.PushJob{}, ""},
		{&c.deliveries, &models.PushDelivery{}, ""}, {&c.attempts, &models.PushAttempt{}, ""},
		{&c.notices, &models.Notification{}, ""},
	} {
		tx := db.Model(q.model)
		if q.where != "" {
			tx = tx.Where(q.where)
		}
		if err := tx.Count(q.n).Error; err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// Under a steady load the tables stop growing once their windows are full:
// a month of simulated days, each with the same number of upstream events
// pushed to a phone, then a pruning pass. The counts after each pass level
// off (only the events' rows, the timeline, keep growing, without their
// bodies), nothing pending is touched, and the badge still counts exactly
// the unread notices left.
func TestTablesStayFlatUnderSteadyLoad(t *testing.T) {
	const (
		days         = 30
		eventsPerDay = 40
	)
	w := newWorld(t, 0)
	ctx := context.Background()
	day := 24 * time.Hour
	p, err := retention.New(retention.Config{DB: w.d.DB, Redis: w.d.Redis, RedisPrefix: w.d.RedisPrefix, Now: w.clock.Now,
		Batch: 100, Windows: retention.Windows{EventBodies: 3 * day, Outbox: 2 * day, Push: 3 * day, Inbox: 7 * day, Warnings: 7 * day}})
	if err != nil {
		t.Fatal(err)
	}
	w.upsert(false)
	items := []string{"GH-02", "ST-01", "KG-01"}
	changes := map[string]int{}
	var after []tableCounts
	var log strings.Builder
	for d := 1; d <= days; d++ {
		for i := range eventsPerDay {
			// Each item's status alternates, so every event is a change (a
			// repeated status pushes nothing).
			item := items[i%len(items)]
			status := []string{models.StatusSubmitted, models.StatusWithdrawn}[changes[item]%2]
			changes[item]++
			w.item(item, status, nil)
			w.drain()                           // a reader takes one entry at a time
			w.clock.Add(day / 2 / eventsPerDay) // the day's events over its first half
		}
		w.clock.Add(day / 2)
		before := countTables(t, w.d.DB)
		removed, err := p.Prune(ctx)
		if err != nil {
			t.Fatalf("day %d: prune: %v", d, err)
		}
		now := countTables(t, w.d.DB)
		after = append(after, now)
		var n int64
		for _, r := range removed {
			n += r
		}
		fmt.Fprintf(&log, "day %2d  before: %s\n        after:  %s  (%d rows removed or bodies cleared)\n", d, before, now, n)
	}
	t.Logf("row counts over %d days of %d events a day, before and after each day's pruning pass:\n%s", days, eventsPerDay, log.String())

	if got := len(w.delivered("tok-ent-demo")); got < days*eventsPerDay {
		t.Fatalf("%d pushes for %d events", got, days*eventsPerDay)
	}
	// Once the longest window (the inbox's 7 days) is full, every table
	// but the timeline stays where it was: no more than a day's worth of
	// drift either way.
	settled := after[10]
	for d := 11; d < days; d++ {
		c := after[d]
		for name, pair := range map[string][2]int64{
			"bodies": {settled.bodies, c.bodies}, "outbox": {settled.outbox, c.outbox}, "jobs": {settled.jobs, c.jobs},
			"deliveries": {settled.deliveries, c.deliveries}, "attempts": {settled.attempts, c.attempts}, "notices": {settled.notices, c.notices},
		} {
			if diff := pair[1] - pair[0]; diff > eventsPerDay || diff < -eventsPerDay {
				t.Errorf("day %d: %s went from %d to %d under the same load", d+1, name, pair[0], pair[1])
			}
		}
	}
	last := after[days-1]
	if last.events != days*eventsPerDay+1 {
		t.Errorf("%d event rows, want every one kept (the timeline)", last.events)
	}
	if last.notices > 8*eventsPerDay || last.outbox > 3*eventsPerDay || last.attempts > 4*eventsPerDay {
		t.Errorf("more left than the windows hold: %s", last)
	}
	// Nothing the pipeline still needed was removed, and the badge counts
	// exactly the unread notices left.
	var open int64
	w.d.DB.Model(&models.OutboxEntry{}).Where("processed_at IS NULL").Count(&open)
	if open != 0 {
		t.Errorf("%d outbox entries unprocessed", open)
	}
	unread, err := store.Unread(w.d.DB.DB, w.ent.ID)
	if err != nil {
		t.Fatal(err)
	}
	var left int64
	w.d.DB.Model(&models.Notification{}).Where("user_id = ? AND read_at IS NULL", w.ent.ID).Count(&left)
	if unread != left {
		t.Errorf("badge %d, unread notices %d", unread, left)
	}
}
