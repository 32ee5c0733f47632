package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/redis/go-redis/v9"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/models"
)

const redisAddr = "127.0.0.1:6379"

// testRedis connects to the real Redis and returns a client and a key prefix
// unique to this test; every key under the prefix is deleted afterwards.
// There is no skipping: these tests exist to run against Redis.
func testRedis(tb testing.TB) (redis.UniversalClient, string) {
	tb.Helper()
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{redisAddr}})
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		tb.Fatalf("Redis at %s is required for this test: %v", redisAddr, err)
	}
	prefix := "test:auth:" + randHex(tb, 8) + ":"
	tb.Cleanup(func() {
		var keys []string
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("scan test keys: %v", err)
		}
		for _, k := range keys {
			rdb.Del(ctx, k)
		}
		rdb.Close()
	})
	return rdb, prefix
}

func randHex(tb testing.TB, n int) string {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// testSQLite returns a migrated SQLite database in a temporary directory.
func testSQLite(tb testing.TB) *gorm.DB {
	tb.Helper()
	db := openSQLite(tb, filepath.Join(tb.TempDir(), "test.db"))
	migrate(tb, db)
	return db
}

// openSQLite opens the SQLite database at path; two handles on one file
// have separate gorm callbacks.
func openSQLite(tb testing.TB, path string) *gorm.DB {
	tb.Helper()
	db, err := gorm.Open(sqlite.Open(path+"?_pragma=busy_timeout(5000)"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		tb.Fatalf("open sqlite: %v", err)
	}
	tb.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return db
}

// testPostgres returns a migrated PostgreSQL database confined to a schema of
// its own, dropped afterwards.
func testPostgres(tb testing.TB) *gorm.DB {
	tb.Helper()
	var admin *gorm.DB
	var dsn string
	var errs []error
	for _, user := range []string{"postgres", "root"} {
		dsn = fmt.Sprintf("host=127.0.0.1 port=5432 user=%s dbname=test sslmode=disable", user)
		db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard})
		if err == nil {
			err = db.Exec("SELECT 1").Error
		}
		if err == nil {
			admin = db
			break
		}
		errs = append(errs, err)
	}
	if admin == nil {
		tb.Fatalf("PostgreSQL at 127.0.0.1:5432 is required for this test: %v", errors.Join(errs...))
	}
	schema := "auth_test_" + randHex(tb, 6)
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	db, err := gorm.Open(postgres.Open(dsn+" search_path="+schema), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		tb.Fatalf("open postgres: %v", err)
	}
	tb.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		if sqlDB, err := admin.DB(); err == nil {
			sqlDB.Close()
		}
	})
	migrate(tb, db)
	return db
}

func migrate(tb testing.TB, db *gorm.DB) {
	tb.Helper()
	if err := db.AutoMigrate(&models.Enterprise{}, &models.User{}, &models.Project{}, &models.ProjectAgent{}); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
}

func testKeys(tb testing.TB, kids ...string) Keys {
	tb.Helper()
	s := ""
	for i, kid := range kids {
		e, err := GenerateKeyEntry(kid)
		if err != nil {
			tb.Fatal(err)
		}
		if i > 0 {
			s += ","
		}
		s += e
	}
	ks, err := ParseSigningKeys(s)
	if err != nil {
		tb.Fatal(err)
	}
	return ks
}

// tokenEnv is a Tokens wired to real Redis, a test clock and an in-memory
// user table.
type tokenEnv struct {
	tokens *Tokens
	clock  *testenv.Clock
	rdb    redis.UniversalClient
	prefix string
	users  *memUsers
}

// memUsers is a working in-memory UserLookup.
type memUsers struct {
	mu sync.Mutex
	m  map[int64]models.User
}

func (u *memUsers) put(user models.User) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.m[user.ID] = user
}

func (u *memUsers) lookup(_ context.Context, id int64) (models.User, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	user, ok := u.m[id]
	if !ok {
		return models.User{}, models.ErrNotFound
	}
	return user, nil
}

func newTokenEnv(tb testing.TB) *tokenEnv {
	tb.Helper()
	rdb, prefix := testRedis(tb)
	return newTokenEnvWith(tb, rdb, prefix)
}

func newTokenEnvWith(tb testing.TB, rdb redis.UniversalClient, prefix string) *tokenEnv {
	tb.Helper()
	env := &tokenEnv{clock: testenv.NewClock(time.Now().Truncate(time.Second)), rdb: rdb, prefix: prefix, users: &memUsers{m: map[int64]models.User{}}}
	tokens, err := NewTokens(TokensConfig{
		Keys:     testKeys(tb, "k2", "k1"),
		Redis:    rdb,
		Prefix:   prefix,
		Issuer:   "https://bff.test",
		Audience: "zsb-app",
		Now:      env.clock.Now,
		Users:    env.users.lookup,
	})
	if err != nil {
		tb.Fatalf("NewTokens: %v", err)
	}
	env.tokens = tokens
	return env
}

// user stores and returns an enterprise user with the given id.
func (e *tokenEnv) user(id int64) models.User {
	u := models.User{ID: id, Username: fmt.Sprintf("user%d", id), Role: models.RoleEnterprise, EnterpriseCode: "91370700MA3DEMO001"}
	e.users.put(u)
	return u
}

func (e *tokenEnv) issue(tb testing.TB, u models.User) Pair {
	tb.Helper()
	p, err := e.tokens.Issue(context.Background(), u)
	if err != nil {
		tb.Fatalf("Issue: %v", err)
	}
	return p
}

// wantCode fails unless err is a *models.Error with the given code; the
// empty code means no error.
func wantCode(tb testing.TB, err error, want models.Code) {
	tb.Helper()
	if want == "" {
		if err != nil {
			tb.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var me *models.Error
	if !errors.As(err, &me) {
		tb.Fatalf("error = %v, want a *models.Error with code %s", err, want)
	}
	if me.Code != want {
		tb.Fatalf("code = %s (%v), want %s", me.Code, err, want)
	}
}
