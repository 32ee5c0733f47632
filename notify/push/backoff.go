package push

import (
	"math/rand/v2"
	"time"
)

// Backoff bounds: the first retry waits up to backoffBase, each further one
// doubles the window up to backoffCap. A provider's Retry-After is honoured
// up to RetryAfterCap so a bogus header cannot park a push for days.
const (
	backoffBase   = 2 * time.Second
	backoffCap    = 10 * time.Minute
	RetryAfterCap = 6 * time.Hour
)

// Backoff returns how long to wait before retry number attempt (1 for the
// first retry) of a push: exponential with "equal jitter", so a fleet of
// failing pushes spreads out instead of stampeding a recovering provider,
// while every wait is at least half its window — which makes the outage a
// push survives predictable (see DefaultMaxAttempts). The wait is
// uniformly random in [w/2, w] for w = min(cap, base·2^(attempt-1)), never
// shorter than retryAfter (the provider's Retry-After), which is itself
// capped at six hours.
func Backoff(attempt int, retryAfter time.Duration) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	window := backoffCap
	if attempt <= 30 {
		if w := backoffBase << (attempt - 1); w < backoffCap {
			window = w
		}
	}
	wait := window/2 + rand.N(window/2+1)
	retryAfter = min(retryAfter, RetryAfterCap)
	return max(wait, retryAfter)
}

// DefaultMaxAttempts bounds the sends of one push to one device. With
// Backoff's waits (at least half of 2 s doubling up to 10 min) 30 attempts
// span at least 1 h 50 min, so a provider outage of that long loses nothing;
// a push still failing after that is recorded as failed (its inbox entry
// stays).
const DefaultMaxAttempts = 30
