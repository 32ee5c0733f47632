// Package vendorkit is what every vendor push client shares: an access
// token cache refreshed one refresh at a time, batching and grouping of
// messages, JSON and form POSTs with a deadline, mapping of HTTP answers to
// push results, and the app's data fields.
package vendorkit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Token is an access credential and when it stops being valid.
type Token struct {
	Value  string
	Expiry time.Time
}

// AuthError is a vendor's refusal of our credentials (a wrong secret, a bad
// signature): getting a new token cannot fix it.
type AuthError struct {
	// Code is the vendor's error code, or the HTTP status.
	Code string
	// Msg is the vendor's explanation; it never holds a secret.
	Msg string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("credentials rejected (%s): %s", e.Code, e.Msg)
}

// AuthCode returns the vendor code of an *AuthError in err's chain, and
// whether there is one.
func AuthCode(err error) (string, bool) {
	var ae *AuthError
	if errors.As(err, &ae) {
		return ae.Code, true
	}
	return "", false
}

// DefaultMargin is how long before its expiry a cached token is replaced,
// so that a request never leaves with a token about to run out.
const DefaultMargin = 5 * time.Minute

// fetchTimeout bounds one token request. It runs detached from the
// caller's context, so a canceled caller does not fail the others waiting
// on the same refresh.
const fetchTimeout = 30 * time.Second

// TokenCache holds one access token, fetched when missing or within the
// margin of its expiry, and refreshed when the vendor says it expired: one
// fetch at a time, however many callers need a token at once. Safe for
// concurrent use.
type TokenCache struct {
	fetch  func(ctx context.Context) (Token, error)
	margin time.Duration
	now    func() time.Time

	mu      sync.Mutex
	tok     Token
	fetches int
	sf      singleflight.Group
}

// NewTokenCache builds a cache over fetch. A zero margin means
// DefaultMargin; a nil now means time.Now.
func NewTokenCache(fetch func(ctx context.Context) (Token, error), margin time.Duration, now func() time.Time) *TokenCache {
	if margin <= 0 {
		margin = DefaultMargin
	}
	if now == nil {
		now = time.Now
	}
	return &TokenCache{fetch: fetch, margin: margin, now: now}
}

// Get returns a token that is valid for at least the margin, fetching one
// when the cached one is missing or too old.
func (c *TokenCache) Get(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok := c.tok
	c.mu.Unlock()
	if tok.Value != "" && c.now().Add(c.margin).Before(tok.Expiry) {
		return tok.Value, nil
	}
	return c.Refresh(ctx, tok.Value)
}

// Refresh is called when the vendor rejected stale as expired: it returns
// a newer token, fetching one unless another caller already replaced stale
// (so a burst of rejections costs one fetch).
func (c *TokenCache) Refresh(ctx context.Context, stale string) (string, error) {
	c.mu.Lock()
	cur := c.tok
	c.mu.Unlock()
	if cur.Value != "" && cur.Value != stale && c.now().Add(c.margin).Before(cur.Expiry) {
		return cur.Value, nil
	}
	ch := c.sf.DoChan("token", func() (any, error) {
		// Another caller's fetch may have finished between our look and
		// this call: use its token rather than fetch again.
		c.mu.Lock()
		cur := c.tok
		c.mu.Unlock()
		if cur.Value != "" && cur.Value != stale && c.now().Add(c.margin).Before(cur.Expiry) {
			return cur.Value, nil
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		tok, err := c.fetch(fctx)
		c.mu.Lock()
		c.fetches++
		if err == nil {
			c.tok = tok
		}
		c.mu.Unlock()
		if err != nil {
			return "", err
		}
		return tok.Value, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Fetches counts the token requests made so far (for tests and metrics).
func (c *TokenCache) Fetches() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetches
}

// ErrStillExpired is returned by WithToken when the vendor rejects even a
// freshly fetched token.
var ErrStillExpired = errors.New("vendor rejected a fresh access token")

// WithToken runs call with a cached token; when call reports the token
// expired (or rejected), it refreshes the token once and calls again. A
// second rejection returns ErrStillExpired with the last result: the
// credentials are wrong, not old. Errors from the cache (an *AuthError or a
// transport error) are returned as they are.
func WithToken[T any](ctx context.Context, c *TokenCache, call func(token string) (T, bool, error)) (T, error) {
	var zero T
	tok, err := c.Get(ctx)
	if err != nil {
		return zero, err
	}
	res, expired, err := call(tok)
	if err != nil || !expired {
		return res, err
	}
	if tok, err = c.Refresh(ctx, tok); err != nil {
		return zero, err
	}
	res, expired, err = call(tok)
	if err == nil && expired {
		return res, ErrStillExpired
	}
	return res, err
}
