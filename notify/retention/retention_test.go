package retention

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/models"
)

// now is the tests' clock: 2026-06-01 10:00 in Weifang.
var now = time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)

func ago(days int) time.Time { return now.Add(-time.Duration(days) * 24 * time.Hour) }

func tenDays() Windows {
	d := 10 * 24 * time.Hour
	return Windows{EventBodies: d, Outbox: d, Push: d, Inbox: d, Warnings: d}
}

func create(t *testing.T, db *store.DB, rows ...any) {
	t.Helper()
	for _, r := range rows {
		if err := db.Create(r).Error; err != nil {
			t.Fatal(err)
		}
	}
}

func count(t *testing.T, db *store.DB, model any, where string, args ...any) int64 {
	t.Helper()
	var n int64
	q := db.Model(model)
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// Every kind of row past its window goes, in batches; what the pipeline
// or a user still needs stays, however old.
func TestPruneRemovesWhatIsPastItsWindowAndNothingElse(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	ptr := func(t time.Time) *time.Time { t = t.UTC(); return &t }

	// Outbox: four processed long ago go; processed lately, unprocessed
	// and a dead letter stay.
	for i := range 4 {
		create(t, db, &models.OutboxEntry{EventID: fmt.Sprintf("old-%d", i), Kind: "change", ProjectID: "P", Payload: "{}", ProcessedAt: ptr(ago(20))})
	}
	create(t, db,
		&models.OutboxEntry{EventID: "recent", Kind: "change", ProjectID: "P", Payload: "{}", ProcessedAt: ptr(ago(1))},
		&models.OutboxEntry{EventID: "unprocessed", Kind: "change", ProjectID: "P", Payload: "{}", RelayedAt: ptr(ago(30)), Attempts: 3},
		&models.OutboxEntry{EventID: "dead", Kind: "change", ProjectID: "P", Payload: "{}", RelayedAt: ptr(ago(30)), Attempts: 10})
	if err := db.Table("outbox_entries").Where("event_id = ?", "dead").Update("dead_at", ago(29)).Error; err != nil {
		t.Fatal(err)
	}

	// Events: old bodies are cleared, the rows stay.
	for i := range 4 {
		create(t, db, &models.Event{EventID: fmt.Sprintf("ev-old-%d", i), ProjectID: "P", Sequence: int64(i), Type: "item.status_changed",
			Result: "applied", OccurredAt: ago(20), ReceivedAt: ago(20), Payload: `{"raw":true}`})
	}
	create(t, db, &models.Event{EventID: "ev-new", ProjectID: "P", Sequence: 9, Type: "item.status_changed",
		Result: "applied", OccurredAt: ago(1), ReceivedAt: ago(1), Payload: `{"raw":true}`})

	// Push attempts: five old, two new.
	for i := range 7 {
		at := ago(20)
		if i >= 5 {
			at = ago(1)
		}
		create(t, db, &models.PushAttempt{NotificationID: "n", InstallationID: "i", Attempt: i + 1, Outcome: "sent", CreatedAt: at.UTC()})
	}

	// Deliveries: finished old ones go; a pending one stays however old.
	for i, st := range []string{models.DeliverySent, models.DeliveryFailed, models.DeliveryDeactivated, models.DeliveryPending} {
		create(t, db, &models.PushDelivery{NotificationID: fmt.Sprintf("n-%d", i), InstallationID: "i", State: st,
			NextAt: ago(20).UTC(), Payload: "{}", ReceivedAt: ago(20).UTC()})
	}
	create(t, db, &models.PushDelivery{NotificationID: "n-new", InstallationID: "i", State: models.DeliverySent,
		NextAt: ago(1).UTC(), Payload: "{}", ReceivedAt: ago(1).UTC()})

	// Push jobs: done and merged old ones go; pending stays.
	for i, st := range []string{models.PushJobDone, models.PushJobMerged, models.PushJobPending} {
		create(t, db, &models.PushJob{NotificationID: fmt.Sprintf("j-%d", i), UserID: 1, State: st, DueAt: ago(20).UTC(), ReceivedAt: ago(20).UTC()})
	}
	create(t, db, &models.PushJob{NotificationID: "j-new", UserID: 1, State: models.PushJobDone, DueAt: ago(1).UTC(), ReceivedAt: ago(1).UTC()})

	// Inbox: user 1 has two old unread, one old read and one new unread
	// notice (unread count 3); user 2 one old read notice.
	note := func(id string, user int64, at time.Time, read bool) *models.Notification {
		n := &models.Notification{ID: id, UserID: user, Category: "progress", Title: "t", Body: "b", CreatedAt: at.UTC()}
		if read {
			n.ReadAt = ptr(at)
		}
		return n
	}
	create(t, db, note("u1-a", 1, ago(200), false), note("u1-b", 1, ago(11), false), note("u1-c", 1, ago(50), true),
		note("u1-new", 1, ago(1), false), note("u2-a", 2, ago(30), true),
		&models.InboxCounter{UserID: 1, Unread: 3}, &models.InboxCounter{UserID: 2, Unread: 0})

	// Deadline warnings.
	day := func(t time.Time) string { return t.In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly) }
	create(t, db,
		&models.ItemState{ProjectID: "P1", ItemCode: "A", Status: models.StatusApproved},
		&models.ItemState{ProjectID: "P1", ItemCode: "B", Status: models.StatusAccepted},
		&models.ItemState{ProjectID: "P2", ItemCode: "A", Status: models.StatusRejected},
		&models.DeadlineWarning{ProjectID: "P1", ItemCode: "A", Kind: warningDueSoon, Day: day(ago(20))}, // goes: its day is past
		&models.DeadlineWarning{ProjectID: "P1", ItemCode: "A", Kind: warningOverdue, Day: day(ago(20))}, // goes: A is decided
		&models.DeadlineWarning{ProjectID: "P1", ItemCode: "B", Kind: warningOverdue, Day: day(ago(20))}, // stays: B's clock runs
		&models.DeadlineWarning{ProjectID: "P1", ItemCode: "", Kind: warningOverdue, Day: day(ago(20))},  // stays: P1's main flow runs
		&models.DeadlineWarning{ProjectID: "P2", ItemCode: "", Kind: warningOverdue, Day: day(ago(20))},  // goes: P2's flow stopped
		&models.DeadlineWarning{ProjectID: "P1", ItemCode: "B", Kind: warningDueSoon, Day: day(ago(2))},  // stays: inside the window
	)

	// Windows of 0 keep everything.
	keep, err := New(Config{DB: db, Now: func() time.Time { return now }, Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := keep.Prune(ctx); err != nil || total(c) != 0 {
		t.Fatalf("zero windows pruned %v (%v)", c, err)
	}

	p, err := New(Config{DB: db, Now: func() time.Time { return now }, Windows: tenDays(), Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := Counts{TableOutbox: 4, TableEventBodies: 4, TablePushAttempts: 5, TablePushDeliver: 3, TablePushJobs: 2,
		TableNotifications: 4, TableWarnings: 3}
	for table, n := range want {
		if got[table] != n {
			t.Errorf("%s: removed %d, want %d", table, got[table], n)
		}
	}
	if n := count(t, db, &models.OutboxEntry{}, "event_id IN ?", []string{"recent", "unprocessed", "dead"}); n != 3 {
		t.Errorf("%d of the outbox entries to keep are left, want 3", n)
	}
	if n := count(t, db, &models.Event{}, ""); n != 5 {
		t.Errorf("%d event rows, want all 5 (only bodies go)", n)
	}
	if n := count(t, db, &models.Event{}, "payload <> ''"); n != 1 {
		t.Errorf("%d event bodies left, want 1", n)
	}
	if n := count(t, db, &models.PushDelivery{}, "state = ? OR notification_id = ?", models.DeliveryPending, "n-new"); n != 2 {
		t.Errorf("the pending and the recent delivery: %d left, want 2", n)
	}
	if n := count(t, db, &models.PushJob{}, ""); n != 2 {
		t.Errorf("%d push jobs left, want the pending and the recent one", n)
	}
	if n := count(t, db, &models.Notification{}, ""); n != 1 {
		t.Errorf("%d notices left, want the recent one", n)
	}
	for user, want := range map[int64]int64{1: 1, 2: 0} {
		if n, err := store.Unread(db.DB, user); err != nil || n != want {
			t.Errorf("user %d: unread %d (%v), want %d", user, n, err, want)
		}
	}
	var warnings []models.DeadlineWarning
	db.Order("project_id, item_code, kind, day").Find(&warnings)
	if len(warnings) != 3 {
		t.Errorf("warnings left: %+v, want P1/B overdue, P1 main flow and the recent one", warnings)
	}
	for _, w := range warnings {
		if w.ProjectID != "P1" || (w.ItemCode == "A") {
			t.Errorf("warning kept that may go: %+v", w)
		}
	}

	// A second pass finds nothing more.
	if again, err := p.Prune(ctx); err != nil || total(again) != 0 {
		t.Fatalf("second pass removed %v (%v)", again, err)
	}
}

// One instance prunes at a time: while another holds the lock, a pass is
// skipped, and it runs once the holder has let go.
func TestOnlyTheLockHolderPrunes(t *testing.T) {
	db := testenv.DB(t)
	rdb, prefix := testenv.Redis(t)
	ctx := context.Background()
	create(t, db, &models.PushAttempt{NotificationID: "n", InstallationID: "i", Attempt: 1, Outcome: "sent", CreatedAt: ago(20)})
	cfg := Config{DB: db, Redis: rdb, RedisPrefix: prefix, Now: func() time.Time { return now }, Windows: tenDays()}
	holder, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if held, err := holder.lock.Acquire(ctx); err != nil || !held {
		t.Fatalf("acquire: %v %v", held, err)
	}
	if _, err := other.Prune(ctx); !errors.Is(err, ErrLocked) {
		t.Fatalf("pass beside the holder: err %v, want ErrLocked", err)
	}
	if n := count(t, db, &models.PushAttempt{}, ""); n != 1 {
		t.Fatal("pruned without the lock")
	}
	if err := holder.lock.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if c, err := other.Prune(ctx); err != nil || c[TablePushAttempts] != 1 {
		t.Fatalf("pass after release: %v, %v", c, err)
	}
	// The pass let go of the lock: the first pruner can take it again.
	if held, err := holder.lock.Acquire(ctx); err != nil || !held {
		t.Fatalf("lock not released after the pass: %v %v", held, err)
	}
}
