// Package localcache keeps hot Redis answers in the process — the revocation
// state of access tokens, the cached project views — so the busiest reads
// cost no network round trip, while every instance still sees a change as
// soon as Redis does.
//
// Whoever changes cached state in Redis publishes an invalidation on one
// pub/sub channel after the change. Every instance subscribes (Bus) and
// drops the entries named. An instance only trusts its local entries while
// its subscription is known to be live: entries are tagged with the
// subscription's epoch, and losing the subscription (or failing a health
// ping) moves the epoch on, so everything cached before is ignored and reads
// go to Redis again until a new subscription is confirmed. A read that
// raced with an invalidation is not stored (see Ticket). Entries also expire
// after a short TTL, which bounds the damage of an invalidation that was
// never published (its publisher failed between the write and the
// PUBLISH).
package localcache

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Topics of invalidation messages.
const (
	// TopicUser: the revocation state of one user (key: the user id) changed.
	TopicUser = "user"
	// TopicProject: the cached views of one project (key: the project id)
	// changed.
	TopicProject = "project"
)

// Health-check timing of the subscription: a ping every pingEvery, and the
// subscription is declared lost when nothing (not even the pong) arrived
// for quietLimit.
const (
	pingEvery  = 2 * time.Second
	quietLimit = 5 * time.Second
)

// Channel is the pub/sub channel of invalidations for keys under prefix.
// Pub/sub channels are shared by all databases of a server, so the prefix
// is what keeps two deployments (or two tests) apart.
func Channel(prefix string) string { return prefix + "localcache:inval" }

// Publisher announces invalidations. It needs nothing but a Redis client,
// so a command-line tool that changes state (disabling a user) tells the
// running instances too.
type Publisher struct {
	rdb     redis.UniversalClient
	channel string
}

// NewPublisher returns a Publisher on the channel of prefix.
func NewPublisher(rdb redis.UniversalClient, prefix string) Publisher {
	return Publisher{rdb: rdb, channel: Channel(prefix)}
}

// Publish announces that key of topic changed. Call it after the change is
// in Redis.
func (p Publisher) Publish(ctx context.Context, topic, key string) error {
	return p.rdb.Publish(ctx, p.channel, topic+":"+key).Err()
}

// Bus is one instance's subscription to the invalidation channel and the
// caches it keeps honest. It is safe for concurrent use.
type Bus struct {
	pub Publisher
	log *slog.Logger

	live  atomic.Bool
	epoch atomic.Uint64 // moves on whenever the subscription is gained or lost
	seq   atomic.Uint64 // moves on with every invalidation and every epoch

	mu       sync.RWMutex
	handlers map[string][]func(key string)

	cancel context.CancelFunc
	done   chan struct{}

	// Counters, for metrics and tests.
	received atomic.Int64
	resets   atomic.Int64
}

// NewBus returns a bus on the channel of prefix; Start subscribes.
func NewBus(rdb redis.UniversalClient, prefix string, log *slog.Logger) *Bus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bus{pub: NewPublisher(rdb, prefix), log: log, handlers: map[string][]func(string){}}
}

// Start subscribes in the background and keeps the subscription alive
// until Close.
func (b *Bus) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	b.done = make(chan struct{})
	go b.run(ctx)
}

// Close ends the subscription; local entries are no longer trusted.
func (b *Bus) Close() error {
	if b.cancel != nil {
		b.cancel()
		<-b.done
		b.cancel = nil
	}
	b.lose()
	return nil
}

// Live reports whether the subscription is confirmed and healthy, i.e.
// whether local entries may be trusted.
func (b *Bus) Live() bool { return b != nil && b.live.Load() }

// Publish drops key of topic from this instance's caches at once, then
// announces it to every instance. Call it after the change is in Redis.
func (b *Bus) Publish(ctx context.Context, topic, key string) error {
	b.deliver(topic, key)
	return b.pub.Publish(ctx, topic, key)
}

// Received is how many invalidations arrived over the subscription.
func (b *Bus) Received() int64 { return b.received.Load() }

// Resets is how many times the subscription was gained or lost.
func (b *Bus) Resets() int64 { return b.resets.Load() }

// handle registers fn for the keys of topic.
func (b *Bus) handle(topic string, fn func(key string)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handlers[topic] = append(b.handlers[topic], fn)
}

// deliver moves seq on before dropping anything, so a read that began
// before (Ticket) can no longer be stored (Cache.Put checks seq under the
// cache's lock, and the drop takes that lock after).
func (b *Bus) deliver(topic, key string) {
	b.seq.Add(1)
	b.mu.RLock()
	hs := b.handlers[topic]
	b.mu.RUnlock()
	for _, h := range hs {
		h(key)
	}
}

// gain marks a newly confirmed subscription: a new epoch, trusted from now
// on. Nothing cached before it counts, since invalidations may have been
// missed while there was no subscription.
func (b *Bus) gain() {
	b.epoch.Add(1)
	b.seq.Add(1)
	b.resets.Add(1)
	b.live.Store(true)
}

// lose marks the subscription gone: local entries are not trusted until a
// new one is confirmed.
func (b *Bus) lose() {
	if b.live.Swap(false) {
		b.resets.Add(1)
	}
	b.epoch.Add(1)
	b.seq.Add(1)
}

func (b *Bus) run(ctx context.Context) {
	defer close(b.done)
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		confirmed := b.subscribeOnce(ctx)
		b.lose()
		if ctx.Err() != nil {
			return
		}
		if confirmed {
			backoff = 50 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// subscribeOnce holds one subscription until it fails or ctx ends, and
// reports whether it was ever confirmed.
func (b *Bus) subscribeOnce(ctx context.Context) (confirmed bool) {
	ps := b.pub.rdb.Subscribe(ctx, b.pub.channel)
	pingCtx, stopPing := context.WithCancel(ctx)
	pinged := make(chan struct{})
	defer func() {
		stopPing()
		<-pinged
		_ = ps.Close()
	}()
	go func() {
		defer close(pinged)
		t := time.NewTicker(pingEvery)
		defer t.Stop()
		for {
			select {
			case <-pingCtx.Done():
				if ctx.Err() != nil {
					// Shutting down: closing the connection ends the
					// blocked receive below, which ignores ctx.
					_ = ps.Close()
				}
				return
			case <-t.C:
				// A failed ping shows up as silence (or an error) in the
				// receive loop below.
				_ = ps.Ping(pingCtx)
			}
		}
	}()
	for {
		msg, err := ps.ReceiveTimeout(ctx, quietLimit)
		if err != nil {
			if ctx.Err() == nil {
				b.log.Warn("cache invalidation subscription lost; reading Redis until it is back", "err", err)
			}
			return confirmed
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Channel == b.pub.channel {
				b.gain()
				confirmed = true
			} else {
				return confirmed
			}
		case *redis.Message:
			topic, key, ok := strings.Cut(m.Payload, ":")
			if ok {
				b.received.Add(1)
				b.deliver(topic, key)
			}
		case *redis.Pong:
		}
	}
}
