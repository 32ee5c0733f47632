package fcm

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"

	"github.com/weifang/kaigong-zsb/notify/push"
)

// classifyError maps one failed FCM send to what the dispatcher should do,
// following FCM's documented handling:
//
//   - UNREGISTERED: the app was uninstalled or the token expired; deactivate.
//   - INVALID_ARGUMENT about the token: deactivate. FCM reports a bad token
//     with no field violations (or one on message.token), while a malformed
//     message names the offending field; that is our bug, so it fails.
//   - QUOTA_EXCEEDED, UNAVAILABLE, INTERNAL: transient; retry, honouring
//     Retry-After.
//   - SENDER_ID_MISMATCH, THIRD_PARTY_AUTH_ERROR and other FCM codes: fail
//     permanently; retrying cannot help.
//
// Errors without an FCM error code come from the HTTP layer: outages,
// timeouts and network errors retry; authentication, permission and
// not-found (a wrong endpoint or project, not a dead token) fail.
func classifyError(err error, now time.Time) push.Result {
	info := readErrorBody(err, now)
	retry := func(code string) push.Result {
		return push.Result{Outcome: push.OutcomeRetry, ErrorCode: code, RetryAfter: info.retryAfter}
	}
	failed := func(code string) push.Result {
		return push.Result{Outcome: push.OutcomeFailed, ErrorCode: code}
	}
	switch {
	case messaging.IsUnregistered(err):
		return push.Result{Outcome: push.OutcomeDeactivate, ErrorCode: "UNREGISTERED"}
	case messaging.IsInvalidArgument(err):
		if info.blamesOnlyToken() {
			return push.Result{Outcome: push.OutcomeDeactivate, ErrorCode: "INVALID_ARGUMENT"}
		}
		return failed("INVALID_ARGUMENT")
	case messaging.IsQuotaExceeded(err):
		return retry("QUOTA_EXCEEDED")
	case messaging.IsUnavailable(err):
		return retry("UNAVAILABLE")
	case messaging.IsInternal(err):
		return retry("INTERNAL")
	case messaging.IsSenderIDMismatch(err):
		return failed("SENDER_ID_MISMATCH")
	case messaging.IsThirdPartyAuthError(err):
		return failed("THIRD_PARTY_AUTH_ERROR")
	case info.fcmCode != "":
		return failed(info.fcmCode)
	case errorutils.IsUnavailable(err), errorutils.IsInternal(err),
		errorutils.IsDeadlineExceeded(err), errorutils.IsResourceExhausted(err),
		errorutils.IsAborted(err), errorutils.IsCancelled(err):
		return retry(info.statusOr("UNAVAILABLE"))
	case errorutils.IsUnauthenticated(err), errorutils.IsPermissionDenied(err),
		errorutils.IsNotFound(err), errorutils.IsInvalidArgument(err),
		errorutils.IsFailedPrecondition(err):
		return failed(info.statusOr("FAILED"))
	default:
		// Unknown transport errors and context cancellation: the message may
		// not have reached FCM; the app de-duplicates if it did.
		return retry(info.statusOr("transport"))
	}
}

// errorBody is what the sender reads from an FCM error response.
type errorBody struct {
	status          string   // google.rpc status, e.g. "NOT_FOUND"
	fcmCode         string   // FcmError.errorCode, e.g. "UNREGISTERED"
	violationFields []string // google.rpc.BadRequest field violations
	retryAfter      time.Duration
}

func (b errorBody) blamesOnlyToken() bool {
	for _, f := range b.violationFields {
		if f != "message.token" {
			return false
		}
	}
	return true
}

func (b errorBody) statusOr(fallback string) string {
	if b.status != "" {
		return b.status
	}
	return fallback
}

// maxErrorBody bounds how much of an error response is parsed.
const maxErrorBody = 64 << 10

// readErrorBody parses the HTTP response behind a firebase error (a
// buffered copy, safe to read) for FCM's error details and Retry-After.
func readErrorBody(err error, now time.Time) errorBody {
	var out errorBody
	resp := errorutils.HTTPResponse(err)
	if resp == nil {
		return out
	}
	out.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	if resp.Body == nil {
		return out
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body struct {
		Error struct {
			Status  string `json:"status"`
			Details []struct {
				Type            string `json:"@type"`
				ErrorCode       string `json:"errorCode"`
				FieldViolations []struct {
					Field string `json:"field"`
				} `json:"fieldViolations"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &body) != nil {
		return out
	}
	out.status = body.Error.Status
	for _, d := range body.Error.Details {
		switch d.Type {
		case "type.googleapis.com/google.firebase.fcm.v1.FcmError":
			out.fcmCode = d.ErrorCode
		case "type.googleapis.com/google.rpc.BadRequest":
			for _, v := range d.FieldViolations {
				out.violationFields = append(out.violationFields, v.Field)
			}
		}
	}
	return out
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(push.RetryAfterCap/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), push.RetryAfterCap)
	}
	return 0
}
