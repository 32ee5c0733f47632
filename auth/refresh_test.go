package auth

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/models"
)

func verifyCode(t *testing.T, tokens *Tokens, access string, want models.Code) {
	t.Helper()
	_, err := tokens.VerifyAccess(context.Background(), access)
	wantCode(t, err, want)
}

func TestRefreshRotates(t *testing.T) {
	env := newTokenEnv(t)
	ctx := context.Background()
	u := env.user(10)
	p1 := env.issue(t, u)
	c1, _ := env.tokens.VerifyAccess(ctx, p1.AccessToken)

	p2, got, err := env.tokens.Refresh(ctx, p1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != u.ID || got.Username != u.Username {
		t.Fatalf("Refresh returned user %+v, want %+v", got, u)
	}
	if p2.AccessToken == p1.AccessToken || p2.RefreshToken == p1.RefreshToken {
		t.Fatal("refresh returned an old token")
	}
	c2, err := env.tokens.VerifyAccess(ctx, p2.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Family != c1.Family {
		t.Fatal("a rotated pair left its family")
	}
	// The previous access token stays valid until it expires.
	verifyCode(t, env.tokens, p1.AccessToken, "")

	p3, _, err := env.tokens.Refresh(ctx, p2.RefreshToken)
	if err != nil {
		t.Fatalf("second rotation: %v", err)
	}
	verifyCode(t, env.tokens, p3.AccessToken, "")
}

func TestRefreshReuseRevokesTheFamily(t *testing.T) {
	env := newTokenEnv(t)
	ctx := context.Background()
	u := env.user(11)
	other := env.issue(t, u) // a second login of the same user: another family
	p1 := env.issue(t, u)
	p2, _, err := env.tokens.Refresh(ctx, p1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	p3, _, err := env.tokens.Refresh(ctx, p2.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}

	// An attacker replays the first, spent, refresh token.
	_, _, err = env.tokens.Refresh(ctx, p1.RefreshToken)
	wantCode(t, err, models.CodeTokenInvalid)

	// Every token of the family is now dead, the current one included.
	_, _, err = env.tokens.Refresh(ctx, p3.RefreshToken)
	wantCode(t, err, models.CodeTokenInvalid)
	for _, access := range []string{p1.AccessToken, p2.AccessToken, p3.AccessToken} {
		verifyCode(t, env.tokens, access, models.CodeTokenInvalid)
	}
	// The other family is untouched.
	verifyCode(t, env.tokens, other.AccessToken, "")
	if _, _, err := env.tokens.Refresh(ctx, other.RefreshToken); err != nil {
		t.Fatalf("the other family was revoked too: %v", err)
	}
}

func TestConcurrentRefreshExactlyOneWins(t *testing.T) {
	env := newTokenEnv(t)
	p := env.issue(t, env.user(12))
	const n = 16
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, _, errs[i] = env.tokens.Refresh(context.Background(), p.RefreshToken)
		}()
	}
	close(start)
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		wantCode(t, err, models.CodeTokenInvalid)
	}
	if wins != 1 {
		t.Fatalf("%d refreshes succeeded, want exactly 1", wins)
	}
}

func TestRefreshRefusesExpiredToken(t *testing.T) {
	env := newTokenEnv(t)
	p := env.issue(t, env.user(13))
	env.clock.Add(DefaultRefreshTTL + time.Hour)
	_, _, err := env.tokens.Refresh(context.Background(), p.RefreshToken)
	wantCode(t, err, models.CodeTokenExpired)
}

func TestRefreshRefusesUnknownFamily(t *testing.T) {
	// A validly signed refresh token whose family Redis does not know (it
	// expired there, or Redis lost its data) cannot be rotated.
	env := newTokenEnv(t)
	p := env.issue(t, env.user(14))
	c, err := env.tokens.parse(p.RefreshToken, typRefresh, useRefresh)
	if err != nil {
		t.Fatal(err)
	}
	env.rdb.Del(context.Background(), env.tokens.rev.familyKey(14, c.Family))
	_, _, err = env.tokens.Refresh(context.Background(), p.RefreshToken)
	wantCode(t, err, models.CodeTokenInvalid)
}

