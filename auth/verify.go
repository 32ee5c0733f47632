package auth

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// VerifyAccess checks an access token and returns its claims: length,
// algorithm (EdDSA only), key id, signature, type, issuer, audience, subject,
// id, issue time, not-before and expiry, then — in one Redis round trip —
// that it was not logged out, its family not revoked and its user not
// revoked since. With a live invalidation bus (Revocations.UseBus) the
// answer of that round trip is remembered until the user's revocation
// state changes, so a token's later requests cost no round trip. It answers token_expired for a token whose only fault is
// its age, token_invalid for every other fault, and unavailable when Redis
// cannot be asked. A family Redis no longer knows (expired, or data lost) is
// not taken as revoked: only an explicit revocation ends an access token
// early.
func (t *Tokens) VerifyAccess(ctx context.Context, token string) (Claims, error) {
	c, err := t.parseAccess(token)
	if err != nil {
		return Claims{}, err
	}
	if t.rev.knownUnrevoked(c) {
		return c, nil
	}
	ticket := t.rev.unrevoked.Begin()
	st, err := t.rev.accessCheck(ctx, c)
	if err != nil {
		return Claims{}, err
	}
	switch {
	case st.denied:
		return Claims{}, tokenInvalid("logged out")
	case c.Generation < st.generation:
		return Claims{}, tokenInvalid("user revoked")
	case st.familyRevoked:
		return Claims{}, tokenInvalid("family revoked")
	}
	t.rev.rememberUnrevoked(ticket, c)
	return c, nil
}

// parse verifies a token's form, signature and claims without asking Redis.
func (t *Tokens) parse(token, typ, use string) (Claims, error) {
	// Bound the work before any decoding: a huge or many-part token costs
	// nothing but this check.
	if len(token) > MaxTokenBytes || strings.Count(token, ".") != 2 {
		return Claims{}, tokenInvalid("malformed")
	}
	var jc jwtClaims
	_, err := t.parser.ParseWithClaims(token, &jc, func(tok *jwt.Token) (any, error) {
		if tok.Method != jwt.SigningMethodEdDSA {
			return nil, reasonError("algorithm")
		}
		if h, _ := tok.Header["typ"].(string); h != typ {
			return nil, reasonError("type")
		}
		if _, ok := tok.Header["crit"]; ok {
			return nil, reasonError("critical header")
		}
		kid, _ := tok.Header["kid"].(string)
		pub, ok := t.keys.publicKey(kid)
		if !ok {
			return nil, reasonError("unknown key")
		}
		return pub, nil
	})
	if err != nil {
		return Claims{}, tokenInvalid("signature or form")
	}
	uid, err := strconv.ParseInt(jc.Subject, 10, 64)
	switch {
	case jc.Use != use:
		return Claims{}, tokenInvalid("use")
	case jc.Issuer != t.issuer:
		return Claims{}, tokenInvalid("issuer")
	case !audienceHas(jc.Audience, t.audience):
		return Claims{}, tokenInvalid("audience")
	case err != nil || uid <= 0:
		return Claims{}, tokenInvalid("subject")
	case !validID(jc.ID) || !validID(jc.Fam):
		return Claims{}, tokenInvalid("id")
	case jc.IssuedAt == nil || jc.ExpiresAt == nil:
		return Claims{}, tokenInvalid("times")
	}
	now := t.now()
	switch {
	case jc.IssuedAt.After(now.Add(leeway)):
		return Claims{}, tokenInvalid("issued in the future")
	case jc.NotBefore != nil && jc.NotBefore.After(now.Add(leeway)):
		return Claims{}, tokenInvalid("not yet valid")
	case !now.Before(jc.ExpiresAt.Add(leeway)):
		return Claims{}, tokenExpired()
	}
	return Claims{
		UserID:     uid,
		Role:       jc.Role,
		TokenID:    jc.ID,
		Family:     jc.Fam,
		Generation: jc.Gen,
		IssuedAt:   jc.IssuedAt.Time,
		ExpiresAt:  jc.ExpiresAt.Time,
	}, nil
}

func audienceHas(aud jwt.ClaimStrings, want string) bool {
	for _, a := range aud {
		if a == want {
			return true
		}
	}
	return false
}

// validID accepts the ids newID makes, which also keeps them safe inside
// Redis keys.
func validID(s string) bool {
	if len(s) != 22 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// remaining returns how long after now a token expiring at exp may still be
// presented, allowing for leeway.
func (t *Tokens) remaining(exp time.Time) time.Duration {
	return exp.Add(leeway).Sub(t.now())
}

// VerifyAccessSignature checks an access token like VerifyAccess but without
// asking Redis: everything except logout, family and user revocation. It is
// for the degraded mode when Redis is unreachable, where refusing every user
// would be worse than honouring a logged-out token for the rest of its
// (at most 15-minute) life; the caller must still refuse disabled accounts
// from the database.
func (t *Tokens) VerifyAccessSignature(token string) (Claims, error) {
	return t.parseAccess(token)
}

// parseAccess is parse for access tokens, remembering tokens that passed.
// A remembered token is used only while now is before its expiry, which is
// the one stateless check whose answer changes with time (nbf and iat only
// move from failing to passing).
func (t *Tokens) parseAccess(token string) (Claims, error) {
	if len(token) > MaxTokenBytes {
		return Claims{}, tokenInvalid("malformed")
	}
	c, key, ok := t.verified.get(token, t.now())
	if ok {
		return c, nil
	}
	c, err := t.parse(token, typAccess, useAccess)
	if err == nil {
		t.verified.put(key, c)
	}
	return c, err
}
