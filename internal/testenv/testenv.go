// Package testenv gives tests the real backing services, isolated: each test
// gets its own PostgreSQL schema and its own Redis key prefix, dropped when
// the test ends, so the suite can run again and again on the same servers.
//
// TEST_DATABASE_URL and TEST_REDIS_URL name the servers (default: the local
// PostgreSQL database "test" and Redis on 6379). When TEST_REQUIRE_SERVICES=1
// (as in CI) an unreachable server fails the test; otherwise the test falls
// back to SQLite and an in-process Redis-protocol server and says so.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/internal/store"
)

// DefaultDatabaseURL and DefaultRedisURL are the servers this machine runs.
const (
	DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
)

var (
	probeOnce       sync.Once
	pgOK, redisOK   bool
	pgErr, redisErr error
	databaseURL     = envOr("TEST_DATABASE_URL", DefaultDatabaseURL)
	redisURL        = envOr("TEST_REDIS_URL", DefaultRedisURL)
	requireServices = os.Getenv("TEST_REQUIRE_SERVICES") == "1"
	// TEST_DATABASE_URL=sqlite runs the tests on SQLite by choice, so the
	// SQLite form of every dialect-specific statement is tested too.
	sqliteChosen     = databaseURL == "sqlite"
	reportedBackends sync.Once
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func probe() {
	probeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if sqliteChosen {
			pgErr = errors.New("SQLite chosen by TEST_DATABASE_URL")
		} else if db, err := store.Open(ctx, databaseURL, nil); err == nil {
			pgOK = true
			_ = db.Close()
		} else {
			pgErr = err
		}
		opts, err := redis.ParseURL(redisURL)
		if err == nil {
			c := redis.NewClient(opts)
			err = c.Ping(ctx).Err()
			_ = c.Close()
		}
		redisOK, redisErr = err == nil, err
	})
}

// Backends says which servers tests in this process use.
func Backends() string {
	probe()
	pg, rd := "postgresql "+redact(databaseURL), "redis "+redisURL
	switch {
	case sqliteChosen:
		pg = "sqlite (chosen)"
	case !pgOK:
		pg = fmt.Sprintf("sqlite (postgresql unreachable: %v)", pgErr)
	}
	if !redisOK {
		rd = fmt.Sprintf("in-process redis (redis unreachable: %v)", redisErr)
	}
	return pg + "; " + rd
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable url)"
	}
	return u.Redacted()
}

func report(tb testing.TB) {
	reportedBackends.Do(func() { fmt.Fprintf(os.Stderr, "testenv: backends: %s\n", Backends()) })
}

// RandomSuffix returns a short random hex string for names and prefixes.
func RandomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// DatabaseURL returns a database URL private to this test (a fresh schema on
// PostgreSQL, a fresh file on SQLite), dropped at the end of the test. The
// schema is empty; callers migrate.
func DatabaseURL(tb testing.TB) string {
	tb.Helper()
	probe()
	report(tb)
	if !pgOK {
		if requireServices && !sqliteChosen {
			tb.Fatalf("testenv: PostgreSQL is required (TEST_REQUIRE_SERVICES=1) but unreachable: %v", pgErr)
		}
		return "sqlite:///" + filepath.Join(tb.TempDir(), "test.db")
	}
	schema := "t_" + RandomSuffix()
	ctx := context.Background()
	admin, err := store.Open(ctx, databaseURL, nil)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		tb.Fatalf("testenv: create schema: %v", err)
	}
	tb.Cleanup(func() {
		if err := admin.Exec("DROP SCHEMA " + schema + " CASCADE").Error; err != nil {
			tb.Logf("testenv: drop schema %s: %v", schema, err)
		}
		_ = admin.Close()
	})
	sep := "?"
	if strings.Contains(databaseURL, "?") {
		sep = "&"
	}
	return databaseURL + sep + "search_path=" + schema
}

// DB opens and migrates a database private to this test.
func DB(tb testing.TB) *store.DB {
	tb.Helper()
	return DBWith(tb, "")
}

// DBWith is DB with pgParams (e.g. "timezone=Asia/Tokyo") added to the
// PostgreSQL connection URL; on SQLite they are ignored.
func DBWith(tb testing.TB, pgParams string) *store.DB {
	tb.Helper()
	url := DatabaseURL(tb)
	if pgParams != "" && strings.HasPrefix(url, "postgres") {
		url += "&" + pgParams
	}
	db, err := store.Open(context.Background(), url, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatalf("testenv: open: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		tb.Fatalf("testenv: migrate: %v", err)
	}
	return db
}

// Gorm is DB(tb).DB, for packages that want the plain gorm handle.
func Gorm(tb testing.TB) *gorm.DB {
	tb.Helper()
	return DB(tb).DB
}

// RedisURL returns the URL of the Redis tests should use: the real server,
// or (when it is unreachable and not required) a fresh in-process server.
func RedisURL(tb testing.TB) string {
	tb.Helper()
	probe()
	report(tb)
	if redisOK {
		return redisURL
	}
	if requireServices {
		tb.Fatalf("testenv: Redis is required (TEST_REQUIRE_SERVICES=1) but unreachable: %v", redisErr)
	}
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		tb.Fatalf("testenv: in-process redis: %v", err)
	}
	tb.Cleanup(m.Close)
	return "redis://" + m.Addr() + "/0"
}

// Redis returns a client and a key prefix private to this test; every key
// under the prefix is deleted when the test ends.
func Redis(tb testing.TB) (redis.UniversalClient, string) {
	tb.Helper()
	opts, err := redis.ParseURL(RedisURL(tb))
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	c := redis.NewClient(opts)
	prefix := "test:" + RandomSuffix() + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			_ = c.Del(ctx, keys...).Err()
		}
		_ = c.Close()
	})
	return c, prefix
}

// FlushPrefix deletes every key under prefix on the Redis at url, for tests
// that run a whole app with its own prefix: the shared server is left as it
// was found. An empty url (an in-process server that is gone) does nothing.
func FlushPrefix(tb testing.TB, url, prefix string) {
	tb.Helper()
	if url == "" {
		return
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Errorf("testenv: flush: %v", err)
		return
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
}
