package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/models"
)

func TestNewTokensValidatesConfig(t *testing.T) {
	rdb, prefix := testRedis(t)
	good := func() TokensConfig {
		return TokensConfig{Keys: testKeys(t, "k1"), Redis: rdb, Prefix: prefix, Issuer: "i", Audience: "a",
			Users: func(context.Context, int64) (models.User, error) { return models.User{}, nil }}
	}
	tests := []struct {
		name   string
		change func(*TokensConfig)
		want   models.Code
	}{
		{"defaults", func(*TokensConfig) {}, ""},
		{"no keys", func(c *TokensConfig) { c.Keys = Keys{} }, models.CodeValidationFailed},
		{"no issuer", func(c *TokensConfig) { c.Issuer = "" }, models.CodeValidationFailed},
		{"no audience", func(c *TokensConfig) { c.Audience = "" }, models.CodeValidationFailed},
		{"no user lookup", func(c *TokensConfig) { c.Users = nil }, models.CodeValidationFailed},
		{"access too long", func(c *TokensConfig) { c.AccessTTL = 16 * time.Minute }, models.CodeValidationFailed},
		{"refresh shorter than access", func(c *TokensConfig) { c.RefreshTTL = 10 * time.Minute }, models.CodeValidationFailed},
		{"prefix with a brace", func(c *TokensConfig) { c.Prefix = "{x}" }, models.CodeValidationFailed},
		{"no redis", func(c *TokensConfig) { c.Redis = nil }, models.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good()
			tt.change(&cfg)
			_, err := NewTokens(cfg)
			wantCode(t, err, tt.want)
		})
	}
}

