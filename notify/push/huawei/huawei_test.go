package huawei

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

func newSender(t *testing.T, base string, mutate func(*Config)) *Sender {
	t.Helper()
	c := pushsink.DevCredentials()
	cfg := Config{
		AppID: c.HuaweiAppID, ClientSecret: c.HuaweiClientSecret,
		AuthURL: pushsink.VendorBase(base, pushsink.VendorHuawei) + "/oauth2/v3/token",
		PushURL: pushsink.VendorBase(base, pushsink.VendorHuawei),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSendPartialSuccess(t *testing.T) {
	sink, base := vendortest.StartSink(t, pushsink.Options{})
	s := newSender(t, base, nil)
	msgs := vendortest.Fanout(push.ProviderHuawei, "hw", 3)
	msgs = append(msgs, push.Message{Provider: push.ProviderHuawei}, vendortest.Notice(push.ProviderFCM, "x"))
	if _, err := sink.AddVendorFault(pushsink.VendorFault{Vendor: "huawei", Kind: pushsink.FaultInvalidToken, Token: "hw-0001"}); err != nil {
		t.Fatal(err)
	}
	res := s.Send(context.Background(), msgs)
	want := []string{push.OutcomeSent, push.OutcomeDeactivate, push.OutcomeSent, push.OutcomeFailed, push.OutcomeFailed}
	for i, w := range want {
		if res[i].Outcome != w {
			t.Fatalf("results %v, want %v", vendortest.Outcomes(res), want)
		}
	}
	if res[1].ErrorCode != "illegal_token" || res[3].ErrorCode != push.CodeMissingToken {
		t.Errorf("codes %+v", res)
	}
	got := sink.VendorDelivered("huawei")
	if len(got) != 2 {
		t.Fatalf("delivered %d", len(got))
	}
	var m struct {
		Data    string `json:"data"`
		Android struct {
			Category     string `json:"category"`
			Urgency      string `json:"urgency"`
			Notification struct {
				Title       string `json:"title"`
				Tag         string `json:"tag"`
				ClickAction struct {
					Type   int    `json:"type"`
					Intent string `json:"intent"`
				} `json:"click_action"`
			} `json:"notification"`
		} `json:"android"`
	}
	if err := json.Unmarshal(got[0].Message, &m); err != nil {
		t.Fatal(err)
	}
	var data map[string]string
	if err := json.Unmarshal([]byte(m.Data), &data); err != nil {
		t.Fatalf("data is not a JSON object in a string: %q", m.Data)
	}
	if m.Android.Category != "WORK" || m.Android.Urgency != "NORMAL" || data["notification_id"] != "ntf-0001" ||
		m.Android.Notification.Tag != "WF-2026-0001" || m.Android.Notification.ClickAction.Type != 1 ||
		m.Android.Notification.ClickAction.Intent != "zsb://projects/WF-2026-0001/next-steps" {
		t.Errorf("message %+v data %v", m, data)
	}
}

func TestAllInvalidAndCritical(t *testing.T) {
	sink, base := vendortest.StartSink(t, pushsink.Options{})
	s := newSender(t, base, nil)
	sink.AddVendorFault(pushsink.VendorFault{Vendor: "huawei", Kind: pushsink.FaultInvalidToken, Token: "dead"})
	res := s.Send(context.Background(), []push.Message{vendortest.Notice("huawei", "dead")})
	if res[0].Outcome != push.OutcomeDeactivate || res[0].ErrorCode != "80300007" {
		t.Fatalf("result %+v", res[0])
	}
	crit := vendortest.Notice("huawei", "alive")
	crit.Critical = true
	vendortest.AllOutcome(t, s.Send(context.Background(), []push.Message{crit}), push.OutcomeSent)
	var m struct {
		Android struct{ Urgency string } `json:"android"`
	}
	json.Unmarshal(sink.VendorDelivered("huawei")[0].Message, &m)
	if m.Android.Urgency != "HIGH" {
		t.Errorf("critical urgency %q", m.Android.Urgency)
	}
}

func TestTokenRefreshedOnceUnderConcurrency(t *testing.T) {
	sink, base := vendortest.StartSink(t, pushsink.Options{})
	s := newSender(t, base, nil)
	run := func() {
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				res := s.Send(context.Background(), vendortest.Fanout("huawei", "c"+string(rune('a'+i)), 3))
				vendortest.AllOutcome(t, res, push.OutcomeSent)
			})
		}
		wg.Wait()
	}
	run()
	if n := sink.AccessTokensIssued("huawei"); n != 1 {
		t.Fatalf("%d tokens fetched for 20 concurrent sends", n)
	}
	// The vendor expires the token mid-run: one refresh, every send goes.
	sink.ExpireAccessTokens("huawei")
	run()
	if n := sink.AccessTokensIssued("huawei"); n != 2 {
		t.Fatalf("%d tokens fetched after expiry, want 2", n)
	}
	if n := len(sink.VendorDelivered("huawei")); n != 120 {
		t.Errorf("%d delivered, want 120", n)
	}
}

