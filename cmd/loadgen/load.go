package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
)

// loadClient is a pooled HTTP/1.1 client for one host, light enough that the
// harness leaves the CPU to the servers it measures: fasthttp's HostClient,
// reached through Fiber's Agent so the module's requirements stay as they
// are. Both the BFF and the baseline are driven by the same client, so its
// own cost weighs on both sides of the ratio alike.
type loadClient struct {
	agent *fiber.Agent
	base  string
}

func newLoadClient(base string, conns int) (*loadClient, error) {
	a := fiber.Get(base + "/")
	if err := a.Parse(); err != nil {
		return nil, err
	}
	a.MaxConns = conns
	a.MaxConnWaitTimeout = 10 * time.Second
	a.ReadTimeout = 10 * time.Second
	a.WriteTimeout = 10 * time.Second
	a.MaxIdleConnDuration = time.Minute
	return &loadClient{agent: a, base: base}, nil
}

// do sends req and fills resp.
func (c *loadClient) do(req *fiber.Request, resp *fiber.Response) error {
	return c.agent.HostClient.Do(req, resp)
}

// requestFunc prepares the request a load worker sends; it is called once
// per worker and the request reused.
type requestFunc func(req *fiber.Request)

// loadResult is one load phase's outcome.
type loadResult struct {
	Requests  int64         // completed in the measured window
	Errors    int64         // transport errors or unexpected statuses
	Elapsed   time.Duration // the measured window
	RPS       float64       // Requests / Elapsed (closed loop); achieved rate (open loop)
	Latency   summary
	Target    float64 // open loop: the arrival rate asked for
	Late      int64   // open loop: arrivals never sent before the drain deadline
	BadStatus string  // first unexpected status, for the report
	Others    float64 // % of the machine's CPU other work took meanwhile; -1 unknown
}

// closedLoop runs conns workers, each sending its next request as soon as
// the previous one answered, for warmup+dur; only the last dur counts.
// It measures the maximum throughput at that concurrency.
func closedLoop(ctx context.Context, c *loadClient, conns int, warmup, dur time.Duration, prep requestFunc, want int) loadResult {
	start := time.Now()
	from, until := start.Add(warmup), start.Add(warmup+dur)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		all      []time.Duration
		errs     atomic.Int64
		badFirst atomic.Value
	)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := new(fiber.Request), new(fiber.Response)
			prep(req)
			lat := make([]time.Duration, 0, 4096)
			var bad int64
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(until) {
					break
				}
				resp.Reset()
				err := c.do(req, resp)
				t1 := time.Now()
				if err != nil || resp.StatusCode() != want {
					if t0.After(from) {
						bad++
					}
					if err == nil {
						badFirst.CompareAndSwap(nil, fmt.Sprintf("%d %.200s", resp.StatusCode(), resp.Body()))
					} else {
						badFirst.CompareAndSwap(nil, err.Error())
						time.Sleep(time.Millisecond)
					}
					continue
				}
				if t0.After(from) && !t1.After(until) {
					lat = append(lat, t1.Sub(t0))
				}
			}
			errs.Add(bad)
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	r := loadResult{Requests: int64(len(all)), Errors: errs.Load(), Elapsed: dur}
	r.RPS = float64(r.Requests) / dur.Seconds()
	r.Latency = summarize(all)
	if s, ok := badFirst.Load().(string); ok {
		r.BadStatus = s
	}
	return r
}

// openLoop sends requests at a constant arrival rate for dur, whatever the
// answers' speed, from a pool of workers. Latency counts from each request's
// scheduled time, so a server that falls behind shows it in the figures
// instead of slowing the load down (no coordinated omission).
func openLoop(ctx context.Context, c *loadClient, workers int, rate float64, dur time.Duration, prep requestFunc, want int) loadResult {
	total := int(rate * dur.Seconds())
	queue := make(chan time.Time, total)
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	drainBy := start.Add(dur + 5*time.Second)
	go func() {
		defer close(queue)
		sent := 0
		for sent < total && ctx.Err() == nil {
			due := int(time.Since(start)/interval) + 1
			for ; sent < min(due, total); sent++ {
				queue <- start.Add(time.Duration(sent) * interval)
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		all      []time.Duration
		errs     atomic.Int64
		late     atomic.Int64
		badFirst atomic.Value
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := new(fiber.Request), new(fiber.Response)
			prep(req)
			lat := make([]time.Duration, 0, 1024)
			for at := range queue {
				if time.Now().After(drainBy) || ctx.Err() != nil {
					late.Add(1)
					continue
				}
				resp.Reset()
				err := c.do(req, resp)
				done := time.Now()
				if err != nil || resp.StatusCode() != want {
					errs.Add(1)
					if err == nil {
						badFirst.CompareAndSwap(nil, fmt.Sprintf("%d %.200s", resp.StatusCode(), resp.Body()))
					} else {
						badFirst.CompareAndSwap(nil, err.Error())
					}
					continue
				}
				lat = append(lat, done.Sub(at))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := loadResult{Requests: int64(len(all)), Errors: errs.Load(), Late: late.Load(), Elapsed: elapsed, Target: rate}
	r.RPS = float64(r.Requests) / min(elapsed, dur).Seconds()
	r.Latency = summarize(all)
	if s, ok := badFirst.Load().(string); ok {
		r.BadStatus = s
	}
	return r
}
