package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/weifang/kaigong-zsb/bff"
)

// The targets of issue 5, on a 2-core machine shared by harness and server.
const (
	targetRatio      = 0.5
	targetHalfP99    = 10 * time.Millisecond
	targetPushP99    = 100 * time.Millisecond
	targetFanout     = time.Second
	targetSustained  = 5000.0
	targetPeakRSSMB  = 150.0
	targetIdleRSSMB  = 50.0
	analysisBegin    = "<!-- analysis:begin (kept by make bench; edit freely) -->"
	analysisEnd      = "<!-- analysis:end -->"
	defaultAnalysis  = "_No analysis written yet._"
	notMeasuredLabel = "not measured"
)

// row is one line of the targets table.
type row struct {
	Figure, Target, Measured, Result string
	Missed                           bool
	Profile                          *profileReport
	ProfileName                      string
}

func atLeast(measured, target float64, unit string) (string, bool) {
	if measured >= target {
		return "pass", false
	}
	short := 100 * (target - measured) / target
	if short < 1 {
		return fmt.Sprintf("**miss** (%.1f%% short)", short), true
	}
	return fmt.Sprintf("**miss** (%.0f%% short)", short), true
}

func atMost(measured, target float64) (string, bool) {
	if measured <= target {
		return "pass", false
	}
	return fmt.Sprintf("**miss** (%.1f× the target)", measured/target), true
}

func durMiss(measured, target time.Duration) (string, bool) {
	return atMost(float64(measured), float64(target))
}

