package pushsink

import (
	"encoding/json"
	"net/http"
	"testing"
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
