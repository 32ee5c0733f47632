package apns

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/internal/vendortest"
)

// keys makes the stand-in's credentials with a fresh .p8 key, and a second
// key it does not trust.
func keys(t *testing.T) (*pushsink.Credentials, []byte, []byte) {
	t.Helper()
	creds := pushsink.DevCredentials()
	good, err := pushsink.NewAPNsKey(&creds)
	if err != nil {
		t.Fatal(err)
	}
	other := pushsink.DevCredentials()
	bad, err := pushsink.NewAPNsKey(&other)
	if err != nil {
		t.Fatal(err)
	}
	return &creds, good, bad
}

func sender(t *testing.T, creds *pushsink.Credentials, key []byte, base string, now func() time.Time) *Sender {
	t.Helper()
	s, err := New(Config{KeyPEM: key, KeyID: creds.APNsKeyID, TeamID: creds.APNsTeamID, Topic: creds.APNsTopic,
		URL: pushsink.VendorBase(base, pushsink.VendorAPNs), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestSuite(t *testing.T) {
	creds, good, bad := keys(t)
	vendortest.Suite{
		Provider: push.ProviderAPNs, Vendor: pushsink.VendorAPNs, Credentials: creds, MaxBatch: 1,
		New: func(t *testing.T, base string, wrong bool, now func() time.Time) push.Sender {
			key := good
			if wrong {
				key = bad
			}
			return sender(t, creds, key, base, now)
		},
	}.Run(t)
}

// APNs takes one device a request, side by side over HTTP/2: the sender
// takes as many pushes together as it keeps requests in flight.
func TestMaxBatchIsTheRequestsInFlight(t *testing.T) {
	creds, good, _ := keys(t)
	_, base := vendortest.StartSink(t, pushsink.Options{Credentials: creds})
	s := sender(t, creds, good, base, nil)
	if got := push.MaxBatch(s, push.ProviderAPNs); got != DefaultParallel {
		t.Errorf("MaxBatch(apns) = %d, want %d", got, DefaultParallel)
	}
	if got := push.MaxBatch(s, push.ProviderFCM); got != 0 {
		t.Errorf("MaxBatch(fcm) = %d, want 0", got)
	}
}

func TestPayloadAndHeaders(t *testing.T) {
	creds, good, _ := keys(t)
	sink, base := vendortest.StartSink(t, pushsink.Options{Credentials: creds})
	s := sender(t, creds, good, base, nil)
	m := vendortest.Notice("apns", "ios-1")
	m.Critical = true
	vendortest.AllOutcome(t, s.Send(context.Background(), []push.Message{m}), push.OutcomeSent)
	var got struct {
		Headers map[string]string `json:"headers"`
		Payload struct {
			Aps struct {
				Alert             Alert  `json:"alert"`
				Badge             int    `json:"badge"`
				ThreadID          string `json:"thread-id"`
				InterruptionLevel string `json:"interruption-level"`
			} `json:"aps"`
			Route          string `json:"route"`
			NotificationID string `json:"notification_id"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(sink.VendorDelivered("apns")[0].Message, &got); err != nil {
		t.Fatal(err)
	}
	h, p := got.Headers, got.Payload
	if h["apns-priority"] != "10" || h["apns-push-type"] != "alert" || h["apns-collapse-id"] != m.ProjectID || h["apns-topic"] != creds.APNsTopic {
		t.Errorf("headers %v", h)
	}
	if p.Aps.InterruptionLevel != "time-sensitive" || p.Aps.Badge != 3 || p.Aps.ThreadID != m.ProjectID ||
		p.Aps.Alert.Title != m.Title || p.Route != m.Route || p.NotificationID != "ntf-0001" {
		t.Errorf("payload %+v", p)
	}
}

func TestProviderTokenRenewedOnce(t *testing.T) {
	creds, good, _ := keys(t)
	sink, base := vendortest.StartSink(t, pushsink.Options{Credentials: creds})
	s := sender(t, creds, good, base, nil)
	run := func() {
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				vendortest.AllOutcome(t, s.Send(context.Background(), vendortest.Fanout("apns", string(rune('a'+i)), 3)), push.OutcomeSent)
			})
		}
		wg.Wait()
	}
	run()
	if n := sink.AccessTokensIssued("apns"); n != 1 || s.Renewals() != 0 {
		t.Fatalf("%d provider tokens seen, %d renewals", n, s.Renewals())
	}
	sink.ExpireAccessTokens("apns")
	run()
	if n := sink.AccessTokensIssued("apns"); n != 2 || s.Renewals() != 1 {
		t.Fatalf("after expiry: %d provider tokens seen, %d renewals", n, s.Renewals())
	}
	if n := len(sink.VendorDelivered("apns")); n != 120 {
		t.Errorf("%d delivered", n)
	}
}
