// Package hms reads the answers of Huawei Push Kit, which v1 (Android) and
// v3 (HarmonyOS) share: {code, msg, requestId}, code "80000000" for
// success, "80100000" for partial success with the failed tokens in msg (a
// JSON object in a string), "80300007" when every token is invalid.
package hms

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/internal/vendorkit"
)

// Push Kit answer codes the senders act on.
const (
	CodeSuccess      = "80000000"
	CodePartial      = "80100000"
	CodeAuthError    = "80200001"
	CodeTokenExpired = "80200003"
	CodeAllInvalid   = "80300007"
	CodeInternal     = "81000001"
)

// CodeIllegalToken is the error code recorded for a token a partial
// success names as illegal.
const CodeIllegalToken = "illegal_token"

// Answer is a Push Kit answer.
type Answer struct {
	Code      string `json:"code"`
	Msg       string `json:"msg"`
	RequestID string `json:"requestId"`
}

// AuthExpired reports whether resp says the access token (or JWT) was
// rejected, which a fresh one may fix.
func AuthExpired(resp *vendorkit.Response) bool {
	if resp.Status != http.StatusUnauthorized && resp.Status != http.StatusForbidden {
		var a Answer
		if json.Unmarshal(resp.Body, &a) != nil {
			return false
		}
		return a.Code == CodeAuthError || a.Code == CodeTokenExpired
	}
	return true
}

// Post posts body as JSON to u with the cached access token (v1) or JWT
// (v3) as the bearer, beside the extra headers, and fetches a fresh one
// once when Push Kit refuses it.
func Post(ctx context.Context, c *vendorkit.Client, tokens *vendorkit.TokenCache, u string, header http.Header, body any) (*vendorkit.Response, error) {
	return vendorkit.WithToken(ctx, tokens, func(tok string) (*vendorkit.Response, bool, error) {
		h := http.Header{"Authorization": {"Bearer " + tok}}
		for k, v := range header {
			h[k] = v
		}
		resp, err := c.PostJSON(ctx, u, h, body)
		if err != nil {
			return nil, false, err
		}
		return resp, AuthExpired(resp), nil
	})
}

// Results maps one send's answer to the result of each token sent.
// illegal reads the tokens a partial success's msg names.
func Results(resp *vendorkit.Response, tokens []string, now time.Time, illegal func(msg string) []string) []push.Result {
	out := make([]push.Result, len(tokens))
	fill := func(r push.Result) []push.Result {
		for i := range out {
			out[i] = r
		}
		return out
	}
	var a Answer
	_ = json.Unmarshal(resp.Body, &a)
	switch {
	case resp.Status == http.StatusServiceUnavailable || resp.Status == http.StatusTooManyRequests:
		// Flow control.
		return fill(push.Throttled(orHTTP(a.Code, resp), push.ParseRetryAfter(resp.Header.Get("Retry-After"), now)))
	case a.Code == CodeInternal || resp.Status >= 500:
		return fill(push.Retry(orHTTP(a.Code, resp), push.ParseRetryAfter(resp.Header.Get("Retry-After"), now)))
	case a.Code == CodeSuccess:
		return fill(push.Sent(a.RequestID))
	case a.Code == CodeAllInvalid:
		return fill(push.Deactivate(CodeAllInvalid))
	case a.Code == CodePartial:
		bad := map[string]bool{}
		for _, t := range illegal(a.Msg) {
			bad[t] = true
		}
		for i, t := range tokens {
			if bad[t] {
				out[i] = push.Deactivate(CodeIllegalToken)
			} else {
				out[i] = push.Sent(a.RequestID)
			}
		}
		return out
	case a.Code == CodeAuthError || a.Code == CodeTokenExpired:
		return fill(push.AuthFailed(a.Code))
	case a.Code == "":
		return fill(vendorkit.HTTPResult(resp, now))
	default:
		// Our message was refused (bad structure, too many tokens, no
		// permission): retrying the same message cannot help.
		return fill(push.Failed(a.Code))
	}
}

func orHTTP(code string, resp *vendorkit.Response) string {
	if code != "" {
		return code
	}
	return vendorkit.HTTPResult(resp, time.Time{}).ErrorCode
}
