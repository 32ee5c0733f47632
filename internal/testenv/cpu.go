package testenv

import (
	"syscall"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/procstat"
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

// ProcCPU is the user+system CPU time so far of process pid, 0 when it
// cannot be read (Linux only).
func ProcCPU(pid int) time.Duration { return procstat.CPU(pid) }
