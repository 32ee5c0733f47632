package models

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code. Clients switch on it, so a
// code never changes meaning once shipped; the HTTP layer maps each code to a
// status in exactly one place (bff/errors.go).
type Code string

// The error codes of the contract. Adding one means adding it to the HTTP
// mapper and to api-docs/openapi.yaml.
const (
	CodeInvalidCredentials  Code = "invalid_credentials"
	CodeTokenExpired        Code = "token_expired"
	CodeTokenInvalid        Code = "token_invalid"
	CodeUnauthorized        Code = "unauthorized"
	CodeForbidden           Code = "forbidden"
	CodeNotFound            Code = "not_found"
	CodeValidationFailed    Code = "validation_failed"
	CodeMalformedJSON       Code = "malformed_json"
	CodeRateLimited         Code = "rate_limited"
	CodeSignatureInvalid    Code = "signature_invalid"
	CodeTimestampOutOfRange Code = "timestamp_out_of_range"
	CodeConflict            Code = "conflict"
	CodeTaskTaken           Code = "task_taken"
	CodeProviderUnsupported Code = "provider_unsupported"
	CodePayloadTooLarge     Code = "payload_too_large"
	CodeUnknownEventType    Code = "unknown_event_type"
	CodeUnknownProject      Code = "unknown_project"
	CodeUnknownItem         Code = "unknown_item"
	CodeAccountDisabled     Code = "account_disabled"
	CodeUnavailable         Code = "unavailable"
	CodeInternal            Code = "internal"
)

// FieldError names one invalid input field and says what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the one domain error type. Handlers return it (or wrap it) and the
// HTTP error mapper turns it into an RFC 9457 problem.
type Error struct {
	Code       Code
	Message    string
	Fields     []FieldError
	RetryAfter int // seconds; set for rate limits and retryable outages
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ValidationError builds a validation_failed error listing the bad fields.
func ValidationError(fields ...FieldError) *Error {
	return &Error{Code: CodeValidationFailed, Message: "the request has invalid fields", Fields: fields}
}

// ErrorCode returns the code of the first *Error in err's chain, or
// CodeInternal when there is none.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrNotFound is the generic "no such thing, or not yours" error. Projects the
// caller may not see answer it too, so ids cannot be probed.
var ErrNotFound = &Error{Code: CodeNotFound, Message: "not found"}
