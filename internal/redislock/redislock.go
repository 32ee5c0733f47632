// Package redislock is a single-holder Redis lock with an expiry, for jobs
// that one instance at a time runs (the deadline scan, the retention pruner).
package redislock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lock is a single-holder lock with an expiry: whoever holds key runs the
// singleton job; a crashed holder's lock lapses after ttl. Release and
// renewal check the holder's random token, so an instance whose lock lapsed
// never frees or extends another's.
type Lock struct {
	rdb   redis.UniversalClient
	key   string
	ttl   time.Duration
	token string
}

var (
	releaseScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)
	renewScript   = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`)
)

// New returns a lock on key for this holder.
func New(rdb redis.UniversalClient, key string, ttl time.Duration) *Lock {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return &Lock{rdb: rdb, key: key, ttl: ttl, token: hex.EncodeToString(b)}
}

// Acquire takes the lock, or renews it when this holder has it already.
func (l *Lock) Acquire(ctx context.Context) (bool, error) {
	ok, err := l.rdb.SetNX(ctx, l.key, l.token, l.ttl).Result()
	if err != nil || ok {
		return ok, err
	}
	n, err := renewScript.Run(ctx, l.rdb, []string{l.key}, l.token, l.ttl.Milliseconds()).Int()
	return n == 1, err
}

// Release frees the lock if this holder still has it.
func (l *Lock) Release(ctx context.Context) error {
	return releaseScript.Run(ctx, l.rdb, []string{l.key}, l.token).Err()
}
