package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/weifang/kaigong-zsb/notify"
)

// sliceLen is the stretch of the event-to-push run whose latency is shown
// apart, to tell a steady state from a growing backlog.
const sliceLen = 10 * time.Second

// pushResults are scenario 2's figures.
type pushResults struct {
	Rate       float64       // events/s asked for
	Duration   time.Duration // of sending
	Achieved   float64       // events/s actually sent
	SendTime   time.Duration // from the first event sent to the last answered
	InFlight   int
	Sent       int
	Results    map[string]int // applied, stale, duplicate, errors
	FirstError string
	Webhook    summary   // request to 202
	Latency    summary   // 202 to the sink receiving the push
	Slices     []summary // the same per sliceLen of the run, by the event's send time
	Matched    int
	Missing    int // applied events whose push never came within the drain
	Join       string
	Profile    *profileReport
	ProfileErr error
}

// runEventToPush sends signed events at a constant rate to the BFF and
// measures, per event, the time from its 202 to the sink receiving its push
// for the one registered device.
func runEventToPush(ctx context.Context, o options, src *eventSource, bffBase string, sink *sinkReader, token string, join joiner, prof *profiler, logf func(string, ...any)) (pushResults, error) {
	r := pushResults{Rate: o.EventRate, Duration: o.EventDuration, InFlight: o.EventInFlight, Results: map[string]int{}}
	c, err := newLoadClient(bffBase, o.EventInFlight)
	if err != nil {
		return r, err
	}
	sink.reset()
	total := int(o.EventRate * o.EventDuration.Seconds())
	interval := time.Duration(float64(time.Second) / o.EventRate)
	logf("event to push: %d events at %s for %s (at most %d in flight), one device", total, perSecond(o.EventRate), o.EventDuration, o.EventInFlight)

	window := min(o.EventDuration-o.Warmup, 20*time.Second)
	capture := prof.withGo(ctx, prof.start(ctx, "event-to-push", window, o.Warmup), window, o.Warmup)
	var (
		mu     sync.Mutex
		events = make([]event, 0, total)
		slots  = make(chan struct{}, o.EventInFlight)
		wg     sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(o.EventDuration)
	for i := 0; i < total && ctx.Err() == nil; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		slots <- struct{}{}
		if time.Now().After(end) {
			// Behind schedule: the run lasts its duration, not its count.
			<-slots
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			req, resp := new(fiber.Request), new(fiber.Response)
			ev := src.send(c, bffBase, req, resp)
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sendTime := time.Since(start)
	r.Sent, r.SendTime = len(events), sendTime
	r.Achieved = float64(r.Sent) / sendTime.Seconds()

	var webhook []time.Duration
	applied := 0
	for _, e := range events {
		switch e.Result {
		case notify.ResultApplied, notify.ResultStale, notify.ResultDuplicate:
			r.Results[e.Result]++
			webhook = append(webhook, e.Accepted.Sub(e.Sent))
			if e.Result == notify.ResultApplied {
				applied++
			}
		default:
			r.Results["error"]++
			if r.FirstError == "" {
				r.FirstError = e.Result
			}
		}
	}
	r.Webhook = summarize(webhook)
	logf("  sent %d in %s (%s); applied %d, stale %d, errors %d; webhook p50 %s, p99 %s",
		r.Sent, sendTime.Round(time.Millisecond), perSecond(r.Achieved), applied, r.Results[notify.ResultStale], r.Results["error"], ms(r.Webhook.P50), ms(r.Webhook.P99))

	// Wait for the pushes still on their way, bounded.
	drainBy := time.Now().Add(o.Drain)
	var matched map[string][]push
	for {
		matched = join.match(events, sink.delivered())
		if len(matched) >= applied || time.Now().After(drainBy) || ctx.Err() != nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	r.Profile, r.ProfileErr = prof.analyze(ctx, capture)

	var lat []time.Duration
	slices := make([][]time.Duration, int((o.EventDuration+sliceLen-1)/sliceLen))
	for _, e := range events {
		if e.Result != notify.ResultApplied {
			continue
		}
		ps := matched[e.ID]
		if len(ps) == 0 {
			r.Missing++
			continue
		}
		first := ps[0].Received
		for _, p := range ps[1:] {
			if p.Received.Before(first) {
				first = p.Received
			}
		}
		lat = append(lat, first.Sub(e.Accepted))
		if i := int(e.Sent.Sub(start) / sliceLen); i >= 0 && i < len(slices) {
			slices[i] = append(slices[i], first.Sub(e.Accepted))
		}
	}
	for _, sl := range slices {
		r.Slices = append(r.Slices, summarize(sl))
	}
	r.Matched = len(lat)
	r.Latency = summarize(lat)
	logf("  202 to push: p50 %s, p99 %s, max %s (%d matched, %d missing after a %s drain)", ms(r.Latency.P50), ms(r.Latency.P99), ms(r.Latency.Max), r.Matched, r.Missing, o.Drain)
	if r.Matched == 0 {
		return r, fmt.Errorf("no push matched any event (first error: %s)", r.FirstError)
	}
	return r, nil
}
