package auth

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/internal/localcache"
	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/models"
)

func busTokens(t *testing.T, rdb redis.UniversalClient, prefix string, keys Keys, users *memUsers) *Tokens {
	t.Helper()
	bus := localcache.NewBus(rdb, prefix, nil)
	bus.Start()
	t.Cleanup(func() { _ = bus.Close() })
	testenv.Eventually(t, "invalidation subscription", bus.Live)
	tokens, err := NewTokens(TokensConfig{
		Keys: keys, Redis: rdb, Prefix: prefix, Issuer: "https://bff.test", Audience: "zsb-app",
		Users: users.lookup, Bus: bus,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tokens
}

// Two instances share Redis; instance b remembers the checks it made, and
// every kind of revocation — logout on a, a command-line RevokeUser with no
// bus at all, a refresh-token replay on a — ends the token on b too.
func TestRememberedChecksEndWithEveryRevocation(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	users := &memUsers{m: map[int64]models.User{}}
	keys := testKeys(t, "k1")
	a := busTokens(t, rdb, prefix, keys, users)

	rdbB := redis.NewClient(&redis.Options{Addr: redisAddr})
	mgets := testenv.CountCommands(rdbB, "mget")
	t.Cleanup(func() { rdbB.Close() })
	b := busTokens(t, rdbB, prefix, keys, users)

	u1 := models.User{ID: 1, Username: "u1", Role: models.RoleEnterprise, EnterpriseCode: "91370700MA3DEMO001"}
	u2 := models.User{ID: 2, Username: "u2", Role: models.RoleEnterprise, EnterpriseCode: "91370700MA3DEMO001"}
	users.put(u1)
	users.put(u2)
	issue := func(u models.User) Pair {
		p, err := a.Issue(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	refused := func(tok string) func() bool {
		return func() bool {
			_, err := b.VerifyAccess(ctx, tok)
			return models.ErrorCode(err) == models.CodeTokenInvalid
		}
	}

	// The first check asks Redis, the next ones do not.
	p := issue(u1)
	other := issue(u2)
	for range 3 {
		verifyCode(t, b, p.AccessToken, "")
		verifyCode(t, b, other.AccessToken, "")
	}
	if n := mgets.Load(); n != 2 {
		t.Fatalf("%d revocation round trips for 2 tokens checked 3 times each; want 2", n)
	}

	// Logout on the other instance.
	if err := a.Logout(ctx, mustVerify(t, a, p.AccessToken)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "b refuses the logged-out token", refused(p.AccessToken))
	// Another user's remembered token is untouched by u1's revocation.
	before := mgets.Load()
	verifyCode(t, b, other.AccessToken, "")
	if mgets.Load() != before {
		t.Fatal("u1's logout made b ask Redis about u2's token")
	}

	// Disabling from the command line: a bare store, no bus.
	q := issue(u1)
	verifyCode(t, b, q.AccessToken, "")
	verifyCode(t, b, q.AccessToken, "")
	cli, err := NewRevocations(rdb, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.RevokeUser(ctx, u1.ID); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "b refuses the revoked user's token", refused(q.AccessToken))

	// A replayed refresh token revokes its family; b forgets its access
	// tokens.
	r1 := issue(u1)
	r2, _, err := a.Refresh(ctx, r1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	verifyCode(t, b, r2.AccessToken, "")
	verifyCode(t, b, r2.AccessToken, "")
	_, _, err = a.Refresh(ctx, r1.RefreshToken)
	wantCode(t, err, models.CodeTokenInvalid)
	testenv.Eventually(t, "b refuses the replayed family's token", refused(r2.AccessToken))
}

// With the subscription gone nothing is remembered: every check asks Redis,
// and a revocation made meanwhile is seen.
func TestChecksAskRedisWhileTheSubscriptionIsDown(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	users := &memUsers{m: map[int64]models.User{}}
	u := models.User{ID: 7, Username: "u7", Role: models.RoleEnterprise, EnterpriseCode: "91370700MA3DEMO001"}
	users.put(u)

	// b's subscription goes through a proxy we can cut; its commands do not.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var cut atomic.Bool
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if cut.Load() {
				c.Close()
				continue
			}
			go proxyTo(c, redisAddr, &cut)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	subRdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), MaxRetries: -1})
	t.Cleanup(func() { subRdb.Close() })

	keys := testKeys(t, "k1")
	bus := localcache.NewBus(subRdb, prefix, nil)
	bus.Start()
	t.Cleanup(func() { _ = bus.Close() })
	testenv.Eventually(t, "subscription", bus.Live)
	cmdRdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	mgets := testenv.CountCommands(cmdRdb, "mget")
	t.Cleanup(func() { cmdRdb.Close() })
	b, err := NewTokens(TokensConfig{Keys: keys, Redis: cmdRdb, Prefix: prefix, Issuer: "https://bff.test", Audience: "zsb-app", Users: users.lookup, Bus: bus})
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Issue(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	verifyCode(t, b, p.AccessToken, "")
	verifyCode(t, b, p.AccessToken, "")
	if mgets.Load() != 1 {
		t.Fatalf("%d round trips, want 1", mgets.Load())
	}

	cut.Store(true)
	testenv.Eventually(t, "subscription lost", func() bool { return !bus.Live() })
	verifyCode(t, b, p.AccessToken, "")
	verifyCode(t, b, p.AccessToken, "")
	if mgets.Load() != 3 {
		t.Fatalf("%d round trips; with the subscription down every check must ask Redis (want 3)", mgets.Load())
	}
	// A revocation announced while b cannot hear it is still seen.
	cli, err := NewRevocations(rdb, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.RevokeUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	verifyCode(t, b, p.AccessToken, models.CodeTokenInvalid)
}

func mustVerify(t *testing.T, tokens *Tokens, tok string) Claims {
	t.Helper()
	c, err := tokens.VerifyAccess(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// proxyTo copies between c and a new connection to addr until either side
// closes or cut is set.
func proxyTo(c net.Conn, addr string, cut *atomic.Bool) {
	defer c.Close()
	up, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			_ = src.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, err := src.Read(buf)
			if n > 0 {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if cut.Load() {
				break
			}
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					continue
				}
				break
			}
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
}
