package harmony

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

// setup starts a sink that trusts a fresh service account and returns a
// sender signing with it.
func setup(t *testing.T, opts pushsink.Options, mutate func(*Config)) (*pushsink.Sink, *Sender) {
	t.Helper()
	creds := pushsink.DevCredentials()
	sa, err := pushsink.NewHarmonyServiceAccount(&creds)
	if err != nil {
		t.Fatal(err)
	}
	opts.Credentials = &creds
	sink, base := vendortest.StartSink(t, opts)
	cfg := Config{ServiceAccountJSON: sa, PushURL: pushsink.VendorBase(base, pushsink.VendorHarmony)}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sink, s
}

func TestSendPartialSuccess(t *testing.T) {
	sink, s := setup(t, pushsink.Options{}, nil)
	sink.AddVendorFault(pushsink.VendorFault{Vendor: "harmony", Kind: pushsink.FaultInvalidToken, Token: "hm-0002"})
	res := s.Send(context.Background(), vendortest.Fanout("harmony", "hm", 3))
	want := []string{push.OutcomeSent, push.OutcomeSent, push.OutcomeDeactivate}
	for i, w := range want {
		if res[i].Outcome != w {
			t.Fatalf("results %v, want %v", vendortest.Outcomes(res), want)
		}
	}
	var m struct {
		Payload struct {
			Notification struct {
				Category    string `json:"category"`
				ClickAction struct {
					ActionType int               `json:"actionType"`
					URI        string            `json:"uri"`
					Data       map[string]string `json:"data"`
				} `json:"clickAction"`
				Badge struct {
					SetNum int `json:"setNum"`
				} `json:"badge"`
			} `json:"notification"`
		} `json:"payload"`
	}
	json.Unmarshal(sink.VendorDelivered("harmony")[0].Message, &m)
	n := m.Payload.Notification
	if n.Category != "WORK" || n.ClickAction.ActionType != 1 || n.ClickAction.Data["project_id"] != "WF-2026-0001" || n.Badge.SetNum != 3 {
		t.Errorf("message %+v", n)
	}
}

func TestAllInvalid(t *testing.T) {
	sink, s := setup(t, pushsink.Options{}, nil)
	sink.AddVendorFault(pushsink.VendorFault{Vendor: "harmony", Kind: pushsink.FaultInvalidToken, Token: "dead"})
	res := s.Send(context.Background(), []push.Message{vendortest.Notice("harmony", "dead")})
	if res[0].Outcome != push.OutcomeDeactivate {
		t.Fatalf("%+v", res[0])
	}
}

func TestJWTSignedOnceAndReSignedWhenExpired(t *testing.T) {
	now := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	sinkClock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	// The client's clock lags the vendor's by two hours: its JWT looks
	// fresh to it, the vendor calls it expired, it signs a new one.
	clientNow := now
	var cmu sync.Mutex
	clientClock := func() time.Time { cmu.Lock(); defer cmu.Unlock(); return clientNow }
	_, s := setup(t, pushsink.Options{Now: sinkClock}, func(c *Config) { c.Now = clientClock })
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			vendortest.AllOutcome(t, s.Send(context.Background(), vendortest.Fanout("harmony", string(rune('a'+i)), 2)), push.OutcomeSent)
		})
	}
	wg.Wait()
	if n := s.TokenFetches(); n != 1 {
		t.Fatalf("%d JWTs signed", n)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	cmu.Lock()
	clientNow = now // signing anew uses the current time
	cmu.Unlock()
	vendortest.AllOutcome(t, s.Send(context.Background(), vendortest.Fanout("harmony", "late", 2)), push.OutcomeSent)
}

func TestWrongKeyStopsProvider(t *testing.T) {
	other := pushsink.DevCredentials()
	wrong, err := pushsink.NewHarmonyServiceAccount(&other) // a key the sink does not trust
	if err != nil {
		t.Fatal(err)
	}
	sink, s := setup(t, pushsink.Options{}, func(c *Config) { c.ServiceAccountJSON = wrong })
	res := s.Send(context.Background(), vendortest.Fanout("harmony", "w", 2))
	vendortest.AllOutcome(t, res, push.OutcomeAuthFailed)
	if s.TokenFetches() != 2 || len(sink.VendorMessages("harmony")) != 0 {
		t.Errorf("fetches %d, received %d", s.TokenFetches(), len(sink.VendorMessages("harmony")))
	}
}

func TestThrottle(t *testing.T) {
	sink, s := setup(t, pushsink.Options{}, nil)
	sink.AddVendorFault(pushsink.VendorFault{Vendor: "harmony", Kind: pushsink.FaultThrottle, Count: 1, RetryAfter: 20 * time.Second})
	res := s.Send(context.Background(), vendortest.Fanout("harmony", "t", 2))
	if res[0].Outcome != push.OutcomeRetry || res[0].RetryAfter != 20*time.Second {
		t.Fatalf("%+v", res[0])
	}
}

func TestBatchOfMoreThanAThousand(t *testing.T) {
	sink, s := setup(t, pushsink.Options{}, nil)
	vendortest.AllOutcome(t, s.Send(context.Background(), vendortest.Fanout("harmony", "big", 1001)), push.OutcomeSent)
	if n := len(sink.VendorDelivered("harmony")); n != 1001 {
		t.Errorf("%d delivered", n)
	}
}

func TestSuite(t *testing.T) {
	creds := pushsink.DevCredentials()
	sa, err := pushsink.NewHarmonyServiceAccount(&creds)
	if err != nil {
		t.Fatal(err)
	}
	other := pushsink.DevCredentials()
	wrong, err := pushsink.NewHarmonyServiceAccount(&other)
	if err != nil {
		t.Fatal(err)
	}
	vendortest.Suite{
		Provider: push.ProviderHarmony, Vendor: pushsink.VendorHarmony, Credentials: &creds,
		New: func(t *testing.T, base string, bad bool, now func() time.Time) push.Sender {
			cfg := Config{ServiceAccountJSON: sa, PushURL: pushsink.VendorBase(base, pushsink.VendorHarmony), Now: now}
			if bad {
				cfg.ServiceAccountJSON = wrong
			}
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}.Run(t)
}
