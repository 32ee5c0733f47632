package fcm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/notify/push"
)

// TestSenderOverTheRealTransport sends the way production reaches FCM: TLS
// with HTTP/2, a service-account file whose key is exchanged at its
// token_uri for an access token, the token on every send. The stand-in
// checks each step, and refuses a sender without a token.
func TestSenderOverTheRealTransport(t *testing.T) {
	sink := pushsink.New(pushsink.Options{})
	base, err := sink.StartTLS("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	// Trust the stand-in's CA in this process only, as SSL_CERT_FILE does
	// for a BFF process.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(sink.CACertPEM()) {
		t.Fatal("the sink's CA does not parse")
	}
	dt := http.DefaultTransport.(*http.Transport)
	was := dt.TLSClientConfig
	dt.TLSClientConfig = &tls.Config{RootCAs: pool}
	t.Cleanup(func() { dt.TLSClientConfig = was })

	account, err := sink.FCMServiceAccount(base, "kaigong-tls")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "service-account.json")
	if err := os.WriteFile(file, account, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := NewSender(ctx, Config{CredentialsFile: file, Endpoint: pushsink.Endpoint(base)})
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]push.Message, 3)
	for i := range msgs {
		msgs[i] = push.Message{Token: "tok-tls-" + string(rune('a'+i)), NotificationID: "n-1", Category: "progress",
			ProjectID: "WF-1", Route: "zsb://projects/WF-1/progress", Title: "t", Body: "b"}
	}
	for i, r := range s.Send(ctx, msgs) {
		if r.Outcome != push.OutcomeSent {
			t.Fatalf("message %d: %+v", i, r)
		}
	}
	got := sink.Delivered()
	if len(got) != 3 {
		t.Fatalf("%d messages at the sink, want 3", len(got))
	}
	for _, m := range got {
		if m.Proto != "HTTP/2.0" || !m.Authorized || m.Project != "kaigong-tls" {
			t.Fatalf("received over %s, authorized %v, project %s; want HTTP/2.0 with a token for kaigong-tls", m.Proto, m.Authorized, m.Project)
		}
	}
	if n := sink.FCMTokensIssued(); n != 1 {
		t.Fatalf("%d access tokens issued, want 1 for three sends", n)
	}

	// A sender without credentials is refused now that the stand-in has an
	// account, as FCM refuses one.
	anon, err := NewSender(ctx, Config{ProjectID: "kaigong-tls", Endpoint: pushsink.Endpoint(base)})
	if err != nil {
		t.Fatal(err)
	}
	if r := anon.Send(ctx, msgs[:1])[0]; r.Outcome == push.OutcomeSent {
		t.Fatalf("an unauthenticated send was accepted: %+v", r)
	}
}
