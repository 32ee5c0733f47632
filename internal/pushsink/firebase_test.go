package pushsink

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"
)

// messagingClient is firebase-admin-go's own client pointed at the sink.
func messagingClient(t *testing.T, base string) *messaging.Client {
	t.Helper()
	ctx := context.Background()
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: "demo"},
		option.WithEndpoint(Endpoint(base)), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	c, err := app.Messaging(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFirebaseClientSendsToSink(t *testing.T) {
	s, base := startSink(t, Options{})
	c := messagingClient(t, base)
	id, err := c.Send(context.Background(), &messaging.Message{Token: "tok-1", Data: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := s.Delivered()
	if len(got) != 1 || got[0].Name != id || got[0].Token != "tok-1" || got[0].Project != "demo" {
		t.Errorf("sink has %+v, client got id %q", got, id)
	}
	if _, err := c.SendDryRun(context.Background(), &messaging.Message{Token: "tok-1"}); err != nil {
		t.Fatalf("SendDryRun: %v", err)
	}
	if m := s.Messages(); len(m) != 2 || !m[1].ValidateOnly || m[1].Delivered() {
		t.Errorf("dry run recorded as %+v", m[len(m)-1])
	}
}

// TestFirebaseErrorPredicates proves firebase-admin-go reads the sink's
// error bodies as it reads FCM's.
func TestFirebaseErrorPredicates(t *testing.T) {
	tests := []struct {
		fault Fault
		is    func(error) bool
		// wantRetryAfter is the Retry-After the SDK's error exposes.
		wantRetryAfter string
	}{
		{Fault{Code: CodeUnregistered}, messaging.IsUnregistered, ""},
		{Fault{Code: CodeInvalidArgument}, messaging.IsInvalidArgument, ""},
		{Fault{Code: CodeQuotaExceeded, RetryAfter: 42 * time.Second}, messaging.IsQuotaExceeded, "42"},
		{Fault{Code: CodeInternal}, messaging.IsInternal, ""},
		{Fault{Code: CodeSenderIDMismatch}, messaging.IsSenderIDMismatch, ""},
		{Fault{Code: CodeThirdPartyAuthError}, messaging.IsThirdPartyAuthError, ""},
		// A Retry-After beyond the SDK's two-minute ceiling stops its own
		// retries, so the 503 surfaces at once.
		{Fault{Code: CodeUnavailable, RetryAfter: 5 * time.Minute}, messaging.IsUnavailable, "300"},
	}
	for _, tt := range tests {
		t.Run(tt.fault.Code, func(t *testing.T) {
			s, base := startSink(t, Options{})
			if _, err := s.AddFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			_, err := messagingClient(t, base).Send(context.Background(), &messaging.Message{Token: "tok"})
			if err == nil || !tt.is(err) {
				t.Fatalf("err = %v, predicate for %s false", err, tt.fault.Code)
			}
			resp := errorutils.HTTPResponse(err)
			if resp == nil {
				t.Fatal("no HTTP response behind the error")
			}
			if got := resp.Header.Get("Retry-After"); got != tt.wantRetryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetryAfter)
			}
			if n := len(s.Messages()); n != 1 {
				t.Errorf("sink saw %d attempts, want 1", n)
			}
		})
	}
}

// TestFirebaseClientRetries503Itself documents that firebase-admin-go retries
// a 503 on its own: a one-off outage never reaches the caller.
func TestFirebaseClientRetries503Itself(t *testing.T) {
	s, base := startSink(t, Options{})
	if _, err := s.AddFault(Fault{Code: CodeUnavailable, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := messagingClient(t, base).Send(context.Background(), &messaging.Message{Token: "tok"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := s.Messages()
	if len(m) != 2 || m[0].Status != http.StatusServiceUnavailable || !m[1].Delivered() {
		t.Errorf("attempts %+v, want a 503 then a delivery", m)
	}
}

func TestEndpoint(t *testing.T) {
	if got := Endpoint("http://127.0.0.1:9099"); !strings.HasSuffix(got, ":9099/v1") {
		t.Errorf("Endpoint = %q", got)
	}
}
