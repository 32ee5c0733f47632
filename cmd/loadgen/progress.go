package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/weifang/kaigong-zsb/bff"

	"github.com/gofiber/fiber/v2"
)

// staleETag is a validator no progress view ever has: the app's cached copy
// from an older version, so the request takes the If-None-Match path, misses
// and gets the full body.
const staleETag = `"0.19700101"`

// progressResults are scenario 1's figures.
type progressResults struct {
	ProjectID  string
	BodyBytes  int
	Conns      int
	Baseline   loadResult // closed loop, the bare Fiber handler
	BFF        loadResult // closed loop, 200 with an ETag miss
	NotMod     loadResult // closed loop, 304
	BaseHalf   loadResult // open loop at half the baseline's maximum
	BFFHalf    loadResult // open loop at half the BFF's maximum
	NotModHalf loadResult // open loop at half the 304 maximum
	Profile    *profileReport
	ProfileErr error
	// BaselineOthersPct is the CPU share other work on the machine took
	// while the baseline was measured (-1: not known).
	BaselineOthersPct float64
}

// Ratio is the BFF's maximum throughput as a share of the baseline's.
func (r progressResults) Ratio() float64 {
	if r.Baseline.RPS == 0 {
		return 0
	}
	return r.BFF.RPS / r.Baseline.RPS
}

// startBaseline serves body, with the BFF's headers, from memory on a
// bare Fiber app in this process: the floor the BFF's progress read is
// measured against. It has the BFF's connection buffers, so the two differ
// by what the BFF does per request, not by how the bytes leave.
func startBaseline(body []byte, etag string) (base string, stop func(), err error) {
	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		ReadBufferSize:        bff.ReadBufferSize,
		WriteBufferSize:       bff.WriteBufferSize,
	})
	app.Get("/v1/projects/:project_id/progress", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderETag, etag)
		c.Set(fiber.HeaderCacheControl, "private, no-cache")
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(body)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go func() { _ = app.Listener(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = app.ShutdownWithTimeout(5 * time.Second) }, nil
}

