package notify

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/models"
)

// An entry whose relays are used up without it ever being processed (here
// every stream entry is lost before a reader takes it) becomes a dead
// letter: logged once, counted in zsb_outbox_dead_letters, listed, never
// relayed again on its own and never lost; a re-drive delivers it.
func TestOutboxDeadLetterIsCountedListedAndRedriven(t *testing.T) {
	w := newWorld(t, 0)
	ctx := context.Background()
	var logged bytes.Buffer
	w.pipe.relay.d.Log = slog.New(slog.NewTextHandler(&logged, nil))
	w.upsert(false)
	w.drain() // the project's own entry, if any, is processed
	w.item("GH-02", models.StatusSubmitted, nil)
	var entry models.OutboxEntry
	if err := w.d.DB.Where("processed_at IS NULL").Take(&entry).Error; err != nil {
		t.Fatal(err)
	}
	lose := func() {
		if err := w.d.Redis.Del(ctx, w.pipe.keys.stream).Err(); err != nil {
			t.Fatal(err)
		}
	}
	lose() // the intake's own hand-off
	redriveAfter := w.pipe.d.Settings.RedriveAfter
	for relays := entry.Attempts; relays < maxRelays; relays++ {
		w.clock.Add(redriveAfter + time.Second)
		if n, err := w.pipe.relay.relayOnce(ctx); err != nil || n != 1 {
			t.Fatalf("relay %d: relayed %d, err %v", relays+1, n, err)
		}
		lose()
		w.pipe.relay.backlog(ctx)
		if got := w.metric("zsb_outbox_dead_letters"); got != 0 {
			t.Fatalf("after relay %d of %d the entry counts as dead (%v)", relays+1, maxRelays, got)
		}
	}
	w.clock.Add(redriveAfter + time.Second)
	if n, err := w.pipe.relay.relayOnce(ctx); err != nil || n != 0 {
		t.Fatalf("an entry out of relays was relayed again (%d, %v)", n, err)
	}
	w.pipe.relay.backlog(ctx)
	w.pipe.relay.backlog(ctx) // a second sweep logs nothing more
	if got := w.metric("zsb_outbox_dead_letters"); got != 1 {
		t.Fatalf("zsb_outbox_dead_letters = %v, want 1", got)
	}
	if n := strings.Count(logged.String(), "dead letter"); n != 1 ||
		!strings.Contains(logged.String(), "outbox_id="+strconv.FormatInt(entry.ID, 10)) {
		t.Fatalf("want one dead-letter log line naming the entry, got:\n%s", logged.String())
	}
	list, err := ListDeadLetters(ctx, w.d.DB, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != entry.ID || list[0].DeadAt == nil || list[0].Attempts != maxRelays {
		t.Fatalf("dead letters = %+v", list)
	}
	if len(w.delivered("tok-ent-demo")) != 0 {
		t.Fatal("a dead letter was pushed")
	}

	// Naming an entry that is not a dead letter re-drives nothing.
	if n, err := Redrive(ctx, w.d.DB, []int64{entry.ID + 1000}); err != nil || n != 0 {
		t.Fatalf("re-drive of an unknown id: %d, %v", n, err)
	}
	if n, err := Redrive(ctx, w.d.DB, []int64{entry.ID}); err != nil || n != 1 {
		t.Fatalf("re-drive: %d, %v", n, err)
	}
	w.drain()
	if got := len(w.delivered("tok-ent-demo")); got != 1 {
		t.Fatalf("%d pushes after the re-drive, want 1", got)
	}
	w.pipe.relay.backlog(ctx)
	if got := w.metric("zsb_outbox_dead_letters"); got != 0 {
		t.Fatalf("zsb_outbox_dead_letters = %v after the re-drive, want 0", got)
	}
	if n, _ := CountDeadLetters(ctx, w.d.DB); n != 0 {
		t.Fatalf("%d dead letters left", n)
	}
}

// Redrive with no ids takes every dead letter, in bounded statements.
func TestRedriveAll(t *testing.T) {
	w := newWorld(t, 0)
	ctx := context.Background()
	old := w.clock.Now().Add(-time.Hour).UTC()
	const n = deadBatch + 3
	rows := make([]models.OutboxEntry, n)
	for i := range rows {
		rows[i] = models.OutboxEntry{EventID: "ev-dead-" + strconv.Itoa(i), Kind: "change", ProjectID: "P", Payload: "{}",
			RelayedAt: &old, Attempts: maxRelays}
	}
	if err := w.d.DB.CreateInBatches(rows, 200).Error; err != nil {
		t.Fatal(err)
	}
	if marked, err := w.pipe.relay.deadSweep(ctx); err != nil || marked != n {
		t.Fatalf("swept %d, %v; want %d", marked, err, n)
	}
	if got, err := Redrive(ctx, w.d.DB, nil); err != nil || got != n {
		t.Fatalf("re-drove %d, %v; want %d", got, err, n)
	}
	var left int64
	w.d.DB.Model(&models.OutboxEntry{}).Where("dead_at IS NOT NULL OR attempts > 0 OR relayed_at IS NOT NULL").Count(&left)
	if left != 0 {
		t.Fatalf("%d entries still marked after re-driving all", left)
	}
}
