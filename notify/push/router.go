package push

import (
	"context"
	"slices"
	"sync"
	"time"
)

// The states of a provider, as reported by Router.States and the
// zsb_push_provider_state{provider,state} gauge.
const (
	// StateOK: the provider takes pushes.
	StateOK = "ok"
	// StatePaused: the provider's daily quota is used up; pushes wait
	// until ProviderState.Until.
	StatePaused = "paused"
	// StateAuthFailed: the provider rejects our credentials even with a
	// fresh access token; its configuration must be fixed.
	StateAuthFailed = "auth_failed"
)

// AllStates lists the provider states, for a gauge that reports each.
func AllStates() []string {
	return []string{StateOK, StatePaused, StateAuthFailed}
}

// DefaultAuthProbe is how long a Router holds back pushes for a provider
// whose credentials failed before it lets one send through again, to see
// whether the credentials work again (a vendor-side fix, a rotated secret).
const DefaultAuthProbe = 5 * time.Minute

// ProviderState is the health of one configured provider.
type ProviderState struct {
	// Provider is the provider's name, e.g. "huawei".
	Provider string `json:"provider"`
	// State is StateOK, StatePaused or StateAuthFailed.
	State string `json:"state"`
	// Since is when the provider entered State (zero for a provider that
	// has been ok since the router was built).
	Since time.Time `json:"since,omitzero"`
	// Until is, for StatePaused, when the provider takes pushes again.
	Until time.Time `json:"until,omitzero"`
	// ErrorCode is the provider's answer that caused the state.
	ErrorCode string `json:"error_code,omitempty"`
}

// GaugeSample is one value of the zsb_push_provider_state gauge: 1 for the
// provider's current state, 0 for the others.
type GaugeSample struct {
	Provider string
	State    string
	Value    float64
}

// RouterOption configures a Router.
type RouterOption func(*Router)

// WithClock sets the clock the router judges pauses by (default time.Now).
func WithClock(now func() time.Time) RouterOption {
	return func(r *Router) { r.now = now }
}

// WithStateHook has the router call hook once for each change of a
// provider's state (not once per push), after the change, outside its
// locks: the place for the one log line and the metric.
func WithStateHook(hook func(ProviderState)) RouterOption {
	return func(r *Router) { r.hook = hook }
}

// WithAuthProbe sets how long a provider with failed credentials is held
// back before one send is let through to probe them (default
// DefaultAuthProbe).
func WithAuthProbe(d time.Duration) RouterOption {
	return func(r *Router) { r.authProbe = d }
}

// Router is a Sender that hands each message to the sender of the
// message's provider (empty means FCM) and keeps each provider's health:
// while a provider is paused (daily quota) or its credentials failed, its
// messages are answered OutcomePaused / OutcomeAuthFailed without a request
// to the vendor. It is safe for concurrent use.
type Router struct {
	senders   map[string]Sender
	now       func() time.Time
	hook      func(ProviderState)
	authProbe time.Duration

	mu     sync.Mutex
	states map[string]*routeState
}

type routeState struct {
	ProviderState
	probeAt time.Time // auth_failed: when to let a send through again
}

