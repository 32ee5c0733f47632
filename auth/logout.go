package auth

import "context"

// Logout ends the session an access token belongs to: the token itself is
// denied until it expires and its refresh family is revoked, which also ends
// every other access token of that family.
func (t *Tokens) Logout(ctx context.Context, access Claims) error {
	if access.UserID <= 0 || !validID(access.TokenID) || !validID(access.Family) {
		return tokenInvalid("logout without verified claims")
	}
	return t.rev.logout(ctx, access, t.remaining(access.ExpiresAt), t.keepRevoked)
}

// RevokeUser ends every token of the user at once; see
// Revocations.RevokeUser.
func (t *Tokens) RevokeUser(ctx context.Context, userID int64) error {
	return t.rev.RevokeUser(ctx, userID)
}
