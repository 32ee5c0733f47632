package push

import (
	"net/http"
	"strconv"
	"time"
)

// Our own error codes, for failures that are not a provider's answer. A
// vendor's own code (e.g. Huawei "80300007", Xiaomi "10034") is reported as
// the vendor sent it.
const (
	// CodeProviderUnsupported: no sender is configured for the provider.
	CodeProviderUnsupported = "provider_unsupported"
	// CodeMissingToken: the device has no push token.
	CodeMissingToken = "missing_token"
	// CodeTransport: the request did not get an answer (network, timeout).
	CodeTransport = "transport"
	// CodeCanceled: the caller's context ended before the push was sent.
	CodeCanceled = "canceled"
	// CodeAuthFailed: the provider rejected our credentials.
	CodeAuthFailed = "auth_failed"
	// CodeBadResponse: the provider answered something we cannot read.
	CodeBadResponse = "bad_response"
)

// Sent is the result of a push the provider accepted.
func Sent(messageID string) Result {
	return Result{Outcome: OutcomeSent, MessageID: messageID}
}

// Retry is the result of a transient failure (a server error, a timeout):
// send again after Backoff(attempt, retryAfter).
func Retry(code string, retryAfter time.Duration) Result {
	return Result{Outcome: OutcomeRetry, ErrorCode: code, RetryAfter: min(max(retryAfter, 0), RetryAfterCap)}
}

// Throttled is the result of the provider's flow control: a retry that
// honours the provider's hint (zero when it gave none; Backoff then decides).
func Throttled(code string, retryAfter time.Duration) Result {
	return Retry(code, retryAfter)
}

// Failed is the result of a permanent failure of this push.
func Failed(code string) Result {
	return Result{Outcome: OutcomeFailed, ErrorCode: code}
}

// Deactivate is the result of a push to a dead token (invalid, expired,
// app uninstalled): the device must be deactivated.
func Deactivate(code string) Result {
	return Result{Outcome: OutcomeDeactivate, ErrorCode: code}
}

// QuotaExhausted is the result of a push refused because the provider's
// daily quota is used up: paused until the vendor's day resets, the next
// midnight in Beijing after now.
func QuotaExhausted(code string, now time.Time) Result {
	return Result{Outcome: OutcomePaused, ErrorCode: code, PauseUntil: NextBeijingMidnight(now)}
}

// AuthFailed is the result of a push refused because the provider rejected
// our credentials even after a fresh access token.
func AuthFailed(code string) Result {
	if code == "" {
		code = CodeAuthFailed
	}
	return Result{Outcome: OutcomeAuthFailed, ErrorCode: code}
}

// beijing is China Standard Time: UTC+8 all year, no daylight saving. A
// fixed zone keeps the quota reset right on hosts without tzdata.
var beijing = time.FixedZone("CST", 8*60*60)

// NextBeijingMidnight returns the first midnight in Beijing strictly after
// t: when the Chinese vendors' daily quotas reset.
func NextBeijingMidnight(t time.Time) time.Time {
	b := t.In(beijing)
	return time.Date(b.Year(), b.Month(), b.Day()+1, 0, 0, 0, 0, beijing)
}

// ParseRetryAfter reads a Retry-After header (delay-seconds or an HTTP date)
// relative to now, capped at RetryAfterCap; zero when absent or unreadable.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(RetryAfterCap/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), RetryAfterCap)
	}
	return 0
}
