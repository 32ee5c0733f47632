package pushsink

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/testenv"
)

func TestSendAcceptsAndRecords(t *testing.T) {
	clock := testenv.NewClock(time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC))
	s, base := startSink(t, Options{Now: clock.Now})

	r := do(t, http.MethodPost, base+"/v1/projects/demo/messages:send", map[string]any{
		"message":       map[string]any{"token": "tok-1", "data": map[string]string{"a": "b"}},
		"validate_only": false,
	})
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, body %v", r.status, r.body)
	}
	name, _ := r.body["name"].(string)
	if !strings.HasPrefix(name, "projects/demo/messages/") {
		t.Errorf("name = %q, want projects/demo/messages/…", name)
	}

	got := s.Messages()
	if len(got) != 1 {
		t.Fatalf("recorded %d messages, want 1", len(got))
	}
	m := got[0]
	if m.Token != "tok-1" || m.Project != "demo" || m.Name != name || !m.Delivered() || m.Authorized {
		t.Errorf("recorded %+v", m)
	}
	if !m.ReceivedAt.Equal(clock.Now()) {
		t.Errorf("ReceivedAt = %v, want %v", m.ReceivedAt, clock.Now())
	}
	if !strings.Contains(string(m.Message), `"token":"tok-1"`) {
		t.Errorf("raw message = %s", m.Message)
	}
}

func TestSendRejectsMalformedMessages(t *testing.T) {
	tests := []struct {
		name      string
		body      any
		wantField string
	}{
		{"no message", map[string]any{}, "message"},
		{"no target", map[string]any{"message": map[string]any{"data": map[string]string{}}}, "message"},
		{"two targets", map[string]any{"message": map[string]any{"token": "t", "topic": "news"}}, "message"},
		{"number in data", map[string]any{"message": map[string]any{"token": "t", "data": map[string]any{"n": 1}}}, "message.data[n].value"},
		{"not json", "just a string", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, base := startSink(t, Options{})
			r := do(t, http.MethodPost, base+"/v1/projects/demo/messages:send", tt.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400", r.status)
			}
			if got := fcmErrorCode(t, r); got != CodeInvalidArgument {
				t.Errorf("errorCode = %q, want INVALID_ARGUMENT", got)
			}
			if !strings.Contains(toJSON(t, r.body), `"field":"`+tt.wantField+`"`) {
				t.Errorf("body %s lacks a violation of field %q", toJSON(t, r.body), tt.wantField)
			}
			if got := s.Messages(); len(got) != 1 || got[0].Delivered() {
				t.Errorf("recorded %+v, want one undelivered", got)
			}
		})
	}
}

