package vendortest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/notify/push"
)

// Suite is the behaviour every vendor sender shows against its stand-in.
type Suite struct {
	// Provider is the push provider name, Vendor the stand-in's.
	Provider, Vendor string
	// Credentials, when set, are what the stand-in accepts (else the
	// development ones).
	Credentials *pushsink.Credentials
	// New builds a sender against the sink at base; wrong asks for one
	// with a wrong secret (or key). now is the sender's clock.
	New func(t *testing.T, base string, wrong bool, now func() time.Time) push.Sender
	// Fetches counts the sender's access-token fetches; nil for vendors
	// without an exchange (Xiaomi).
	Fetches func(push.Sender) int
	// Quota is set for vendors with a daily quota answer.
	Quota bool
	// MaxBatch is the vendor's most tokens a request (default 1,000; 1 for
	// APNs, one device a request).
	MaxBatch int
}

// Run runs the suite's tests as subtests.
func (s Suite) Run(t *testing.T) {
	t.Run("partial success", s.partial)
	t.Run("all invalid", s.allInvalid)
	t.Run("batch over the maximum", s.batch)
	t.Run("one notice to 2,500 devices", s.bigFanout)
	t.Run("throttled", s.throttled)
	t.Run("server error", s.serverError)
	t.Run("wrong secret", s.wrongSecret)
	if s.Quota {
		t.Run("quota", s.quota)
	}
	if s.Fetches != nil {
		t.Run("token fetched once under concurrency", s.concurrency)
		t.Run("token expired by the vendor's clock", s.expiredByClock)
	}
}

func (s Suite) start(t *testing.T, now func() time.Time) (*pushsink.Sink, string) {
	return StartSink(t, pushsink.Options{Now: now, Credentials: s.Credentials})
}

func (s Suite) partial(t *testing.T) {
	sink, base := s.start(t, nil)
	snd := s.New(t, base, false, nil)
	sink.AddVendorFault(pushsink.VendorFault{Vendor: s.Vendor, Kind: pushsink.FaultInvalidToken, Token: "p-0001"})
	msgs := append(Fanout(s.Provider, "p", 3), push.Message{Provider: s.Provider}, Notice("fcm", "x"))
	res := snd.Send(context.Background(), msgs)
	want := []string{push.OutcomeSent, push.OutcomeDeactivate, push.OutcomeSent, push.OutcomeFailed, push.OutcomeFailed}
	for i, w := range want {
		if res[i].Outcome != w {
			t.Fatalf("results %v (%+v), want %v", Outcomes(res), res, want)
		}
	}
	if n := len(sink.VendorDelivered(s.Vendor)); n != 2 {
		t.Errorf("%d delivered, want 2", n)
	}
}

func (s Suite) allInvalid(t *testing.T) {
	sink, base := s.start(t, nil)
	snd := s.New(t, base, false, nil)
	for _, tok := range []string{"dead-1", "dead-2"} {
		sink.AddVendorFault(pushsink.VendorFault{Vendor: s.Vendor, Kind: pushsink.FaultInvalidToken, Token: tok})
	}
	AllOutcome(t, snd.Send(context.Background(), []push.Message{Notice(s.Provider, "dead-1")}), push.OutcomeDeactivate)
	AllOutcome(t, snd.Send(context.Background(), []push.Message{Notice(s.Provider, "dead-1"), Notice(s.Provider, "dead-2")}), push.OutcomeDeactivate)
}

func (s Suite) batch(t *testing.T) {
	max := s.maxBatch()
	s.fanout(t, 2*max+1)
}

// bigFanout is one notice to 2,500 devices in one Send: the sender cuts it
// into ceil(2500/max) requests, none over the vendor's limit.
func (s Suite) bigFanout(t *testing.T) {
	s.fanout(t, 2500)
}

// fanout sends one notice to n devices in one Send and checks that all are
// delivered in the fewest requests the vendor's limit allows, each of at
// most the limit, and that the sender says so through push.MaxBatch.
func (s Suite) fanout(t *testing.T, n int) {
	sink, base := s.start(t, nil)
	snd := s.New(t, base, false, nil)
	max := s.maxBatch()
	if max > 1 {
		if got := push.MaxBatch(snd, s.Provider); got != max {
			t.Errorf("push.MaxBatch(sender, %q) = %d, want %d", s.Provider, got, max)
		}
		if got := push.MaxBatch(snd, "some-other-provider"); got != 0 {
			t.Errorf("push.MaxBatch(sender, another provider) = %d, want 0", got)
		}
	}
	AllOutcome(t, snd.Send(context.Background(), Fanout(s.Provider, "b", n)), push.OutcomeSent)
	if got := len(sink.VendorDelivered(s.Vendor)); got != n {
		t.Errorf("%d delivered, want %d", got, n)
	}
	sizes := sink.VendorSendSizes(s.Vendor)
	if want := (n + max - 1) / max; len(sizes) != want {
		t.Errorf("%d send requests for %d devices, want %d (at most %d a request)", len(sizes), n, want, max)
	}
	total := 0
	for _, size := range sizes {
		total += size
		if size > max {
			t.Errorf("a send request carried %d tokens, over the vendor's %d", size, max)
		}
	}
	if total != n {
		t.Errorf("the send requests carried %d tokens in all, want %d", total, n)
	}
}

