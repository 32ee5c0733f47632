package drills

import (
	"fmt"
	"strconv"
	"testing"
)

// TestLoginBruteForce: after the per-account limit of failures, known and
// unknown usernames alike answer 429 rate_limited with Retry-After, even
// with the right password; and one address spraying many names hits the
// per-address limit.
func TestLoginBruteForce(t *testing.T) {
	drill(t)
	s := newStack(t)
	s.extra["BFF_LOGIN_LIMIT_PER_USER"] = "5"
	s.extra["BFF_LOGIN_LIMIT_PER_IP"] = "30"
	b := s.startBFF("bff")
	attempt := func(user, password string) resp {
		r, err := b.call("POST", "/v1/auth/login", "", map[string]string{"username": user, "password": password})
		if err != nil {
			t.Fatal(err)
		}
		b.checkContract("POST", "/v1/auth/login", "", map[string]string{"username": user, "password": password}, r)
		return r
	}
	attempts := 0
	var refusals []string
	for _, user := range []string{"ent-demo", "nobody-at-all"} {
		for i := 1; i <= 5; i++ {
			attempts++
			r := attempt(user, "wrong-password-"+strconv.Itoa(i))
			if r.status != 401 {
				t.Fatalf("%s failure %d: %s", user, i, r)
			}
			refusals = append(refusals, problemKey(t, r))
		}
		attempts++
		r := attempt(user, demoPassword)
		if r.status != 429 || r.header.Get("Retry-After") == "" || problemKey(t, r) != "rate_limited" {
			t.Fatalf("%s after 5 failures, with the right password: %s Retry-After=%q", user, r, r.header.Get("Retry-After"))
		}
		if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n <= 0 {
			t.Errorf("%s: Retry-After %q is not a positive number of seconds", user, r.header.Get("Retry-After"))
		}
	}
	for _, k := range refusals {
		if k != refusals[0] {
			t.Errorf("known and unknown names are refused differently: %v", refusals)
			break
		}
	}
	// Spraying: many names from one address.
	limited := false
	for i := 0; i < 40 && !limited; i++ {
		attempts++
		r := attempt(fmt.Sprintf("spray-%d", i), "wrong-password")
		switch r.status {
		case 401:
		case 429:
			limited = r.header.Get("Retry-After") != "" && problemKey(t, r) == "rate_limited"
			if !limited {
				t.Fatalf("429 without Retry-After or code: %s", r)
			}
		default:
			t.Fatalf("spray %d: %s", i, r)
		}
	}
	if !limited {
		t.Fatalf("%d login attempts from one address were never limited", attempts)
	}
	if r := attempt("agent-city", demoPassword); r.status != 429 {
		t.Errorf("a good login from the limited address: %s, want 429", r)
	}
	t.Logf("address limited after %d attempts", attempts)
}

// problemKey is the code of a problem answer plus its detail, so answers
// that must not differ can be compared.
func problemKey(t *testing.T, r resp) string {
	t.Helper()
	var p struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	r.decode(t, &p)
	if r.status == 429 {
		return p.Code
	}
	return p.Code + ": " + p.Detail
}