func TestRefreshRefusesDisabledOrDeletedUser(t *testing.T) {
	tests := []struct {
		name   string
		change func(env *tokenEnv, u models.User)
	}{
		{"disabled", func(env *tokenEnv, u models.User) { u.Disabled = true; env.users.put(u) }},
		{"deleted", func(env *tokenEnv, u models.User) { delete(env.users.m, u.ID) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTokenEnv(t)
			u := env.user(15)
			p := env.issue(t, u)
			tt.change(env, u)
			_, _, err := env.tokens.Refresh(context.Background(), p.RefreshToken)
			wantCode(t, err, models.CodeTokenInvalid)
			// The family is revoked, so the access token stops too.
			verifyCode(t, env.tokens, p.AccessToken, models.CodeTokenInvalid)
		})
	}
}

func TestLogout(t *testing.T) {
	env := newTokenEnv(t)
	ctx := context.Background()
	u := env.user(20)
	other := env.issue(t, u)
	p1 := env.issue(t, u)
	p2, _, err := env.tokens.Refresh(ctx, p1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	c, err := env.tokens.VerifyAccess(ctx, p2.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.tokens.Logout(ctx, c); err != nil {
		t.Fatal(err)
	}
	verifyCode(t, env.tokens, p2.AccessToken, models.CodeTokenInvalid)
	verifyCode(t, env.tokens, p1.AccessToken, models.CodeTokenInvalid)
	_, _, err = env.tokens.Refresh(ctx, p2.RefreshToken)
	wantCode(t, err, models.CodeTokenInvalid)
	// Logging out one device leaves the user's other sessions alone.
	verifyCode(t, env.tokens, other.AccessToken, "")
}

func TestLogoutDeniesTheTokenEvenIfTheFamilyIsForgotten(t *testing.T) {
	env := newTokenEnv(t)
	ctx := context.Background()
	p := env.issue(t, env.user(21))
	c, _ := env.tokens.VerifyAccess(ctx, p.AccessToken)
	if err := env.tokens.Logout(ctx, c); err != nil {
		t.Fatal(err)
	}
	env.rdb.Del(ctx, env.tokens.rev.familyKey(21, c.Family))
	verifyCode(t, env.tokens, p.AccessToken, models.CodeTokenInvalid)
}

func TestLogoutNeedsVerifiedClaims(t *testing.T) {
	env := newTokenEnv(t)
	err := env.tokens.Logout(context.Background(), Claims{})
	wantCode(t, err, models.CodeTokenInvalid)
}

func TestRevokeUser(t *testing.T) {
	env := newTokenEnv(t)
	ctx := context.Background()
	u, bystander := env.user(30), env.user(31)
	a, b := env.issue(t, u), env.issue(t, u)
	c := env.issue(t, bystander)

	if err := env.tokens.RevokeUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []Pair{a, b} {
		verifyCode(t, env.tokens, p.AccessToken, models.CodeTokenInvalid)
		_, _, err := env.tokens.Refresh(ctx, p.RefreshToken)
		wantCode(t, err, models.CodeTokenInvalid)
	}
	verifyCode(t, env.tokens, c.AccessToken, "")

	// Tokens issued afterwards work, and survive refreshing.
	fresh := env.issue(t, u)
	verifyCode(t, env.tokens, fresh.AccessToken, "")
	next, _, err := env.tokens.Refresh(ctx, fresh.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	verifyCode(t, env.tokens, next.AccessToken, "")
}

// TestTokensOnMiniredis runs the Lua-backed flows on the in-process
// Redis-protocol server that development mode uses.
func TestTokensOnMiniredis(t *testing.T) {
	srv := miniredis.RunT(t)
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{srv.Addr()}})
	t.Cleanup(func() { rdb.Close() })
	env := newTokenEnvWith(t, rdb, "dev:")
	ctx := context.Background()
	u := env.user(1)
	p1 := env.issue(t, u)
	verifyCode(t, env.tokens, p1.AccessToken, "")
	p2, _, err := env.tokens.Refresh(ctx, p1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = env.tokens.Refresh(ctx, p1.RefreshToken)
	wantCode(t, err, models.CodeTokenInvalid)
	verifyCode(t, env.tokens, p2.AccessToken, models.CodeTokenInvalid)
	if err := env.tokens.RevokeUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
}
