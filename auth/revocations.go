package auth

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/internal/localcache"
	"github.com/weifang/kaigong-zsb/models"
)

// familyRevoked is the value a refresh family's key holds once the family is
// revoked. A live family holds its current refresh jti, which is 22
// base64url characters and so can never equal it.
const familyRevoked = "revoked"

// Revocations is the Redis state that can end tokens before they expire: the
// current refresh token of each family, the access tokens denied at logout,
// and each user's token generation. All keys of one user share the hash tag
// {u:<id>}, so they live in one Redis Cluster slot and can be read together
// with one MGET and changed together in one script.
//
// Key layout, after the configured prefix:
//
//	auth:{u:<id>}:gen          user's token generation (INCR on revoke; no TTL)
//	auth:{u:<id>}:fam:<fam>    refresh family: current refresh jti, or "revoked"
//	auth:{u:<id>}:deny:<jti>   access token denied at logout, until it expires
//
// Every change that can end access tokens is announced on the local-cache
// invalidation channel (topic user, key the user id) after it is in Redis,
// so instances that remember unrevoked access tokens (UseBus) forget the
// user's at once.
type Revocations struct {
	rdb    redis.UniversalClient
	prefix string
	pub    localcache.Publisher
	bus    *localcache.Bus
	// unrevoked remembers, per user, the access tokens (jti) Redis said
	// were not revoked; nil without a bus.
	unrevoked *localcache.Cache[tokenSet]
}

// tokenSet is a set of access token ids. A stored set is never modified;
// adding a token stores a copy.
type tokenSet map[string]struct{}

// Local memory of unrevoked access tokens: how long an answer is kept at
// most (the invalidation normally ends it at once; the TTL bounds an
// announcement that was lost), and how many tokens are remembered.
const (
	unrevokedTTL = 5 * time.Second
	unrevokedMax = 100_000
)

// NewRevocations returns the revocation store using rdb, with every key
// starting with prefix. The prefix must not contain braces, which would
// change the keys' Redis Cluster hash tag.
func NewRevocations(rdb redis.UniversalClient, prefix string) (*Revocations, error) {
	if rdb == nil {
		return nil, internal("auth: no Redis client", nil)
	}
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	return &Revocations{rdb: rdb, prefix: prefix, pub: localcache.NewPublisher(rdb, prefix)}, nil
}

// UseBus lets the store remember, in the process, access tokens Redis said
// were not revoked, for as long as bus is live and no revocation of their
// user was announced. Call it once, before the store is used.
func (r *Revocations) UseBus(bus *localcache.Bus) {
	r.bus = bus
	r.unrevoked = localcache.NewCache(bus, localcache.TopicUser, unrevokedTTL, unrevokedMax,
		func(s tokenSet) int { return len(s) })
}

