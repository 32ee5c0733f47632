package drills

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// jwtID makes an id of the form the BFF issues (22 base64url characters).
func jwtID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// forge signs claims with header fields over the defaults.
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
		t.Fatalf("forge: %v", err)
	}
	return s
}

// TestTokenAttacks presents forged and broken tokens to the running binary,
// which was given a signing key the drill knows (so it can make validly
// signed tokens with bad claims). Every one answers 401 with the same
// problem shape, and refresh-token reuse revokes the whole family.
func TestTokenAttacks(t *testing.T) {
	drill(t)
	s := newStack(t)
	b := s.startBFF("bff")
	login := b.login("ent-demo")
	uid := strconv.FormatInt(login.User.ID, 10)
	now := time.Now()

	claims := func(changes map[string]any) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "zsb-bff", "aud": []string{"zsb-mobile"}, "sub": uid,
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
			"jti": jwtID(), "fam": jwtID(), "gen": 0, "token_use": "access", "role": "enterprise"}
		for k, v := range changes {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	header := map[string]any{"typ": "at+jwt", "kid": s.kid}
	good := func(changes map[string]any) string {
		return forge(t, jwt.SigningMethodEdDSA, s.signKey, header, claims(changes))
	}
	// The control: a token the drill signs itself is accepted, so each case
	// below is refused for its one defect only.
	b.must("GET", "/v1/me", good(nil), nil, 200)

	pub := s.signKey.Public().(ed25519.PublicKey)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	parts := strings.Split(login.AccessToken, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var body map[string]any
	_ = json.Unmarshal(payload, &body)
	body["sub"] = "1" // someone else
	forgedPayload, _ := json.Marshal(body)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(forgedPayload) + "." + parts[2]

	cases := []struct {
		name, token, code string
	}{
		{"alg none", forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, header, claims(nil)), "token_invalid"},
		{"alg none, no signature part", strings.Join(strings.Split(forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, header, claims(nil)), ".")[:2], "."), "token_invalid"},
		{"HS256 keyed with the public key", forge(t, jwt.SigningMethodHS256, []byte(pub), header, claims(nil)), "token_invalid"},
		{"HS256 keyed with the public key as text", forge(t, jwt.SigningMethodHS256, []byte(base64.RawURLEncoding.EncodeToString(pub)), header, claims(nil)), "token_invalid"},
		{"HS256 keyed with any key", forge(t, jwt.SigningMethodHS256, []byte("any key at all"), header, claims(nil)), "token_invalid"},
		{"unknown key id", forge(t, jwt.SigningMethodEdDSA, otherKey, map[string]any{"typ": "at+jwt", "kid": "k9"}, claims(nil)), "token_invalid"},
		{"known key id, other key", forge(t, jwt.SigningMethodEdDSA, otherKey, header, claims(nil)), "token_invalid"},
		{"no key id", forge(t, jwt.SigningMethodEdDSA, s.signKey, map[string]any{"typ": "at+jwt"}, claims(nil)), "token_invalid"},
		{"expired", good(map[string]any{"iat": now.Add(-30 * time.Minute).Unix(), "nbf": now.Add(-30 * time.Minute).Unix(), "exp": now.Add(-10 * time.Minute).Unix()}), "token_expired"},
		{"not yet valid", good(map[string]any{"nbf": now.Add(10 * time.Minute).Unix()}), "token_invalid"},
		{"issued in the future", good(map[string]any{"iat": now.Add(10 * time.Minute).Unix()}), "token_invalid"},
		{"wrong issuer", good(map[string]any{"iss": "https://evil.example"}), "token_invalid"},
		{"wrong audience", good(map[string]any{"aud": []string{"someone-else"}}), "token_invalid"},
		{"no expiry", good(map[string]any{"exp": nil}), "token_invalid"},
		{"refresh use claim", good(map[string]any{"token_use": "refresh"}), "token_invalid"},
		{"refresh token as access", login.RefreshToken, "token_invalid"},
		{"tampered payload", tampered, "token_invalid"},
		{"tampered signature", login.AccessToken[:len(login.AccessToken)-6] + "AAAAAA", "token_invalid"},
		{"10,000 dots", strings.Repeat(".", 10000), "token_invalid"},
		{"10,000 dots before a real token", strings.Repeat(".", 10000) + login.AccessToken, "token_invalid"},
		{"garbage", "not-a-token", "token_invalid"},
	}
	var shapes []string
	details := map[string]string{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := b.must("GET", "/v1/me", tc.token, nil, 401)
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Errorf("Content-Type %q", ct)
			}
			var p map[string]any
			r.decode(t, &p)
			if p["code"] != tc.code || p["status"] != float64(401) {
				t.Errorf("answer %s, want code %s", r.body, tc.code)
			}
			shape := strings.Join(slices.Sorted(maps.Keys(p)), ",")
			shapes = append(shapes, shape)
			if d, ok := p["detail"].(string); ok {
				if prev, seen := details[tc.code]; seen && prev != d {
					t.Errorf("detail %q differs from %q: the answer tells the reason apart", d, prev)
				}
				details[tc.code] = d
			}
		})
	}
	for _, sh := range shapes[1:] {
		if sh != shapes[0] {
			t.Errorf("problem shapes differ: %q vs %q", sh, shapes[0])
		}
	}
	// No token at all is refused the same way.
	b.must("GET", "/v1/me", "", nil, 401)

	t.Run("refresh reuse revokes the family", func(t *testing.T) {
		first := b.login("ent-demo")
		var second tokenPair
		b.must("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}, 200).decode(t, &second)
		b.must("GET", "/v1/me", second.AccessToken, nil, 200)
		// A thief replays the spent token: refused, and the family ends.
		b.must("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}, 401)
		b.must("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": second.RefreshToken}, 401)
		b.must("GET", "/v1/me", second.AccessToken, nil, 401)
		b.must("GET", "/v1/me", first.AccessToken, nil, 401)
		// An access token is no refresh token either.
		other := b.login("ent-demo")
		b.must("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": other.AccessToken}, 401)
		b.must("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": other.RefreshToken}, 200)
	})
}
