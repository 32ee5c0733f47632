package notify

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// consumer reads the notification stream in the consumer group and hands
// each entry to the deliverer. Entries left pending by a dead consumer are
// taken over with XAUTOCLAIM; an entry that failed MaxStreamDeliveries times
// goes to the dead-letter stream. That stream only records the failure: the
// outbox entry stays unprocessed, so the relay re-drives it RedriveAfter
// later, up to maxRelays times; an entry still unprocessed after those is
// an outbox dead letter (relay.deadSweep), kept until `bff outbox redrive`.
type consumer struct {
	d    Deps
	keys keys
	name string
	dv   *deliverer
}

// deadLetterScript moves one entry to the dead-letter stream and
// acknowledges it, atomically; both keys share the {notify} slot.
var deadLetterScript = redis.NewScript(`
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'outbox_id', ARGV[2], 'stream_id', ARGV[1])
return redis.call('XACK', KEYS[1], ARGV[4], ARGV[1])
`)

// ensureGroup creates the stream and its group if Redis lost them.
func (c *consumer) ensureGroup(ctx context.Context) error {
	err := c.d.Redis.XGroupCreateMkStream(ctx, c.keys.stream, consumerGroup, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return err
	}
	return nil
}

// readCount is how many entries a reader takes at a time. Entries are
// handled one after another, so a reader that took many would hold a burst
// behind its first entries while the other readers found the stream empty;
// taken one at a time, a burst spreads over every reader.
const readCount = 1

// readOnce reads and processes new entries, blocking up to block.
func (c *consumer) readOnce(ctx context.Context, block time.Duration) (int, error) {
	res, err := c.d.Redis.XReadGroup(ctx, &redis.XReadGroupArgs{Group: consumerGroup, Consumer: c.name,
		Streams: []string{c.keys.stream, ">"}, Count: readCount, Block: block}).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		if strings.HasPrefix(err.Error(), "NOGROUP") {
			return 0, c.ensureGroup(ctx)
		}
		return 0, err
	}
	n := 0
	for _, s := range res {
		for _, m := range s.Messages {
			c.handle(ctx, m)
			n++
		}
	}
	return n, nil
}

// handle processes one entry and acknowledges it on success; on failure it
// stays pending, to be retried through XAUTOCLAIM.
func (c *consumer) handle(ctx context.Context, m redis.XMessage) {
	raw, _ := m.Values["outbox_id"].(string)
	id, err := strconv.ParseInt(raw, 10, 64)
	if err == nil {
		err = c.dv.process(ctx, id)
	} else {
		err = nil // garbage in the stream: acknowledge it away
	}
	if err != nil {
		c.d.Log.WarnContext(ctx, "notify: stream entry failed", "stream_id", m.ID, "outbox_id", raw, "err", err)
		return
	}
	_ = c.d.Redis.XAck(ctx, c.keys.stream, consumerGroup, m.ID).Err()
}

// reclaimOnce takes over entries idle for ClaimIdle (their consumer died or
// failed them), dead-letters those delivered too often and retries the rest.
func (c *consumer) reclaimOnce(ctx context.Context) (int, error) {
	msgs, _, err := c.d.Redis.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: c.keys.stream, Group: consumerGroup,
		Consumer: c.name, MinIdle: c.d.Settings.ClaimIdle, Start: "0-0", Count: 50}).Result()
	if err != nil {
		if strings.HasPrefix(err.Error(), "NOGROUP") {
			return 0, c.ensureGroup(ctx)
		}
		return 0, err
	}
	for _, m := range msgs {
		pend, err := c.d.Redis.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: c.keys.stream, Group: consumerGroup,
			Start: m.ID, End: m.ID, Count: 1}).Result()
		if err != nil {
			return 0, err
		}
		if len(pend) == 1 && pend[0].RetryCount > int64(c.d.Settings.MaxStreamDeliveries) {
			raw, _ := m.Values["outbox_id"].(string)
			if err := deadLetterScript.Run(ctx, c.d.Redis, []string{c.keys.stream, c.keys.dead},
				m.ID, raw, c.d.Settings.StreamMaxLen, consumerGroup).Err(); err != nil {
				return 0, err
			}
			c.d.Metrics.deadLetters.Inc()
			c.d.Log.ErrorContext(ctx, "notify: dead-lettered", "stream_id", m.ID, "outbox_id", raw)
			continue
		}
		c.handle(ctx, m)
	}
	return len(msgs), nil
}

// gauge records the stream's length and pending count.
func (c *consumer) gauge(ctx context.Context) {
	if n, err := c.d.Redis.XLen(ctx, c.keys.stream).Result(); err == nil {
		c.d.Metrics.streamLen.Set(float64(n))
	}
	if p, err := c.d.Redis.XPending(ctx, c.keys.stream, consumerGroup).Result(); err == nil {
		c.d.Metrics.streamPend.Set(float64(p.Count))
	}
}
