package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
)

// microReserve is the time kept back for the micro-benchmarks.
const microReserve = 45 * time.Second

// results is everything one run measured, for the report.
type results struct {
	Started  time.Time
	Finished time.Time
	Machine  machine
	Backends string
	Options  options

	IdleMem   memory
	IdleStats map[string]float64 // the BFF's Go memory statistics at idle, from /metrics
	// RestartMem and RestartStats are the same at idle after a second start
	// on the seeded database.
	RestartMem   memory
	RestartStats map[string]float64
	PeakMem      memory             // VmHWM after every phase
	PhaseRSS     map[string]float64 // highest sampled VmRSS (MB) per phase
	Phases       []string

	Progress     *progressResults
	ProgressErr  error
	Join         string
	Push         *pushResults
	PushErr      error
	Fanout       *fanoutResults
	FanoutErr    error
	FanoutTLS    *tlsFanoutResults
	FanoutTLSErr error
	Providers    *providersResults
	ProvidersErr error
	Skipped      []string

	PipelineStats map[string]float64 // the BFF's notify series from /metrics at the end
	SinkRejected  int                // sends the sink answered with an error since the last reset

	Micro      []microResult
	MicroErr   error
	ProfileOff string
	Shutdown   time.Duration
	Notes      []string
}

func run(parent context.Context, o options) (err error) {
	ctx, cancel := context.WithTimeout(parent, o.Budget)
	defer cancel()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	res := &results{Started: time.Now(), Options: o, PhaseRSS: map[string]float64{}}
	res.Machine = describeMachine(o.BFF)
	harnessComm = filepath.Base(os.Args[0])
	if len(harnessComm) > 15 {
		harnessComm = harnessComm[:15]
	}
	if _, err := os.Stat(o.BFF); err != nil {
		return fmt.Errorf("%s: %w (run `make build` first)", o.BFF, err)
	}

	dir, err := os.MkdirTemp("", "zsb-bench-")
	if err != nil {
		return err
	}
	defer func() {
		if o.Keep {
			logf("work directory kept: %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()
	prof := newProfiler(ctx, dir, o.Profile)
	if !prof.ok {
		res.ProfileOff = prof.reason
		logf("profiling off: %s", prof.reason)
	}

	be := openBackends(ctx, o.PG, o.Redis, logf)
	defer func() {
		if cerr := be.Close(); cerr != nil {
			logf("cleanup: %v", cerr)
		}
	}()
	res.Backends = be.Desc
	logf("backends: %s", be.Desc)

	// Every provider goes to its stand-in in this sink, with the
	// development credentials and keys made for the run.
	vendors, err := newProviderSink(dir)
	if err != nil {
		return err
	}
	sink := pushsink.New(pushsink.Options{MaxMessages: max(200_000, 2*(o.FanoutEvents+1)*o.Devices, 2*o.ProviderDevices),
		Credentials: &vendors.creds})
	sinkBase, err := sink.Start("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer sink.Close()
	reader := &sinkReader{sink: sink}

	runID := randomHex(3)
	env := []string{
		"BFF_ENV=development",
		"BFF_ADDR=127.0.0.1:0",
		"BFF_DATA_DIR=" + filepath.Join(dir, "data"),
		"BFF_REDIS_PREFIX=" + be.Prefix,
		"FCM_ENDPOINT=" + pushsink.Endpoint(sinkBase),
		"BFF_DIGEST_WINDOW=0s",
		"BFF_DEMO_PASSWORD=" + o.Password,
		"UPSTREAM_WEBHOOK_SECRETS=" + o.Secret,
	}
	env = append(env, vendors.bffEnv(sinkBase)...)
	if be.DatabaseURL != "" {
		env = append(env, "DATABASE_URL="+be.DatabaseURL)
	}
	if o.Profile && o.PprofDir != "" {
		// The BFF's ops-only profiler (BFF_PPROF_ADDR) on a free port; a
		// BFF built before it existed ignores the variable.
		if addr, err := freeAddr(); err == nil && os.MkdirAll(o.PprofDir, 0o755) == nil {
			env = append(env, "BFF_PPROF_ADDR="+addr)
			prof.pprofAddr, prof.pprofDir, prof.bffBinary = addr, o.PprofDir, o.BFF
		}
	}
	if be.RedisURL != "" {
		env = append(env, "REDIS_URL="+be.RedisURL)
	}
	// The Go runtime's diagnostics (GODEBUG=gctrace=1 and the like) reach
	// the BFF when the caller asks; they go to its log, not to the report.
	if v, ok := os.LookupEnv("GODEBUG"); ok {
		env = append(env, "GODEBUG="+v)
	}
	res.Machine.Checkpoint = be.checkpoint(ctx)
	logf("database checkpoint: %s", res.Machine.Checkpoint)
	res.Machine.BusyBefore = waitQuiet(ctx, o.QuietWait, 25, logf)
	logf("starting %s", o.BFF)
	proc, err := startBFF(ctx, o.BFF, dir, "bff.log", env)
	if err != nil {
		return err
	}
	defer func() {
		if proc != nil {
			_ = proc.Stop()
		}
	}()
	prof.pid = proc.PID()
	logf("BFF at %s (pid %d), pushes to the in-process sink at %s", proc.Base, proc.PID(), sinkBase)

	// Idle: started, ready, nothing asked of it yet.
	sleepCtx(ctx, 5*time.Second)
	res.IdleMem, _ = readMemory(proc.PID())
	res.IdleStats = scrapeMemStats(ctx, proc.Base)
	logf("idle: RSS %.1f MB (anon %.1f MB, file %.1f MB), VmHWM so far %.1f MB", res.IdleMem.rssMB(), float64(res.IdleMem.Anon)/1024, float64(res.IdleMem.File)/1024, res.IdleMem.hwmMB())

	sampler := startMemorySampler(proc.PID())
	a := newAPI(proc.Base)
	if err := a.login(ctx, o.User, o.Password); err != nil {
		return fmt.Errorf("login as %s: %w", o.User, err)
	}
	userID, err := a.me(ctx)
	if err != nil {
		return err
	}
	if err := a.pushAlways(ctx); err != nil {
		return fmt.Errorf("push preferences: %w", err)
	}
	res.Notes = append(res.Notes, fmt.Sprintf("%s's quiet hours were switched off through PUT /v1/me/push-preferences, so ordinary notices push at once at any hour.", o.User))

	// The load phases stop in time to leave the micro-benchmarks theirs.
	loadBudget := time.Until(res.Started.Add(o.Budget))
	if o.Micro {
		loadBudget -= microReserve
	}
	lctx, lcancel := context.WithTimeout(ctx, loadBudget)
	defer lcancel()
	phase := func(name, key string, f func() error) {
		if len(o.Only) > 0 && !o.Only[key] {
			return
		}
		if lctx.Err() != nil {
			res.Skipped = append(res.Skipped, name)
			logf("%s: skipped, the %s budget is spent", name, o.Budget)
			return
		}
		sampler.phase(name)
		res.Phases = append(res.Phases, name)
		if err := f(); err != nil {
			logf("%s: %v", name, err)
		}
	}

	phase("progress read", "progress", func() error {
		r, err := runProgress(lctx, o, a, proc.Base, prof, logf)
		res.Progress, res.ProgressErr = &r, err
		return err
	})

	typ, clocked := projectClocks(ctx, a, o.Project)
	src := newEventSource(runID, o.Project, typ, o.Secret, userID, clocked)
	token := "bench-" + runID + "-e2p-token"
	var join joiner
	phase("event to push", "push", func() error {
		if len(src.items) == 0 {
			res.PushErr = fmt.Errorf("%s: no %s item left to send events on (time limit above %d working days, clock not started)", o.Project, typ, deadlineWarnDays)
			return res.PushErr
		}
		if err := a.putDevice(lctx, "bench-e2p", token); err != nil {
			res.PushErr = err
			return err
		}
		c, err := newLoadClient(proc.Base, 1)
		if err != nil {
			res.PushErr = err
			return err
		}
		j, how, err := calibrate(lctx, src, c, proc.Base, reader, token)
		if err != nil {
			res.PushErr = err
			return err
		}
		join, res.Join = j, how
		logf("pushes joined to events %s", how)
		srcs, facts, err := createBenchProjects(lctx, o, a, runID, userID, proc.Base, o.EventProjects)
		if err != nil {
			res.PushErr = fmt.Errorf("creating the event-to-push projects: %w", err)
			return res.PushErr
		}
		logf("created %d projects for the run (%s … %s) for enterprise %s, region %s, type %s", len(srcs), srcs[0].project, srcs[len(srcs)-1].project, facts.CreditCode, facts.RegionCode, facts.Type)
		r, err := runEventToPush(lctx, o, srcs, facts, proc.Base, reader, token, join, prof, logf)
		res.Push, res.PushErr = &r, err
		if o.EventSingle > 0 && lctx.Err() == nil {
			s, serr := runSingleProject(lctx, o, src, proc.Base, reader, join, logf)
			r.Single, r.SingleErr = &s, serr
			if serr != nil {
				logf("one project, 1 in flight: %v", serr)
			}
		}
		return err
	})

	phase("fan-out", "fanout", func() error {
		if res.Join == "" {
			res.FanoutErr = errors.New("no join of pushes to events (the event-to-push phase failed)")
			return res.FanoutErr
		}
		if err := a.deleteDevice(lctx, "bench-e2p"); err != nil {
			res.FanoutErr = err
			return err
		}
		r, err := runFanout(lctx, o, a, src, proc.Base, reader, join, prof, logf)
		res.Fanout, res.FanoutErr = &r, err
		return err
	})

	phase("fan-out over every provider", "providers", func() error {
		fan := 0
		if res.Fanout != nil {
			fan = o.Devices
		}
		r, err := runProviders(lctx, o, a, src, proc.Base, sink, reader, join, fan, logf)
		res.Providers, res.ProvidersErr = &r, err
		return err
	})

	res.PipelineStats = scrapeMetrics(ctx, proc.Base, "zsb_pushes_total", "zsb_upstream_events_total", "zsb_notify_dead_letters_total", "zsb_notify_outbox_unprocessed", "zsb_notify_stream_pending", "zsb_notify_reader_handoffs_total")
	if res.PipelineStats == nil {
		res.PipelineStats = map[string]float64{}
		res.Notes = append(res.Notes, "The BFF's /metrics did not answer 200 at the end of the run, so its notify counters are missing here: "+metricsErr(ctx, proc.Base))
	}
	for _, m := range sink.Messages() {
		if !m.Delivered() {
			res.SinkRejected++
		}
	}
	res.PhaseRSS = sampler.stop()
	res.PeakMem, _ = readMemory(proc.PID())
	logf("memory: VmHWM %.1f MB over the run (RSS now %.1f MB)", res.PeakMem.hwmMB(), res.PeakMem.rssMB())

	t0 := time.Now()
	if err := proc.Stop(); err != nil {
		logf("BFF shutdown: %v (log: %s)", err, tail(proc.Log, 5))
	}
	res.Shutdown = time.Since(t0)
	proc = nil
	logf("BFF stopped in %s", res.Shutdown.Round(time.Millisecond))

	// Idle again on a second start over the same, already seeded data: the
	// seed hashes the demo passwords with argon2id (19 MiB each) on a
	// fresh database only, so this tells start-up's share of the idle RSS.
	if lctx.Err() == nil {
		if p2, err := startBFF(lctx, o.BFF, dir, "bff-restart.log", env); err == nil {
			sleepCtx(lctx, 5*time.Second)
			res.RestartMem, _ = readMemory(p2.PID())
			res.RestartStats = scrapeMemStats(lctx, p2.Base)
			_ = p2.Stop()
			logf("idle after a restart on the seeded database: RSS %.1f MB", res.RestartMem.rssMB())
		} else {
			logf("restart for the second idle reading: %v", err)
		}
	}

	if len(o.TLSSizes) > 0 && (len(o.Only) == 0 || o.Only["fanouttls"]) && res.Join != "" && lctx.Err() == nil {
		prov := 0
		if res.Providers != nil {
			prov = o.ProviderDevices
		}
		r, err := runFanoutTLS(lctx, o, dir, env, src, join, o.TLSSizes, prov, logf)
		res.FanoutTLS, res.FanoutTLSErr = &r, err
		if err != nil {
			logf("fan-out over TLS: %v", err)
		}
	}

	if o.Micro {
		if ctx.Err() != nil {
			res.Skipped = append(res.Skipped, "micro-benchmarks")
		} else {
			logf("micro-benchmarks (go test -bench, -benchtime %s)", o.MicroTime)
			res.Micro, res.MicroErr = runMicro(ctx, o, logf)
		}
	}
	res.Finished = time.Now()
	res.Machine.LoadAfter = loadAverage()

	report := renderReport(res)
	fmt.Println(renderTable(res))
	if o.Out != "" {
		if err := writeReport(o.Out, report); err != nil {
			return err
		}
		logf("wrote %s", o.Out)
	}
	return nil
}

// projectClocks asks the BFF for the project's type, so events name items
// the project has, and for the items whose clock has started (accepted_on
// in its progress), so events leave them alone.
func projectClocks(ctx context.Context, a *api, id string) (string, map[string]bool) {
	var p struct {
		Type string `json:"type"`
	}
	if err := a.call(ctx, http.MethodGet, "/v1/projects/"+id, nil, &p, http.StatusOK); err != nil || p.Type == "" {
		p.Type = "civil"
	}
	var prog struct {
		Themes []struct {
			Items []struct {
				Code       string  `json:"code"`
				AcceptedOn *string `json:"accepted_on"`
			} `json:"items"`
		} `json:"themes"`
	}
	clocked := map[string]bool{}
	if err := a.call(ctx, http.MethodGet, "/v1/projects/"+id+"/progress", nil, &prog, http.StatusOK); err == nil {
		for _, th := range prog.Themes {
			for _, it := range th.Items {
				if it.AcceptedOn != nil {
					clocked[it.Code] = true
				}
			}
		}
	}
	return p.Type, clocked
}

// freeAddr returns a 127.0.0.1 address with a port free right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// memorySampler reads the BFF's RSS every 200 ms and keeps each phase's
// highest.
type memorySampler struct {
	mu    sync.Mutex
	cur   string
	peaks map[string]float64
	done  chan struct{}
	wg    sync.WaitGroup
}

func startMemorySampler(pid int) *memorySampler {
	s := &memorySampler{peaks: map[string]float64{}, done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
			}
			m, err := readMemory(pid)
			if err != nil {
				continue
			}
			s.mu.Lock()
			if s.cur != "" && m.rssMB() > s.peaks[s.cur] {
				s.peaks[s.cur] = m.rssMB()
			}
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *memorySampler) phase(name string) {
	s.mu.Lock()
	s.cur = name
	s.mu.Unlock()
}

func (s *memorySampler) stop() map[string]float64 {
	close(s.done)
	s.wg.Wait()
	return s.peaks
}

// scrapeMetrics reads the BFF's /metrics and returns the samples whose
// series (name with labels) starts with one of prefixes.
func scrapeMetrics(ctx context.Context, base string, prefixes ...string) map[string]float64 {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i <= 0 {
			continue
		}
		series := line[:i]
		for _, p := range prefixes {
			if strings.HasPrefix(series, p) {
				if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
					out[series] = v
				}
				break
			}
		}
	}
	return out
}

// metricsErr says why /metrics failed, for the report.
func metricsErr(ctx context.Context, base string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	return fmt.Sprintf("status %d, %s", resp.StatusCode, truncate(string(body), 400))
}

// scrapeMemStats reads the BFF's Go memory statistics from /metrics: what
// the resident memory is made of, since the BFF has no pprof endpoint.
func scrapeMemStats(ctx context.Context, base string) map[string]float64 {
	return scrapeMetrics(ctx, base, "go_memstats_heap_inuse_bytes", "go_memstats_heap_idle_bytes",
		"go_memstats_heap_released_bytes", "go_memstats_stack_inuse_bytes", "go_memstats_sys_bytes",
		"go_goroutines")
}
