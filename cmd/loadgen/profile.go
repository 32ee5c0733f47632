package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// profiler samples the whole machine's CPU with perf while a scenario runs,
// so a missed target comes with where the time went: which process (the
// BFF, PostgreSQL, Redis, the harness) and, inside the BFF, which code. The
// BFF has no pprof endpoint; perf needs none and sees the database too.
type profiler struct {
	dir    string
	ok     bool
	reason string // why profiling is off
	hz     int
	pid    int // the BFF under test, once started

	pprofAddr string // the BFF's BFF_PPROF_ADDR; empty: no Go profiles
	pprofDir  string // where Go profiles are kept
	bffBinary string
}

func newProfiler(ctx context.Context, dir string, enabled bool) *profiler {
	p := &profiler{dir: dir, hz: 199}
	if !enabled {
		p.reason = "disabled (-profile=false)"
		return p
	}
	if _, err := exec.LookPath("perf"); err != nil {
		p.reason = "perf is not installed"
		return p
	}
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(tctx, "perf", "record", "-q", "-a", "-g", "-o", filepath.Join(dir, "probe.data"), "--", "true").CombinedOutput()
	if err != nil {
		p.reason = fmt.Sprintf("perf cannot sample the system here (%v: %s)", err, firstLine(string(out)))
		return p
	}
	p.ok = true
	return p
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// capture is one running or finished perf recording, and optionally a Go
// CPU profile of the BFF over the same window.
type capture struct {
	name   string
	file   string
	done   chan error
	goFile string
	goDone chan error
}

// withGo also takes a Go CPU profile from the BFF's pprof endpoint over the
// same window, kept in p.pprofDir for `go tool pprof`.
func (p *profiler) withGo(ctx context.Context, c *capture, d, delay time.Duration) *capture {
	if c == nil || p.pprofAddr == "" {
		return c
	}
	c.goFile = filepath.Join(p.pprofDir, c.name+".pprof")
	c.goDone = make(chan error, 1)
	go func() {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			c.goDone <- ctx.Err()
			return
		}
		url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.pprofAddr, max(1, int(d.Seconds())))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			c.goDone <- err
			return
		}
		resp, err := (&http.Client{Timeout: d + 30*time.Second}).Do(req)
		if err != nil {
			c.goDone <- err
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			c.goDone <- fmt.Errorf("pprof: status %d", resp.StatusCode)
			return
		}
		f, err := os.Create(c.goFile)
		if err == nil {
			_, err = io.Copy(f, resp.Body)
			err = errors.Join(err, f.Close())
		}
		c.goDone <- err
	}()
	return c
}

