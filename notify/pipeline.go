package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/models"
)

// dispatcherFullScan is how often the dispatcher scans the database for due
// work even when the wake-up index shows nothing (the index may have been
// lost with Redis).
const dispatcherFullScanEvery = 10

// Pipeline runs notification delivery in the background: the outbox relay,
// the stream consumer (with reclaim and dead-lettering) and the push
// dispatcher. Several instances
// may run at once; they share the work.
type Pipeline struct {
	d     Deps
	keys  keys
	relay *relay
	cons  *consumer   // reclaims for the instance
	reads []*consumer // stream readers sharing the instance's work
	disp  *dispatcher

	relayKick chan struct{}
	dispKick  chan struct{} // due jobs were indexed: plan, then send
	sendKick  chan struct{} // deliveries were planned: send
	wide      chan struct{} // held while a handed batch wider than narrowBatch is sent
	recording chan struct{} // held while a sent wide batch's outcomes are recorded
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
	p := &Pipeline{d: d, keys: k, relayKick: make(chan struct{}, 1), dispKick: make(chan struct{}, 1),
		sendKick: make(chan struct{}, 1), wide: make(chan struct{}, senders),
		recording: make(chan struct{}, recorders)}
	p.relay = &relay{d: d, keys: k}
	p.disp = &dispatcher{d: d, keys: k, providers: deliverable(d.Sender)}
	p.cons = &consumer{d: d, keys: k, name: name, dv: &deliverer{d: d, keys: k, wake: p.wakeDispatcher, send: p.wakeSender, disp: p.disp}}
	// Until Run starts the senders, deliveries planned leased are sent by
	// the reader that planned them.
	p.cons.dv.senders = inlineSenders{p}
	// Each stream entry costs a database transaction that mostly waits on
	// round trips; a few readers per instance overlap those waits. They are
	// ordinary members of the consumer group, so a dead instance's entries
	// are reclaimed as before.
	p.reads = []*consumer{p.cons}
	for i := 1; i < consumerReaders; i++ {
		p.reads = append(p.reads, &consumer{d: d, keys: k, name: fmt.Sprintf("%s-%d", name, i), dv: p.cons.dv})
	}
	return p, nil
}

// HandOff publishes committed outbox entries to the notification stream,
// so their pushes do not wait for the relay's poll. If Redis fails them,
// they are given back to the relay, which publishes them at its next pass;
// if even that fails, the relay's re-drive takes them RedriveAfter later.
// The caller's transaction is committed either way.
func (p *Pipeline) HandOff(ctx context.Context, ids []int64) {
	err := publish(ctx, p.d, p.keys, ids)
	if err == nil {
		return
	}
	p.d.Log.WarnContext(ctx, "notify: stream publish failed; left to the relay", "outbox_ids", ids, "err", err)
	if err := p.d.DB.WithContext(ctx).Model(&models.OutboxEntry{}).Where("id IN ? AND processed_at IS NULL", ids).
		Updates(map[string]any{"relayed_at": nil, "attempts": 0}).Error; err != nil {
		p.d.Log.WarnContext(ctx, "notify: outbox handback failed; re-driven later", "outbox_ids", ids, "err", err)
	}
	p.Nudge()
}

// Nudge wakes the relay after new outbox work was committed. It never
// blocks; the intake and the task service are given it.
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

// straight is a push a stream reader planned leased to this instance: its
// first chunk of deliveries, and the rest (nil when there is none), which
// the sender plans chunk by chunk while it sends.
type straight struct {
	first []leasedDelivery
	rest  *fanout
}

// handing sends deliveries a stream reader planned leased to this
// instance.
type handing interface {
	// reserve takes a sender for one outbox entry's pushes, or reports
	// that none is free.
	reserve() bool
	// hand gives the reserved sender the entry's pushes (possibly none)
	// and ends the reservation.
	hand(ctx context.Context, work []straight)
}

// inlineSenders sends on the reader's own goroutine (before Run, and in
// tests that drive the pipeline step by step).
type inlineSenders struct{ p *Pipeline }

func (inlineSenders) reserve() bool { return true }
func (s inlineSenders) hand(ctx context.Context, work []straight) {
	s.p.sendStraight(ctx, work)
}

// pooledSenders hands deliveries to Run's sender goroutines: a slot taken
// by reserve is freed by the goroutine once it has sent them, and handed
// has room for every slot, so hand never waits.
type pooledSenders struct {
	p      *Pipeline
	slots  chan struct{}
	handed chan []straight
}

func (s *pooledSenders) reserve() bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *pooledSenders) hand(_ context.Context, work []straight) {
	if len(work) == 0 {
		<-s.slots
		return
	}
	s.handed <- work
}

