package notify

import (
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/notify/push"
)

// Deps are the pipeline's dependencies.
type Deps struct {
	DB          *store.DB
	Redis       redis.UniversalClient
	RedisPrefix string // every key lives under it, e.g. "zsb:"
	Sender      push.Sender
	Metrics     *Metrics
	Log         *slog.Logger
	// Now is the clock; nil means time.Now.
	Now      func() time.Time
	Settings Settings
}

// Settings tune the pipeline; zero values take the documented defaults.
type Settings struct {
	// DigestWindow merges one project's changes for one user into one push;
	// 0 turns digests off. (BFF_DIGEST_WINDOW)
	DigestWindow time.Duration
	// MaxStreamDeliveries dead-letters a stream message after this many
	// failed deliveries. Default 5.
	MaxStreamDeliveries int
	// MaxPushAttempts bounds the sends of one push to one device. Default
	// push.DefaultMaxAttempts.
	MaxPushAttempts int
	// RedriveAfter re-relays outbox rows not processed this long after
	// their last relay, so nothing is lost with Redis. Default 1m.
	RedriveAfter time.Duration
	// ClaimIdle is how long a stream entry may sit with a consumer before
	// another takes it over. Default 30s.
	ClaimIdle time.Duration
	// StreamMaxLen approximately caps the streams. Default 100000.
	StreamMaxLen int64
	// PollInterval is how often idle loops look for work. Default 1s.
	PollInterval time.Duration
	// Consumer names this instance in the consumer group; default a random
	// name (a dead instance's entries are reclaimed by the others).
	Consumer string
}

func (d *Deps) withDefaults() error {
	if d.DB == nil || d.Metrics == nil {
		return errors.New("notify: DB and Metrics are required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &d.Settings
	setDur(&s.RedriveAfter, time.Minute)
	setDur(&s.ClaimIdle, 30*time.Second)
	setDur(&s.PollInterval, time.Second)
	if s.MaxStreamDeliveries <= 0 {
		s.MaxStreamDeliveries = 5
	}
	if s.MaxPushAttempts <= 0 {
		s.MaxPushAttempts = push.DefaultMaxAttempts
	}
	if s.StreamMaxLen <= 0 {
		s.StreamMaxLen = 100000
	}
	if s.DigestWindow < 0 {
		s.DigestWindow = 0
	}
	return nil
}

func setDur(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}
