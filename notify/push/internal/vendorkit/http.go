package vendorkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/weifang/kaigong-zsb/notify/push"
)

// DefaultTimeout bounds one request to a vendor when the caller's context
// has no earlier deadline.
const DefaultTimeout = 30 * time.Second

// maxAnswer bounds how much of a vendor's answer is read.
const maxAnswer = 1 << 20

// NewHTTPClient returns an HTTP client for one vendor: the default
// transport's settings (proxy, TLS roots from the system or SSL_CERT_FILE)
// with idle connections kept for the pipeline's concurrency.
func NewHTTPClient() *http.Client {
	base, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return &http.Client{}
	}
	t := base.Clone()
	t.MaxIdleConns = 100
	t.MaxIdleConnsPerHost = 100
	return &http.Client{Transport: t}
}

// Response is a vendor's answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Client posts to one vendor with a deadline.
type Client struct {
	// HTTP is the client requests go through; nil means a NewHTTPClient.
	HTTP *http.Client
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
}

// NewClient returns a client over hc (nil: a new one).
func NewClient(hc *http.Client) *Client {
	if hc == nil {
		hc = NewHTTPClient()
	}
	return &Client{HTTP: hc, Timeout: DefaultTimeout}
}

// PostJSON posts body as JSON to u with the extra headers.
func (c *Client) PostJSON(ctx context.Context, u string, header http.Header, body any) (*Response, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return c.post(ctx, u, "application/json; charset=UTF-8", header, raw)
}

// PostForm posts form URL-encoded to u with the extra headers.
func (c *Client) PostForm(ctx context.Context, u string, header http.Header, form url.Values) (*Response, error) {
	return c.post(ctx, u, "application/x-www-form-urlencoded; charset=UTF-8", header, []byte(form.Encode()))
}

func (c *Client) post(ctx context.Context, u, contentType string, header http.Header, body []byte) (*Response, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}, nil
}

// JoinURL appends a vendor's documented path to a configured base URL
// (scheme, host, port, and in tests a stand-in's path prefix).
func JoinURL(base, path string) string {
	return strings.TrimRight(base, "/") + path
}

// ErrorResult maps an error from a token fetch or a request to a push
// result: credentials rejected (an *AuthError or ErrStillExpired) stop the
// provider; anything else (network, timeout, an unreadable answer) retries.
func ErrorResult(ctx context.Context, err error) push.Result {
	if code, ok := AuthCode(err); ok {
		return push.AuthFailed(code)
	}
	if errors.Is(err, ErrStillExpired) {
		return push.AuthFailed(push.CodeAuthFailed)
	}
	if ctx.Err() != nil {
		return push.Retry(push.CodeCanceled, 0)
	}
	return push.Retry(push.CodeTransport, 0)
}

// HTTPResult maps an HTTP status that carries no vendor code of interest:
// 429 and 503 are flow control (honouring Retry-After), other 5xx retry,
// 401/403 mean the credentials, and other 4xx are our bug (failed).
func HTTPResult(resp *Response, now time.Time) push.Result {
	code := "http_" + strconv.Itoa(resp.Status)
	switch {
	case resp.Status == http.StatusTooManyRequests || resp.Status == http.StatusServiceUnavailable:
		return push.Throttled(code, push.ParseRetryAfter(resp.Header.Get("Retry-After"), now))
	case resp.Status >= 500:
		return push.Retry(code, push.ParseRetryAfter(resp.Header.Get("Retry-After"), now))
	case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden:
		return push.AuthFailed(code)
	default:
		return push.Failed(code)
	}
}

// Fill sets results[i] = r for each index.
func Fill(results []push.Result, idx []int, r push.Result) {
	for _, i := range idx {
		results[i] = r
	}
}

// Canceled fills the results of idx when ctx ended before they were sent,
// and reports whether it did.
func Canceled(ctx context.Context, results []push.Result, idx []int) bool {
	if ctx.Err() == nil {
		return false
	}
	Fill(results, idx, push.Retry(push.CodeCanceled, 0))
	return true
}
