// Package honor sends pushes through Honor's push service: an OAuth
// client-credentials access token, one notice to up to 1,000 tokens, each
// token's fate read from the answer's failTokens and expireTokens. A thin
// client of our own against the documented REST API.
package honor

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/huawei"
	"github.com/weifang/kaigong-zsb/notify/push/internal/vendorkit"
)

// The vendor's hosts, used when the configuration names none.
const (
	DefaultAuthURL = "https://iam.developer.honor.com/auth/token"
	DefaultPushURL = "https://push-api.cloud.honor.com"
)

// DefaultImportance is android.notification.importance: NORMAL, the
// service class (LOW is marketing).
const DefaultImportance = "NORMAL"

// DefaultTTL is how long Honor keeps a notice for an offline phone.
const DefaultTTL = 24 * time.Hour

// Codes are the answer codes that are not plain success. Honor does not
// publish them in full (design doc: unconfirmed), so they are configurable;
// the defaults are the Huawei-style codes Honor's service inherited.
type Codes struct {
	// AuthExpired: the access token was refused; fetch a new one once.
	AuthExpired []int
	// Throttled: flow control; retry later.
	Throttled []int
	// Retry: a transient server error.
	Retry []int
}

// DefaultCodes are the codes used when Config.Codes is nil.
func DefaultCodes() Codes {
	return Codes{AuthExpired: []int{80200001, 80200003}, Throttled: []int{80300008}, Retry: []int{81000001}}
}

// Config is the Honor provider's configuration (HONOR_APP_ID,
// HONOR_CLIENT_ID, HONOR_CLIENT_SECRET, HONOR_AUTH_URL, HONOR_PUSH_URL).
type Config struct {
	AppID        string
	ClientID     string
	ClientSecret string
	// AuthURL is the full token URL; empty means DefaultAuthURL.
	AuthURL string
	// PushURL is the push base URL; empty means DefaultPushURL.
	PushURL string
	// Importance is the service class; empty means DefaultImportance.
	Importance string
	// BadgeClass is the app's launcher activity, which Honor's badge
	// needs; empty sends no badge.
	BadgeClass string
	// TTL is the message's time to live; zero means DefaultTTL.
	TTL time.Duration
	// Codes classify Honor's answers; nil means DefaultCodes().
	Codes *Codes
	// HTTPClient carries the requests; nil means a new one.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Sender delivers pushes through Honor. Safe for concurrent use.
type Sender struct {
	cfg    Config
	codes  Codes
	client *vendorkit.Client
	tokens *vendorkit.TokenCache
}

// New builds a sender for cfg.
func New(cfg Config) (*Sender, error) {
	if cfg.AppID == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("honor: HONOR_APP_ID, HONOR_CLIENT_ID and HONOR_CLIENT_SECRET are required")
	}
	if cfg.AuthURL == "" {
		cfg.AuthURL = DefaultAuthURL
	}
	if cfg.PushURL == "" {
		cfg.PushURL = DefaultPushURL
	}
	if cfg.Importance == "" {
		cfg.Importance = DefaultImportance
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	codes := DefaultCodes()
	if cfg.Codes != nil {
		codes = *cfg.Codes
	}
	s := &Sender{cfg: cfg, codes: codes, client: vendorkit.NewClient(cfg.HTTPClient)}
	s.tokens = vendorkit.NewTokenCache(s.fetchToken, 0, cfg.Now)
	return s, nil
}

func (s *Sender) fetchToken(ctx context.Context) (vendorkit.Token, error) {
	resp, err := s.client.PostForm(ctx, s.cfg.AuthURL, nil, url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {s.cfg.ClientID},
		"client_secret": {s.cfg.ClientSecret},
	})
	if err != nil {
		return vendorkit.Token{}, err
	}
	return huawei.ReadOAuthToken(resp, s.cfg.Now())
}

// TokenFetches counts the access tokens fetched so far.
func (s *Sender) TokenFetches() int { return s.tokens.Fetches() }

