// Package auth issues, verifies, rotates and revokes the app's tokens, hashes
// and checks passwords, rate-limits logins, administers accounts, and decides
// which projects a user may see.
//
// Access and refresh tokens are EdDSA-signed JWTs. Everything that can make a
// validly signed token stop working early (logout, a refresh family revoked on
// reuse, an account disabled or its password reset) lives in Redis under one
// hash tag per user, so verifying an access token costs one signature check
// and one MGET.
package auth
