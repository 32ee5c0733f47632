package app

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/internal/testenv"
)

// zsb_dependency_up follows each dependency's last ping: 1 while it
// answers, 0 once it does not.
func TestDependencyProbe(t *testing.T) {
	db := testenv.DB(t)
	rdb, _ := testenv.Redis(t)
	reg := prometheus.NewRegistry()
	p, err := newDependencyProbe(reg, db, rdb)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p.once(ctx)
	for _, dep := range []string{db.Dialect, "redis"} {
		if v := gauge(t, reg, dep); v != 1 {
			t.Errorf("%s up = %v while it answers, want 1", dep, v)
		}
	}
	p.rdb = redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer p.rdb.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	p.once(ctx)
	for _, dep := range []string{db.Dialect, "redis"} {
		if v := gauge(t, reg, dep); v != 0 {
			t.Errorf("%s up = %v while it is unreachable, want 0", dep, v)
		}
	}
}

// gauge reads zsb_dependency_up{dependency=dep} from reg.
func gauge(t *testing.T, reg *prometheus.Registry, dep string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "zsb_dependency_up" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "dependency" && l.GetValue() == dep {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no zsb_dependency_up{dependency=%q}", dep)
	return 0
}
