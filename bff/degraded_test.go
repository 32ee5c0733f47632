package bff_test

import (
	"strings"
	"testing"
)

// TestReadsSurviveRedisOutage stops the (in-process) Redis under a running
// BFF: readiness reports it, and the app's reads keep answering from the
// database with tokens checked by signature and the account row.
func TestReadsSurviveRedisOutage(t *testing.T) {
	e := start(t, map[string]string{"REDIS_URL": ""})
	if e.app.Redis.Embedded == nil {
		t.Fatal("want the in-process Redis for this test")
	}
	tok := e.login("ent-demo").AccessToken
	before := e.expect(e.do("GET", "/v1/projects/WF-DEMO-CIVIL/progress", tok, nil), 200)

	e.app.Redis.Embedded.Close()

	r := e.expect(e.do("GET", "/readyz", "", nil), 503)
	if !strings.Contains(string(r.Body), `"database":"ok"`) || strings.Contains(string(r.Body), `"redis":"ok"`) {
		t.Fatalf("readyz during the outage: %s", r.Body)
	}
	during := e.expect(e.do("GET", "/v1/projects/WF-DEMO-CIVIL/progress", tok, nil), 200)
	if string(before.Body) != string(during.Body) {
		t.Fatalf("progress differs during the outage:\n%s\n%s", before.Body, during.Body)
	}
	e.expect(e.do("GET", "/v1/projects", tok, nil), 200)
	e.expect(e.do("GET", "/v1/projects/WF-OTHER-1/progress", tok, nil), 404)
	e.expect(e.do("GET", "/v1/me", "not-a-token", nil), 401)
	// Logging in needs the rate-limit counters: a clear, retryable 503.
	r = e.expect(e.do("POST", "/v1/auth/login", "", map[string]string{"username": "ent-demo", "password": demoPassword}), 503)
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
}