// goTop is `go tool pprof -top -cum` of a Go profile, trimmed to n lines.
func (p *profiler) goTop(ctx context.Context, c *capture, n int) (string, error) {
	if c == nil || c.goDone == nil {
		return "", nil
	}
	if err := <-c.goDone; err != nil {
		return "", err
	}
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(tctx, "go", "tool", "pprof", "-top", "-cum", fmt.Sprintf("-nodecount=%d", n), p.bffBinary, c.goFile).Output()
	if err != nil {
		return "", fmt.Errorf("go tool pprof: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// start records every CPU for d, after delay, in the background; nil when
// profiling is off.
func (p *profiler) start(ctx context.Context, name string, d, delay time.Duration) *capture {
	if !p.ok {
		return nil
	}
	c := &capture{name: name, file: filepath.Join(p.dir, name+".perf.data"), done: make(chan error, 1)}
	secs := strconv.FormatFloat(d.Seconds(), 'f', 1, 64)
	cmd := exec.CommandContext(ctx, "perf", "record", "-q", "-F", strconv.Itoa(p.hz), "-a", "-g", "-o", c.file, "--", "sleep", secs)
	go func() {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			c.done <- ctx.Err()
			return
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("perf record: %v: %s", err, firstLine(string(out)))
		}
		c.done <- err
	}()
	return c
}

// share is a part of the samples.
type share struct {
	Name string
	Pct  float64
}

// profileReport is what one capture shows.
type profileReport struct {
	Name       string
	File       string
	Samples    int
	ByProcess  []share // every CPU sample, by process name; idle as "(idle)"
	BFFSamples int
	OthersPct  float64 // CPU taken by processes outside the benchmark (builds, tests of neighbours)
	ByCost     []share // the BFF's samples by the innermost cost category on their stack
	TopSelf    []share // the BFF's hottest functions (self time)
	OurCode    []share // the BFF's own functions, inclusive time
	GoFile     string  // the Go CPU profile of the same window, if taken
	GoTop      string  // its `go tool pprof -top -cum`
	GoErr      error
}

// costCategories attribute a BFF sample to what it was doing: the innermost
// frame on the stack that matches decides, so allocation or a system call
// counts for the library that asked for it.
var costCategories = []struct {
	name     string
	patterns []string
}{
	{"token verification (EdDSA JWT)", []string{"crypto/ed25519", "crypto/internal/fips140/ed25519", "crypto/internal/fips140/edwards25519", "golang-jwt"}},
	{"SQL (gorm, pgx, database/sql)", []string{"gorm.io/", "jackc/pgx", "jackc/pgconn", "database/sql", "glebarez/"}},
	{"Redis client (go-redis)", []string{"redis/go-redis"}},
	{"FCM client (firebase-admin, net/http client)", []string{"firebase.google.com", "google.golang.org/api", "net/http.(*Transport)", "net/http.(*persistConn)", "net/http.(*Client)"}},
	{"JSON encoding/decoding", []string{"encoding/json"}},
	{"logging (slog)", []string{"log/slog"}},
	{"metrics (Prometheus)", []string{"prometheus"}},
	{"argon2id (password hashing)", []string{"argon2"}},
	{"HTTP server (fasthttp, Fiber)", []string{"valyala/fasthttp", "gofiber/fiber"}},
	{"Go GC (background marking)", []string{"runtime.gcBgMarkWorker"}},
	{"Go scheduler / idle", []string{"runtime.schedule", "runtime.findRunnable", "runtime.mcall", "runtime.park_m", "runtime.sysmon"}},
}

// analyze reads a finished capture. Only the process p.pid counts as the
// BFF under test: another BFF on the machine (a neighbour's drill) is
// other work.
func (p *profiler) analyze(ctx context.Context, c *capture) (*profileReport, error) {
	pid := p.pid
	if c == nil {
		return nil, nil
	}
	if err := <-c.done; err != nil {
		c.done <- err
		return nil, err
	}
	c.done <- nil
	// Read the capture even when the phase's time is up.
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(tctx, "perf", "script", "-i", c.file, "-F", "comm,pid,ip,sym").Output()
	if err != nil {
		return nil, fmt.Errorf("perf script: %w", err)
	}
	r := &profileReport{Name: c.name, File: c.file}
	byProc := map[string]int{}
	byCost := map[string]int{}
	self := map[string]int{}
	ours := map[string]int{}

	var (
		proc    string
		procPID int
		frames  []string
	)
	flush := func() {
		if proc == "" {
			return
		}
		r.Samples++
		name := proc
		switch {
		case proc == "swapper":
			name = "(idle)"
		case procPID == pid:
			name = underTest
		}
		byProc[name]++
		if procPID == pid {
			r.BFFSamples++
			cat := "other"
		find:
			for _, f := range frames {
				for _, cc := range costCategories {
					for _, pat := range cc.patterns {
						if strings.Contains(f, pat) {
							cat = cc.name
							break find
						}
					}
				}
			}
			byCost[cat]++
			if len(frames) > 0 {
				self[frames[0]]++
			}
			seen := map[string]bool{}
			for _, f := range frames {
				f = strings.TrimSuffix(f, "-fm")
				if strings.Contains(f, "kaigong-zsb/") && !seen[f] && !wrapsEveryRequest(f) {
					seen[f] = true
					ours[f]++
				}
			}
		}
		proc, frames = "", frames[:0]
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			flush()
			// "comm pid": comm may contain spaces, pid is the last field.
			f := strings.Fields(line)
			procPID = -1
			if len(f) >= 2 {
				proc = strings.Join(f[:len(f)-1], " ")
				if n, err := strconv.Atoi(f[len(f)-1]); err == nil {
					procPID = n
				}
			} else {
				proc = strings.TrimSpace(line)
			}
			continue
		}
		// "\t addr symbol+off (dso)" or "\t addr symbol"
		f := strings.Fields(line)
		if len(f) >= 2 {
			sym := strings.Join(f[1:], " ")
			if i := strings.LastIndex(sym, " ("); i > 0 {
				sym = sym[:i]
			}
			frames = append(frames, sym)
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, err
	}
	r.ByProcess = topShares(byProc, r.Samples, 8, 0.5)
	others := 0
	for name, n := range byProc {
		if !benchmarkProcess(name) {
			others += n
		}
	}
	if r.Samples > 0 {
		r.OthersPct = 100 * float64(others) / float64(r.Samples)
	}
	r.ByCost = topShares(byCost, r.BFFSamples, 20, 0)
	r.TopSelf = topShares(self, r.BFFSamples, 12, 0.5)
	r.OurCode = topShares(ours, r.BFFSamples, 12, 1)
	if c.goDone != nil {
		r.GoTop, r.GoErr = p.goTop(ctx, c, 30)
		if r.GoErr == nil {
			r.GoFile = c.goFile
		}
	}
	return r, nil
}

// wrapsEveryRequest reports the BFF's request middleware, which is on the
// stack of every request and so says nothing about where the time goes.
func wrapsEveryRequest(frame string) bool {
	for _, w := range []string{"bff.requestIDMiddleware", "bff.(*Server).observe", "bff.(*Server).recoverMiddleware", "bff.New.ctxTimeout", "bff.securityHeaders"} {
		if strings.Contains(frame, w) {
			return true
		}
	}
	return false
}

// underTest names the BFF under test in the process table.
const underTest = "BFF under test"

// harnessComm is this process's name as perf reports it.
var harnessComm = "loadgen"

// benchmarkProcess reports whether a process name belongs to the benchmark
// itself (or is idle time) rather than to a neighbour on the machine.
func benchmarkProcess(name string) bool {
	switch name {
	case underTest, harnessComm, "postgres", "redis-server", "(idle)", "perf":
		return true
	}
	return strings.HasPrefix(name, "kworker") || strings.HasPrefix(name, "ksoftirqd") || strings.HasPrefix(name, "rcu_")
}

// topShares turns counts into at most n shares of total, largest first,
// leaving out those under minPct.
func topShares(m map[string]int, total, n int, minPct float64) []share {
	if total == 0 {
		return nil
	}
	out := make([]share, 0, len(m))
	for k, v := range m {
		pct := 100 * float64(v) / float64(total)
		if pct >= minPct {
			out = append(out, share{Name: k, Pct: pct})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pct != out[j].Pct {
			return out[i].Pct > out[j].Pct
		}
		return out[i].Name < out[j].Name
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
