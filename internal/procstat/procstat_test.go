package procstat

import (
	"os"
	"testing"
	"time"
)

// This process's CPU time grows while it works, and a process that does
// not exist reads as 0.
func TestCPU(t *testing.T) {
	before := CPU(os.Getpid())
	deadline := time.Now().Add(300 * time.Millisecond)
	n := 0
	for time.Now().Before(deadline) {
		n++
	}
	after := CPU(os.Getpid())
	if after <= before {
		t.Fatalf("CPU went from %v to %v over 300 ms of busy work (%d loops)", before, after, n)
	}
	if got := CPU(-1); got != 0 {
		t.Fatalf("CPU(-1) = %v, want 0", got)
	}
}