// announce tells every instance that userID's revocation state changed. It
// is called after the change is in Redis.
func (r *Revocations) announce(ctx context.Context, userID int64) error {
	key := strconv.FormatInt(userID, 10)
	var err error
	if r.bus != nil {
		err = r.bus.Publish(ctx, localcache.TopicUser, key)
	} else {
		err = r.pub.Publish(ctx, localcache.TopicUser, key)
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// knownUnrevoked reports whether the process remembers c as not revoked.
func (r *Revocations) knownUnrevoked(c Claims) bool {
	set, ok := r.unrevoked.Get(strconv.FormatInt(c.UserID, 10))
	if !ok {
		return false
	}
	_, ok = set[c.TokenID]
	return ok
}

// rememberUnrevoked records that Redis said c was not revoked, in a read
// that began at t.
func (r *Revocations) rememberUnrevoked(t localcache.Ticket, c Claims) {
	r.unrevoked.Update(t, strconv.FormatInt(c.UserID, 10), func(cur tokenSet, ok bool) tokenSet {
		next := make(tokenSet, len(cur)+1)
		if ok {
			for k := range cur {
				next[k] = struct{}{}
			}
		}
		next[c.TokenID] = struct{}{}
		return next
	})
}

func checkPrefix(prefix string) error {
	if strings.ContainsAny(prefix, "{}") || len(prefix) > 64 {
		return models.ValidationError(models.FieldError{Field: "prefix", Message: "at most 64 characters, no braces"})
	}
	return nil
}

// RevokeUser ends every token the user holds, at once: their generation
// moves on, and tokens carrying an older one are refused. Call it after an
// account is disabled or its password is reset (after the database change, so
// a login racing with it cannot slip through).
func (r *Revocations) RevokeUser(ctx context.Context, userID int64) error {
	if err := r.rdb.Incr(ctx, r.genKey(userID)).Err(); err != nil {
		return unavailable(err)
	}
	return r.announce(ctx, userID)
}

func (r *Revocations) userTag(userID int64) string {
	return r.prefix + "auth:{u:" + strconv.FormatInt(userID, 10) + "}:"
}

func (r *Revocations) genKey(userID int64) string { return r.userTag(userID) + "gen" }

func (r *Revocations) familyKey(userID int64, fam string) string {
	return r.userTag(userID) + "fam:" + fam
}

func (r *Revocations) denyKey(userID int64, jti string) string {
	return r.userTag(userID) + "deny:" + jti
}

// startFamily records refreshJTI as the current token of a new family and
// returns the user's generation, in one round trip.
var startFamilyScript = redis.NewScript(`
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return tonumber(redis.call('GET', KEYS[1]) or '0')
`)

func (r *Revocations) startFamily(ctx context.Context, userID int64, fam, refreshJTI string, ttl time.Duration) (int64, error) {
	gen, err := startFamilyScript.Run(ctx, r.rdb,
		[]string{r.genKey(userID), r.familyKey(userID, fam)},
		refreshJTI, ttl.Milliseconds()).Int64()
	if err != nil {
		return 0, unavailable(err)
	}
	return gen, nil
}

// Results of rotateScript.
const (
	rotated       = 1
	familyUnknown = 0
	familyDead    = -1
	userRevoked   = -2
	tokenReused   = -3
)

// rotateScript moves a family from the presented refresh jti to the next one.
// A presented jti that is not the current one is a spent token being
// replayed (RFC 9700 §4.14.2): the whole family is revoked. Running as one
// script makes concurrent rotations of the same token serial: exactly one
// sees its jti as current.
//
// KEYS: family, generation. ARGV: presented jti, next jti, the token's
// generation, family TTL ms, how long a revoked marker must live in ms.
var rotateScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if cur == 'revoked' then return -1 end
local gen = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[3]) < gen then
  redis.call('SET', KEYS[1], 'revoked', 'PX', ARGV[5])
  return -2
end
if cur ~= ARGV[1] then
  redis.call('SET', KEYS[1], 'revoked', 'PX', ARGV[5])
  return -3
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
return 1
`)

func (r *Revocations) rotate(ctx context.Context, c Claims, nextJTI string, ttl, keepRevoked time.Duration) (int64, error) {
	res, err := rotateScript.Run(ctx, r.rdb,
		[]string{r.familyKey(c.UserID, c.Family), r.genKey(c.UserID)},
		c.TokenID, nextJTI, c.Generation, ttl.Milliseconds(), keepRevoked.Milliseconds()).Int64()
	if err != nil {
		return 0, unavailable(err)
	}
	if res == userRevoked || res == tokenReused {
		// The script revoked the family: its access tokens end too.
		if err := r.announce(ctx, c.UserID); err != nil {
			return 0, err
		}
	}
	return res, nil
}

// revokeFamily marks a family revoked for keep, which must outlast every
// access token the family issued.
func (r *Revocations) revokeFamily(ctx context.Context, userID int64, fam string, keep time.Duration) error {
	if err := r.rdb.Set(ctx, r.familyKey(userID, fam), familyRevoked, keep).Err(); err != nil {
		return unavailable(err)
	}
	return r.announce(ctx, userID)
}

// logout denies one access token until it expires and revokes its family, in
// one transaction on the user's slot.
func (r *Revocations) logout(ctx context.Context, c Claims, denyFor, keepRevoked time.Duration) error {
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if denyFor > 0 {
			p.Set(ctx, r.denyKey(c.UserID, c.TokenID), "1", denyFor)
		}
		p.Set(ctx, r.familyKey(c.UserID, c.Family), familyRevoked, keepRevoked)
		return nil
	})
	if err != nil {
		return unavailable(err)
	}
	return r.announce(ctx, c.UserID)
}

// accessState is what Redis says about one access token.
type accessState struct {
	denied        bool
	generation    int64
	familyRevoked bool
}

// accessCheck reads the deny entry, the user's generation and the family in
// one MGET; the shared hash tag keeps it a single-slot command on a cluster.
func (r *Revocations) accessCheck(ctx context.Context, c Claims) (accessState, error) {
	vals, err := r.rdb.MGet(ctx,
		r.denyKey(c.UserID, c.TokenID), r.genKey(c.UserID), r.familyKey(c.UserID, c.Family)).Result()
	if err != nil {
		return accessState{}, unavailable(err)
	}
	var st accessState
	st.denied = vals[0] != nil
	if s, ok := vals[1].(string); ok {
		g, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return accessState{}, internal("malformed token generation in Redis", err)
		}
		st.generation = g
	}
	st.familyRevoked = vals[2] == familyRevoked
	return st, nil
}