// rows evaluates every target.
func rows(r *results) []row {
	var out []row
	na := func(fig, target string, err error) row {
		m := notMeasuredLabel
		if err != nil {
			m += ": " + truncate(err.Error(), 120)
		}
		return row{Figure: fig, Target: target, Measured: m, Result: "n/a"}
	}

	if p := r.Progress; p != nil && p.BFF.RPS > 0 && p.Baseline.RPS > 0 {
		res, miss := atLeast(p.Ratio(), targetRatio, "×")
		out = append(out, row{Figure: fmt.Sprintf("Progress read, max throughput (%d connections), BFF ÷ bare Fiber baseline", p.Conns),
			Target:   fmt.Sprintf("≥ %.1f×", targetRatio),
			Measured: fmt.Sprintf("%.2f× (%s vs %s)", p.Ratio(), perSecond(p.BFF.RPS), perSecond(p.Baseline.RPS)),
			Result:   res, Missed: miss, Profile: p.Profile, ProfileName: "progress read, closed loop"})
		res, miss = durMiss(p.BFFHalf.Latency.P99, targetHalfP99)
		out = append(out, row{Figure: fmt.Sprintf("Progress read (200, ETag miss) at half load, %s open loop", perSecond(p.BFFHalf.Target)),
			Target:   "p99 ≤ " + ms(targetHalfP99),
			Measured: fmt.Sprintf("p50 %s, p99 %s", ms(p.BFFHalf.Latency.P50), ms(p.BFFHalf.Latency.P99)),
			Result:   res, Missed: miss, Profile: p.Profile, ProfileName: "progress read, closed loop"})
		if p.NotModHalf.Latency.N > 0 {
			res, miss = durMiss(p.NotModHalf.Latency.P99, targetHalfP99)
			out = append(out, row{Figure: fmt.Sprintf("Progress read, 304 path: max %s; at half load (%s)", perSecond(p.NotMod.RPS), perSecond(p.NotModHalf.Target)),
				Target:   "p99 ≤ " + ms(targetHalfP99) + " (as the 200)",
				Measured: fmt.Sprintf("p50 %s, p99 %s", ms(p.NotModHalf.Latency.P50), ms(p.NotModHalf.Latency.P99)),
				Result:   res, Missed: miss, Profile: p.Profile, ProfileName: "progress read, closed loop"})
		}
	} else {
		out = append(out, na("Progress read vs bare Fiber baseline", fmt.Sprintf("≥ %.1f×, p99 ≤ %s at half load", targetRatio, ms(targetHalfP99)), r.ProgressErr))
	}

	if p := r.Push; p != nil && p.Matched > 0 {
		res, miss := durMiss(p.Latency.P99, targetPushP99)
		if p.Missing > 0 {
			res, miss = fmt.Sprintf("**miss** (%d pushes never came)", p.Missing), true
		}
		appliedRate := float64(p.Applied) / p.Duration.Seconds()
		rres, rmiss := atLeast(p.Achieved, p.Rate, "/s")
		out = append(out, row{Figure: fmt.Sprintf("Webhook intake, %d projects × 1 in flight each: events/s sustained", len(p.Projects)),
			Target: fmt.Sprintf("%s (the scenario's rate)", perSecond(p.Rate)),
			Measured: fmt.Sprintf("%.1f/s sent, %.1f/s applied (%d of %d scheduled sent within %s; %d late behind their project's previous event)",
				p.Achieved, appliedRate, p.InWindow, p.Scheduled, p.Duration, p.Late),
			Result: rres, Missed: rmiss, Profile: p.Profile, ProfileName: "event to push"})
		out = append(out, row{Figure: fmt.Sprintf("Event → push at that rate for %s, webhook 202 → sink", p.Duration),
			Target:   "p99 ≤ " + ms(targetPushP99),
			Measured: fmt.Sprintf("p50 %s, p99 %s, max %s (n=%d)", ms(p.Latency.P50), ms(p.Latency.P99), ms(p.Latency.Max), p.Matched),
			Result:   res, Missed: miss, Profile: p.Profile, ProfileName: "event to push"})
	} else {
		out = append(out, na("Event → push", "p99 ≤ "+ms(targetPushP99), r.PushErr))
	}

	if f := r.Fanout; f != nil && f.OneGot > 0 {
		res, miss := "", false
		measured := ""
		if f.OneGot < f.Devices {
			res, miss = fmt.Sprintf("**miss** (%d of %d within %s)", f.OneGot, f.Devices, r.Options.FanoutWait), true
			measured = fmt.Sprintf("%d of %d pushes", f.OneGot, f.Devices)
		} else {
			res, miss = durMiss(f.OneAll, targetFanout)
			measured = fmt.Sprintf("%s (first push after %s)", ms(f.OneAll), ms(f.OneFirst))
		}
		out = append(out, row{Figure: fmt.Sprintf("Fan-out: one event to %d devices, 202 → last push", f.Devices),
			Target: "≤ " + ms(targetFanout), Measured: measured, Result: res, Missed: miss, Profile: f.Profile, ProfileName: "fan-out, sustained"})
		if f.Events > 0 {
			res, miss := atLeast(f.PushesPerSec, targetSustained, "/s")
			first := "no push at all"
			if f.SustainedGot > 0 {
				first = "first push " + ms(f.SustainedFirst) + " after the first 202"
			}
			m := fmt.Sprintf("%s (%d pushes in %s; %s)", perSecond(f.PushesPerSec), f.SustainedGot, f.SustainedDur.Round(time.Millisecond), first)
			if f.TimedOut {
				m += fmt.Sprintf(", stopped at the %s bound with %d of %d", r.Options.FanoutMax, f.SustainedGot, f.Events*f.Devices)
			}
			out = append(out, row{Figure: fmt.Sprintf("Fan-out sustained: %d events × %d devices", f.Events, f.Devices),
				Target: fmt.Sprintf("≥ %.0f pushes/s", targetSustained), Measured: m, Result: res, Missed: miss, Profile: f.Profile, ProfileName: "fan-out, sustained"})
		}
	} else {
		out = append(out, na("Fan-out", "≤ 1 s for 2,000; ≥ 5,000 pushes/s", r.FanoutErr))
	}

	if r.PeakMem.HWM > 0 {
		res, miss := atMost(r.PeakMem.hwmMB(), targetPeakRSSMB)
		out = append(out, row{Figure: "Peak resident memory of the BFF (VmHWM, whole run)", Target: fmt.Sprintf("≤ %.0f MB", targetPeakRSSMB),
			Measured: fmt.Sprintf("%.1f MB", r.PeakMem.hwmMB()), Result: res, Missed: miss})
	}
	if r.IdleMem.RSS > 0 {
		res, miss := atMost(r.IdleMem.rssMB(), targetIdleRSSMB)
		out = append(out, row{Figure: "Resident memory at idle after start (VmRSS)", Target: fmt.Sprintf("≤ %.0f MB", targetIdleRSSMB),
			Measured: fmt.Sprintf("%.1f MB (anon %.1f, file-backed %.1f)", r.IdleMem.rssMB(), float64(r.IdleMem.Anon)/1024, float64(r.IdleMem.File)/1024),
			Result:   res, Missed: miss})
	}
	return out
}

