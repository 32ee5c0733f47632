package notify

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
		{attempt: 0, lo: 0, hi: 2 * time.Second},
		{attempt: 1, lo: 0, hi: 2 * time.Second},
		{attempt: 3, lo: 0, hi: 8 * time.Second},
		{attempt: 12, lo: 0, hi: 10 * time.Minute},
		{attempt: 1000, lo: 0, hi: 10 * time.Minute},
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
		t.Errorf("50 backoffs gave only %d distinct waits; want full jitter", len(seen))
	}
}
