package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/config"
	"github.com/weifang/kaigong-zsb/models"
)

// TestDevelopmentDefaultsTwice starts the service twice on the same data
// directory with nothing configured but the data directory and a free port,
// as `make run` does: the second start reuses the SQLite file and the
// signing key, and seeds nothing twice.
func TestDevelopmentDefaultsTwice(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"BFF_ADDR": "127.0.0.1:0", "BFF_DATA_DIR": dir, "BFF_ACCESS_LOG": "false"}
	cfg, err := config.Parse(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for i := 0; i < 2; i++ {
		a, err := Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("start %d: %v", i+1, err)
		}
		if a.DB.Dialect != "sqlite" || a.Redis.Embedded == nil || a.Sink == nil {
			t.Fatalf("start %d: not the embedded defaults: %s, %s", i+1, a.DB.Dialect, a.Redis.Desc)
		}
		var users, projects, states int64
		a.DB.Model(&models.User{}).Count(&users)
		a.DB.Model(&models.Project{}).Count(&projects)
		a.DB.Model(&models.ItemState{}).Count(&states)
		if users != 5 || projects != 3 || states == 0 {
			t.Fatalf("start %d: %d users, %d projects, %d item states", i+1, users, projects, states)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		res, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + a.Addr() + "/readyz")
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("start %d: readyz %v %v", i+1, err, res)
		}
		res.Body.Close()
		// The in-process Redis-protocol server carries the cache
		// invalidations too, so the in-process caches work with the
		// embedded defaults.
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(metricsText(t, a), "zsb_localcache_subscription_live 1") {
			if time.Now().After(deadline) {
				t.Fatalf("start %d: the invalidation subscription never went live", i+1)
			}
			time.Sleep(10 * time.Millisecond)
		}
		k, err := a.signingKeys()
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, k.IDs()[0])
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("start %d: run: %v", i+1, err)
		}
		if err := a.Close(); err != nil {
			t.Fatalf("start %d: close: %v", i+1, err)
		}
	}
	if tokens[0] != tokens[1] {
		t.Fatalf("the signing key changed between starts: %v", tokens)
	}
}

func TestOpenFailsCleanly(t *testing.T) {
	vars := map[string]string{"BFF_ADDR": "127.0.0.1:0", "BFF_DATA_DIR": t.TempDir(), "REDIS_URL": "redis://127.0.0.1:1/0"}
	cfg, err := config.Parse(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), cfg, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("Open succeeded with Redis unreachable")
	}
}

func metricsText(t *testing.T, a *App) string {
	t.Helper()
	res, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + a.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