func truncate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// renderTable is the targets table, as printed at the end of a run.
func renderTable(r *results) string {
	var b strings.Builder
	b.WriteString("| figure | target | measured | result |\n|---|---|---|---|\n")
	for _, x := range rows(r) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", x.Figure, x.Target, x.Measured, x.Result)
	}
	return b.String()
}

// renderReport is the whole of BENCHMARKS.md except the kept analysis.
func renderReport(r *results) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	o := r.Options
	p("# Benchmarks\n\n")
	p("Written by `make bench` (`cmd/loadgen`) on %s; the run took %s. Re-run it to refresh every figure below\n", r.Started.Format("2006-01-02 15:04 MST"), r.Finished.Sub(r.Started).Round(time.Second))
	p("except the hand-written analysis at the end, which the harness keeps.\n\n")

	p("## Machine\n\n")
	p("| | |\n|---|---|\n")
	p("| CPU | %s |\n| cores | %d |\n| memory | %.1f GB |\n| Go | %s |\n| OS | %s |\n", r.Machine.CPU, r.Machine.Cores, r.Machine.MemoryGB, r.Machine.GoVersion, r.Machine.OS)
	p("| backends | %s |\n| database checkpoint | %s |\n| load average (1/5/15 min) | %s before, %s after — harness, BFF, PostgreSQL and Redis share these cores with whatever else runs |\n", r.Backends, r.Machine.Checkpoint, r.Machine.LoadBefore, r.Machine.LoadAfter)
	p("| date | %s |\n\n", r.Started.Format(time.RFC3339))

	p("## Targets\n\n")
	p("%s\n", renderTable(r))
	if worst, where := interference(r); worst >= 15 {
		p("**Caution:** other work on the machine (builds and tests of neighbours) took up to %.0f%% of its CPU during %s; the\n", worst, where)
		p("figures of that phase are pessimistic. See \"interference\" under Details; re-run `make bench` on a quiet machine.\n\n")
	}
	if len(r.Skipped) > 0 {
		p("Skipped because the %s budget ran out: %s.\n\n", o.Budget, strings.Join(r.Skipped, ", "))
	}

	p("## Details\n\n")
	p("| figure | value |\n|---|---|\n")
	if x := r.Progress; x != nil {
		p("| progress body | %d bytes (`%s`, demo data) |\n", x.BodyBytes, x.ProjectID)
		lr := func(name string, l loadResult) {
			if l.Latency.N == 0 && l.Requests == 0 {
				return
			}
			extra := ""
			if l.Errors > 0 {
				extra = fmt.Sprintf(", %d errors (first: %s)", l.Errors, truncate(l.BadStatus, 80))
			}
			if l.Late > 0 {
				extra += fmt.Sprintf(", %d not sent by the drain deadline", l.Late)
			}
			if l.Others >= 0 {
				extra += fmt.Sprintf("; other work took %.0f%% of the CPU meanwhile", l.Others)
			}
			p("| %s | %s; p50 %s, p99 %s, max %s%s |\n", name, perSecond(l.RPS), ms(l.Latency.P50), ms(l.Latency.P99), ms(l.Latency.Max), extra)
		}
		lr(fmt.Sprintf("baseline (bare Fiber, same bytes), closed loop, %d conns", x.Conns), x.Baseline)
		lr(fmt.Sprintf("BFF 200 (If-None-Match stale), closed loop, %d conns", x.Conns), x.BFF)
		lr(fmt.Sprintf("BFF 304 (If-None-Match current), closed loop, %d conns", x.Conns), x.NotMod)
		lr(fmt.Sprintf("baseline, open loop at %s", perSecond(x.BaseHalf.Target)), x.BaseHalf)
		lr(fmt.Sprintf("BFF 200, open loop at %s", perSecond(x.BFFHalf.Target)), x.BFFHalf)
		lr(fmt.Sprintf("BFF 304, open loop at %s", perSecond(x.NotModHalf.Target)), x.NotModHalf)
	}
	if x := r.Push; x != nil {
		np := len(x.Projects)
		p("| events sent | %d of %d scheduled at %s over %d projects (%s each, at most 1 in flight per project); %d within the %s window: %s |\n",
			x.Sent, x.Scheduled, perSecond(x.Rate), np, perSecond(x.Rate/float64(max(np, 1))), x.InWindow, x.Duration, perSecond(x.Achieved))
		if np > 0 {
			p("| event-to-push projects | `%s` … `%s`, created by the run with `project.upserted`: type %s, region %s, enterprise %s (as `%s`) |\n",
				x.Projects[0], x.Projects[np-1], x.Facts.Type, x.Facts.RegionCode, x.Facts.CreditCode, o.Project)
		}
		p("| sends behind schedule | %d waited for their project's previous event to answer (counted from the scheduled time below); send time − scheduled time p50 %s, p99 %s, max %s |\n",
			x.Late, ms(x.Lag.P50), ms(x.Lag.P99), ms(x.Lag.Max))
		keys := make([]string, 0, len(x.Results))
		for k := range x.Results {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", k, x.Results[k]))
		}
		p("| webhook answers | %s |\n", strings.Join(parts, ", "))
		if x.FirstError != "" {
			p("| first webhook error | %s |\n", truncate(x.FirstError, 160))
		}
		p("| webhook request → 202 | p50 %s, p99 %s, max %s |\n", ms(x.Webhook.P50), ms(x.Webhook.P99), ms(x.Webhook.Max))
		p("| scheduled time → 202 (open loop: includes any wait behind the project's previous event) | p50 %s, p99 %s, max %s |\n", ms(x.Queued.P50), ms(x.Queued.P99), ms(x.Queued.Max))
		p("| 202 → push | p50 %s, p99 %s, max %s; %d matched, %d missing after a %s drain |\n", ms(x.Latency.P50), ms(x.Latency.P99), ms(x.Latency.Max), x.Matched, x.Missing, o.Drain)
		if len(x.Slices) > 0 {
			var parts []string
			for i, sl := range x.Slices {
				parts = append(parts, fmt.Sprintf("%ds: %s / %s", (i+1)*int(sliceLen/time.Second), ms(sl.P50), ms(sl.P99)))
			}
			p("| 202 → push p50 / p99 by %s of the run (a growing figure is a growing backlog) | %s |\n", sliceLen, strings.Join(parts, "; "))
		}
		p("| pushes joined to events | %s |\n", r.Join)
		switch s := x.Single; {
		case s != nil && s.Answered > 0:
			extra := ""
			if n := s.Results["error"]; n > 0 {
				extra = fmt.Sprintf("; %d errors (first: %s)", n, truncate(s.FirstError, 80))
			}
			p("| one project, 1 in flight: the most it takes (`%s`, closed loop, %s after a %s warm-up) | %s (%d answered in %s); webhook request → 202 p50 %s, p99 %s, max %s%s; pushes received for %d of its %d applied events |\n",
				s.Project, o.EventSingle, o.Warmup, perSecond(s.Rate), s.Answered, s.Duration.Round(time.Millisecond), ms(s.Webhook.P50), ms(s.Webhook.P99), ms(s.Webhook.Max), extra, s.Pushed, s.Applied)
		case x.SingleErr != nil:
			p("| one project, 1 in flight: the most it takes | %s: %s |\n", notMeasuredLabel, truncate(x.SingleErr.Error(), 160))
		}
	}
	if x := r.Fanout; x != nil {
		p("| device registration | %d devices in %s (%s, 4 clients) |\n", x.Devices, x.RegisterTime.Round(time.Millisecond), perSecond(float64(x.Devices)/x.RegisterTime.Seconds()))
		if x.OneGot > 0 {
			p("| one event to %d devices | first push %s, last %s after the 202 (%d received) |\n", x.Devices, ms(x.OneFirst), ms(x.OneAll), x.OneGot)
		}
	}
	if len(r.Phases) > 0 {
		var parts []string
		for _, ph := range r.Phases {
			parts = append(parts, fmt.Sprintf("%s %.1f MB", ph, r.PhaseRSS[ph]))
		}
		p("| highest sampled RSS per phase (every 200 ms) | %s |\n", strings.Join(parts, "; "))
	}
	if r.IdleMem.RSS > 0 {
		p("| memory at idle after the first start (fresh schema: migrations, demo seed) | VmRSS %.1f MB, VmHWM %.1f MB already |\n", r.IdleMem.rssMB(), r.IdleMem.hwmMB())
	}
	heap := func(label string, st map[string]float64) {
		if len(st) == 0 {
			return
		}
		mb := func(k string) float64 { return st[k] / (1 << 20) }
		p("| %s | in use %.1f MB, idle %.1f MB of which released to the OS %.1f MB, stacks %.1f MB, total from the OS %.1f MB, %0.f goroutines |\n",
			label, mb("go_memstats_heap_inuse_bytes"), mb("go_memstats_heap_idle_bytes"), mb("go_memstats_heap_released_bytes"),
			mb("go_memstats_stack_inuse_bytes"), mb("go_memstats_sys_bytes"), st["go_goroutines"])
	}
	heap("Go heap at idle (from /metrics)", r.IdleStats)
	if r.RestartMem.RSS > 0 {
		p("| idle after a second start on the already seeded database (no password hashing at start) | VmRSS %.1f MB (anon %.1f, file-backed %.1f), VmHWM %.1f MB |\n",
			r.RestartMem.rssMB(), float64(r.RestartMem.Anon)/1024, float64(r.RestartMem.File)/1024, r.RestartMem.hwmMB())
	}
	heap("Go heap at idle after that second start", r.RestartStats)
	if len(r.PipelineStats) > 0 {
		keys := make([]string, 0, len(r.PipelineStats))
		for k := range r.PipelineStats {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("`%s` %.0f", k, r.PipelineStats[k]))
		}
		p("| the BFF's notify counters at the end (from /metrics) | %s |\n", strings.Join(parts, ", "))
		p("| sends the sink answered with an error (fan-out phase) | %d |\n", r.SinkRejected)
	}
	var inter []string
	inter = append(inter, fmt.Sprintf("%.0f%% of the CPU busy just before the BFF started", r.Machine.BusyBefore))
	if x := r.Progress; x != nil && x.BaselineOthersPct >= 0 {
		inter = append(inter, fmt.Sprintf("baseline %.1f%%", x.BaselineOthersPct))
	}
	for _, pr := range profiles(r) {
		inter = append(inter, fmt.Sprintf("%s %.1f%%", pr.Name, pr.OthersPct))
	}
	p("| interference: CPU taken by processes outside the benchmark (from perf) | %s |\n", strings.Join(inter, "; "))
	if r.Shutdown > 0 {
		p("| BFF graceful shutdown after the run | %s |\n", r.Shutdown.Round(time.Millisecond))
	}
	p("\n")
	renderFanoutTLS(&b, r)

	if len(r.Micro) > 0 || r.MicroErr != nil {
		p("## Micro-benchmarks\n\n")
		p("`go test -run '^$' -bench … -benchmem -benchtime %s`, same machine, right after the load run.\n\n", o.MicroTime)
		p("| package | benchmark | ns/op | B/op | allocs/op | what it is |\n|---|---|---:|---:|---:|---|\n")
		for _, m := range r.Micro {
			extra := ""
			if m.MBPerSec > 0 {
				extra = fmt.Sprintf(" (%.0f MB/s)", m.MBPerSec)
			}
			p("| %s | %s | %.0f | %.0f | %.0f | %s%s |\n", m.Package, m.Name, m.NsPerOp, m.BytesPerOp, m.AllocsOp, microWhat[m.Name], extra)
		}
		if r.MicroErr != nil {
			p("\nThe micro-benchmarks did not all run: %s\n", truncate(r.MicroErr.Error(), 300))
		}
		p("\n")
	}

	p("## Profiles of missed targets\n\n")
	if r.ProfileOff != "" {
		p("No CPU profiles: %s.\n\n", r.ProfileOff)
	}
	done := map[string]bool{}
	anyMiss := false
	for _, x := range rows(r) {
		if !x.Missed {
			continue
		}
		anyMiss = true
		if x.Profile == nil || done[x.ProfileName] {
			continue
		}
		done[x.ProfileName] = true
		renderProfile(&b, x.ProfileName, x.Profile)
	}
	for _, x := range []struct {
		name string
		err  error
	}{{"progress", profErr(r.Progress)}, {"event to push", pushProfErr(r.Push)}, {"fan-out", fanProfErr(r.Fanout)}} {
		if x.err != nil {
			p("The %s profile failed: %s\n\n", x.name, truncate(x.err.Error(), 200))
		}
	}
	if !anyMiss {
		p("Every target was met; no profile needed.\n\n")
	}
	p("Profiles are `perf record -a -g -F 199` over the whole machine during the phase (after its warm-up, at most 20 s),\n")
	p("so they show the database and Redis beside the BFF. \"Cost\" attributes each BFF sample to the innermost frame of a\n")
	p("known library on its stack (a system call or an allocation counts for the library that asked for it).\n\n")

	p("## Method\n\n")
	p("- `make bench` builds `bin/bff` and `bin/fcmsink`, then runs `cmd/loadgen`, which starts `bin/bff` as a process\n")
	p("  (`BFF_ENV=development`: demo data seeded, `BFF_DIGEST_WINDOW=0s`, default logging, access log on) on 127.0.0.1 and\n")
	p("  drives it from its own process. Nothing leaves 127.0.0.1. The FCM sink runs inside the harness (`pushsink.Start`)\n")
	p("  and the BFF sends to it (`FCM_ENDPOINT`), so push receive times and 202 times share one clock;\n")
	p("  `bin/fcmsink` is the same sink as a standalone process, for drills.\n")
	p("- Backends: a fresh PostgreSQL schema (`?search_path=bench_…`, dropped afterwards) and a unique `BFF_REDIS_PREFIX`\n")
	p("  (keys deleted afterwards); when a server does not answer, the BFF's embedded default instead, as the backends row says.\n")
	p("  PostgreSQL is asked for a `CHECKPOINT` before the BFF starts, so that its timed checkpoint (5 min after the last\n")
	p("  one here) does not fall inside a run shorter than that: measured at 100 events/s, one inside the window raised event → push p99 from\n")
	p("  26–37 ms to 103–168 ms (max 0.5 s), the checkpoint's writes and fsyncs stalling commits on the shared disk.\n")
	p("- Progress read: `GET /v1/projects/%s/progress` as `%s` with `If-None-Match` naming an old version (the app's\n", o.Project, o.User)
	p("  cached copy is stale, so the full body is served). Closed loop: %d connections, each sending again as soon as it\n", o.Conns)
	p("  is answered, %s warm-up then %s measured. Open loop: a constant arrival rate of half that maximum for %s, latency\n", o.Warmup, o.Measure, o.Measure)
	p("  counted from each request's scheduled time (no coordinated omission). The baseline is a bare Fiber app in the\n")
	p("  harness's process, on another port, answering the same bytes and headers from memory with the BFF's connection\n")
	p("  buffers (read %d KiB, write %d KiB: the body leaves in one write in both), measured the same way by the same\n", bff.ReadBufferSize>>10, bff.WriteBufferSize>>10)
	p("  client (fasthttp, light enough to leave the CPU to the servers).\n")
	p("- Event → push: one device registered for `%s`; %d projects created for the run with `project.upserted` (the type,\n", o.User, o.EventProjects)
	p("  region and enterprise of `%s`, so each of their changes pushes to `%s`); signed `item.status_changed` events,\n", o.Project, o.User)
	p("  each with its project's next sequence number, on the project type's catalog items with a time limit above %d\n", deadlineWarnDays)
	p("  working days in turn (so the BFF's deadline scan finds nothing to warn of), alternating accepted/approved, at a\n")
	p("  constant %s overall for %s: event i of a fixed schedule is due at i ÷ rate and goes to\n", perSecond(o.EventRate), o.EventDuration)
	p("  project i mod %d (%s each), each project's events in sequence with at most 1 in flight, the projects in\n", o.EventProjects, perSecond(o.EventRate/float64(o.EventProjects)))
	p("  parallel, as a city's upstream sends its projects' changes, after %s of the same load not counted (warm-up; its\n", o.Warmup)
	p("  pushes awaited before the measured run). Open loop: an event whose project's previous one is\n")
	p("  still unanswered at its time goes as soon as that one answers and counts as late, its wait shown in the send lag\n")
	p("  and in scheduled time → 202 (no coordinated omission); the rate is the events sent within the window over its\n")
	p("  length, and a project still behind %s after the window stops, its remaining events counted as not sent.\n", lateGrace)
	p("  Latency is the sink's receive time minus the time the harness read the 202. Apart, as a detail: the most one\n")
	p("  project takes, `%s` with 1 event in flight in a closed loop (each sent when the previous one answered) for %s\n", o.Project, o.EventSingle)
	p("  after a %s warm-up. The calibration, single-project and fan-out events go to `%s`, on the same items less\n", o.Warmup, o.Project)
	p("  those whose clock the demo seed already started (re-accepted, they would be overdue and warned of).\n")
	p("- Fan-out: %d installations registered for `%s` with distinct tokens (`PUT /v1/me/devices/{id}`); one event, then\n", o.Devices, o.User)
	p("  %d events back to back; the rate is pushes received over the time from the first 202 to the last push.\n", o.FanoutEvents)
	p("- Memory: `/proc/<pid>/status` of the BFF: VmRSS 5 s after it answered `/readyz` with no traffic yet, and VmHWM\n")
	p("  (the process's lifetime peak) after the last phase.\n")
	p("- No test asserts a timing; this file is the evidence.\n\n")
	for _, n := range r.Notes {
		p("Note: %s\n\n", n)
	}
	return b.String()
}

