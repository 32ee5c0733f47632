package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/weifang/kaigong-zsb/notify/intake"

	"github.com/gofiber/fiber/v2"
)

// sliceLen is the stretch of the event-to-push run whose latency is shown
// apart, to tell a steady state from a growing backlog.
const sliceLen = 10 * time.Second

// lateGrace is how long after the end of the event-to-push window a project
// that fell behind its schedule may still send; what it has not sent by
// then is counted as never sent.
const lateGrace = 5 * time.Second

// pushResults are scenario 2's figures.
type pushResults struct {
	Rate      float64       // events/s asked for, over all projects
	Duration  time.Duration // of the sending window
	Projects  []string      // the projects sent to in parallel, each in sequence
	Facts     projectFacts  // what they were created with
	Scheduled int           // events the schedule held
	Sent      int           // events sent, some perhaps after the window when behind
	InWindow  int           // events sent within the window
	Applied   int           // of those, the ones the BFF applied
	Achieved  float64       // InWindow ÷ Duration: the rate actually sustained
	SendTime  time.Duration // from the schedule's start to the last answer
	// Late counts events sent after their scheduled time because their
	// project's previous event was still unanswered then (the open loop
	// waits for it to keep the sequence; the wait is counted in Lag and
	// Queued, not hidden).
	Late       int
	Lag        summary        // send time minus scheduled time, every sent event
	Queued     summary        // scheduled time to 202 (open-loop response time)
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

	Single    *singleResults // one project, 1 in flight, closed loop
	SingleErr error
}

// singleResults is the most one project takes with one event in flight: a
// short closed loop, each event sent as soon as the previous one answered.
type singleResults struct {
	Project    string
	Duration   time.Duration // measured, after the warm-up
	Answered   int           // 202s in the measured stretch
	Rate       float64       // Answered ÷ Duration
	Results    map[string]int
	FirstError string
	Webhook    summary // request to 202
	Sent       int     // events sent, warm-up included
	Pushed     int     // of those applied, pushes received before the next phase
	Applied    int
}

// benchProjectFacts reads the facts of the demo project the events are
// modelled on, so the bench projects have the same type (the same catalog
// items), the same region and the same enterprise, whose user's devices
// then receive every push.
func benchProjectFacts(ctx context.Context, a *api, id string) (projectFacts, error) {
	var p struct {
		Name               string `json:"name"`
		Type               string `json:"type"`
		RegionCode         string `json:"region_code"`
		KeyProject         bool   `json:"key_project"`
		RegionalAssessment bool   `json:"regional_assessment"`
		StandardLand       bool   `json:"standard_land"`
		Enterprise         struct {
			CreditCode string `json:"credit_code"`
		} `json:"enterprise"`
	}
	if err := a.call(ctx, http.MethodGet, "/v1/projects/"+id, nil, &p, http.StatusOK); err != nil {
		return projectFacts{}, err
	}
	if p.Type == "" || p.RegionCode == "" || p.Enterprise.CreditCode == "" {
		return projectFacts{}, fmt.Errorf("GET /v1/projects/%s: no type, region or enterprise credit code in the answer", id)
	}
	return projectFacts{Type: p.Type, CreditCode: p.Enterprise.CreditCode, RegionCode: p.RegionCode,
		KeyProject: p.KeyProject, RegionalAssessment: p.RegionalAssessment, StandardLand: p.StandardLand}, nil
}

// createBenchProjects announces n projects with project.upserted (sequence
// 1), with facts taken from the demo project, and returns a source of
// events for each, continuing its sequence.
func createBenchProjects(ctx context.Context, o options, a *api, runID string, userID int64, bffBase string, n int) ([]*eventSource, projectFacts, error) {
	facts, err := benchProjectFacts(ctx, a, o.Project)
	if err != nil {
		return nil, facts, err
	}
	c, err := newLoadClient(bffBase, 1)
	if err != nil {
		return nil, facts, err
	}
	var srcs []*eventSource
	for k := 1; k <= n && ctx.Err() == nil; k++ {
		id := fmt.Sprintf("WF-BENCH-%s-%02d", runID, k)
		src := newSource(runID, fmt.Sprintf("bench-%s-p%02d", runID, k), id, facts.Type, o.Secret, userID, 0, nil)
		if len(src.items) == 0 {
			return nil, facts, fmt.Errorf("no %s item has a time limit above %d working days", facts.Type, deadlineWarnDays)
		}
		f := facts
		f.Name = fmt.Sprintf("压测项目 %02d（%s）", k, id)
		if ev := src.upsert(c, bffBase, f); ev.Result != intake.ResultApplied {
			return nil, facts, fmt.Errorf("project.upserted for %s: %s", id, ev.Result)
		}
		srcs = append(srcs, src)
	}
	return srcs, facts, ctx.Err()
}

