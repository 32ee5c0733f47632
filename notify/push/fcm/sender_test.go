package fcm

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/notify/push"
)

// sinkSender starts a local FCM sink and an Sender pointed at it.
func sinkSender(t *testing.T) (*pushsink.Sink, *Sender) {
	t.Helper()
	sink := pushsink.New(pushsink.Options{})
	base, err := sink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sink.Close(); err != nil {
			t.Errorf("sink Close: %v", err)
		}
	})
	sender, err := NewSender(context.Background(), Config{Endpoint: pushsink.Endpoint(base)})
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	return sink, sender
}

// pushTo is a valid progress push for token.
func pushTo(token string) push.Message {
	return push.Message{
		Token: token, Provider: push.ProviderFCM,
		NotificationID: "n-" + token, Category: "progress", ProjectID: "WF-1",
		ItemCodes: []string{"370700-001"}, Route: "zsb://projects/WF-1/progress",
		UnreadCount: 2, Title: "进度更新", Body: "建设工程规划许可证已预审批",
	}
}

func TestFCMSenderDeliversThroughFirebaseClient(t *testing.T) {
	sink, sender := sinkSender(t)
	res := sender.Send(context.Background(), []push.Message{pushTo("tok-a"), pushTo("tok-b")})
	delivered := sink.Delivered()
	if len(delivered) != 2 {
		t.Fatalf("sink got %d messages, want 2", len(delivered))
	}
	byToken := map[string]pushsink.Received{}
	for _, d := range delivered {
		byToken[d.Token] = d
		if d.Project != LocalProjectID || d.Authorized {
			t.Errorf("message for %s: project %q authorized %v; want %q, unauthenticated", d.Token, d.Project, d.Authorized, LocalProjectID)
		}
	}
	for i, tok := range []string{"tok-a", "tok-b"} {
		if res[i].Outcome != push.OutcomeSent || res[i].MessageID != byToken[tok].Name {
			t.Errorf("result %d = %+v, want sent with id %q", i, res[i], byToken[tok].Name)
		}
	}
}

