package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/models"
)

// TestMigrateTwice runs the migrations twice on each backend: a restart must
// find the schema in place and change nothing.
func TestMigrateTwice(t *testing.T) {
	urls := map[string]string{
		"configured": testenv.DatabaseURL(t),
		"sqlite":     "sqlite:///" + filepath.Join(t.TempDir(), "twice.db"),
	}
	for name, u := range urls {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for i := 0; i < 2; i++ {
				db, err := store.Open(ctx, u, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				if err := db.Migrate(ctx); err != nil {
					t.Fatalf("migration %d: %v", i+1, err)
				}
				if i == 0 {
					if err := db.Create(&models.Enterprise{CreditCode: "91370700MA3DEMO001", Name: "x"}).Error; err != nil {
						t.Fatal(err)
					}
				}
				var n int64
				if err := db.Model(&models.Enterprise{}).Count(&n).Error; err != nil || n != 1 {
					t.Fatalf("after migration %d: count=%d err=%v", i+1, n, err)
				}
				_ = db.Close()
			}
		})
	}
}

func TestOpenRejectsUnknownScheme(t *testing.T) {
	if _, err := store.Open(context.Background(), "mysql://x", nil); err == nil {
		t.Fatal("want an error for mysql://")
	}
	if _, err := store.Open(context.Background(), "sqlite://", nil); err == nil {
		t.Fatal("want an error for an empty sqlite path")
	}
}

// TestUnreadCounters: the counter moves with AddUnread, starts at 0 for a
// user without one, and a migration counts the unread notices of users who
// have none yet while leaving existing counters alone.
func TestUnreadCounters(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	if n, err := store.Unread(db.DB, 1); err != nil || n != 0 {
		t.Fatalf("no counter yet: %d %v", n, err)
	}
	for i, d := range []int64{1, 1, 1, -2} {
		n, err := store.AddUnread(db.DB, 1, d)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int64{1, 2, 3, 1}[i]; n != want {
			t.Fatalf("after step %d the counter answered %d, want %d", i+1, n, want)
		}
	}
	if n, _ := store.Unread(db.DB, 1); n != 1 {
		t.Fatalf("after +3 −2: %d", n)
	}
	// User 2 has three notices, one of them read, from before counters.
	now := time.Now().UTC()
	for i, read := range []bool{false, false, true} {
		n := models.Notification{ID: fmt.Sprintf("n-%d", i), UserID: 2, Category: "status", Title: "t", Body: "b", CreatedAt: now}
		if read {
			n.ReadAt = &now
		}
		if err := db.Create(&n).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := store.Unread(db.DB, 2); n != 2 {
		t.Fatalf("backfilled counter %d, want 2", n)
	}
	if n, _ := store.Unread(db.DB, 1); n != 1 {
		t.Fatalf("an existing counter changed in the migration: %d", n)
	}
}

func TestMigrateAddsTheDeadLetterMarkerTwice(t *testing.T) {
	db := testenv.DB(t)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("second migration: %v", err)
	}
	if !db.Migrator().HasColumn(&models.OutboxDeadLetter{}, "dead_at") {
		t.Fatal("outbox_entries has no dead_at")
	}
	for idx, table := range map[string]string{"idx_outbox_entries_dead_at": "outbox_entries",
		"idx_events_body_received": "events", "idx_notifications_created": "notifications"} {
		if !db.Migrator().HasIndex(table, idx) {
			t.Errorf("index %s missing", idx)
		}
	}
}
