package pushsink

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func toJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestControlOverHTTP(t *testing.T) {
	s, base := startSink(t, Options{})

	r := do(t, http.MethodPost, base+"/_sink/faults", map[string]any{
		"token": "dead", "code": "UNREGISTERED",
	})
	if r.status != http.StatusCreated || r.body["id"] == nil {
		t.Fatalf("POST /_sink/faults: %d %v", r.status, r.body)
	}
	r = do(t, http.MethodPost, base+"/_sink/faults", map[string]any{
		"code": "QUOTA_EXCEEDED", "count": 1, "retry_after_seconds": 30,
	})
	if r.status != http.StatusCreated {
		t.Fatalf("POST /_sink/faults: %d %v", r.status, r.body)
	}
	if r := do(t, http.MethodGet, base+"/_sink/faults", nil); len(r.body["items"].([]any)) != 2 {
		t.Errorf("GET /_sink/faults = %v, want two faults", r.body)
	}

	if got := sendTo(t, base, "alive"); got.status != 429 || got.header.Get("Retry-After") != "30" {
		t.Errorf("first send: %d Retry-After %q, want 429 with 30", got.status, got.header.Get("Retry-After"))
	}
	if got := sendTo(t, base, "alive"); got.status != 200 {
		t.Errorf("second send: %d, want 200 once the counted fault ran out", got.status)
	}
	if got := sendTo(t, base, "dead"); got.status != 404 {
		t.Errorf("send to dead token: %d, want 404", got.status)
	}

	r = do(t, http.MethodGet, base+"/_sink/messages?token=alive", nil)
	if r.body["count"] != float64(2) {
		t.Errorf("GET /_sink/messages?token=alive count = %v, want 2", r.body["count"])
	}
	r = do(t, http.MethodGet, base+"/_sink/messages?delivered=true", nil)
	if r.body["count"] != float64(1) {
		t.Errorf("GET /_sink/messages?delivered=true count = %v, want 1", r.body["count"])
	}

	if r := do(t, http.MethodDelete, base+"/_sink/messages", nil); r.status != http.StatusNoContent {
		t.Errorf("DELETE /_sink/messages: %d", r.status)
	}
	if r := do(t, http.MethodDelete, base+"/_sink/faults", nil); r.status != http.StatusNoContent {
		t.Errorf("DELETE /_sink/faults: %d", r.status)
	}
	if len(s.Messages()) != 0 || len(s.Faults()) != 0 {
		t.Errorf("after DELETEs: %d messages, %d faults", len(s.Messages()), len(s.Faults()))
	}
	if got := sendTo(t, base, "dead"); got.status != 200 {
		t.Errorf("send after clearing faults: %d, want 200", got.status)
	}
}

func TestControlRejectsBadFaults(t *testing.T) {
	_, base := startSink(t, Options{})
	tests := []struct {
		name string
		body any
		want int
	}{
		{"unknown code", map[string]any{"code": "TEAPOT"}, http.StatusUnprocessableEntity},
		{"unknown field", map[string]any{"code": "INTERNAL", "forever": true}, http.StatusBadRequest},
		{"negative count", map[string]any{"code": "INTERNAL", "count": -2}, http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := do(t, http.MethodPost, base+"/_sink/faults", tt.body); r.status != tt.want {
				t.Errorf("status %d, want %d (%v)", r.status, tt.want, r.body)
			}
		})
	}
}

// A slow fault holds the answer; a client that gives up first is recorded
// with status 499 and nothing delivered, one that waits gets its answer.
func TestSlowFault(t *testing.T) {
	s, base := startSink(t, Options{})
	if _, err := s.AddFault(Fault{Delay: 300 * time.Millisecond, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddFault(Fault{Code: CodeUnavailable, Delay: time.Second}); err == nil {
		t.Fatal("a delay with a code was accepted")
	}
	body := `{"message":{"token":"tok-slow","notification":{"title":"t","body":"b"}}}`
	post := func(timeout time.Duration) (*http.Response, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/projects/p/messages:send", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		return resp, err
	}
	if _, err := post(50 * time.Millisecond); err == nil {
		t.Fatal("the slow answer came before the client's deadline")
	}
	testenvEventually(t, func() bool { return len(s.Messages()) == 1 })
	if m := s.Messages()[0]; m.Status != statusClientGone || m.Delivered() {
		t.Fatalf("abandoned send recorded as %+v", m)
	}
	resp, err := post(5 * time.Second) // the fault's one answer is spent
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after the slow fault: %v, %v", resp, err)
	}
}

func testenvEventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