// maxBatch is the vendor's most tokens a request (default 1,000).
func (s Suite) maxBatch() int {
	if s.MaxBatch == 0 {
		return 1000
	}
	return s.MaxBatch
}

func (s Suite) throttled(t *testing.T) {
	sink, base := s.start(t, nil)
	snd := s.New(t, base, false, nil)
	sink.AddVendorFault(pushsink.VendorFault{Vendor: s.Vendor, Kind: pushsink.FaultThrottle, For: time.Minute, RetryAfter: 30 * time.Second})
	res := snd.Send(context.Background(), Fanout(s.Provider, "t", 2))
	AllOutcome(t, res, push.OutcomeRetry)
	if res[0].ErrorCode == "" {
		t.Errorf("throttled without a code: %+v", res[0])
	}
	sink.ClearVendorFaults(s.Vendor)
	AllOutcome(t, snd.Send(context.Background(), Fanout(s.Provider, "t", 2)), push.OutcomeSent)
}

func (s Suite) serverError(t *testing.T) {
	sink, base := s.start(t, nil)
	snd := s.New(t, base, false, nil)
	sink.AddVendorFault(pushsink.VendorFault{Vendor: s.Vendor, Kind: pushsink.FaultServer, For: time.Minute})
	AllOutcome(t, snd.Send(context.Background(), Fanout(s.Provider, "s", 2)), push.OutcomeRetry)
	sink.ClearVendorFaults(s.Vendor)
	AllOutcome(t, snd.Send(context.Background(), Fanout(s.Provider, "s", 2)), push.OutcomeSent)
}

func (s Suite) quota(t *testing.T) {
	// 23:30 in Beijing: the quota resets half an hour later.
	now := time.Date(2026, 3, 10, 15, 30, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sink, base := s.start(t, clock)
	snd := s.New(t, base, false, clock)
	sink.AddVendorFault(pushsink.VendorFault{Vendor: s.Vendor, Kind: pushsink.FaultQuota, For: time.Minute})
	res := snd.Send(context.Background(), Fanout(s.Provider, "q", 2))
	AllOutcome(t, res, push.OutcomePaused)
	if want := time.Date(2026, 3, 10, 16, 0, 0, 0, time.UTC); !res[0].PauseUntil.Equal(want) {
		t.Errorf("paused until %v, want %v", res[0].PauseUntil, want)
	}
}

func (s Suite) wrongSecret(t *testing.T) {
	sink, base := s.start(t, nil)
	snd := s.New(t, base, true, nil)
	res := snd.Send(context.Background(), Fanout(s.Provider, "w", 2))
	AllOutcome(t, res, push.OutcomeAuthFailed)
	if !res[0].Pending() || res[0].ErrorCode == "" {
		t.Errorf("%+v", res[0])
	}
	if n := len(sink.VendorDelivered(s.Vendor)); n != 0 {
		t.Errorf("%d delivered with a wrong secret", n)
	}
}

func (s Suite) concurrency(t *testing.T) {
	sink, base := s.start(t, nil)
	snd := s.New(t, base, false, nil)
	run := func() {
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				AllOutcome(t, snd.Send(context.Background(), Fanout(s.Provider, "c"+string(rune('a'+i)), 2)), push.OutcomeSent)
			})
		}
		wg.Wait()
	}
	run()
	if n := s.Fetches(snd); n != 1 {
		t.Fatalf("%d tokens fetched for 20 concurrent sends", n)
	}
	sink.ExpireAccessTokens(s.Vendor)
	run()
	if n := s.Fetches(snd); n != 2 {
		t.Fatalf("%d tokens fetched after the vendor expired them, want 2", n)
	}
	if n := len(sink.VendorDelivered(s.Vendor)); n != 80 {
		t.Errorf("%d delivered, want 80", n)
	}
}

func (s Suite) expiredByClock(t *testing.T) {
	start := time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := start
	sinkClock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	// A day later the cached token has run out: the sender fetches a new
	// one before sending (the vendor's refusal of an expired token is
	// exercised by ExpireAccessTokens in the concurrency test).
	sink, base := s.start(t, sinkClock)
	snd := s.New(t, base, false, sinkClock)
	AllOutcome(t, snd.Send(context.Background(), Fanout(s.Provider, "e", 2)), push.OutcomeSent)
	mu.Lock()
	now = now.Add(25 * time.Hour)
	mu.Unlock()
	AllOutcome(t, snd.Send(context.Background(), Fanout(s.Provider, "f", 2)), push.OutcomeSent)
	if n := s.Fetches(snd); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
	if n := sink.AccessTokensIssued(s.Vendor); n != 2 {
		t.Errorf("%d issued, want 2", n)
	}
}