// Answer is Honor's answer to a send.
type Answer struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    struct {
		SendResult   bool     `json:"sendResult"`
		RequestID    string   `json:"requestId"`
		FailTokens   []string `json:"failTokens"`
		ExpireTokens []string `json:"expireTokens"`
	} `json:"data"`
}

// MaxBatch is the most tokens one Honor send carries (push-providers.md:
// 1,000).
const MaxBatch = 1000

// plan is how Send cuts its messages into requests: one notice to up to
// MaxBatch tokens each.
var plan = vendorkit.Plan{Provider: push.ProviderHonor, Max: MaxBatch, Grouping: vendorkit.SameContent}

// MaxBatch reports the most pushes of one notice for provider that one
// request carries: MaxBatch for Honor, 0 for any other provider.
func (s *Sender) MaxBatch(provider string) int { return plan.MaxBatch(provider) }

// Send delivers each message, one request per notice content and up to
// MaxBatch tokens, and returns one result per message in order.
func (s *Sender) Send(ctx context.Context, msgs []push.Message) []push.Result {
	return vendorkit.SendGroups(ctx, plan, msgs, s.send)
}

// send makes one request: a batch's notice to its tokens.
func (s *Sender) send(ctx context.Context, b vendorkit.Batch) ([]push.Result, error) {
	body := BuildMessage(b.Msgs[0], s.cfg.Importance, s.cfg.BadgeClass, s.cfg.TTL)
	body.Token = b.Tokens
	sendURL := vendorkit.JoinURL(s.cfg.PushURL, "/api/v1/"+url.PathEscape(s.cfg.AppID)+"/sendMessage")
	resp, err := vendorkit.WithToken(ctx, s.tokens, func(tok string) (*vendorkit.Response, bool, error) {
		resp, err := s.client.PostJSON(ctx, sendURL, http.Header{
			"Authorization": {"Bearer " + tok},
			"timestamp":     {strconv.FormatInt(s.cfg.Now().UnixMilli(), 10)},
		}, body)
		if err != nil {
			return nil, false, err
		}
		var a Answer
		_ = json.Unmarshal(resp.Body, &a)
		return resp, resp.Status == http.StatusUnauthorized || slices.Contains(s.codes.AuthExpired, a.Code), nil
	})
	if err != nil {
		return nil, err
	}
	return s.results(resp, b.Tokens), nil
}

// results maps one answer to each token's result.
func (s *Sender) results(resp *vendorkit.Response, tokens []string) []push.Result {
	out := make([]push.Result, len(tokens))
	var a Answer
	decodeErr := json.Unmarshal(resp.Body, &a)
	now := s.cfg.Now()
	code := strconv.Itoa(a.Code)
	var all push.Result
	switch {
	case resp.Status == http.StatusOK && decodeErr == nil && a.Code == 200:
		expired := map[string]bool{}
		failed := map[string]bool{}
		for _, t := range a.Data.ExpireTokens {
			expired[t] = true
		}
		for _, t := range a.Data.FailTokens {
			failed[t] = true
		}
		for i, t := range tokens {
			switch {
			case expired[t]:
				out[i] = push.Deactivate("expire_token")
			case failed[t]:
				// Honor does not say why; retry within the usual
				// attempt budget.
				out[i] = push.Retry("fail_token", 0)
			default:
				out[i] = push.Sent(a.Data.RequestID)
			}
		}
		return out
	case resp.Status == http.StatusTooManyRequests || resp.Status == http.StatusServiceUnavailable || slices.Contains(s.codes.Throttled, a.Code):
		all = push.Throttled(code, push.ParseRetryAfter(resp.Header.Get("Retry-After"), now))
	case resp.Status >= 500 || slices.Contains(s.codes.Retry, a.Code):
		all = push.Retry(code, push.ParseRetryAfter(resp.Header.Get("Retry-After"), now))
	case slices.Contains(s.codes.AuthExpired, a.Code):
		all = push.AuthFailed(code)
	case decodeErr != nil || a.Code == 0:
		all = vendorkit.HTTPResult(resp, now)
	default:
		all = push.Failed(code)
	}
	for i := range out {
		out[i] = all
	}
	return out
}
