package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weifang/kaigong-zsb/notify/intake"

	"github.com/gofiber/fiber/v2"
)

// fanoutResults are scenario 3's figures.
type fanoutResults struct {
	Devices      int
	RegisterTime time.Duration
	RegisterErrs int64

	// One event to every device.
	OneFirst time.Duration // 202 to the first push
	OneAll   time.Duration // 202 to the last of Devices pushes
	OneGot   int

	// Events × Devices, sent back to back.
	Events         int
	SustainedGot   int
	SustainedDur   time.Duration // first 202 to the last push received
	SustainedFirst time.Duration // first 202 to the first push received
	PushesPerSec   float64
	TimedOut       bool
	Profile        *profileReport
	ProfileErr     error
}

// registerDevices registers n installations for the signed-in user, each
// with its own token, from a few workers.
func registerDevices(ctx context.Context, a *api, runID string, n, workers int) (time.Duration, int64, error) {
	start := time.Now()
	var (
		next, errs atomic.Int64
		first      atomic.Value
		wg         sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				id := fmt.Sprintf("bench-fan-%05d", i)
				if err := a.putDevice(ctx, id, fmt.Sprintf("bench-%s-fan-token-%05d", runID, i)); err != nil {
					errs.Add(1)
					first.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	if errs.Load() > 0 {
		return time.Since(start), errs.Load(), fmt.Errorf("%d of %d device registrations failed; first: %v", errs.Load(), n, first.Load())
	}
	return time.Since(start), 0, ctx.Err()
}

// waitPushes polls the sink until want pushes for the events arrived or the
// deadline passed; it returns the matched pushes.
func waitPushes(ctx context.Context, sink *sinkReader, join joiner, events []event, want int, deadline time.Time, poll time.Duration) map[string][]push {
	m := join.matcher(events)
	read := 0
	for {
		ps := sink.delivered()
		if len(ps) < read { // the sink was reset: match it all again
			m, read = join.matcher(events), 0
		}
		m.add(ps[read:])
		read = len(ps)
		if m.got >= want || time.Now().After(deadline) || ctx.Err() != nil {
			return m.out
		}
		time.Sleep(poll)
	}
}

// runFanout registers the devices, then measures one event to all of them
// and a longer run of events back to back.
func runFanout(ctx context.Context, o options, a *api, src *eventSource, bffBase string, sink *sinkReader, join joiner, prof *profiler, logf func(string, ...any)) (fanoutResults, error) {
	r := fanoutResults{Devices: o.Devices, Events: o.FanoutEvents}
	logf("fan-out: registering %d devices for the user", o.Devices)
	var err error
	r.RegisterTime, r.RegisterErrs, err = registerDevices(ctx, a, src.runID, o.Devices, 4)
	if err != nil {
		return r, err
	}
	logf("  registered in %s (%s)", r.RegisterTime.Round(time.Millisecond), perSecond(float64(o.Devices)/r.RegisterTime.Seconds()))
	c, err := newLoadClient(bffBase, 1)
	if err != nil {
		return r, err
	}
	req, resp := new(fiber.Request), new(fiber.Response)

	// One event.
	time.Sleep(time.Second) // let registration's writes settle
	sink.reset()
	ev := src.send(c, bffBase, req, resp)
	if ev.Result != intake.ResultApplied {
		return r, fmt.Errorf("fan-out event: %s", ev.Result)
	}
	m := waitPushes(ctx, sink, join, []event{ev}, o.Devices, time.Now().Add(o.FanoutWait), 10*time.Millisecond)
	ps := m[ev.ID]
	r.OneGot = len(ps)
	if len(ps) > 0 {
		lo, hi := ps[0].Received, ps[0].Received
		for _, p := range ps {
			lo, hi = minTime(lo, p.Received), maxTime(hi, p.Received)
		}
		r.OneFirst, r.OneAll = lo.Sub(ev.Accepted), hi.Sub(ev.Accepted)
	}
	logf("  one event: first push after %s, %d/%d pushes after %s", ms(r.OneFirst), r.OneGot, o.Devices, ms(r.OneAll))
	if r.OneGot < o.Devices {
		r.OneAll = 0
	}

	// Events back to back.
	if ctx.Err() != nil || o.FanoutEvents == 0 {
		return r, ctx.Err()
	}
	time.Sleep(time.Second)
	sink.reset()
	want := o.FanoutEvents * o.Devices
	logf("fan-out: %d events × %d devices = %d pushes, events sent back to back (bounded by %s)", o.FanoutEvents, o.Devices, want, o.FanoutMax)
	window := min(o.FanoutMax, 15*time.Second)
	capture := prof.withGo(ctx, prof.start(ctx, "fan-out", window, time.Second), window, time.Second)
	var events []event
	for range o.FanoutEvents {
		e := src.send(c, bffBase, req, resp)
		if e.Result != intake.ResultApplied {
			return r, fmt.Errorf("fan-out event: %s", e.Result)
		}
		events = append(events, e)
	}
	start := events[0].Accepted
	m = waitPushes(ctx, sink, join, events, want, start.Add(o.FanoutMax), 100*time.Millisecond)
	r.Profile, r.ProfileErr = prof.analyze(ctx, capture)
	var first, last time.Time
	for _, ps := range m {
		r.SustainedGot += len(ps)
		for _, p := range ps {
			last = maxTime(last, p.Received)
			if first.IsZero() || p.Received.Before(first) {
				first = p.Received
			}
		}
	}
	if !first.IsZero() {
		r.SustainedFirst = first.Sub(start)
	}
	r.TimedOut = r.SustainedGot < want
	if r.TimedOut {
		// The rate over the whole window waited, not just up to the last
		// push that made it.
		last = minTime(time.Now(), start.Add(o.FanoutMax))
	}
	r.SustainedDur = last.Sub(start)
	if r.SustainedDur > 0 {
		r.PushesPerSec = float64(r.SustainedGot) / r.SustainedDur.Seconds()
	}
	logf("  %d/%d pushes in %s: %s", r.SustainedGot, want, r.SustainedDur.Round(time.Millisecond), perSecond(r.PushesPerSec))
	return r, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
