package bff_test

import (
	"strings"
	"testing"
)

func TestLoginMeRefreshLogout(t *testing.T) {
	e := start(t, nil)
	p := e.login("ent-demo")
	if p.TokenType != "Bearer" || p.ExpiresIn <= 0 || p.ExpiresIn > 900 || p.User.Role != "enterprise" {
		t.Fatalf("login answer: %+v", p)
	}
	var me struct {
		Username   string `json:"username"`
		Enterprise struct {
			CreditCode string `json:"credit_code"`
			Name       string `json:"name"`
		} `json:"enterprise"`
	}
	e.expect(e.do("GET", "/v1/me", p.AccessToken, nil), 200).json(t, &me)
	if me.Username != "ent-demo" || me.Enterprise.CreditCode != "91370700MA3DEMO001" || me.Enterprise.Name != "潍坊示例建设有限公司" {
		t.Fatalf("me = %+v", me)
	}

	// Rotation: the new pair works, the old refresh token is spent, and
	// presenting it again revokes the whole family (RFC 9700 §4.14.2).
	var next tokenPair
	e.expect(e.do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": p.RefreshToken}), 200).json(t, &next)
	e.expect(e.do("GET", "/v1/me", next.AccessToken, nil), 200)
	if code := e.expect(e.do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": p.RefreshToken}), 401).problemCode(t); code != "token_invalid" {
		t.Fatalf("reuse answered %s", code)
	}
	e.expect(e.do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": next.RefreshToken}), 401)
	e.expect(e.do("GET", "/v1/me", next.AccessToken, nil), 401)

	// Logout ends the access token and its family.
	q := e.login("ent-demo")
	e.expect(e.do("POST", "/v1/auth/logout", q.AccessToken, nil), 204)
	e.expect(e.do("GET", "/v1/me", q.AccessToken, nil), 401)
	e.expect(e.do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": q.RefreshToken}), 401)
}

func TestLoginFailures(t *testing.T) {
	e := start(t, map[string]string{"BFF_LOGIN_LIMIT_PER_USER": "3"})
	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"wrong password", map[string]string{"username": "ent-demo", "password": "nope-nope"}, 401, "invalid_credentials"},
		{"unknown user", map[string]string{"username": "ghost", "password": "nope-nope"}, 401, "invalid_credentials"},
		{"missing field", map[string]string{"username": "ent-demo"}, 422, "validation_failed"},
		{"unknown field", map[string]string{"username": "a", "password": "b", "otp": "1"}, 422, "validation_failed"},
		{"not json", "{username", 400, "malformed_json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := e.expect(e.do("POST", "/v1/auth/login", "", tc.body), tc.status).problemCode(t); code != tc.code {
				t.Fatalf("code %s, want %s", code, tc.code)
			}
		})
	}
	// Brute force: after the per-account limit, known and unknown names
	// alike get 429 with Retry-After, even with the right password.
	for _, name := range []string{"agent-city", "nobody-here"} {
		for i := 0; i < 3; i++ {
			e.expect(e.do("POST", "/v1/auth/login", "", map[string]string{"username": name, "password": "wrong-password"}), 401)
		}
		r := e.expect(e.do("POST", "/v1/auth/login", "", map[string]string{"username": name, "password": demoPassword}), 429)
		if r.Header.Get("Retry-After") == "" || r.problemCode(t) != "rate_limited" {
			t.Fatalf("%s: 429 without Retry-After or code: %v %s", name, r.Header, r.Body)
		}
	}
}

func TestBadTokens(t *testing.T) {
	e := start(t, nil)
	good := e.login("ent-demo")
	parts := strings.Split(good.AccessToken, ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]
	for name, tok := range map[string]string{
		"garbage":           "not-a-token",
		"refresh as access": good.RefreshToken,
		"tampered":          tampered,
		"many dots":         strings.Repeat(".", 10000),
		"alg none":          "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0." + parts[1] + ".",
	} {
		t.Run(name, func(t *testing.T) {
			r := e.expect(e.do("GET", "/v1/me", tok, nil), 401)
			if c := r.problemCode(t); c != "token_invalid" && c != "unauthorized" {
				t.Fatalf("code %s", c)
			}
		})
	}
	e.expect(e.do("GET", "/v1/me", "", nil), 401)
}