func TestIssueAndVerifyAccess(t *testing.T) {
	env := newTokenEnv(t)
	u := env.user(42)
	p := env.issue(t, u)
	if p.ExpiresIn != 900 {
		t.Fatalf("ExpiresIn = %d, want 900", p.ExpiresIn)
	}
	c, err := env.tokens.VerifyAccess(context.Background(), p.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.UserID != 42 || c.Role != models.RoleEnterprise || c.Family == "" || c.TokenID == "" {
		t.Fatalf("claims = %+v", c)
	}
	if !c.ExpiresAt.Equal(env.clock.Now().Add(15 * time.Minute)) {
		t.Fatalf("ExpiresAt = %v, want 15 minutes after issue", c.ExpiresAt)
	}
	hdr := decodeSegment(t, p.AccessToken, 0)
	if hdr["alg"] != "EdDSA" || hdr["typ"] != "at+jwt" || hdr["kid"] != "k2" {
		t.Fatalf("access header = %v, want EdDSA, at+jwt, newest kid", hdr)
	}
	body := decodeSegment(t, p.RefreshToken, 1)
	for _, claim := range []string{"iss", "aud", "exp", "iat", "nbf", "sub", "jti", "fam", "token_use"} {
		if _, ok := body[claim]; !ok {
			t.Errorf("refresh token lacks %q", claim)
		}
	}
}

func TestIssueRefusesDisabledUser(t *testing.T) {
	env := newTokenEnv(t)
	u := env.user(1)
	u.Disabled = true
	_, err := env.tokens.Issue(context.Background(), u)
	wantCode(t, err, models.CodeAccountDisabled)
}

func TestVerifyAccessWithOlderKey(t *testing.T) {
	// A token signed by the previous newest key keeps verifying after a
	// rotation puts a new key in front.
	env := newTokenEnv(t)
	u := env.user(7)
	rotated := env.tokens.keys
	env.tokens.keys = Keys{keys: rotated.keys[1:]} // "k1" signs
	p := env.issue(t, u)
	env.tokens.keys = rotated
	if _, err := env.tokens.VerifyAccess(context.Background(), p.AccessToken); err != nil {
		t.Fatal(err)
	}
}

// forge signs claims with the given method and key and sets header fields.
func forge(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func decodeSegment(t *testing.T, token string, i int) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVerifyAccessRejectsAttacks(t *testing.T) {
	env := newTokenEnv(t)
	u := env.user(42)
	p := env.issue(t, u)
	good, err := env.tokens.VerifyAccess(context.Background(), p.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	signer := env.tokens.keys.signer()
	now := env.clock.Now()

	// claims returns the claims of a valid access token with changes; a nil
	// value removes a claim.
	claims := func(changes map[string]any) jwt.MapClaims {
		c := jwt.MapClaims{
			"iss": "https://bff.test", "aud": []string{"zsb-app"}, "sub": "42",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(),
			"jti": newID(), "fam": good.Family, "gen": 0, "token_use": "access", "role": "enterprise",
		}
		for k, v := range changes {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	header := func(changes map[string]any) map[string]any {
		h := map[string]any{"typ": "at+jwt", "kid": signer.id}
		for k, v := range changes {
			h[k] = v
		}
		return h
	}
	signed := func(hc, cc map[string]any) string {
		return forge(t, jwt.SigningMethodEdDSA, signer.priv, header(hc), claims(cc))
	}
	otherKeys := testKeys(t, "k2")

	// The control: a forged-but-correct token passes, so each case below
	// fails for its one change only.
	if _, err := env.tokens.VerifyAccess(context.Background(), signed(nil, nil)); err != nil {
		t.Fatalf("control token refused: %v", err)
	}

	tampered := func() string {
		parts := strings.Split(p.AccessToken, ".")
		body := decodeSegment(t, p.AccessToken, 1)
		body["sub"] = "43"
		b, _ := json.Marshal(body)
		parts[1] = base64.RawURLEncoding.EncodeToString(b)
		return strings.Join(parts, ".")
	}

	tests := []struct {
		name  string
		token string
		want  models.Code
	}{
		{"alg none", forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, header(nil), claims(nil)), models.CodeTokenInvalid},
		{"HS256 keyed with the public key", forge(t, jwt.SigningMethodHS256, []byte(signer.pub), header(nil), claims(nil)), models.CodeTokenInvalid},
		{"HS256 keyed with the public key as text", forge(t, jwt.SigningMethodHS256, []byte(base64.RawURLEncoding.EncodeToString(signer.pub)), header(nil), claims(nil)), models.CodeTokenInvalid},
		{"unknown kid", forge(t, jwt.SigningMethodEdDSA, otherKeys.signer().priv, header(map[string]any{"kid": "k9"}), claims(nil)), models.CodeTokenInvalid},
		{"known kid, other key", forge(t, jwt.SigningMethodEdDSA, otherKeys.signer().priv, header(nil), claims(nil)), models.CodeTokenInvalid},
		{"no kid", signed(map[string]any{"kid": ""}, nil), models.CodeTokenInvalid},
		{"no typ", forge(t, jwt.SigningMethodEdDSA, signer.priv, map[string]any{"kid": signer.id, "typ": nil}, claims(nil)), models.CodeTokenInvalid},
		{"typ JWT", signed(map[string]any{"typ": "JWT"}, nil), models.CodeTokenInvalid},
		{"crit header", signed(map[string]any{"crit": []string{"exp"}}, nil), models.CodeTokenInvalid},
		{"expired", signed(nil, map[string]any{"iat": now.Add(-20 * time.Minute).Unix(), "nbf": now.Add(-20 * time.Minute).Unix(), "exp": now.Add(-5 * time.Minute).Unix()}), models.CodeTokenExpired},
		{"expired within leeway is accepted", signed(nil, map[string]any{"exp": now.Add(-10 * time.Second).Unix()}), ""},
		{"expired and wrong audience", signed(nil, map[string]any{"aud": "other", "exp": now.Add(-5 * time.Minute).Unix()}), models.CodeTokenInvalid},
		{"not yet valid", signed(nil, map[string]any{"nbf": now.Add(5 * time.Minute).Unix()}), models.CodeTokenInvalid},
		{"nbf within leeway is accepted", signed(nil, map[string]any{"nbf": now.Add(10 * time.Second).Unix()}), ""},
		{"issued in the future", signed(nil, map[string]any{"iat": now.Add(5 * time.Minute).Unix()}), models.CodeTokenInvalid},
		{"no exp", signed(nil, map[string]any{"exp": nil}), models.CodeTokenInvalid},
		{"no iat", signed(nil, map[string]any{"iat": nil}), models.CodeTokenInvalid},
		{"wrong iss", signed(nil, map[string]any{"iss": "https://evil.test"}), models.CodeTokenInvalid},
		{"no iss", signed(nil, map[string]any{"iss": nil}), models.CodeTokenInvalid},
		{"wrong aud", signed(nil, map[string]any{"aud": []string{"other-app"}}), models.CodeTokenInvalid},
		{"aud as a string", signed(nil, map[string]any{"aud": "zsb-app"}), ""},
		{"no sub", signed(nil, map[string]any{"sub": nil}), models.CodeTokenInvalid},
		{"non-numeric sub", signed(nil, map[string]any{"sub": "admin"}), models.CodeTokenInvalid},
		{"no jti", signed(nil, map[string]any{"jti": nil}), models.CodeTokenInvalid},
		{"jti with key syntax", signed(nil, map[string]any{"jti": "x}:gen:aaaaaaaaaaaaaaa"}), models.CodeTokenInvalid},
		{"no fam", signed(nil, map[string]any{"fam": nil}), models.CodeTokenInvalid},
		{"refresh use in access typ", signed(nil, map[string]any{"token_use": "refresh"}), models.CodeTokenInvalid},
		{"refresh token as access", p.RefreshToken, models.CodeTokenInvalid},
		{"tampered payload", tampered(), models.CodeTokenInvalid},
		{"tampered signature", p.AccessToken[:len(p.AccessToken)-4] + "AAAA", models.CodeTokenInvalid},
		{"empty", "", models.CodeTokenInvalid},
		{"garbage", "not-a-token", models.CodeTokenInvalid},
		{"four parts", p.AccessToken + ".x", models.CodeTokenInvalid},
		{"10000 dots", strings.Repeat(".", 10000), models.CodeTokenInvalid},
		{"10000-dot header", strings.Repeat(".", 10000) + p.AccessToken, models.CodeTokenInvalid},
		{"huge header", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","x":"`+strings.Repeat("a", 8000)+`"}`)) + ".e30.AA", models.CodeTokenInvalid},
		{"just over the bound", p.AccessToken + strings.Repeat("A", MaxTokenBytes-len(p.AccessToken)+1), models.CodeTokenInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.tokens.VerifyAccess(context.Background(), tt.token)
			wantCode(t, err, tt.want)
			if tt.want == models.CodeTokenInvalid {
				var me *models.Error
				if errors.As(err, &me) && me.Message != "the token is not valid" {
					t.Fatalf("message %q reveals the reason", me.Message)
				}
			}
		})
	}
}

func TestVerifyAccessExpiresWithTheClock(t *testing.T) {
	env := newTokenEnv(t)
	p := env.issue(t, env.user(5))
	env.clock.Add(15*time.Minute + leeway + time.Second)
	_, err := env.tokens.VerifyAccess(context.Background(), p.AccessToken)
	wantCode(t, err, models.CodeTokenExpired)
}

func TestAccessTokenIsNotARefreshToken(t *testing.T) {
	env := newTokenEnv(t)
	p := env.issue(t, env.user(5))
	_, _, err := env.tokens.Refresh(context.Background(), p.AccessToken)
	wantCode(t, err, models.CodeTokenInvalid)
	// The refused attempt must not have disturbed the family.
	if _, _, err := env.tokens.Refresh(context.Background(), p.RefreshToken); err != nil {
		t.Fatalf("refresh after a refused access-as-refresh: %v", err)
	}
}

func TestVerifyAccessAnswersUnavailableWithoutRedis(t *testing.T) {
	env := newTokenEnv(t)
	p := env.issue(t, env.user(5))
	down := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"127.0.0.1:1"}, MaxRetries: -1})
	defer down.Close()
	env.tokens.rev = &Revocations{rdb: down, prefix: env.prefix}
	_, err := env.tokens.VerifyAccess(context.Background(), p.AccessToken)
	wantCode(t, err, models.CodeUnavailable)
}

func TestRedisKeysShareTheUserHashTag(t *testing.T) {
	env := newTokenEnv(t)
	p := env.issue(t, env.user(77))
	c, err := env.tokens.VerifyAccess(context.Background(), p.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.tokens.Logout(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if err := env.tokens.RevokeUser(context.Background(), 77); err != nil {
		t.Fatal(err)
	}
	keys, err := env.rdb.Keys(context.Background(), env.prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		env.prefix + "auth:{u:77}:gen":               true,
		env.prefix + "auth:{u:77}:fam:" + c.Family:   true,
		env.prefix + "auth:{u:77}:deny:" + c.TokenID: true,
	}
	if len(keys) != len(want) {
		t.Fatalf("keys = %v, want %v", keys, want)
	}
	for _, k := range keys {
		if !want[k] {
			t.Fatalf("unexpected key %q", k)
		}
		if ttl := env.rdb.PTTL(context.Background(), k).Val(); strings.HasSuffix(k, ":gen") != (ttl < 0) {
			t.Fatalf("key %q has TTL %v: only the generation lives forever", k, ttl)
		}
	}
}

func BenchmarkVerifyAccess(b *testing.B) {
	env := newTokenEnv(b)
	p := env.issue(b, env.user(1))
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := env.tokens.VerifyAccess(ctx, p.AccessToken); err != nil {
				b.Fatal(err)
			}
		}
	})
}