// profiles lists the phases' profiles that were taken.
func profiles(r *results) []*profileReport {
	var out []*profileReport
	if r.Progress != nil && r.Progress.Profile != nil {
		out = append(out, r.Progress.Profile)
	}
	if r.Push != nil && r.Push.Profile != nil {
		out = append(out, r.Push.Profile)
	}
	if r.Fanout != nil && r.Fanout.Profile != nil {
		out = append(out, r.Fanout.Profile)
	}
	return out
}

// interference is the largest CPU share neighbours took during a measured
// phase, and which.
func interference(r *results) (float64, string) {
	worst, where := 0.0, ""
	if x := r.Progress; x != nil && x.BaselineOthersPct > worst {
		worst, where = x.BaselineOthersPct, "the baseline"
	}
	for _, pr := range profiles(r) {
		if pr.OthersPct > worst {
			worst, where = pr.OthersPct, pr.Name
		}
	}
	return worst, where
}

func profErr(x *progressResults) error {
	if x == nil {
		return nil
	}
	return x.ProfileErr
}

func pushProfErr(x *pushResults) error {
	if x == nil {
		return nil
	}
	return x.ProfileErr
}

func fanProfErr(x *fanoutResults) error {
	if x == nil {
		return nil
	}
	return x.ProfileErr
}

