package main

import (
	"bufio"
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// machine describes where the figures were measured.
type machine struct {
	CPU        string
	Cores      int
	MemoryGB   float64
	GoVersion  string // the toolchain that built the BFF
	OS         string
	LoadBefore string // load average when the run began
	LoadAfter  string
	BusyBefore float64 // % of all CPU busy just before the BFF started
	Checkpoint string  // what the PostgreSQL checkpoint before the run did
}

func describeMachine(bffBinary string) machine {
	m := machine{CPU: "unknown", Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.Join(strings.Fields(v), " ")
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				if kb, err := strconv.ParseFloat(strings.Fields(v)[0], 64); err == nil {
					m.MemoryGB = kb / 1024 / 1024
				}
				break
			}
		}
		f.Close()
	}
	if bi, err := buildinfo.ReadFile(bffBinary); err == nil {
		m.GoVersion = bi.GoVersion
	}
	pretty := ""
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				pretty = strings.Trim(v, `"`)
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = "Linux " + strings.TrimSpace(string(b))
	}
	parts := []string{}
	for _, p := range []string{pretty, kernel, runtime.GOOS + "/" + runtime.GOARCH} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	m.OS = strings.Join(parts, ", ")
	m.LoadBefore = loadAverage()
	return m
}

// loadAverage is /proc/loadavg's 1, 5 and 15 minute figures: the machine is
// shared, and a busy neighbour shows up in every figure.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return fmt.Sprintf("%s %s %s", f[0], f[1], f[2])
}

// cpuBusy samples /proc/stat over d and returns the share of all CPU time
// that was not idle.
func cpuBusy(d time.Duration) (float64, error) {
	read := func() (idle, total uint64, err error) {
		b, err := os.ReadFile("/proc/stat")
		if err != nil {
			return 0, 0, err
		}
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "cpu" {
			return 0, 0, fmt.Errorf("unexpected /proc/stat")
		}
		for i, v := range f[1:] {
			n, _ := strconv.ParseUint(v, 10, 64)
			total += n
			if i == 3 || i == 4 { // idle, iowait
				idle += n
			}
		}
		return idle, total, nil
	}
	i0, t0, err := read()
	if err != nil {
		return 0, err
	}
	time.Sleep(d)
	i1, t1, err := read()
	if err != nil {
		return 0, err
	}
	if t1 == t0 {
		return 0, nil
	}
	return 100 * (1 - float64(i1-i0)/float64(t1-t0)), nil
}

// waitQuiet waits, up to maxWait, for the machine to be mostly idle before
// the BFF starts: the cores are shared, and a neighbour's build in the
// middle of a measurement skews it. It returns the busy share it saw last.
func waitQuiet(ctx context.Context, maxWait time.Duration, threshold float64, logf func(string, ...any)) float64 {
	deadline := time.Now().Add(maxWait)
	for {
		busy, err := cpuBusy(time.Second)
		if err != nil || busy <= threshold {
			return busy
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			logf("the machine is still %.0f%% busy with other work after %s; measuring anyway (see the interference figures)", busy, maxWait)
			return busy
		}
		logf("the machine is %.0f%% busy with other work; waiting for it to settle", busy)
	}
}
