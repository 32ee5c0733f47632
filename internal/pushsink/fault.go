package pushsink

import (
	"fmt"
	"time"
)

// Fault tells the sink to answer sends with an FCM error instead of
// accepting them. A fault with a Token applies to that token only (e.g. a
// token that is always UNREGISTERED); without one it applies to every send.
// Token faults are consulted before global ones, each in the order added.
//
// Note that firebase-admin-go itself retries 503 answers up to four times
// (after 0, 1, 2 and 4 seconds, or Retry-After when longer), so a 503 fault
// with a Count below 5 is absorbed by the client and never surfaces as an
// error; every attempt is still recorded.
type Fault struct {
	// Token limits the fault to one registration token; empty means all.
	Token string
	// Code is the FCM error code to answer: one of the Code constants.
	Code string
	// Count, when positive, ends the fault after that many answers.
	Count int
	// For, when positive, ends the fault that long after it was added.
	For time.Duration
	// RetryAfter, when positive, is sent as the Retry-After header.
	RetryAfter time.Duration
	// Field, for INVALID_ARGUMENT, names a malformed message field (e.g.
	// "message.data"), as FCM does for bad payloads; empty answers the way
	// FCM answers a bad token, with no field named.
	Field string
	// Delay, with no Code, makes a slow fault: each send it applies to is
	// answered (as it would be without it) only after Delay. A client that
	// gives up first is recorded with status 499 and nothing delivered.
	Delay time.Duration
}

// FaultState is a fault as currently in force.
type FaultState struct {
	// ID identifies the fault in listings.
	ID int64
	Fault
	// Answered counts the sends this fault has failed so far.
	Answered int
	// Until is when a timed fault ends; zero for untimed ones.
	Until time.Time
}

type activeFault struct {
	FaultState
}

func (f *activeFault) live(now time.Time) bool {
	if f.Count > 0 && f.Answered >= f.Count {
		return false
	}
	return f.Until.IsZero() || now.Before(f.Until)
}

func (f Fault) validate() error {
	if f.Delay < 0 {
		return fmt.Errorf("pushsink: the delay must not be negative")
	}
	if f.Code == "" && f.Delay > 0 {
		if f.Field != "" || f.RetryAfter > 0 {
			return fmt.Errorf("pushsink: a slow fault has only a delay, a token and limits")
		}
		return f.validateLimits()
	}
	if f.Delay > 0 {
		return fmt.Errorf("pushsink: a delay is a fault of its own, without a code")
	}
	if _, ok := shapeOf(f.Code); !ok {
		return fmt.Errorf("pushsink: unknown FCM error code %q", f.Code)
	}
	if f.Field != "" && f.Code != CodeInvalidArgument {
		return fmt.Errorf("pushsink: a field can only be named with INVALID_ARGUMENT")
	}
	return f.validateLimits()
}

func (f Fault) validateLimits() error {
	if f.Count < 0 || f.For < 0 || f.RetryAfter < 0 {
		return fmt.Errorf("pushsink: count, duration and retry-after must not be negative")
	}
	return nil
}

// AddFault puts a fault in force and returns its id. It fails for an
// unknown code or negative limits.
func (s *Sink) AddFault(f Fault) (int64, error) {
	if err := f.validate(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultSeq++
	af := &activeFault{FaultState{ID: s.faultSeq, Fault: f}}
	if f.For > 0 {
		af.Until = s.now().Add(f.For)
	}
	s.faults = append(s.faults, af)
	return af.ID, nil
}

// ClearFaults removes every fault, so sends succeed again.
func (s *Sink) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Faults lists the faults still in force.
func (s *Sink) Faults() []FaultState {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneFaultsLocked(s.now())
	out := make([]FaultState, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, f.FaultState)
	}
	return out
}

func (s *Sink) pruneFaultsLocked(now time.Time) {
	kept := s.faults[:0]
	for _, f := range s.faults {
		if f.live(now) {
			kept = append(kept, f)
		}
	}
	clear(s.faults[len(kept):])
	s.faults = kept
}

// delayLocked returns how long a slow fault holds the answer to a send to
// token (zero for none), counting the send against it.
func (s *Sink) delayLocked(token string, now time.Time) time.Duration {
	s.pruneFaultsLocked(now)
	var global *activeFault
	for _, f := range s.faults {
		if f.Code != "" {
			continue
		}
		if f.Token == token {
			f.Answered++
			return f.Delay
		}
		if f.Token == "" && global == nil {
			global = f
		}
	}
	if global == nil {
		return 0
	}
	global.Answered++
	return global.Delay
}

// takeFaultLocked returns the fault that answers a send to token, counting
// the answer, or nil when the send should succeed.
func (s *Sink) takeFaultLocked(token string, now time.Time) *activeFault {
	s.pruneFaultsLocked(now)
	var global *activeFault
	for _, f := range s.faults {
		if f.Code == "" {
			continue // slow faults: delayLocked
		}
		if f.Token == "" {
			if global == nil {
				global = f
			}
			continue
		}
		if f.Token == token {
			f.Answered++
			return f
		}
	}
	if global != nil {
		global.Answered++
	}
	return global
}