// NewRouter builds a router over senders, keyed by provider name (the
// Provider constants). A nil sender is left out; a provider without a
// sender is not supported.
func NewRouter(senders map[string]Sender, opts ...RouterOption) *Router {
	r := &Router{
		senders:   make(map[string]Sender, len(senders)),
		now:       time.Now,
		authProbe: DefaultAuthProbe,
		states:    make(map[string]*routeState, len(senders)),
	}
	for name, s := range senders {
		if s == nil {
			continue
		}
		r.senders[name] = s
		r.states[name] = &routeState{ProviderState: ProviderState{Provider: name, State: StateOK}}
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

func normalize(provider string) string {
	if provider == "" {
		return ProviderFCM
	}
	return provider
}

// Supports reports whether the router has a sender for provider (empty
// means FCM): a device registering an unsupported one is answered 422
// provider_unsupported.
func (r *Router) Supports(provider string) bool {
	_, ok := r.senders[normalize(provider)]
	return ok
}

// Providers lists the providers the router has senders for, sorted.
func (r *Router) Providers() []string {
	out := make([]string, 0, len(r.senders))
	for name := range r.senders {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// MaxBatch reports how many pushes for provider (empty means FCM) its
// sender takes together (see the package's MaxBatch), 0 when the router
// has no sender for provider or the sender does not say.
func (r *Router) MaxBatch(provider string) int {
	p := normalize(provider)
	s, ok := r.senders[p]
	if !ok {
		return 0
	}
	return MaxBatch(s, p)
}

// States reports each configured provider's health, sorted by provider.
func (r *Router) States() []ProviderState {
	now := r.now()
	r.mu.Lock()
	var changed []ProviderState
	out := make([]ProviderState, 0, len(r.states))
	for _, name := range r.Providers() {
		st := r.states[name]
		if c, ok := st.expire(now); ok {
			changed = append(changed, c)
		}
		out = append(out, st.ProviderState)
	}
	r.mu.Unlock()
	r.notify(changed)
	return out
}

// StateGauge returns the zsb_push_provider_state{provider,state} samples:
// for every configured provider, 1 for its state and 0 for the others.
func (r *Router) StateGauge() []GaugeSample {
	var out []GaugeSample
	for _, st := range r.States() {
		for _, s := range AllStates() {
			v := 0.0
			if s == st.State {
				v = 1
			}
			out = append(out, GaugeSample{Provider: st.Provider, State: s, Value: v})
		}
	}
	return out
}

// expire ends a pause that has run out; it reports the change.
func (st *routeState) expire(now time.Time) (ProviderState, bool) {
	if st.State == StatePaused && !now.Before(st.Until) {
		st.ProviderState = ProviderState{Provider: st.Provider, State: StateOK, Since: now}
		return st.ProviderState, true
	}
	return ProviderState{}, false
}

// Send delivers each message through its provider's sender, the providers
// side by side, and returns one result per message in order.
func (r *Router) Send(ctx context.Context, msgs []Message) []Result {
	results := make([]Result, len(msgs))
	groups := map[string][]int{}
	var order []string
	for i, m := range msgs {
		p := normalize(m.Provider)
		if _, ok := r.senders[p]; !ok {
			results[i] = Failed(CodeProviderUnsupported)
			continue
		}
		if _, ok := groups[p]; !ok {
			order = append(order, p)
		}
		groups[p] = append(groups[p], i)
	}
	var wg sync.WaitGroup
	for _, p := range order {
		idx := groups[p]
		if held, ok := r.hold(p); ok {
			for _, i := range idx {
				results[i] = held
			}
			continue
		}
		wg.Go(func() {
			sub := make([]Message, len(idx))
			for j, i := range idx {
				sub[j] = msgs[i]
			}
			got := r.senders[p].Send(ctx, sub)
			for j, i := range idx {
				if j < len(got) {
					results[i] = got[j]
				} else {
					results[i] = Retry(CodeBadResponse, 0)
				}
			}
			r.observe(p, got)
		})
	}
	wg.Wait()
	return results
}

// hold returns the answer for a provider that must not be sent to now.
func (r *Router) hold(p string) (Result, bool) {
	now := r.now()
	r.mu.Lock()
	st := r.states[p]
	c, changed := st.expire(now)
	var (
		res  Result
		held bool
	)
	switch st.State {
	case StatePaused:
		res, held = Result{Outcome: OutcomePaused, ErrorCode: st.ErrorCode, PauseUntil: st.Until}, true
	case StateAuthFailed:
		if now.Before(st.probeAt) {
			res, held = AuthFailed(st.ErrorCode), true
		} else {
			// Let this send probe the credentials; hold the others
			// back for another probe interval meanwhile.
			st.probeAt = now.Add(r.authProbe)
		}
	}
	r.mu.Unlock()
	if changed {
		r.notify([]ProviderState{c})
	}
	return res, held
}

// observe updates a provider's state from the results of a send.
func (r *Router) observe(p string, results []Result) {
	var (
		pause     *Result
		authFail  *Result
		delivered bool
	)
	for i := range results {
		switch res := &results[i]; res.Outcome {
		case OutcomePaused:
			if pause == nil || res.PauseUntil.After(pause.PauseUntil) {
				pause = res
			}
		case OutcomeAuthFailed:
			authFail = res
		case OutcomeSent, OutcomeDeactivate:
			delivered = true
		}
	}
	now := r.now()
	r.mu.Lock()
	st := r.states[p]
	prev := st.ProviderState
	switch {
	case authFail != nil:
		if st.State != StateAuthFailed {
			st.ProviderState = ProviderState{Provider: p, State: StateAuthFailed, Since: now, ErrorCode: authFail.ErrorCode}
		}
		st.probeAt = now.Add(r.authProbe)
	case pause != nil:
		if st.State != StatePaused || pause.PauseUntil.After(st.Until) {
			since := now
			if st.State == StatePaused {
				since = st.Since
			}
			st.ProviderState = ProviderState{Provider: p, State: StatePaused, Since: since,
				Until: pause.PauseUntil, ErrorCode: pause.ErrorCode}
		}
	case delivered && st.State != StateOK:
		st.ProviderState = ProviderState{Provider: p, State: StateOK, Since: now}
	}
	cur := st.ProviderState
	r.mu.Unlock()
	if cur.State != prev.State {
		r.notify([]ProviderState{cur})
	}
}

func (r *Router) notify(changes []ProviderState) {
	if r.hook == nil {
		return
	}
	for _, c := range changes {
		r.hook(c)
	}
}
