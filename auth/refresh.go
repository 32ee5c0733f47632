package auth

import (
	"context"
	"errors"

	"github.com/weifang/kaigong-zsb/models"
)

// Refresh exchanges a refresh token for a new pair and spends it (rotation).
// Presenting a spent refresh token revokes its whole family and answers
// token_invalid (RFC 9700 §4.14.2), so of two concurrent refreshes of one
// token exactly one succeeds and the other ends the family: clients must
// refresh one request at a time. A disabled or deleted user's family is
// revoked too. It returns the user as now stored.
func (t *Tokens) Refresh(ctx context.Context, refreshToken string) (Pair, models.User, error) {
	c, err := t.parse(refreshToken, typRefresh, useRefresh)
	if err != nil {
		return Pair{}, models.User{}, err
	}
	// Load the user before rotating: a failed lookup then leaves the
	// presented token current, so the client can retry. A disable racing with
	// this is still caught, by the generation check in the script or by the
	// generation the new tokens carry.
	user, err := t.users(ctx, c.UserID)
	gone := err == nil && (user.Disabled || user.ID != c.UserID) ||
		err != nil && models.ErrorCode(err) == models.CodeNotFound
	if err != nil && !gone {
		return Pair{}, models.User{}, err
	}
	if gone {
		if rerr := t.rev.revokeFamily(ctx, c.UserID, c.Family, t.keepRevoked); rerr != nil {
			return Pair{}, models.User{}, rerr
		}
		return Pair{}, models.User{}, tokenInvalid("user gone or disabled")
	}
	next := newID()
	res, err := t.rev.rotate(ctx, c, next, t.refreshTTL, t.keepRevoked)
	if err != nil {
		return Pair{}, models.User{}, err
	}
	switch res {
	case rotated:
	case familyUnknown:
		return Pair{}, models.User{}, tokenInvalid("unknown family")
	case familyDead:
		return Pair{}, models.User{}, tokenInvalid("family revoked")
	case userRevoked:
		return Pair{}, models.User{}, tokenInvalid("user revoked")
	case tokenReused:
		return Pair{}, models.User{}, tokenInvalid("refresh token reused")
	default:
		return Pair{}, models.User{}, internal("unexpected rotation result", errors.New("rotate script"))
	}
	pair, err := t.sign(user, c.Family, next, c.Generation)
	if err != nil {
		return Pair{}, models.User{}, err
	}
	return pair, user, nil
}
