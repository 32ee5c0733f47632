package testenv

import (
	"syscall"
	"testing"
	"time"
)

// CPUTime is the process's user and system CPU time so far; benchmarks
// report CPU per operation with it, a steadier figure on a shared machine
// than the wall clock.
func CPUTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