// runEventToPush sends signed events at a constant overall rate to the BFF,
// spread over the projects of srcs in turn (event i of the schedule to
// project i mod len(srcs)), each project's events in sequence with at most
// one in flight, the projects in parallel: as a city's upstream sends its
// projects' changes. The schedule is fixed in advance (open loop): an event
// whose project's previous event is still unanswered at its time goes as
// soon as that one answers, and the wait counts (Late, Lag, Queued) instead
// of silently slowing the load down. Per event, it measures the time from
// its 202 to the sink receiving its push for the one registered device.
func runEventToPush(ctx context.Context, o options, srcs []*eventSource, facts projectFacts, bffBase string, sink *sinkReader, token string, join joiner, prof *profiler, logf func(string, ...any)) (pushResults, error) {
	r := pushResults{Rate: o.EventRate, Duration: o.EventDuration, Facts: facts, Results: map[string]int{}}
	for _, s := range srcs {
		r.Projects = append(r.Projects, s.project)
	}
	np := len(srcs)
	if np == 0 {
		return r, fmt.Errorf("no project to send events for")
	}
	c, err := newLoadClient(bffBase, np)
	if err != nil {
		return r, err
	}
	sink.reset()
	total := int(o.EventRate * o.EventDuration.Seconds())
	interval := time.Duration(float64(time.Second) / o.EventRate)
	r.Scheduled = total
	logf("event to push: %d events at %s for %s over %d projects (%s each, at most 1 in flight per project), one device",
		total, perSecond(o.EventRate), o.EventDuration, np, perSecond(o.EventRate/float64(np)))

	// sendAll sends total events at the rate from start, each project's in
	// order with one in flight, and returns them with how many waited for
	// their project's previous answer.
	sendAll := func(total int, start time.Time, stopBy time.Time) ([]event, int) {
		var (
			perProject = make([][]event, np)
			late       = make([]int, np)
			wg         sync.WaitGroup
		)
		for j := range np {
			wg.Add(1)
			go func() {
				defer wg.Done()
				src := srcs[j]
				req, resp := new(fiber.Request), new(fiber.Response)
				evs := make([]event, 0, total/np+1)
				var answered time.Time // the previous event's 202
				for i := j; i < total; i += np {
					due := start.Add(time.Duration(i) * interval)
					if ctx.Err() != nil || time.Now().After(stopBy) {
						break // the rest counts as never sent
					}
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					} else if answered.After(due) {
						late[j]++
					}
					ev := src.send(c, bffBase, req, resp)
					ev.Scheduled = due
					answered = ev.Accepted
					evs = append(evs, ev)
				}
				perProject[j] = evs
			}()
		}
		wg.Wait()
		var events []event
		n := 0
		for j := range np {
			events = append(events, perProject[j]...)
			n += late[j]
		}
		return events, n
	}

	// Warm-up, not counted: the same load for -warmup, as the progress
	// phases have, so the measured minute starts with the database
	// connections open and their statements prepared (a new PostgreSQL
	// backend's first statements took over 100 ms here). Its pushes are
	// awaited (bounded) before the measured run starts.
	if o.Warmup > 0 {
		wstart := time.Now()
		warm, _ := sendAll(int(o.EventRate*o.Warmup.Seconds()), wstart, wstart.Add(o.Warmup+lateGrace))
		applied := 0
		for _, e := range warm {
			if e.Result == intake.ResultApplied {
				applied++
			}
		}
		for waitBy := time.Now().Add(10 * time.Second); time.Now().Before(waitBy) && ctx.Err() == nil; {
			if len(join.match(warm, sink.delivered())) >= applied {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		sink.reset()
		logf("  warm-up: %d events in %s (not counted)", len(warm), o.Warmup)
	}

	window := min(o.EventDuration, 20*time.Second)
	capture := prof.withGo(ctx, prof.start(ctx, "event-to-push", window, 0), window, 0)
	start := time.Now()
	end := start.Add(o.EventDuration)
	events, late := sendAll(total, start, end.Add(lateGrace))
	r.Late = late
	slices.SortFunc(events, func(a, b event) int { return a.Scheduled.Compare(b.Scheduled) })
	r.Sent = len(events)
	for _, e := range events {
		r.SendTime = max(r.SendTime, e.Accepted.Sub(start))
		if !e.Sent.After(end) {
			r.InWindow++
		}
	}
	r.Achieved = float64(r.InWindow) / o.EventDuration.Seconds()

	var webhook, lag, queued []time.Duration
	applied, appliedInWindow := 0, 0
	for _, e := range events {
		lag = append(lag, e.Sent.Sub(e.Scheduled))
		switch e.Result {
		case intake.ResultApplied, intake.ResultStale, intake.ResultDuplicate:
			r.Results[e.Result]++
			webhook = append(webhook, e.Accepted.Sub(e.Sent))
			queued = append(queued, e.Accepted.Sub(e.Scheduled))
			if e.Result == intake.ResultApplied {
				applied++
				if !e.Sent.After(end) {
					appliedInWindow++
				}
			}
		default:
			r.Results["error"]++
			if r.FirstError == "" {
				r.FirstError = e.Result
			}
		}
	}
	r.Webhook, r.Lag, r.Queued = summarize(webhook), summarize(lag), summarize(queued)
	r.Applied = appliedInWindow
	logf("  sent %d of %d (%d within the %s window: %s); applied %d, stale %d, errors %d; %d sent late behind their project's previous event; send lag p99 %s, max %s",
		r.Sent, total, r.InWindow, o.EventDuration, perSecond(r.Achieved), applied, r.Results[intake.ResultStale], r.Results["error"], r.Late, ms(r.Lag.P99), ms(r.Lag.Max))
	logf("  webhook request to 202: p50 %s, p99 %s; scheduled time to 202: p50 %s, p99 %s, max %s",
		ms(r.Webhook.P50), ms(r.Webhook.P99), ms(r.Queued.P50), ms(r.Queued.P99), ms(r.Queued.Max))

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
	bySlice := make([][]time.Duration, int((o.EventDuration+sliceLen-1)/sliceLen))
	for _, e := range events {
		if e.Result != intake.ResultApplied {
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
		if i := int(e.Sent.Sub(start) / sliceLen); i >= 0 && i < len(bySlice) {
			bySlice[i] = append(bySlice[i], first.Sub(e.Accepted))
		}
	}
	for _, sl := range bySlice {
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

// runSingleProject measures the most one project takes with one event in
// flight: events for src sent back to back, each as soon as the previous
// one answered, for a warm-up and then o.EventSingle. Then it waits
// (bounded) for their pushes, so they do not spill into the next phase.
func runSingleProject(ctx context.Context, o options, src *eventSource, bffBase string, sink *sinkReader, join joiner, logf func(string, ...any)) (singleResults, error) {
	r := singleResults{Project: src.project, Results: map[string]int{}}
	c, err := newLoadClient(bffBase, 1)
	if err != nil {
		return r, err
	}
	sink.reset()
	logf("one project, 1 in flight: %s closed loop for %s after a %s warm-up", src.project, o.EventSingle, o.Warmup)
	req, resp := new(fiber.Request), new(fiber.Response)
	var (
		events  []event
		webhook []time.Duration
	)
	start := time.Now()
	from, until := start.Add(o.Warmup), start.Add(o.Warmup+o.EventSingle)
	var last time.Time
	for ctx.Err() == nil && time.Now().Before(until) {
		ev := src.send(c, bffBase, req, resp)
		events = append(events, ev)
		if ev.Sent.Before(from) {
			continue
		}
		last = ev.Accepted
		switch ev.Result {
		case intake.ResultApplied, intake.ResultStale, intake.ResultDuplicate:
			r.Results[ev.Result]++
			r.Answered++
			webhook = append(webhook, ev.Accepted.Sub(ev.Sent))
		default:
			r.Results["error"]++
			if r.FirstError == "" {
				r.FirstError = ev.Result
			}
			time.Sleep(time.Millisecond)
		}
	}
	r.Sent = len(events)
	if !last.After(from) {
		return r, fmt.Errorf("no event answered in the measured stretch (first error: %s)", r.FirstError)
	}
	r.Duration = last.Sub(from)
	r.Rate = float64(r.Answered) / r.Duration.Seconds()
	r.Webhook = summarize(webhook)
	for _, e := range events {
		if e.Result == intake.ResultApplied {
			r.Applied++
		}
	}
	logf("  %s (%d answered in %s; webhook p50 %s, p99 %s, max %s)", perSecond(r.Rate), r.Answered, r.Duration.Round(time.Millisecond), ms(r.Webhook.P50), ms(r.Webhook.P99), ms(r.Webhook.Max))

	drainBy := time.Now().Add(min(o.Drain, 20*time.Second))
	for {
		r.Pushed = len(join.match(events, sink.delivered()))
		if r.Pushed >= r.Applied || time.Now().After(drainBy) || ctx.Err() != nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	logf("  pushes for its %d applied events: %d received", r.Applied, r.Pushed)
	return r, nil
}
