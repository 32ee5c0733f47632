package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/internal/store"
)

// probeEvery is how often the dependency probe pings; probeTimeout bounds
// each ping, as /readyz does.
const (
	probeEvery   = 10 * time.Second
	probeTimeout = 2 * time.Second
)

// dependencyProbe pings the database and Redis every probeEvery and keeps
// zsb_dependency_up{dependency} at 1 while the last ping answered, else 0,
// so an instance that cannot reach one is seen without anyone calling
// /readyz. The database's label is its dialect: "postgres" in production.
type dependencyProbe struct {
	db  *store.DB
	rdb redis.UniversalClient
	up  *prometheus.GaugeVec
}

func newDependencyProbe(reg prometheus.Registerer, db *store.DB, rdb redis.UniversalClient) (*dependencyProbe, error) {
	p := &dependencyProbe{db: db, rdb: rdb, up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "zsb_dependency_up",
		Help: "1 while this instance's last probe of the dependency (postgres, sqlite in development, redis) succeeded, else 0.",
	}, []string{"dependency"})}
	return p, reg.Register(p.up)
}

// once pings each dependency and records the answers.
func (p *dependencyProbe) once(ctx context.Context) {
	ping := func(name string, f func(context.Context) error) {
		ctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		v := 1.0
		if f(ctx) != nil {
			v = 0
		}
		p.up.WithLabelValues(name).Set(v)
	}
	ping(p.db.Dialect, p.db.Ping)
	ping("redis", func(ctx context.Context) error { return p.rdb.Ping(ctx).Err() })
}

// run probes every probeEvery until ctx ends.
func (p *dependencyProbe) run(ctx context.Context) {
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		p.once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
