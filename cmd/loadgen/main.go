// Command loadgen is the benchmark harness behind `make bench`. It starts the
// built BFF (bin/bff) against a fresh PostgreSQL schema and a unique Redis
// key prefix (or, when those servers do not answer, the BFF's embedded
// defaults), drives it from this process over 127.0.0.1 only, and writes the
// figures, their targets and the machine they were measured on to
// BENCHMARKS.md:
//
//  1. the progress read against a bare Fiber handler serving the same bytes
//     (maximum throughput, latency at half of it, the 304 path);
//  2. upstream event to push: signed events at a constant rate over several
//     projects created for the run (each project's events in sequence, the
//     projects in parallel), timed from the webhook's 202 to an in-process
//     FCM sink receiving the push; and the most one project takes with one
//     event in flight;
//  3. fan-out: one event to 2,000 devices, then a longer run; then, on FCM's
//     real transport (TLS, HTTP/2, OAuth, see fanout_tls.go), one event to
//     2,000 and to 20,000 devices against firebase-admin-go's own SendEach
//     loop, alternating;
//  4. the BFF's resident memory at idle and at its peak;
//
// then the Go micro-benchmarks of the hot paths. Every phase is bounded in
// time and requests, the whole run by -budget, and it stops by itself.
// Where a target is missed, the report carries a CPU profile of the phase
// (perf, system-wide) saying where the time went.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	o, err := parseOptions(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// options are the harness's flags.
type options struct {
	BFF      string
	Out      string
	PG       string
	Redis    string
	Project  string
	User     string
	Password string
	Secret   string

	Conns   int
	Warmup  time.Duration
	Measure time.Duration

	EventRate     float64
	EventDuration time.Duration
	EventProjects int
	EventSingle   time.Duration
	Drain         time.Duration

	Devices      int
	TLSSizes     []int
	FanoutEvents int
	FanoutWait   time.Duration
	FanoutMax    time.Duration

	Micro     bool
	MicroTime string
	Profile   bool
	Budget    time.Duration
	Keep      bool
	QuietWait time.Duration
	Only      map[string]bool // phases to run; empty: all
	PprofDir  string
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func parseOptions(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.StringVar(&o.BFF, "bff", "bin/bff", "the BFF binary to start")
	fs.StringVar(&o.Out, "out", "BENCHMARKS.md", "where to write the report (empty: standard output only)")
	fs.StringVar(&o.PG, "pg", envOr("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL to create a fresh schema in (falls back to the BFF's SQLite when unreachable)")
	fs.StringVar(&o.Redis, "redis", envOr("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis to use under a unique key prefix (falls back to the BFF's in-process Redis when unreachable)")
	fs.StringVar(&o.Project, "project", "WF-DEMO-CIVIL", "demo project to read, to send the calibration, single-project and fan-out events for, and whose type, region and enterprise the event-to-push projects copy")
	fs.StringVar(&o.User, "user", "ent-demo", "demo account to sign in as")
	fs.StringVar(&o.Password, "password", "demo12345", "its password (BFF_DEMO_PASSWORD)")
	fs.StringVar(&o.Secret, "secret", "dev-upstream-secret", "webhook secret (UPSTREAM_WEBHOOK_SECRETS)")
	fs.IntVar(&o.Conns, "conns", 32, "concurrent connections of the progress-read load")
	fs.DurationVar(&o.Warmup, "warmup", time.Second, "warm-up before each closed-loop measurement (not counted)")
	fs.DurationVar(&o.Measure, "measure", 5*time.Second, "length of each progress-read measurement")
	fs.Float64Var(&o.EventRate, "event-rate", 200, "upstream events per second in the event-to-push run")
	fs.DurationVar(&o.EventDuration, "event-duration", 60*time.Second, "length of the event-to-push run")
	fs.IntVar(&o.EventProjects, "event-projects", 8, "projects the event-to-push run creates (project.upserted) and spreads its events over, in turn: each project's events in sequence with at most 1 in flight, the projects in parallel")
	fs.DurationVar(&o.EventSingle, "event-single", 8*time.Second, "length of the single-project closed loop (1 in flight, after -warmup) that shows the most one project takes; 0: skip it")
	fs.DurationVar(&o.Drain, "drain", 30*time.Second, "how long to wait for pushes after the last event")
	fs.IntVar(&o.Devices, "devices", 2000, "devices registered for the fan-out")
	fs.IntVar(&o.FanoutEvents, "fanout-events", 20, "events of the sustained fan-out run (each to every device)")
	fs.DurationVar(&o.FanoutWait, "fanout-wait", 20*time.Second, "bound on waiting for one event's fan-out")
	fs.DurationVar(&o.FanoutMax, "fanout-max", 60*time.Second, "bound on the sustained fan-out run")
	fs.BoolVar(&o.Micro, "micro", true, "also run the Go micro-benchmarks and report them")
	fs.StringVar(&o.MicroTime, "micro-benchtime", "500ms", "-benchtime of the micro-benchmarks")
	fs.BoolVar(&o.Profile, "profile", true, "sample CPU with perf during the load phases (reported where a target is missed)")
	fs.DurationVar(&o.Budget, "budget", 5*time.Minute+30*time.Second, "hard bound on the whole run; phases not reached are reported as skipped")
	fs.StringVar(&o.PprofDir, "pprof-dir", ".bench", "where to keep the BFF's Go CPU profiles of the measured phases (through BFF_PPROF_ADDR; empty: none)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the work directory (BFF log, perf data)")
	fs.DurationVar(&o.QuietWait, "quiet-wait", 10*time.Second, "wait up to this long for other work on the machine to settle before starting")
	only := fs.String("only", "", "run only these phases, comma-separated: progress, push, fanout, fanouttls (fanout and fanouttls need push)")
	tlsSizes := fs.String("tls-sizes", "2000,20000", "device counts of the fan-out on FCM's real transport (TLS, HTTP/2, OAuth), against the SDK's own SendEach loop; empty: skip it")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.Only = map[string]bool{}
	for _, ph := range strings.Split(*only, ",") {
		switch ph = strings.TrimSpace(ph); ph {
		case "":
		case "progress", "push", "fanout", "fanouttls":
			o.Only[ph] = true
		default:
			return o, fmt.Errorf("-only: unknown phase %q", ph)
		}
	}
	for _, s := range strings.Split(*tlsSizes, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return o, fmt.Errorf("-tls-sizes: %q is not a device count", s)
		}
		o.TLSSizes = append(o.TLSSizes, n)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case o.Conns < 1 || o.Conns > 1024:
		return o, fmt.Errorf("-conns must be 1..1024")
	case o.EventRate <= 0 || o.EventRate > 5000:
		return o, fmt.Errorf("-event-rate must be in (0, 5000]")
	case o.EventDuration <= o.Warmup || o.EventDuration > 10*time.Minute:
		return o, fmt.Errorf("-event-duration must be above -warmup and at most 10m")
	case o.EventProjects < 1 || o.EventProjects > 256:
		return o, fmt.Errorf("-event-projects must be 1..256")
	case o.EventSingle < 0 || o.EventSingle > time.Minute:
		return o, fmt.Errorf("-event-single must be in [0, 1m]")
	case o.Devices < 1 || o.Devices > 100000:
		return o, fmt.Errorf("-devices must be 1..100000")
	case o.FanoutEvents < 0 || o.FanoutEvents*o.Devices > 1_000_000:
		return o, fmt.Errorf("-fanout-events × -devices must stay under a million pushes")
	case o.Budget < time.Minute || o.Budget > 30*time.Minute:
		return o, fmt.Errorf("-budget must be in [1m, 30m]")
	case o.Measure <= 0 || o.Measure > 5*time.Minute:
		return o, fmt.Errorf("-measure must be in (0, 5m]")
	}
	if abs, err := filepath.Abs(o.BFF); err == nil {
		o.BFF = abs
	}
	return o, nil
}
