package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedCache remembers access tokens whose signature and claims checked
// out, so a token is verified cryptographically once rather than on every
// request (the EdDSA check was a quarter of a progress read's CPU). Only
// the stateless part is remembered: revocation is still asked of Redis on
// every request, and an entry is used only until the token's own expiry.
// Keys are SHA-256 digests, so the cache holds no token and no caller's
// buffer.
type verifiedCache struct {
	mu      sync.Mutex
	max     int
	entries map[[sha256.Size]byte]Claims
}

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{max: max, entries: make(map[[sha256.Size]byte]Claims)}
}

func (v *verifiedCache) get(token string, now time.Time) (Claims, [sha256.Size]byte, bool) {
	// The token is copied into a buffer on the stack to be hashed: a plain
	// []byte(token) of a token this long is a heap allocation per request.
	var buf [1 << 10]byte
	key := sha256.Sum256(append(buf[:0], token...))
	v.mu.Lock()
	c, ok := v.entries[key]
	v.mu.Unlock()
	if !ok || !now.Before(c.ExpiresAt) {
		return Claims{}, key, false
	}
	return c, key, true
}

func (v *verifiedCache) put(key [sha256.Size]byte, c Claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.entries) >= v.max {
		// Bounded: start over rather than track recency; each live token
		// costs one more signature check.
		clear(v.entries)
	}
	v.entries[key] = c
}
