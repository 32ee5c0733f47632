package store_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/store"
	"github.com/weifang/kaigong-zsb/testenv"
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

func TestUniqueViolation(t *testing.T) {
	db := testenv.DB(t)
	e := models.Enterprise{CreditCode: "91370700MA3DEMO001", Name: "x"}
	if err := db.Create(&e).Error; err != nil {
		t.Fatal(err)
	}
	err := db.Create(&models.Enterprise{CreditCode: "91370700MA3DEMO001", Name: "y"}).Error
	if !store.IsUniqueViolation(err) {
		t.Fatalf("IsUniqueViolation(%v) = false", err)
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