func TestErrorBodiesFollowFCM(t *testing.T) {
	tests := []struct {
		code       string
		wantStatus int
		wantRPC    string
	}{
		{CodeUnregistered, 404, "NOT_FOUND"},
		{CodeInvalidArgument, 400, "INVALID_ARGUMENT"},
		{CodeSenderIDMismatch, 403, "PERMISSION_DENIED"},
		{CodeQuotaExceeded, 429, "RESOURCE_EXHAUSTED"},
		{CodeUnavailable, 503, "UNAVAILABLE"},
		{CodeInternal, 500, "INTERNAL"},
		{CodeThirdPartyAuthError, 401, "UNAUTHENTICATED"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			s, base := startSink(t, Options{})
			if _, err := s.AddFault(Fault{Code: tt.code, RetryAfter: 1500 * time.Millisecond}); err != nil {
				t.Fatal(err)
			}
			r := sendTo(t, base, "tok")
			if r.status != tt.wantStatus {
				t.Errorf("status = %d, want %d", r.status, tt.wantStatus)
			}
			e, _ := r.body["error"].(map[string]any)
			if e["status"] != tt.wantRPC || e["code"] != float64(tt.wantStatus) {
				t.Errorf("error = %v, want status %s code %d", e, tt.wantRPC, tt.wantStatus)
			}
			if got := fcmErrorCode(t, r); got != tt.code {
				t.Errorf("errorCode = %q, want %q", got, tt.code)
			}
			if got := r.header.Get("Retry-After"); got != "2" {
				t.Errorf("Retry-After = %q, want 2 (rounded up)", got)
			}
			if m := s.Messages(); len(m) != 1 || m[0].ErrorCode != tt.code || m[0].Status != tt.wantStatus {
				t.Errorf("recorded %+v", m)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	type send struct {
		token    string
		advance  time.Duration
		wantCode string // "" = accepted
	}
	tests := []struct {
		name   string
		faults []Fault
		sends  []send
	}{
		{
			name:   "token always unregistered, others fine",
			faults: []Fault{{Token: "dead", Code: CodeUnregistered}},
			sends: []send{
				{token: "dead", wantCode: CodeUnregistered},
				{token: "alive"},
				{token: "dead", wantCode: CodeUnregistered},
			},
		},
		{
			name:   "global count runs out",
			faults: []Fault{{Code: CodeUnavailable, Count: 2}},
			sends: []send{
				{token: "a", wantCode: CodeUnavailable},
				{token: "b", wantCode: CodeUnavailable},
				{token: "c"},
			},
		},
		{
			name:   "global period ends",
			faults: []Fault{{Code: CodeInternal, For: time.Minute}},
			sends: []send{
				{token: "a", wantCode: CodeInternal},
				{token: "a", advance: 59 * time.Second, wantCode: CodeInternal},
				{token: "a", advance: time.Second},
			},
		},
		{
			name: "token fault wins over global",
			faults: []Fault{
				{Code: CodeQuotaExceeded},
				{Token: "bad", Code: CodeInvalidArgument},
			},
			sends: []send{
				{token: "bad", wantCode: CodeInvalidArgument},
				{token: "good", wantCode: CodeQuotaExceeded},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := testenv.NewClock(time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC))
			s, base := startSink(t, Options{Now: clock.Now})
			for _, f := range tt.faults {
				if _, err := s.AddFault(f); err != nil {
					t.Fatal(err)
				}
			}
			for i, sd := range tt.sends {
				clock.Add(sd.advance)
				r := sendTo(t, base, sd.token)
				if got := fcmErrorCode(t, r); got != sd.wantCode {
					t.Errorf("send %d to %s: errorCode %q, want %q (status %d)", i, sd.token, got, sd.wantCode, r.status)
				}
			}
		})
	}
}

func TestAddFaultRejectsNonsense(t *testing.T) {
	s := New(Options{})
	for _, f := range []Fault{{Code: "TEAPOT"}, {Code: CodeInternal, Count: -1}, {Code: CodeInternal, Field: "message.data"}} {
		if _, err := s.AddFault(f); err == nil {
			t.Errorf("AddFault(%+v) succeeded", f)
		}
	}
}

func TestRecordIsBounded(t *testing.T) {
	s, base := startSink(t, Options{MaxMessages: 3})
	for _, tok := range []string{"t1", "t2", "t3", "t4", "t5"} {
		sendTo(t, base, tok)
	}
	got := s.Messages()
	if len(got) != 3 || got[0].Token != "t3" || got[2].Token != "t5" {
		t.Errorf("kept %v, want the last three", tokens(got))
	}
}

func TestMessagesSinceReadsOnlyWhatIsNew(t *testing.T) {
	s, base := startSink(t, Options{MaxMessages: 3})
	sendTo(t, base, "t1")
	sendTo(t, base, "t2")
	got, n := s.MessagesSince(0)
	if n != 2 || !slices.Equal(tokens(got), []string{"t1", "t2"}) {
		t.Fatalf("from 0: %v, count %d; want t1 t2, 2", tokens(got), n)
	}
	if got, n2 := s.MessagesSince(n); len(got) != 0 || n2 != 2 {
		t.Fatalf("nothing new: %v, count %d", tokens(got), n2)
	}
	for _, tok := range []string{"t3", "t4", "t5"} {
		sendTo(t, base, tok)
	}
	// t3 was dropped before it was read (the sink keeps three): what is
	// kept of the new ones is returned, and the count says five.
	if got, n2 := s.MessagesSince(n); n2 != 5 || !slices.Equal(tokens(got), []string{"t3", "t4", "t5"}) {
		t.Fatalf("after t5: %v, count %d; want t3 t4 t5, 5", tokens(got), n2)
	}
	sendTo(t, base, "t6")
	if got, n2 := s.MessagesSince(1); n2 != 6 || !slices.Equal(tokens(got), []string{"t4", "t5", "t6"}) {
		t.Fatalf("from 1 with t1..t3 dropped: %v, count %d; want what is kept", tokens(got), n2)
	}
	s.Reset()
	sendTo(t, base, "t7")
	if got, n2 := s.MessagesSince(6); n2 != 1 || len(got) != 0 {
		t.Fatalf("after a reset: %v, count %d; want a count below the caller's", tokens(got), n2)
	}
}

func TestUnknownRouteIsNotFound(t *testing.T) {
	_, base := startSink(t, Options{})
	r := do(t, http.MethodPost, base+"/projects/demo/messages:send", map[string]any{"message": map[string]any{"token": "t"}})
	if r.status != http.StatusNotFound || fcmErrorCode(t, r) != "" {
		t.Errorf("status %d, body %v: want a 404 that is not UNREGISTERED", r.status, r.body)
	}
}

func tokens(rs []Received) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Token)
	}
	return out
}