// sendStraight is the one shortcut on the way from an outbox entry to a
// phone. The ordinary way is: the stream reader writes the inbox row and
// the push job; the dispatcher, woken, plans the job's deliveries, leases
// them (one more statement) and sends them. On the shortcut the reader,
// having reserved a sender before its transaction (deliverer.process),
// plans the first chunk of deliveries already leased to this instance in
// that same transaction (dispatcher.planLeased) and, once it commits, hands
// them here. It pays for itself in BENCHMARKS.md's event run (200
// events/s): 14,549 of 14,673 events took it
// (zsb_notify_reader_handoffs_total), each saving the dispatcher's wake-up
// and its lease statement; event → push p99 was 19.6 ms in that run.
//
// A push to more devices than the first chunk (a fan-out) goes on here,
// one statement per chunk reading its devices (dispatcher.planNext), each
// chunk sent as soon as it is read while the next is read, so the first
// push does not wait for the whole plan. A chunk's deliveries are written
// once, after their send, with its outcome (dispatcher.recordUnwritten);
// the job's cursor passes a chunk only once all of it is written
// (fanoutRun). A failure leaves the first chunk's deliveries leased and
// the job pending at its cursor; any instance's dispatcher takes them again
// when the lease ends (the job at once when this planner could still
// finish it), so the shortcut can lose nothing the ordinary way would not.
func (p *Pipeline) sendStraight(ctx context.Context, work []straight) {
	var (
		wg   sync.WaitGroup
		runs []func()
	)
	for _, s := range work {
		p.sendPlanned(ctx, &wg, s.first, true)
		if s.rest == nil {
			continue
		}
		run, complete := newFanoutRun(s.rest.after), false
		for f := s.rest; f != nil; {
			chunk, next, err := p.disp.planNext(ctx, f, run)
			if err != nil {
				// The job is left pending at its cursor once the chunks
				// in flight are recorded (finishFanout): a dispatcher
				// plans the rest.
				p.d.Log.WarnContext(ctx, "notify: plan the rest of a fan-out", "notification_id", f.notificationID, "err", err)
				break
			}
			// Read in a statement that read no preferences: they are read
			// again before it is sent.
			p.sendPlanned(ctx, &wg, chunk, false)
			f, complete = next, next == nil
		}
		rest := s.rest
		runs = append(runs, func() {
			if err := p.disp.finishFanout(ctx, rest, run, complete); err != nil {
				// Pending at its cursor, due when this planner's lease
				// ends: a dispatcher plans the rest then.
				p.d.Log.WarnContext(ctx, "notify: finish a fan-out", "notification_id", rest.notificationID, "err", err)
			}
		})
	}
	wg.Wait()
	for _, finish := range runs {
		finish()
	}
}

// narrowBatch is the widest planned chunk sent without taking p.wide: one
// user's devices. A fan-out's batches go at most senders at a time (see
// senders); with all eight readers' at once, the BFF's peak memory went
// from 100 to 141 MB in the fan-out run.
const narrowBatch = 16

// sendPlanned sends a chunk of leased deliveries, in (provider,
// installation id) order, and records the outcomes. A narrow chunk (one
// user's few devices) is sent on the caller's goroutine. A wide one is cut
// into one batch per provider of at most the provider's batch size, each
// sent on its own goroutine once p.wide has room (so a planner waits here
// while senders batches are in flight, and plans no further ahead than
// that); the slot is freed as soon as the provider answered, before the
// outcomes are recorded, so the next send does not wait for the database.
func (p *Pipeline) sendPlanned(ctx context.Context, wg *sync.WaitGroup, chunk []leasedDelivery, decided bool) {
	if len(chunk) == 0 {
		return
	}
	if len(chunk) <= narrowBatch {
		// decided: planned in the transaction that read the preferences.
		if err := p.disp.deliver(ctx, chunk, decided, nil); err != nil {
			p.d.Log.WarnContext(ctx, "notify: send pushes", "err", err)
		}
		return
	}
	for len(chunk) > 0 {
		n := 1
		for n < len(chunk) && chunk[n].Provider == chunk[0].Provider {
			n++
		}
		n = min(n, p.disp.batchSize(chunk[0].Provider))
		b := chunk[:n]
		chunk = chunk[n:]
		p.wide <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// deliver calls this once, when the provider has answered
			// (or the send was given up): the slot goes to the next send,
			// and the outcomes wait for a recorder.
			free := func() {
				<-p.wide
				p.recording <- struct{}{}
			}
			defer func() { <-p.recording }()
			if err := p.disp.deliver(ctx, b, decided, free); err != nil {
				p.d.Log.WarnContext(ctx, "notify: send pushes", "err", err)
			}
		}()
	}
}

func (p *Pipeline) wakeSender() {
	select {
	case p.sendKick <- struct{}{}:
	default:
	}
}

