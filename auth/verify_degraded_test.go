package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/models"
)

func TestVerifyAccessSignatureWithoutRedis(t *testing.T) {
	keys, err := ParseSigningKeys(mustKeyEntry(t, "k1"))
	if err != nil {
		t.Fatal(err)
	}
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer down.Close()
	tokens, err := NewTokens(TokensConfig{Keys: keys, Redis: down, Prefix: "x:", Issuer: "i", Audience: "a",
		Users: func(context.Context, int64) (models.User, error) { return models.User{}, models.ErrNotFound }})
	if err != nil {
		t.Fatal(err)
	}
	// Issuing needs Redis; sign a token the way Issue does, by hand.
	access := signForTest(t, tokens, 42)
	if _, err := tokens.VerifyAccess(context.Background(), access); models.ErrorCode(err) != models.CodeUnavailable {
		t.Fatalf("VerifyAccess with Redis down: %v, want unavailable", err)
	}
	c, err := tokens.VerifyAccessSignature(access)
	if err != nil || c.UserID != 42 {
		t.Fatalf("VerifyAccessSignature: %+v %v", c, err)
	}
	if _, err := tokens.VerifyAccessSignature(access + "x"); models.ErrorCode(err) != models.CodeTokenInvalid {
		t.Fatalf("tampered token: %v", err)
	}
}

func mustKeyEntry(t *testing.T, kid string) string {
	t.Helper()
	e, err := GenerateKeyEntry(kid)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func signForTest(t *testing.T, tokens *Tokens, userID int64) string {
	t.Helper()
	p, err := tokens.sign(models.User{ID: userID, Role: models.RoleEnterprise}, newID(), newID(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return p.AccessToken
}

// TestVerifiedTokensExpireFromTheCache: a remembered token is not accepted
// past its expiry, and a tampered copy of a remembered token is still
// checked in full.
func TestVerifiedTokensExpireFromTheCache(t *testing.T) {
	keys, err := ParseSigningKeys(mustKeyEntry(t, "k1"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer down.Close()
	tokens, err := NewTokens(TokensConfig{Keys: keys, Redis: down, Prefix: "x:", Issuer: "i", Audience: "a", Now: clock,
		Users: func(context.Context, int64) (models.User, error) { return models.User{}, models.ErrNotFound }})
	if err != nil {
		t.Fatal(err)
	}
	tok := signForTest(t, tokens, 7)
	if _, err := tokens.VerifyAccessSignature(tok); err != nil {
		t.Fatal(err)
	}
	// Change the signature's first character: it carries six whole bits
	// (the last ones may be padding, which decodes to the same bytes).
	sig := strings.LastIndexByte(tok, '.') + 1
	swap := byte('A')
	if tok[sig] == 'A' {
		swap = 'B'
	}
	if _, err := tokens.VerifyAccessSignature(tok[:sig] + string(swap) + tok[sig+1:]); err == nil {
		t.Fatal("a tampered token passed")
	}
	now = now.Add(DefaultAccessTTL + time.Minute)
	if _, err := tokens.VerifyAccessSignature(tok); models.ErrorCode(err) != models.CodeTokenExpired {
		t.Fatalf("expired token from the cache: %v", err)
	}
}
