package pushsink

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// The FCM error codes (FcmError.errorCode) the sink can answer with.
const (
	CodeUnregistered        = "UNREGISTERED"
	CodeInvalidArgument     = "INVALID_ARGUMENT"
	CodeSenderIDMismatch    = "SENDER_ID_MISMATCH"
	CodeQuotaExceeded       = "QUOTA_EXCEEDED"
	CodeUnavailable         = "UNAVAILABLE"
	CodeInternal            = "INTERNAL"
	CodeThirdPartyAuthError = "THIRD_PARTY_AUTH_ERROR"
)

// fcmErrorType is the @type firebase-admin-go looks for to read errorCode.
const fcmErrorType = "type.googleapis.com/google.firebase.fcm.v1.FcmError"

// badRequestType carries field violations for malformed messages, as Google
// APIs do; a bad token has none (FCM answers only the FcmError detail then).
const badRequestType = "type.googleapis.com/google.rpc.BadRequest"

// errorShape is the HTTP status and google.rpc status FCM answers for an
// FCM error code.
type errorShape struct {
	httpStatus int
	status     string
	message    string
}

// shapeOf maps an FCM error code to FCM's documented HTTP answer. The second
// result is false for codes the sink does not know.
func shapeOf(code string) (errorShape, bool) {
	switch code {
	case CodeUnregistered:
		return errorShape{http.StatusNotFound, "NOT_FOUND", "Requested entity was not found."}, true
	case CodeInvalidArgument:
		return errorShape{http.StatusBadRequest, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token"}, true
	case CodeSenderIDMismatch:
		return errorShape{http.StatusForbidden, "PERMISSION_DENIED", "SenderId mismatch"}, true
	case CodeQuotaExceeded:
		return errorShape{http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", "Quota exceeded for sending messages."}, true
	case CodeUnavailable:
		return errorShape{http.StatusServiceUnavailable, "UNAVAILABLE", "The service is currently unavailable."}, true
	case CodeInternal:
		return errorShape{http.StatusInternalServerError, "INTERNAL", "Internal error encountered."}, true
	case CodeThirdPartyAuthError:
		return errorShape{http.StatusUnauthorized, "UNAUTHENTICATED", "Auth error from APNS or Web Push Service"}, true
	}
	return errorShape{}, false
}

// faultStatus is the HTTP status answered for an FCM error code.
func faultStatus(code string) int {
	shape, ok := shapeOf(code)
	if !ok {
		return http.StatusInternalServerError
	}
	return shape.httpStatus
}

// fieldViolation names a malformed field of a send request, as in
// google.rpc.BadRequest.
type fieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

type errorDetail struct {
	Type            string           `json:"@type"`
	ErrorCode       string           `json:"errorCode,omitempty"`
	FieldViolations []fieldViolation `json:"fieldViolations,omitempty"`
}

type errorBody struct {
	Error struct {
		Code    int           `json:"code"`
		Message string        `json:"message"`
		Status  string        `json:"status"`
		Details []errorDetail `json:"details,omitempty"`
	} `json:"error"`
}

// writeFCMError answers an FCM-style error. retryAfter, when positive, is sent
// as a Retry-After header in whole seconds (rounded up).
func writeFCMError(w http.ResponseWriter, code string, retryAfter time.Duration, violations []fieldViolation) {
	shape, ok := shapeOf(code)
	if !ok {
		shape = errorShape{http.StatusInternalServerError, "INTERNAL", "Internal error encountered."}
	}
	var body errorBody
	body.Error.Code = shape.httpStatus
	body.Error.Message = shape.message
	body.Error.Status = shape.status
	body.Error.Details = []errorDetail{{Type: fcmErrorType, ErrorCode: code}}
	if len(violations) > 0 {
		body.Error.Message = "Request contains an invalid argument."
		body.Error.Details = append(body.Error.Details, errorDetail{Type: badRequestType, FieldViolations: violations})
	}
	if retryAfter > 0 {
		secs := int64((retryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	writeJSON(w, shape.httpStatus, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