// Run starts every loop and blocks until ctx is cancelled; then each loop
// finishes the work in hand (a stopped context does not cut a transaction
// or a send short) and Run returns nil. main closes Redis and the database
// only after Run returned.
func (p *Pipeline) Run(ctx context.Context) error {
	work := context.WithoutCancel(ctx)
	// Deliveries the stream readers planned leased to this instance are
	// sent by handSenders goroutines, each reserved before the reader's
	// transaction. They stop once the readers have, after sending
	// everything handed to them.
	pool := &pooledSenders{p: p, slots: make(chan struct{}, handSenders), handed: make(chan []straight, handSenders)}
	p.cons.dv.senders = pool
	var sending sync.WaitGroup
	for range handSenders {
		sending.Add(1)
		go func() {
			defer sending.Done()
			for w := range pool.handed {
				p.sendStraight(work, w)
				<-pool.slots
			}
		}()
	}
	defer func() {
		p.cons.dv.senders = inlineSenders{p} // the readers have stopped
		close(pool.handed)
		sending.Wait()
	}()
	var wg sync.WaitGroup
	loops := []func(context.Context, context.Context){p.runRelay, p.runConsumer, p.runReclaim, p.runDispatcher}
	for _, loop := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(ctx, work)
		}()
	}
	wg.Wait()
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

// consumerReaders is how many stream readers one instance runs.
const consumerReaders = 8

// handSenders is how many senders take the pushes the readers plan leased:
// one per reader, so a reader finds one free unless they are all still
// sending. With 4, 8.7% of the events of a 200 events/s run found none and
// went the dispatcher's longer way (a lease statement more, and its
// wake-up); with 8, 3.6% (zsb_notify_reader_handoffs_total).
const handSenders = consumerReaders

func (p *Pipeline) runConsumer(ctx, work context.Context) {
	for ctx.Err() == nil {
		if err := p.cons.ensureGroup(work); err != nil {
			p.d.Log.WarnContext(work, "notify: stream group", "err", err)
			sleep(ctx, p.d.Settings.PollInterval)
			continue
		}
		break
	}
	var wg sync.WaitGroup
	for _, c := range p.reads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, err := c.readOnce(work, p.d.Settings.PollInterval); err != nil {
					p.d.Log.WarnContext(work, "notify: stream read", "err", err)
					sleep(ctx, p.d.Settings.PollInterval)
				}
			}
		}()
	}
	wg.Wait()
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

// runDispatcher dispatches at once when this instance's deliverer committed
// push work, and otherwise on every poll that finds the wake-up index due,
// or on the periodic full scan. A deliverer that planned its pushes itself
// (they were due at once) kicks the sender only: there is nothing to plan,
// so the pass goes straight to leasing. Due entries are cleared from the
// index before the database is read: whatever was committed before that is
// found by this pass, and anything indexed later survives for the next.
func (p *Pipeline) runDispatcher(ctx, work context.Context) {
	t := time.NewTicker(p.d.Settings.PollInterval)
	defer t.Stop()
	tick := 0
	plan, send := true, false // the first pass runs at once, as every loop's does
	for {
		if !plan && !send {
			now := p.d.Now()
			due, err := p.d.Redis.ZRangeByScore(work, p.keys.wake, &redis.ZRangeBy{
				Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: 1}).Result()
			plan = err != nil || len(due) > 0 || tick%dispatcherFullScanEvery == 0
		}
		if plan {
			now := p.d.Now()
			_ = p.d.Redis.ZRemRangeByScore(work, p.keys.wake, "-inf", strconv.FormatInt(now.UnixMilli(), 10)).Err()
		}
		if plan || send {
			_, _, _ = p.dispatchDue(ctx, work, plan) // errors are logged; the next pass retries
		}
		plan, send = false, false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			tick++
		case <-p.dispKick:
			plan = true
		case <-p.sendKick:
			send = true
		}
	}
}

// dispatchDue sends everything due now, after planning the due push jobs
// when plan is set: a bounded batch of jobs is planned, its deliveries are
// leased and handed to up to senders goroutines, and the next batch is
// planned while they send. It returns once every batch it leased has been
// sent and recorded, with how many jobs it planned, how many deliveries it
// sent and the first error met (each is logged too; the loop goes on).
func (p *Pipeline) dispatchDue(ctx, work context.Context, plan bool) (planned, sent int, first error) {
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	note := func(n int, err error, what string) {
		mu.Lock()
		defer mu.Unlock()
		sent += n
		if err != nil {
			p.d.Log.WarnContext(work, "notify: "+what, "err", err)
			if first == nil {
				first = err
			}
		}
	}
	defer wg.Wait()
	slots := make(chan struct{}, senders)
	for ctx.Err() == nil {
		n := 0
		var err error
		if plan {
			n, err = p.disp.planDue(work)
			planned += n
			note(0, err, "plan pushes")
		}
		for ctx.Err() == nil {
			// A slot is taken before the lease, so no leased batch waits for
			// a sender while its lease runs down.
			slots <- struct{}{}
			batch, err := p.disp.lease(work)
			if err != nil || len(batch) == 0 {
				<-slots
				note(0, err, "lease pushes")
				break
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				note(len(batch), p.disp.deliver(work, batch, false, nil), "send pushes")
			}()
			if len(batch) < deliveryBatch {
				break
			}
		}
		if !plan || err != nil || n == 0 {
			return
		}
	}
	return
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
