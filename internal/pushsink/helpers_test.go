package pushsink

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// startSink starts a sink on a free port and closes it after the test.
func startSink(t *testing.T, opts Options) (*Sink, string) {
	t.Helper()
	s := New(opts)
	base, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, base
}

// reply is a decoded HTTP answer.
type reply struct {
	status int
	header http.Header
	body   map[string]any
}

// do sends a request with an optional JSON body and decodes a JSON answer.
func do(t *testing.T, method, url string, body any) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %v: %s", method, url, err, raw)
		}
	}
	return r
}

// sendTo posts a minimal FCM message for token to the sink.
func sendTo(t *testing.T, base, token string) reply {
	t.Helper()
	return do(t, http.MethodPost, base+"/v1/projects/demo/messages:send", map[string]any{
		"message": map[string]any{"token": token, "data": map[string]string{"k": "v"}},
	})
}

// fcmErrorCode digs the FcmError errorCode out of an error answer.
func fcmErrorCode(t *testing.T, r reply) string {
	t.Helper()
	e, _ := r.body["error"].(map[string]any)
	details, _ := e["details"].([]any)
	for _, d := range details {
		m, _ := d.(map[string]any)
		if m["@type"] == fcmErrorType {
			s, _ := m["errorCode"].(string)
			return s
		}
	}
	return ""
}
