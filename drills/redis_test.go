package drills

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/models"
)

// TestRedisLosesEverything loses Redis's whole data set in the middle of a
// run of 300 changes: once by deleting every key under the instance's
// prefix on the shared server (Redis "restarted empty"), once by killing a
// private redis-server and starting it again empty on the same port. While
// the private server is down /readyz names Redis and reads answer from the
// database; afterwards the read cache is rebuilt and no notification is
// lost.
func TestRedisLosesEverything(t *testing.T) {
	drill(t)
	t.Run("keys deleted on the shared server", func(t *testing.T) {
		t.Parallel()
		s := newStack(t)
		rdb, _ := sharedRedis(t)
		redisLoss(t, s, func(b *bff, ph phone) {
			n := deletePrefix(context.Background(), rdb, s.prefix)
			t.Logf("deleted %d keys under %s", n, s.prefix)
			if n == 0 {
				t.Errorf("nothing to delete under %s: the BFF kept nothing in Redis?", s.prefix)
			}
			b.must("GET", "/readyz", "", nil, 200)
			b.must("GET", "/v1/projects/"+civil+"/progress", ph.access, nil, 200)
		}, rdb)
	})
	t.Run("private server killed and restarted empty", func(t *testing.T) {
		t.Parallel()
		s := newStack(t)
		rs := startRedisServer(t)
		s.redisURL = "redis://" + rs.addr() + "/0"
		rdb := redis.NewClient(&redis.Options{Addr: rs.addr()})
		t.Cleanup(func() { _ = rdb.Close() })
		redisLoss(t, s, func(b *bff, ph phone) {
			rs.crash()
			r := b.must("GET", "/readyz", "", nil, 503)
			if !strings.Contains(string(r.body), `"redis":"unreachable`) || !strings.Contains(string(r.body), `"database":"ok"`) {
				t.Errorf("/readyz with Redis down: %s", r)
			}
			// Reads keep answering from the database.
			for _, path := range []string{"/v1/projects/" + civil + "/progress", "/v1/projects", "/v1/me/notifications"} {
				if r, err := b.call("GET", path, ph.access, nil); err != nil || r.status != 200 {
					t.Errorf("GET %s with Redis down: %v %v — reads must keep answering from the database", path, r, err)
				}
			}
			time.Sleep(3 * time.Second) // the pipeline runs into the outage for a while
			rs.start()
			eventually(t, time.Minute, "/readyz after Redis came back", func() (bool, string) {
				r, err := b.call("GET", "/readyz", "", nil)
				return err == nil && r.status == 200, r.String()
			})
		}, rdb)
	})
}

// redisLoss runs 300 changes, calls lose once pushes flow, and checks that
// everything is delivered and the cache is rebuilt afterwards.
func redisLoss(t *testing.T, s *stack, lose func(*bff, phone), rdb redis.UniversalClient) {
	t.Helper()
	b := s.startBFF("bff")
	ent := b.phoneFor("ent-demo")
	agent := b.phoneFor("agent-county")
	b.must("GET", "/v1/projects/"+civil+"/progress", ent.access, nil, 200) // fill the cache

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 4))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	done := make(chan map[string]string, 1)
	go func() {
		done <- sendAll(ctx, t, func() *bff { return b },
			eventPlan(civil, models.ProjectCivil, "redis", 1, 150, rng),
			eventPlan(industrial, models.ProjectIndustrial, "redis", 1, 150, rng))
	}()
	eventually(t, 2*time.Minute, "pushes to flow", func() (bool, string) {
		n := len(delivered(s.sink.messages())[ent.token])
		return n >= 40, itoa(int64(n))
	})
	lose(b, ent)
	for id, res := range <-done {
		if res != "applied" && res != "duplicate" {
			t.Errorf("event %s: %q", id, res)
		}
	}
	rep := s.waitDelivered(t, 4*time.Minute, map[string][]phone{civil: {ent}, industrial: {ent, agent}})
	t.Logf("after the loss: %s", rep)

	// The read cache is rebuilt on the next read and agrees with the
	// database.
	var p struct {
		Version int64 `json:"version"`
	}
	b.must("GET", "/v1/projects/"+civil+"/progress", ent.access, nil, 200).decode(t, &p)
	if v, _ := s.projectVersion(civil); p.Version != v {
		t.Errorf("progress version %d, database %d", p.Version, v)
	}
	eventually(t, 30*time.Second, "the progress cache to be rebuilt", func() (bool, string) {
		n, err := rdb.Exists(context.Background(), s.prefix+"{pv:"+civil+"}").Result()
		return err == nil && n == 1, "no cache entry " + s.prefix + "{pv:" + civil + "}"
	})
	// The session survived: an access token issued before the loss works.
	b.must("GET", "/v1/me", ent.access, nil, 200)
}
