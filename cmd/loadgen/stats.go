package main

import (
	"fmt"
	"slices"
	"time"
)

// summary condenses a set of latency samples.
type summary struct {
	N   int
	P50 time.Duration
	P99 time.Duration
	Max time.Duration
}

// summarize sorts samples in place and returns their median, 99th
// percentile (nearest rank) and maximum.
func summarize(samples []time.Duration) summary {
	if len(samples) == 0 {
		return summary{}
	}
	slices.Sort(samples)
	return summary{
		N:   len(samples),
		P50: rank(samples, 0.50),
		P99: rank(samples, 0.99),
		Max: samples[len(samples)-1],
	}
}

// rank is the nearest-rank percentile of sorted samples.
func rank(sorted []time.Duration, q float64) time.Duration {
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// ms formats a duration in milliseconds with a precision that suits it.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case d == 0:
		return "0 ms"
	case v < 1:
		return fmt.Sprintf("%.3f ms", v)
	case v < 100:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.0f ms", v)
	}
}

// perSecond formats a rate.
func perSecond(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f/s", v)
	}
	return fmt.Sprintf("%.1f/s", v)
}
