package projectview_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/app"
	"github.com/weifang/kaigong-zsb/internal/projectview"
	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/internal/workdays"
	"github.com/weifang/kaigong-zsb/models"
)

// benchViews seeds the demo data into a private database and Redis prefix
// (the real servers when they answer, see testenv) and returns the views.
func benchViews(b *testing.B) *projectview.Views {
	b.Helper()
	db := testenv.DB(b)
	rdb, prefix := testenv.Redis(b)
	cat := models.DefaultCatalog()
	if err := app.SeedDemo(context.Background(), db, cat, "bench-password", workdays.DateOf(time.Now())); err != nil {
		b.Fatal(err)
	}
	cal, err := workdays.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	return projectview.New(db, rdb, prefix, cat, cal, nil, slog.New(slog.DiscardHandler))
}

// BenchmarkRefresh rebuilds and stores every view of the largest demo
// project: what the webhook intake does for each applied event before it
// answers 202 (three reads, the rules, four JSON bodies, one Redis script).
func BenchmarkRefresh(b *testing.B) {
	v := benchViews(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Refresh(ctx, "WF-DEMO-CIVIL"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetCached reads the progress view from the cache: the part of
// GET /v1/projects/{id}/progress after authentication.
func BenchmarkGetCached(b *testing.B) {
	v := benchViews(b)
	ctx := context.Background()
	if err := v.Refresh(ctx, "WF-DEMO-CIVIL"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			view, err := v.Get(ctx, "WF-DEMO-CIVIL", projectview.Progress)
			if err != nil || len(view.Body) == 0 {
				b.Fatal("no progress view", err)
			}
		}
	})
}