func renderProfile(b *strings.Builder, name string, pr *profileReport) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("### %s\n\n", name)
	p("%d samples over the machine, %d in the BFF.\n\n", pr.Samples, pr.BFFSamples)
	p("| where the machine's CPU went (by process) | share |\n|---|---:|\n")
	for _, s := range pr.ByProcess {
		p("| %s | %.1f%% |\n", s.Name, s.Pct)
	}
	p("\n| the BFF's CPU by cost | share |\n|---|---:|\n")
	for _, s := range pr.ByCost {
		p("| %s | %.1f%% |\n", s.Name, s.Pct)
	}
	if len(pr.OurCode) > 0 {
		p("\n| our code, inclusive: share of the BFF's samples with it on the stack (request middleware left out) | share |\n|---|---:|\n")
		for _, s := range pr.OurCode {
			p("| `%s` | %.1f%% |\n", strings.TrimPrefix(s.Name, "github.com/weifang/kaigong-zsb/"), s.Pct)
		}
	}
	if len(pr.TopSelf) > 0 {
		p("\n| hottest functions in the BFF (self) | share |\n|---|---:|\n")
		for _, s := range pr.TopSelf {
			p("| `%s` | %.1f%% |\n", s.Name, s.Pct)
		}
	}
	switch {
	case pr.GoTop != "":
		p("\nThe BFF's own Go CPU profile of the same window (`go tool pprof -top -cum bin/bff %s`):\n\n```\n%s\n```\n", pr.GoFile, pr.GoTop)
	case pr.GoErr != nil:
		p("\nNo Go CPU profile of this window: %s\n", truncate(pr.GoErr.Error(), 200))
	}
	p("\n")
}

// writeReport writes BENCHMARKS.md, keeping the hand-written analysis of
// the existing file.
func writeReport(path, report string) error {
	analysis := defaultAnalysis
	if old, err := os.ReadFile(path); err == nil {
		s := string(old)
		if i := strings.Index(s, analysisBegin); i >= 0 {
			rest := s[i+len(analysisBegin):]
			if j := strings.Index(rest, analysisEnd); j >= 0 {
				analysis = strings.TrimSpace(rest[:j])
			}
		}
	}
	out := report + "## Analysis\n\n" + analysisBegin + "\n\n" + analysis + "\n\n" + analysisEnd + "\n"
	return os.WriteFile(path, []byte(out), 0o644)
}
