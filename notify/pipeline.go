package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// dispatcherFullScan is how often the dispatcher scans the database for due
// work even when the wake-up index shows nothing (the index may have been
// lost with Redis).
const dispatcherFullScanEvery = 10

// Pipeline runs notification delivery in the background: the outbox relay,
// the stream consumer (with reclaim and dead-lettering), the push
// dispatcher, task escalation and the deadline scheduler. Several instances
// may run at once; they share the work.
type Pipeline struct {
	d     Deps
	keys  keys
	relay *relay
	cons  *consumer
	disp  *dispatcher
	esc   *escalator
	dl    *deadlines
	lock  *redisLock

	relayKick chan struct{}
	dispKick  chan struct{}
}

// NewPipeline builds the pipeline. Deps.Redis and Deps.Sender are required.
func NewPipeline(d Deps) (*Pipeline, error) {
	if err := d.withDefaults(); err != nil {
		return nil, err
	}
	if d.Redis == nil || d.Sender == nil {
		return nil, errors.New("notify: the pipeline needs Redis and a Sender")
	}
	k := newKeys(d.RedisPrefix)
	name := d.Settings.Consumer
	if name == "" {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		name = "c-" + hex.EncodeToString(b)
	}
	p := &Pipeline{d: d, keys: k, relayKick: make(chan struct{}, 1), dispKick: make(chan struct{}, 1)}
	p.relay = &relay{d: d, keys: k}
	p.cons = &consumer{d: d, keys: k, name: name, dv: &deliverer{d: d, keys: k, wake: p.wakeDispatcher}}
	p.disp = &dispatcher{d: d, keys: k}
	p.esc = &escalator{d: d}
	p.dl = &deadlines{d: d}
	p.lock = newRedisLock(d.Redis, k.lock, max(2*d.Settings.ScanInterval, 30*time.Second))
	return p, nil
}

// Nudge wakes the relay after new outbox work was committed. It never
// blocks; Intake and Tasks are given it.
func (p *Pipeline) Nudge() {
	select {
	case p.relayKick <- struct{}{}:
	default:
	}
}

func (p *Pipeline) wakeDispatcher() {
	select {
	case p.dispKick <- struct{}{}:
	default:
	}
}

// Run starts every loop and blocks until ctx is cancelled; then each loop
// finishes the work in hand (a stopped context does not cut a transaction
// or a send short) and Run returns nil. main closes Redis and the database
// only after Run returned.
func (p *Pipeline) Run(ctx context.Context) error {
	work := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	loops := []func(context.Context, context.Context){p.runRelay, p.runConsumer, p.runReclaim, p.runDispatcher, p.runEscalation, p.runDeadlines}
	for _, loop := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(ctx, work)
		}()
	}
	wg.Wait()
	_ = p.lock.release(work)
	return nil
}

// every runs fn at once and then every interval or on kick, until ctx ends.
func every(ctx context.Context, interval time.Duration, kick <-chan struct{}, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
	}
}

func (p *Pipeline) runRelay(ctx, work context.Context) {
	every(ctx, p.d.Settings.PollInterval, p.relayKick, func() {
		for ctx.Err() == nil {
			n, err := p.relay.relayOnce(work)
			if err != nil {
				p.d.Log.WarnContext(work, "notify: relay", "err", err)
				return
			}
			if n < relayBatch {
				return
			}
		}
	})
}

func (p *Pipeline) runConsumer(ctx, work context.Context) {
	for ctx.Err() == nil {
		if err := p.cons.ensureGroup(work); err != nil {
			p.d.Log.WarnContext(work, "notify: stream group", "err", err)
			sleep(ctx, p.d.Settings.PollInterval)
			continue
		}
		break
	}
	for ctx.Err() == nil {
		if _, err := p.cons.readOnce(work, p.d.Settings.PollInterval); err != nil {
			p.d.Log.WarnContext(work, "notify: stream read", "err", err)
			sleep(ctx, p.d.Settings.PollInterval)
		}
	}
}

func (p *Pipeline) runReclaim(ctx, work context.Context) {
	every(ctx, max(p.d.Settings.ClaimIdle/2, p.d.Settings.PollInterval), nil, func() {
		if _, err := p.cons.reclaimOnce(work); err != nil {
			p.d.Log.WarnContext(work, "notify: stream reclaim", "err", err)
		}
		p.cons.gauge(work)
		p.relay.backlog(work)
	})
}

func (p *Pipeline) runDispatcher(ctx, work context.Context) {
	tick := 0
	every(ctx, p.d.Settings.PollInterval, p.dispKick, func() {
		tick++
		now := p.d.Now()
		due, err := p.d.Redis.ZRangeByScore(work, p.keys.wake, &redis.ZRangeBy{
			Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: 1}).Result()
		if err == nil && len(due) == 0 && tick%dispatcherFullScanEvery != 0 {
			return
		}
		p.dispatchDue(ctx, work)
		_ = p.d.Redis.ZRemRangeByScore(work, p.keys.wake, "-inf", strconv.FormatInt(now.UnixMilli(), 10)).Err()
	})
}

// dispatchDue plans and sends everything due now.
func (p *Pipeline) dispatchDue(ctx, work context.Context) {
	for ctx.Err() == nil {
		n, err := p.disp.planDue(work)
		if err != nil {
			p.d.Log.WarnContext(work, "notify: plan pushes", "err", err)
			return
		}
		if n < jobBatch {
			break
		}
	}
	for ctx.Err() == nil {
		n, err := p.disp.sendDue(work)
		if err != nil {
			p.d.Log.WarnContext(work, "notify: send pushes", "err", err)
			return
		}
		if n < deliveryBatch {
			return
		}
	}
}

func (p *Pipeline) runEscalation(ctx, work context.Context) {
	every(ctx, p.d.Settings.ScanInterval, nil, func() {
		n, err := p.esc.escalateOnce(work)
		if err != nil {
			p.d.Log.WarnContext(work, "notify: escalation", "err", err)
		}
		if n > 0 {
			p.Nudge()
		}
	})
}

func (p *Pipeline) runDeadlines(ctx, work context.Context) {
	every(ctx, p.d.Settings.ScanInterval, nil, func() {
		held, err := p.lock.acquire(work)
		if err != nil || !held {
			return
		}
		n, err := p.dl.scanOnce(work)
		if err != nil {
			p.d.Log.WarnContext(work, "notify: deadline scan", "err", err)
		}
		if n > 0 {
			p.Nudge()
		}
	})
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
