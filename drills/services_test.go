package drills

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/internal/store"
)

// The shared servers of this machine and CI.
const (
	pgAdminURL     = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	sharedRedisURL = "redis://127.0.0.1:6379/0"
)

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// schema creates a fresh PostgreSQL schema for the drill, dropped at the
// end, and returns its name.
func schema(t *testing.T) string {
	t.Helper()
	name := "drill_" + randomHex(5)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := store.Open(ctx, pgAdminURL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("drills need PostgreSQL at 127.0.0.1:5432: %v", err)
	}
	if err := admin.Exec("CREATE SCHEMA " + name).Error; err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if err := admin.Exec("DROP SCHEMA " + name + " CASCADE").Error; err != nil {
			t.Logf("drop schema %s: %v", name, err)
		}
		_ = admin.Close()
	})
	return name
}

// databaseURL is the URL of schema on PostgreSQL at host:port.
func databaseURL(hostport, schema string) string {
	return "postgres://postgres@" + hostport + "/test?sslmode=disable&search_path=" + schema
}

// openDB connects the drill itself to schema, directly (never through a
// proxy the drill may cut), for its assertions.
func openDB(t *testing.T, schema string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), databaseURL("127.0.0.1:5432", schema), slog.New(slog.DiscardHandler))
	if err == nil {
		err = db.SetMaxConns(2) // its checks run one at a time
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// count runs a COUNT query on db.
func count(t *testing.T, db *store.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Raw(query, args...).Scan(&n).Error; err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// sharedRedis returns a client of the shared Redis and a fresh key prefix,
// whose keys are deleted at the end. FLUSHDB is never used: the server is
// shared.
func sharedRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	opts, err := redis.ParseURL(sharedRedisURL)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("drills need Redis at 127.0.0.1:6379: %v", err)
	}
	prefix := "drill:" + randomHex(5) + ":"
	t.Cleanup(func() {
		deletePrefix(context.Background(), c, prefix)
		_ = c.Close()
	})
	return c, prefix
}

// deletePrefix deletes every key under prefix and returns how many.
func deletePrefix(ctx context.Context, c redis.UniversalClient, prefix string) int {
	n := 0
	del := func(ctx context.Context, node *redis.Client) error {
		iter := node.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if node.Del(ctx, iter.Val()).Val() == 1 {
				n++
			}
		}
		return iter.Err()
	}
	switch c := c.(type) {
	case *redis.ClusterClient:
		var mu sync.Mutex
		_ = c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			mu.Lock()
			defer mu.Unlock()
			return del(ctx, node)
		})
	case *redis.Client:
		_ = del(ctx, c)
	}
	return n
}

// redisServer is a private redis-server process the drill may kill and
// restart on the same port, losing everything (no persistence).
type redisServer struct {
	t    *testing.T
	port int
	dir  string
	args []string
	p    *proc
}

func haveRedisServer(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed: %v", err)
	}
}

// startRedisServer runs redis-server on a free loopback port with extra
// arguments and waits until it answers.
func startRedisServer(t *testing.T, extra ...string) *redisServer {
	t.Helper()
	return startRedisServerOn(t, freePort(t), extra...)
}

func startRedisServerOn(t *testing.T, port int, extra ...string) *redisServer {
	t.Helper()
	haveRedisServer(t)
	s := &redisServer{t: t, port: port, dir: t.TempDir()}
	s.args = append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--dir", s.dir}, extra...)
	s.start()
	return s
}

func (s *redisServer) addr() string { return loopback(s.port) }

func (s *redisServer) start() {
	s.t.Helper()
	s.p = startProc(s.t, "redis-server:"+strconv.Itoa(s.port), "redis-server", s.args, nil, nil)
	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
	defer c.Close()
	eventually(s.t, 20*time.Second, "redis-server on "+s.addr(), func() (bool, string) {
		err := c.Ping(context.Background()).Err()
		return err == nil, fmt.Sprint(err)
	})
}

// crash kills the server; its data is gone (nothing is persisted).
func (s *redisServer) crash() { s.p.kill() }

// redisCluster starts a three-node Redis Cluster on loopback ports.
func redisCluster(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Fatalf("redis-cli is not installed: %v", err)
	}
	var addrs []string
	for range 3 {
		port := freePort(t)
		dir := t.TempDir()
		s := startRedisServerOn(t, port, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes-"+strconv.Itoa(port)+".conf"))
		addrs = append(addrs, s.addr())
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command("redis-cli", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer cc.Close()
	eventually(t, 30*time.Second, "the cluster to be ok", func() (bool, string) {
		info, err := cc.ClusterInfo(context.Background()).Result()
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(info, "cluster_state:ok"), info
	})
	return addrs
}
