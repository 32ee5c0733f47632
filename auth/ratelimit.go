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
	// AccountFailures failed logins per account name within AccountWindow;
	// further attempts answer rate_limited until the window ends, whatever
	// the password. Unknown names are counted the same way.
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

// hitScript counts one event and returns the count and the window's
// remaining milliseconds. A key left without expiry (say, by a crash between
// commands in an older version) gets one, so it cannot block forever.
var hitScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if n == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
`)

// peekScript returns the count and the window's remaining milliseconds
// without counting.
var peekScript = redis.NewScript(`
return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('PTTL', KEYS[1])}
`)

// hit counts one event for id and reports whether it is over the limit.
func (c counter) hit(ctx context.Context, id string) error {
	return c.run(ctx, hitScript, id, func(n int64) bool { return n > int64(c.limit) })
}

// check reports, without counting, whether id has reached the limit.
func (c counter) check(ctx context.Context, id string) error {
	return c.run(ctx, peekScript, id, func(n int64) bool { return n >= int64(c.limit) })
}

func (c counter) run(ctx context.Context, s *redis.Script, id string, over func(int64) bool) error {
	res, err := s.Run(ctx, c.rdb, []string{c.prefix + id}, c.window.Milliseconds()).Int64Slice()
	if err != nil || len(res) != 2 {
		return unavailable(err)
	}
	if !over(res[0]) {
		return nil
	}
	return rateLimited(time.Duration(res[1]) * time.Millisecond)
}

func (c counter) reset(ctx context.Context, id string) error {
	if err := c.rdb.Del(ctx, c.prefix+id).Err(); err != nil {
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
