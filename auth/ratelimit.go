package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/models"
)

// LoginLimits bounds login attempts. Both limits are fixed windows counted in
// Redis, so they hold across every BFF instance.
type LoginLimits struct {
	// AccountFailures login attempts per account name within AccountWindow
	// may have their password checked; further attempts answer rate_limited
	// until the window ends, whatever the password, without a check. An
	// attempt is counted before its password is checked, in one Redis
	// script, so parallel guesses cannot all pass a check that sees none of
	// the others: however many arrive at once, at most AccountFailures
	// passwords are checked per window. A successful login forgives the
	// attempts counted up to and including its own (the owner's typos), not
	// those counted after it, so guesses running alongside stay counted.
	// Unknown names are counted the same way.
	AccountFailures int
	AccountWindow   time.Duration
	// IPAttempts logins (failed or not) per client address within IPWindow.
	// IPv6 clients are counted per /64, which one subscriber usually holds.
	IPAttempts int
	IPWindow   time.Duration
}

// DefaultLoginLimits returns 5 failures per account per 15 minutes and 20
// attempts per address per minute.
func DefaultLoginLimits() LoginLimits {
	return LoginLimits{AccountFailures: 5, AccountWindow: 15 * time.Minute, IPAttempts: 20, IPWindow: time.Minute}
}

func (l LoginLimits) validate() error {
	var bad []models.FieldError
	if l.AccountFailures < 1 || l.AccountWindow < time.Second {
		bad = append(bad, models.FieldError{Field: "account_limit", Message: "at least 1 failure per second-long window"})
	}
	if l.IPAttempts < 1 || l.IPWindow < time.Second {
		bad = append(bad, models.FieldError{Field: "ip_limit", Message: "at least 1 attempt per second-long window"})
	}
	if len(bad) > 0 {
		return models.ValidationError(bad...)
	}
	return nil
}

// counter is a fixed-window counter family in Redis.
type counter struct {
	rdb    redis.UniversalClient
	prefix string // ends with ":"
	window time.Duration
	limit  int
}

// takeScript counts one event and returns the count and the window's
// remaining milliseconds. A key left without expiry (say, by a crash between
// commands in an older version) gets one, so it cannot block forever.
var takeScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if n == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
`)

// forgiveScript takes ARGV[1] events off the count, keeping the window's
// expiry; a count that reaches zero is deleted.
var forgiveScript = redis.NewScript(`
local n = redis.call('DECRBY', KEYS[1], ARGV[1])
if n <= 0 then
  redis.call('DEL', KEYS[1])
end
return n
`)

// take counts one event for id and returns its number within the window,
// or rate_limited (with the count) when that is over the limit. Counting and
// deciding are one script, so concurrent callers each get a distinct number.
func (c counter) take(ctx context.Context, id string) (int64, error) {
	res, err := takeScript.Run(ctx, c.rdb, []string{c.prefix + id}, c.window.Milliseconds()).Int64Slice()
	if err != nil || len(res) != 2 {
		return 0, unavailable(err)
	}
	if res[0] > int64(c.limit) {
		return res[0], rateLimited(time.Duration(res[1]) * time.Millisecond)
	}
	return res[0], nil
}

// forgive takes n events off id's count, never below zero.
func (c counter) forgive(ctx context.Context, id string, n int64) error {
	if n < 1 {
		return nil
	}
	if err := forgiveScript.Run(ctx, c.rdb, []string{c.prefix + id}, n).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

func rateLimited(wait time.Duration) *models.Error {
	secs := int((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return &models.Error{Code: models.CodeRateLimited, Message: "too many login attempts; try again later", RetryAfter: secs}
}

// accountBucket names an account's counter. The name is hashed: it is
// whatever the client typed, so it is kept short and out of key listings.
func accountBucket(username string) string {
	sum := sha256.Sum256([]byte(username))
	return hex.EncodeToString(sum[:16])
}

// addressBucket names a client address's counter: the IPv4 address, or the
// /64 of an IPv6 address.
func addressBucket(clientIP string) string {
	a, err := netip.ParseAddr(clientIP)
	if err != nil {
		return "x" + accountBucket(clientIP)
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