// runProgress measures GET /v1/projects/{id}/progress against the baseline.
func runProgress(ctx context.Context, o options, a *api, bffBase string, prof *profiler, logf func(string, ...any)) (progressResults, error) {
	r := progressResults{ProjectID: o.Project, Conns: o.Conns}
	body, etag, err := a.progress(ctx, o.Project)
	if err != nil {
		return r, err
	}
	r.BodyBytes = len(body)
	baseURL, stopBaseline, err := startBaseline(body, etag)
	if err != nil {
		return r, err
	}
	defer stopBaseline()

	path := "/v1/projects/" + o.Project + "/progress"
	miss := func(base string) requestFunc {
		return func(req *fiber.Request) {
			req.SetRequestURI(base + path)
			req.Header.SetMethod(fiber.MethodGet)
			req.Header.Set(fiber.HeaderAuthorization, "Bearer "+a.token)
			req.Header.Set(fiber.HeaderIfNoneMatch, staleETag)
		}
	}
	hit := func(req *fiber.Request) {
		req.SetRequestURI(bffBase + path)
		req.Header.SetMethod(fiber.MethodGet)
		req.Header.Set(fiber.HeaderAuthorization, "Bearer "+a.token)
		req.Header.Set(fiber.HeaderIfNoneMatch, etag)
	}
	baseClient, err := newLoadClient(baseURL, o.Conns)
	if err != nil {
		return r, err
	}
	bffClient, err := newLoadClient(bffBase, o.Conns)
	if err != nil {
		return r, err
	}

	logf("progress: baseline (bare Fiber, %d B from memory), closed loop, %d connections, %s", len(body), o.Conns, o.Measure)
	baseCapture := prof.start(ctx, "baseline", o.Measure, o.Warmup)
	r.Baseline = closedLoop(ctx, baseClient, o.Conns, o.Warmup, o.Measure, miss(baseURL), fiber.StatusOK)
	r.BaselineOthersPct, r.Baseline.Others = -1, -1
	if bp, err := prof.analyze(ctx, baseCapture); err == nil && bp != nil {
		r.BaselineOthersPct, r.Baseline.Others = bp.OthersPct, bp.OthersPct
	}
	logf("  %s, p50 %s, p99 %s", perSecond(r.Baseline.RPS), ms(r.Baseline.Latency.P50), ms(r.Baseline.Latency.P99))

	logf("progress: BFF, 200 with an ETag miss, closed loop, %d connections, %s", o.Conns, o.Measure)
	capture := prof.withGo(ctx, prof.start(ctx, "progress", o.Measure, o.Warmup), o.Measure, o.Warmup)
	r.BFF = closedLoop(ctx, bffClient, o.Conns, o.Warmup, o.Measure, miss(bffBase), fiber.StatusOK)
	logf("  %s (%.2f× baseline), p50 %s, p99 %s, errors %d %s", perSecond(r.BFF.RPS), r.Ratio(), ms(r.BFF.Latency.P50), ms(r.BFF.Latency.P99), r.BFF.Errors, r.BFF.BadStatus)
	r.Profile, r.ProfileErr = prof.analyze(ctx, capture)
	r.BFF.Others = -1
	if r.Profile != nil {
		r.BFF.Others = r.Profile.OthersPct
	}
	if r.BFF.RPS == 0 {
		return r, fmt.Errorf("the BFF answered no progress read: %s", r.BFF.BadStatus)
	}

	half := r.BFF.RPS / 2
	logf("progress: BFF, open loop at %s (half its maximum), %s", perSecond(half), o.Measure)
	r.BFFHalf = watched(ctx, prof, "bff-half", o.Measure, 0, func() loadResult {
		return openLoop(ctx, bffClient, o.Conns, half, o.Measure, miss(bffBase), fiber.StatusOK)
	})
	logf("  p50 %s, p99 %s, max %s", ms(r.BFFHalf.Latency.P50), ms(r.BFFHalf.Latency.P99), ms(r.BFFHalf.Latency.Max))

	logf("progress: baseline, open loop at %s (half its maximum), %s", perSecond(r.Baseline.RPS/2), o.Measure)
	r.BaseHalf = watched(ctx, prof, "baseline-half", o.Measure, 0, func() loadResult {
		return openLoop(ctx, baseClient, o.Conns, r.Baseline.RPS/2, o.Measure, miss(baseURL), fiber.StatusOK)
	})
	logf("  p50 %s, p99 %s", ms(r.BaseHalf.Latency.P50), ms(r.BaseHalf.Latency.P99))

	logf("progress: BFF, 304 (If-None-Match current), closed loop, %s", o.Measure)
	r.NotMod = watched(ctx, prof, "not-modified", o.Measure, o.Warmup, func() loadResult {
		return closedLoop(ctx, bffClient, o.Conns, o.Warmup, o.Measure, hit, fiber.StatusNotModified)
	})
	logf("  %s, p50 %s, p99 %s", perSecond(r.NotMod.RPS), ms(r.NotMod.Latency.P50), ms(r.NotMod.Latency.P99))
	if r.NotMod.RPS > 0 {
		logf("progress: BFF, 304, open loop at %s, %s", perSecond(r.NotMod.RPS/2), o.Measure)
		r.NotModHalf = watched(ctx, prof, "not-modified-half", o.Measure, 0, func() loadResult {
			return openLoop(ctx, bffClient, o.Conns, r.NotMod.RPS/2, o.Measure, hit, fiber.StatusNotModified)
		})
		logf("  p50 %s, p99 %s", ms(r.NotModHalf.Latency.P50), ms(r.NotModHalf.Latency.P99))
	}
	return r, nil
}

// watched runs a load and measures, with perf, how much of the machine other
// work took meanwhile (Others; -1 when it cannot tell).
func watched(ctx context.Context, prof *profiler, name string, d, delay time.Duration, f func() loadResult) loadResult {
	c := prof.start(ctx, name, d, delay)
	r := f()
	r.Others = -1
	if pr, err := prof.analyze(ctx, c); err == nil && pr != nil {
		r.Others = pr.OthersPct
	}
	return r
}
