package auth

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims is what a verified token says: who holds it and which token it is.
type Claims struct {
	// UserID is the user the token was issued to (the JWT "sub").
	UserID int64
	// Role is the user's role at issue time (access tokens only).
	Role string
	// TokenID is the token's unique id (the JWT "jti").
	TokenID string
	// Family is the refresh family the token belongs to; every token issued
	// by one login and its refreshes shares it.
	Family string
	// Generation is the user's token generation at issue time; RevokeUser
	// moves it on, ending every older token.
	Generation int64
	// IssuedAt and ExpiresAt are the token's "iat" and "exp".
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Token uses, carried both as the JOSE "typ" header (RFC 8725 §3.11,
// RFC 9068) and as the "token_use" claim, so one kind can never pass for the
// other.
const (
	useAccess  = "access"
	useRefresh = "refresh"
	typAccess  = "at+jwt"
	typRefresh = "rt+jwt"
)

// jwtClaims is the wire form of both token kinds.
type jwtClaims struct {
	jwt.RegisteredClaims
	Use  string `json:"token_use"`
	Fam  string `json:"fam"`
	Gen  int64  `json:"gen"`
	Role string `json:"role,omitempty"`
}
