package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/internal/localcache"
	"github.com/weifang/kaigong-zsb/models"
)

// Token lifetimes and tolerances.
const (
	// DefaultAccessTTL is the access token lifetime unless configured; it is
	// also the longest allowed, since an access token is only checked
	// against revocation state, never re-issued.
	DefaultAccessTTL = 15 * time.Minute
	// DefaultRefreshTTL is the refresh token lifetime unless configured. It
	// slides: each refresh issues a token valid this long again.
	DefaultRefreshTTL = 30 * 24 * time.Hour
	// leeway tolerates clock differences between servers for exp, nbf and
	// iat.
	leeway = 30 * time.Second
	// MaxTokenBytes bounds the length of a token accepted for parsing; ours
	// are under 600 bytes.
	MaxTokenBytes = 4096
)

// UserLookup loads a user by id; it returns an error with code not_found
// when there is no such user.
type UserLookup func(ctx context.Context, id int64) (models.User, error)

// TokensConfig holds what Tokens needs.
type TokensConfig struct {
	// Keys sign (the newest) and verify (all) tokens.
	Keys Keys
	// Redis holds the revocation state; Prefix starts every key.
	Redis  redis.UniversalClient
	Prefix string
	// Issuer and Audience are required in every token.
	Issuer, Audience string
	// AccessTTL defaults to DefaultAccessTTL and may not exceed it;
	// RefreshTTL defaults to DefaultRefreshTTL.
	AccessTTL, RefreshTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Users finds the user a refresh token names, to refuse disabled
	// accounts and re-issue with current data.
	Users UserLookup
	// Bus, when set, lets access-token checks be remembered in the process
	// until a revocation is announced (see Revocations.UseBus).
	Bus *localcache.Bus
}

// Tokens issues, verifies, rotates and revokes access and refresh tokens.
type Tokens struct {
	keys        Keys
	rev         *Revocations
	issuer      string
	audience    string
	accessTTL   time.Duration
	refreshTTL  time.Duration
	now         func() time.Time
	users       UserLookup
	parser      *jwt.Parser
	keepRevoked time.Duration
	verified    *verifiedCache
}

// Pair is a freshly issued access token and refresh token.
type Pair struct {
	// AccessToken goes in the Authorization header of every request.
	AccessToken string
	// RefreshToken is presented once, to Refresh, for the next pair.
	RefreshToken string
	// ExpiresIn is the access token's lifetime in seconds.
	ExpiresIn int
}

// NewTokens checks cfg and returns a Tokens.
func NewTokens(cfg TokensConfig) (*Tokens, error) {
	var bad []models.FieldError
	if cfg.Keys.Len() == 0 {
		bad = append(bad, models.FieldError{Field: "keys", Message: "at least one signing key is required"})
	}
	if cfg.Issuer == "" {
		bad = append(bad, models.FieldError{Field: "issuer", Message: "required"})
	}
	if cfg.Audience == "" {
		bad = append(bad, models.FieldError{Field: "audience", Message: "required"})
	}
	if cfg.Users == nil {
		bad = append(bad, models.FieldError{Field: "users", Message: "a user lookup is required"})
	}
	if cfg.AccessTTL == 0 {
		cfg.AccessTTL = DefaultAccessTTL
	}
	if cfg.RefreshTTL == 0 {
		cfg.RefreshTTL = DefaultRefreshTTL
	}
	if cfg.AccessTTL < time.Minute || cfg.AccessTTL > DefaultAccessTTL {
		bad = append(bad, models.FieldError{Field: "access_ttl", Message: "between 1 and 15 minutes"})
	}
	if cfg.RefreshTTL <= cfg.AccessTTL {
		bad = append(bad, models.FieldError{Field: "refresh_ttl", Message: "longer than the access token lifetime"})
	}
	if len(bad) > 0 {
		return nil, models.ValidationError(bad...)
	}
	rev, err := NewRevocations(cfg.Redis, cfg.Prefix)
	if err != nil {
		return nil, err
	}
	if cfg.Bus != nil {
		rev.UseBus(cfg.Bus)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Tokens{
		keys:       cfg.Keys,
		rev:        rev,
		issuer:     cfg.Issuer,
		audience:   cfg.Audience,
		accessTTL:  cfg.AccessTTL,
		refreshTTL: cfg.RefreshTTL,
		now:        cfg.Now,
		users:      cfg.Users,
		verified:   newVerifiedCache(50000),
		// Claims are checked by hand in parse, in a fixed order, so expiry
		// is reported only for otherwise valid tokens.
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
			jwt.WithoutClaimsValidation(),
		),
		// A revoked family must be remembered until every access token it
		// issued has expired, with room for clock differences.
		keepRevoked: cfg.AccessTTL + 2*leeway,
	}, nil
}

// Issue starts a new refresh family for user and returns its first pair.
// Callers check the account (password, not disabled) before calling it.
func (t *Tokens) Issue(ctx context.Context, user models.User) (Pair, error) {
	if user.ID <= 0 {
		return Pair{}, internal("cannot issue tokens for a user without an id", nil)
	}
	if user.Disabled {
		return Pair{}, &models.Error{Code: models.CodeAccountDisabled, Message: "the account is disabled"}
	}
	fam, refreshJTI := newID(), newID()
	gen, err := t.rev.startFamily(ctx, user.ID, fam, refreshJTI, t.refreshTTL)
	if err != nil {
		return Pair{}, err
	}
	return t.sign(user, fam, refreshJTI, gen)
}

// sign makes an access token and the refresh token refreshJTI of family fam.
func (t *Tokens) sign(user models.User, fam, refreshJTI string, gen int64) (Pair, error) {
	now := t.now()
	access, err := t.signOne(typAccess, jwtClaims{
		RegisteredClaims: t.registered(user.ID, newID(), now, t.accessTTL),
		Use:              useAccess, Fam: fam, Gen: gen, Role: user.Role,
	})
	if err != nil {
		return Pair{}, err
	}
	refresh, err := t.signOne(typRefresh, jwtClaims{
		RegisteredClaims: t.registered(user.ID, refreshJTI, now, t.refreshTTL),
		Use:              useRefresh, Fam: fam, Gen: gen,
	})
	if err != nil {
		return Pair{}, err
	}
	return Pair{AccessToken: access, RefreshToken: refresh, ExpiresIn: int(t.accessTTL / time.Second)}, nil
}

func (t *Tokens) registered(userID int64, jti string, now time.Time, ttl time.Duration) jwt.RegisteredClaims {
	return jwt.RegisteredClaims{
		Issuer:    t.issuer,
		Subject:   strconv.FormatInt(userID, 10),
		Audience:  jwt.ClaimStrings{t.audience},
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		NotBefore: jwt.NewNumericDate(now),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        jti,
	}
}

func (t *Tokens) signOne(typ string, c jwtClaims) (string, error) {
	k := t.keys.signer()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["typ"] = typ
	tok.Header["kid"] = k.id
	s, err := tok.SignedString(k.priv)
	if err != nil {
		return "", internal("cannot sign a token", err)
	}
	return s, nil
}

// newID returns 128 random bits, base64url-encoded (22 characters).
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms.
	return base64.RawURLEncoding.EncodeToString(b)
}
