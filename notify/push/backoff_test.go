package push

import (
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	tests := []struct {
		attempt    int
		retryAfter time.Duration
		lo, hi     time.Duration
	}{
		{attempt: 0, lo: time.Second, hi: 2 * time.Second},
		{attempt: 1, lo: time.Second, hi: 2 * time.Second},
		{attempt: 3, lo: 4 * time.Second, hi: 8 * time.Second},
		{attempt: 12, lo: 5 * time.Minute, hi: 10 * time.Minute},
		{attempt: 1000, lo: 5 * time.Minute, hi: 10 * time.Minute},
		{attempt: 1, retryAfter: 30 * time.Second, lo: 30 * time.Second, hi: 30 * time.Second},
		{attempt: 20, retryAfter: 30 * time.Second, lo: 30 * time.Second, hi: 10 * time.Minute},
		{attempt: 2, retryAfter: 72 * time.Hour, lo: 6 * time.Hour, hi: 6 * time.Hour},
	}
	for _, tt := range tests {
		for range 200 {
			got := Backoff(tt.attempt, tt.retryAfter)
			if got < tt.lo || got > tt.hi {
				t.Fatalf("Backoff(%d, %v) = %v, want within [%v, %v]", tt.attempt, tt.retryAfter, got, tt.lo, tt.hi)
			}
		}
	}
}

func TestBackoffJitters(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[Backoff(8, 0)] = true
	}
	if len(seen) < 10 {
		t.Errorf("50 backoffs gave only %d distinct waits; want jitter", len(seen))
	}
}

// TestRetriesOutlastAnOutage: with the default attempt bound, a push keeps
// being retried through at least an hour and a half of provider outage
// before it is given up, whatever the jitter draws: the shortest of many
// draws of Backoff itself, per retry, add up to that.
func TestRetriesOutlastAnOutage(t *testing.T) {
	var least time.Duration
	for attempt := 1; attempt < DefaultMaxAttempts; attempt++ {
		shortest := time.Duration(1<<63 - 1)
		for range 500 {
			shortest = min(shortest, Backoff(attempt, 0))
		}
		least += shortest
	}
	if least < 90*time.Minute {
		t.Fatalf("%d attempts survive only %v of outage", DefaultMaxAttempts, least)
	}
}
