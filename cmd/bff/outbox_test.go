package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/config"
	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/models"
)

func TestOutboxCommand(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("BFF_SEED_DEMO", "false")
	cfg, err := config.Parse(os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	long := time.Now().Add(-time.Hour).UTC()
	entries := []models.OutboxEntry{
		{EventID: "ev-dead-1", Kind: "change", ProjectID: "WF-1", Payload: "{}", RelayedAt: &long, Attempts: 10},
		{EventID: "ev-dead-2", Kind: "deadline", ProjectID: "WF-2", Payload: "{}", RelayedAt: &long, Attempts: 10},
		{EventID: "ev-done", Kind: "change", ProjectID: "WF-1", Payload: "{}", RelayedAt: &long, Attempts: 1, ProcessedAt: &long},
	}
	if err := db.Create(&entries).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Table("outbox_entries").Where("event_id LIKE ?", "ev-dead-%").Update("dead_at", long).Error; err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := outboxCommand(ctx, cfg, args, &out); err != nil {
			t.Fatalf("bff outbox %v: %v", args, err)
		}
		return out.String()
	}
	out := run("list")
	if !strings.HasPrefix(out, "dead letters: 2") || !strings.Contains(out, "ev-dead-1") || !strings.Contains(out, "ev-dead-2") ||
		strings.Contains(out, "ev-done") {
		t.Fatalf("list:\n%s", out)
	}
	if out := run("list", "-limit", "1"); !strings.Contains(out, "the oldest 1 shown") || strings.Contains(out, "ev-dead-2") {
		t.Fatalf("list -limit 1:\n%s", out)
	}
	first := strconv.FormatInt(entries[0].ID, 10)
	done := strconv.FormatInt(entries[2].ID, 10)
	if out := run("redrive", "-id", first+","+done); !strings.HasPrefix(out, "re-drove 1 of 2") {
		t.Fatalf("redrive -id: %s", out)
	}
	var e models.OutboxEntry
	db.Take(&e, entries[0].ID)
	if e.Attempts != 0 || e.RelayedAt != nil || e.ProcessedAt != nil {
		t.Fatalf("re-driven entry not given back to the relay: %+v", e)
	}
	if out := run("list"); !strings.HasPrefix(out, "dead letters: 1") || strings.Contains(out, "ev-dead-1") {
		t.Fatalf("list after redrive:\n%s", out)
	}
	if out := run("redrive", "-all"); out != "re-drove 1 dead letter(s)\n" {
		t.Fatalf("redrive -all: %q", out)
	}
	if out := run("list"); out != "dead letters: 0\n" {
		t.Fatalf("list at the end: %q", out)
	}
	for _, bad := range [][]string{{"redrive"}, {"redrive", "-all", "-id", "1"}, {"redrive", "-id", "x"}, {"purge"}, {}} {
		if err := outboxCommand(ctx, cfg, bad, &bytes.Buffer{}); err == nil {
			t.Errorf("bff outbox %v succeeded", bad)
		}
	}
}
