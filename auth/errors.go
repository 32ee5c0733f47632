package auth

import "github.com/weifang/kaigong-zsb/models"

// tokenInvalid is the one answer for every token that must not be accepted
// and has not merely expired: the message never says why, so a caller cannot
// learn which check failed. The reason is kept in Err for debugging; it never
// contains the token.
func tokenInvalid(reason string) *models.Error {
	return &models.Error{Code: models.CodeTokenInvalid, Message: "the token is not valid", Err: reasonError(reason)}
}

func tokenExpired() *models.Error {
	return &models.Error{Code: models.CodeTokenExpired, Message: "the token has expired"}
}

func invalidCredentials() *models.Error {
	return &models.Error{Code: models.CodeInvalidCredentials, Message: "the username or password is wrong"}
}

// unavailable wraps a Redis failure: the request may succeed when retried.
func unavailable(err error) *models.Error {
	return &models.Error{Code: models.CodeUnavailable, Message: "the session store is unavailable", RetryAfter: 1, Err: err}
}

func internal(msg string, err error) *models.Error {
	return &models.Error{Code: models.CodeInternal, Message: msg, Err: err}
}

// reasonError is a plain error carrying why a token was refused.
type reasonError string

func (r reasonError) Error() string { return string(r) }
