package push

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// fakeSender answers every message with the result its answer func gives.
type fakeSender struct {
	mu     sync.Mutex
	calls  int
	got    []Message
	answer func(Message) Result
}

func (f *fakeSender) Send(_ context.Context, msgs []Message) []Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.got = append(f.got, msgs...)
	out := make([]Result, len(msgs))
	for i, m := range msgs {
		out[i] = f.answer(m)
	}
	return out
}

func sentAll(Message) Result { return Sent("id") }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestRouterRoutesByProvider(t *testing.T) {
	fcm, hw := &fakeSender{answer: sentAll}, &fakeSender{answer: func(m Message) Result { return Deactivate("80300007") }}
	r := NewRouter(map[string]Sender{ProviderFCM: fcm, ProviderHuawei: hw, ProviderVivo: nil})
	if !r.Supports("") || !r.Supports(ProviderFCM) || !r.Supports(ProviderHuawei) {
		t.Fatal("configured providers unsupported")
	}
	if r.Supports(ProviderVivo) || r.Supports("FCM") || r.Supports(ProviderXiaomi) {
		t.Fatal("unconfigured provider supported")
	}
	msgs := []Message{
		{Token: "a", Provider: ""}, {Token: "b", Provider: ProviderHuawei},
		{Token: "c", Provider: ProviderXiaomi}, {Token: "d", Provider: ProviderFCM},
	}
	res := r.Send(context.Background(), msgs)
	want := []string{OutcomeSent, OutcomeDeactivate, OutcomeFailed, OutcomeSent}
	for i, w := range want {
		if res[i].Outcome != w {
			t.Errorf("result %d = %+v, want %s", i, res[i], w)
		}
	}
	if res[2].ErrorCode != CodeProviderUnsupported {
		t.Errorf("unsupported code = %q", res[2].ErrorCode)
	}
	if len(fcm.got) != 2 || fcm.got[0].Token != "a" || fcm.got[1].Token != "d" || len(hw.got) != 1 {
		t.Errorf("fcm got %v, huawei got %v", fcm.got, hw.got)
	}
	if got := r.Providers(); len(got) != 2 || got[0] != "fcm" || got[1] != "huawei" {
		t.Errorf("Providers = %v", got)
	}
}

func TestRouterQuotaPausesUntilBeijingMidnight(t *testing.T) {
	// 2026-03-10 15:30 UTC is 23:30 in Beijing: the pause ends half an
	// hour later, at 16:00 UTC.
	c := &clock{t: time.Date(2026, 3, 10, 15, 30, 0, 0, time.UTC)}
	quota := true
	xm := &fakeSender{answer: func(Message) Result {
		if quota {
			return QuotaExhausted("10034", c.now())
		}
		return Sent("x")
	}}
	var changes []ProviderState
	r := NewRouter(map[string]Sender{ProviderXiaomi: xm}, WithClock(c.now),
		WithStateHook(func(s ProviderState) { changes = append(changes, s) }))
	msgs := []Message{{Token: "a", Provider: ProviderXiaomi}, {Token: "b", Provider: ProviderXiaomi}}
	res := r.Send(context.Background(), msgs)
	midnight := time.Date(2026, 3, 10, 16, 0, 0, 0, time.UTC)
	for _, re := range res {
		if re.Outcome != OutcomePaused || !re.PauseUntil.Equal(midnight) || !re.Pending() {
			t.Fatalf("result = %+v, want paused until %v", re, midnight)
		}
	}
	// While paused no request reaches the vendor, and one state change
	// is reported, not one per push.
	for range 3 {
		r.Send(context.Background(), msgs)
	}
	if xm.calls != 1 {
		t.Errorf("sender called %d times while paused", xm.calls)
	}
	if len(changes) != 1 || changes[0].State != StatePaused || !changes[0].Until.Equal(midnight) {
		t.Errorf("changes = %+v", changes)
	}
	st := r.States()
	if st[0].State != StatePaused || st[0].ErrorCode != "10034" {
		t.Errorf("state = %+v", st)
	}
	gauge := r.StateGauge()
	for _, g := range gauge {
		if want := map[bool]float64{true: 1, false: 0}[g.State == StatePaused]; g.Value != want {
			t.Errorf("gauge %+v", g)
		}
	}
	// After midnight the provider is ok again and sends go through.
	quota = false
	c.add(31 * time.Minute)
	res = r.Send(context.Background(), msgs)
	if res[0].Outcome != OutcomeSent || xm.calls != 2 {
		t.Errorf("after midnight: %+v, calls %d", res[0], xm.calls)
	}
	if r.States()[0].State != StateOK || changes[len(changes)-1].State != StateOK {
		t.Errorf("state after midnight = %+v, changes %+v", r.States(), changes)
	}
}