func TestExpiredByClockRefreshes(t *testing.T) {
	now := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	sink, base := vendortest.StartSink(t, pushsink.Options{Now: clock})
	// The client's clock runs slow: it believes its token still fresh.
	s := newSender(t, base, func(c *Config) { c.Now = func() time.Time { return time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC) } })
	vendortest.AllOutcome(t, s.Send(context.Background(), vendortest.Fanout("huawei", "a", 2)), push.OutcomeSent)
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	vendortest.AllOutcome(t, s.Send(context.Background(), vendortest.Fanout("huawei", "b", 2)), push.OutcomeSent)
	if n := sink.AccessTokensIssued("huawei"); n != 2 {
		t.Errorf("%d tokens", n)
	}
}

func TestWrongSecretStopsProvider(t *testing.T) {
	sink, base := vendortest.StartSink(t, pushsink.Options{})
	s := newSender(t, base, func(c *Config) { c.ClientSecret = "wrong" })
	res := s.Send(context.Background(), vendortest.Fanout("huawei", "w", 2))
	vendortest.AllOutcome(t, res, push.OutcomeAuthFailed)
	if res[0].ErrorCode != "1101" || !res[0].Pending() {
		t.Errorf("result %+v", res[0])
	}
	if len(sink.VendorMessages("huawei")) != 0 {
		t.Error("a send got through without a token")
	}
}

func TestThrottleAndServerError(t *testing.T) {
	sink, base := vendortest.StartSink(t, pushsink.Options{})
	s := newSender(t, base, nil)
	sink.AddVendorFault(pushsink.VendorFault{Vendor: "huawei", Kind: pushsink.FaultThrottle, Count: 1, RetryAfter: 30 * time.Second})
	res := s.Send(context.Background(), vendortest.Fanout("huawei", "t", 2))
	vendortest.AllOutcome(t, res, push.OutcomeRetry)
	if res[0].RetryAfter != 30*time.Second {
		t.Errorf("retry after %v", res[0].RetryAfter)
	}
	sink.AddVendorFault(pushsink.VendorFault{Vendor: "huawei", Kind: pushsink.FaultServer, Count: 1})
	res = s.Send(context.Background(), vendortest.Fanout("huawei", "t", 2))
	vendortest.AllOutcome(t, res, push.OutcomeRetry)
	if res[0].ErrorCode != "81000001" {
		t.Errorf("server error code %q", res[0].ErrorCode)
	}
	vendortest.AllOutcome(t, s.Send(context.Background(), vendortest.Fanout("huawei", "t", 2)), push.OutcomeSent)
}

func TestBatchOfMoreThanAThousand(t *testing.T) {
	sink, base := vendortest.StartSink(t, pushsink.Options{})
	s := newSender(t, base, nil)
	vendortest.AllOutcome(t, s.Send(context.Background(), vendortest.Fanout("huawei", "big", 2500)), push.OutcomeSent)
	if n := len(sink.VendorDelivered("huawei")); n != 2500 {
		t.Errorf("%d delivered", n)
	}
}

func TestSuite(t *testing.T) {
	vendortest.Suite{
		Provider: push.ProviderHuawei, Vendor: pushsink.VendorHuawei,
		New: func(t *testing.T, base string, wrong bool, now func() time.Time) push.Sender {
			return newSender(t, base, func(c *Config) {
				c.Now = now
				if wrong {
					c.ClientSecret = "wrong"
				}
			})
		},
		Fetches: func(s push.Sender) int { return s.(*Sender).TokenFetches() },
	}.Run(t)
}