func TestFCMSenderMapsErrors(t *testing.T) {
	tests := []struct {
		name  string
		fault pushsink.Fault
		want  push.Result
	}{
		{"unregistered token", pushsink.Fault{Token: "tok", Code: pushsink.CodeUnregistered},
			push.Result{Outcome: push.OutcomeDeactivate, ErrorCode: "UNREGISTERED"}},
		{"invalid token", pushsink.Fault{Token: "tok", Code: pushsink.CodeInvalidArgument},
			push.Result{Outcome: push.OutcomeDeactivate, ErrorCode: "INVALID_ARGUMENT"}},
		{"invalid token named", pushsink.Fault{Code: pushsink.CodeInvalidArgument, Field: "message.token"},
			push.Result{Outcome: push.OutcomeDeactivate, ErrorCode: "INVALID_ARGUMENT"}},
		{"invalid payload", pushsink.Fault{Code: pushsink.CodeInvalidArgument, Field: "message.android.collapse_key"},
			push.Result{Outcome: push.OutcomeFailed, ErrorCode: "INVALID_ARGUMENT"}},
		{"quota with Retry-After", pushsink.Fault{Code: pushsink.CodeQuotaExceeded, RetryAfter: 30 * time.Second},
			push.Result{Outcome: push.OutcomeRetry, ErrorCode: "QUOTA_EXCEEDED", RetryAfter: 30 * time.Second}},
		{"quota without Retry-After", pushsink.Fault{Code: pushsink.CodeQuotaExceeded},
			push.Result{Outcome: push.OutcomeRetry, ErrorCode: "QUOTA_EXCEEDED"}},
		// Beyond two minutes the SDK stops retrying 503 itself.
		{"unavailable with long Retry-After", pushsink.Fault{Code: pushsink.CodeUnavailable, RetryAfter: 5 * time.Minute},
			push.Result{Outcome: push.OutcomeRetry, ErrorCode: "UNAVAILABLE", RetryAfter: 5 * time.Minute}},
		{"internal", pushsink.Fault{Code: pushsink.CodeInternal},
			push.Result{Outcome: push.OutcomeRetry, ErrorCode: "INTERNAL"}},
		{"sender id mismatch", pushsink.Fault{Code: pushsink.CodeSenderIDMismatch},
			push.Result{Outcome: push.OutcomeFailed, ErrorCode: "SENDER_ID_MISMATCH"}},
		{"third-party auth", pushsink.Fault{Code: pushsink.CodeThirdPartyAuthError},
			push.Result{Outcome: push.OutcomeFailed, ErrorCode: "THIRD_PARTY_AUTH_ERROR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink, sender := sinkSender(t)
			if _, err := sink.AddFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			got := sender.Send(context.Background(), []push.Message{pushTo("tok")})
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("Send = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestFCMSenderSustained503 shows a long outage reaching the dispatcher as a
// retry once firebase-admin-go has spent its own five attempts (0+1+2+4 s).
func TestFCMSenderSustained503(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the SDK's own 503 retries")
	}
	t.Parallel()
	sink, sender := sinkSender(t)
	if _, err := sink.AddFault(pushsink.Fault{Code: pushsink.CodeUnavailable}); err != nil {
		t.Fatal(err)
	}
	got := sender.Send(context.Background(), []push.Message{pushTo("tok")})
	want := push.Result{Outcome: push.OutcomeRetry, ErrorCode: "UNAVAILABLE"}
	if got[0] != want {
		t.Errorf("Send = %+v, want %+v", got[0], want)
	}
	if n := len(sink.Messages()); n != 5 {
		t.Errorf("sink saw %d attempts, want 5", n)
	}
}

func TestFCMSenderKeepsOrderAndSkipsUnsendable(t *testing.T) {
	sink, sender := sinkSender(t)
	if _, err := sink.AddFault(pushsink.Fault{Token: "dead", Code: pushsink.CodeUnregistered}); err != nil {
		t.Fatal(err)
	}
	huawei := pushTo("hw-token")
	huawei.Provider = "huawei"
	noToken := pushTo("")
	defaulted := pushTo("default-provider")
	defaulted.Provider = ""

	got := sender.Send(context.Background(), []push.Message{pushTo("ok"), huawei, pushTo("dead"), noToken, defaulted})
	want := []push.Result{
		{Outcome: push.OutcomeSent},
		{Outcome: push.OutcomeFailed, ErrorCode: "provider_unsupported"},
		{Outcome: push.OutcomeDeactivate, ErrorCode: "UNREGISTERED"},
		{Outcome: push.OutcomeFailed, ErrorCode: "missing_token"},
		{Outcome: push.OutcomeSent},
	}
	for i := range want {
		got[i].MessageID = "" // ids are the sink's business
		if got[i] != want[i] {
			t.Errorf("result %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if n := len(sink.Messages()); n != 3 {
		t.Errorf("sink saw %d sends, want 3 (huawei and empty token never sent)", n)
	}
}

func TestFCMSenderChunksLargeSends(t *testing.T) {
	sink, sender := sinkSender(t)
	const n = 2*maxBatch + 7
	msgs := make([]push.Message, n)
	for i := range msgs {
		msgs[i] = pushTo(fmt.Sprintf("tok-%04d", i))
	}
	for i, r := range sender.Send(context.Background(), msgs) {
		if r.Outcome != push.OutcomeSent {
			t.Fatalf("result %d = %+v", i, r)
		}
	}
	if got := len(sink.Delivered()); got != n {
		t.Errorf("sink got %d, want %d", got, n)
	}
	if got := push.MaxBatch(sender, push.ProviderFCM); got != maxBatch {
		t.Errorf("MaxBatch(fcm) = %d, want %d", got, maxBatch)
	}
	if got := push.MaxBatch(sender, push.ProviderHuawei); got != 0 {
		t.Errorf("MaxBatch(huawei) = %d, want 0", got)
	}
}

func TestFCMSenderWrongPathIsNotADeadToken(t *testing.T) {
	sink := pushsink.New(pushsink.Options{})
	base, err := sink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	// Forgetting "/v1" makes every send a 404 without an FCM error code.
	sender, err := NewSender(context.Background(), Config{Endpoint: base})
	if err != nil {
		t.Fatal(err)
	}
	got := sender.Send(context.Background(), []push.Message{pushTo("tok")})
	if got[0].Outcome != push.OutcomeFailed || got[0].ErrorCode != "NOT_FOUND" {
		t.Errorf("Send = %+v, want failed NOT_FOUND (not deactivate)", got[0])
	}
}

func TestFCMSenderCanceledContext(t *testing.T) {
	_, sender := sinkSender(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := sender.Send(ctx, []push.Message{pushTo("tok")})
	if got[0].Outcome != push.OutcomeRetry {
		t.Errorf("Send = %+v, want retry", got[0])
	}
}

func TestNewFCMSenderConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"local sink", Config{Endpoint: "http://127.0.0.1:9099/v1"}, false},
		{"local sink, trailing slash", Config{ProjectID: "p", Endpoint: "http://127.0.0.1:9099/v1/"}, false},
		{"nothing configured", Config{ProjectID: "p"}, true},
		{"endpoint not a URL", Config{Endpoint: "127.0.0.1:9099"}, true},
		{"endpoint not http", Config{Endpoint: "ftp://127.0.0.1/v1"}, true},
		{"credentials file missing", Config{ProjectID: "p", CredentialsFile: "/nonexistent/sa.json"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSender(context.Background(), tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}