func TestRouterAuthFailedHoldsAndProbes(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)}
	broken := true
	op := &fakeSender{answer: func(Message) Result {
		if broken {
			return AuthFailed("")
		}
		return Sent("o")
	}}
	var changes []ProviderState
	r := NewRouter(map[string]Sender{ProviderOPPO: op}, WithClock(c.now), WithAuthProbe(time.Minute),
		WithStateHook(func(s ProviderState) { changes = append(changes, s) }))
	msgs := []Message{{Token: "a", Provider: ProviderOPPO}}
	if res := r.Send(context.Background(), msgs); res[0].Outcome != OutcomeAuthFailed || !res[0].Pending() {
		t.Fatalf("result = %+v", res[0])
	}
	r.Send(context.Background(), msgs)
	if op.calls != 1 {
		t.Errorf("sender called %d times while auth failed", op.calls)
	}
	if s := r.States()[0]; s.State != StateAuthFailed {
		t.Errorf("state = %+v", s)
	}
	// After the probe interval one send goes through; it still fails.
	c.add(time.Minute)
	r.Send(context.Background(), msgs)
	if op.calls != 2 || len(changes) != 1 {
		t.Errorf("calls %d, changes %+v", op.calls, changes)
	}
	// Fixed: the next probe delivers and the provider is ok.
	broken = false
	c.add(time.Minute)
	if res := r.Send(context.Background(), msgs); res[0].Outcome != OutcomeSent {
		t.Errorf("probe result = %+v", res[0])
	}
	if s := r.States()[0]; s.State != StateOK || len(changes) != 2 {
		t.Errorf("state = %+v, changes %+v", s, changes)
	}
}

func TestNextBeijingMidnight(t *testing.T) {
	tests := []struct{ in, want time.Time }{
		{time.Date(2026, 3, 10, 15, 59, 59, 0, time.UTC), time.Date(2026, 3, 10, 16, 0, 0, 0, time.UTC)},
		{time.Date(2026, 3, 10, 16, 0, 0, 0, time.UTC), time.Date(2026, 3, 11, 16, 0, 0, 0, time.UTC)},
		{time.Date(2026, 12, 31, 17, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 16, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		if got := NextBeijingMidnight(tt.in); !got.Equal(tt.want) {
			t.Errorf("NextBeijingMidnight(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestResultHelpers(t *testing.T) {
	if r := Throttled("-2", 10*time.Hour); r.Outcome != OutcomeRetry || r.RetryAfter != RetryAfterCap {
		t.Errorf("Throttled = %+v", r)
	}
	if r := AuthFailed(""); r.ErrorCode != CodeAuthFailed || r.Outcome != OutcomeAuthFailed {
		t.Errorf("AuthFailed = %+v", r)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if d := ParseRetryAfter("30", now); d != 30*time.Second {
		t.Errorf("ParseRetryAfter = %v", d)
	}
	if d := ParseRetryAfter(now.Add(time.Minute).Format(http.TimeFormat), now); d != time.Minute {
		t.Errorf("ParseRetryAfter date = %v", d)
	}
	for _, p := range AllProviders() {
		if !KnownProvider(p) {
			t.Errorf("%s unknown", p)
		}
	}
	if len(AllProviders()) != 8 || KnownProvider("nokia") {
		t.Error("AllProviders")
	}
}
