// Package huawei sends pushes through Huawei Push Kit v1 (Android phones
// with Huawei Mobile Services): an OAuth client-credentials access token,
// sends of one notice to up to 1,000 tokens, partial success read from the
// answer's msg. A thin client of our own against the documented REST API.
package huawei

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/internal/hms"
	"github.com/weifang/kaigong-zsb/notify/push/internal/vendorkit"
)

// The vendor's hosts, used when the configuration names none.
const (
	DefaultAuthURL = "https://oauth-login.cloud.huawei.com/oauth2/v3/token"
	DefaultPushURL = "https://push-api.cloud.huawei.com"
)

// DefaultCategory is the android.category of our notices: WORK, a service
// class (marketing messages are capped at two a device a day).
const DefaultCategory = "WORK"

// DefaultTTL is how long Huawei keeps a notice for an offline phone.
const DefaultTTL = 24 * time.Hour

// Config is the Huawei provider's configuration (HMS_APP_ID,
// HMS_CLIENT_SECRET, HMS_AUTH_URL, HMS_PUSH_URL).
type Config struct {
	// AppID is the app's id, also its OAuth client id.
	AppID string
	// ClientSecret is the app's OAuth client secret.
	ClientSecret string
	// AuthURL is the full token URL; empty means DefaultAuthURL.
	AuthURL string
	// PushURL is the push base URL; empty means DefaultPushURL.
	PushURL string
	// Category is android.category; empty means DefaultCategory.
	Category string
	// BadgeClass is the app's launcher activity, which Huawei's badge
	// needs; empty sends no badge (the app sets it from unread_count).
	BadgeClass string
	// TTL is the message's time to live; zero means DefaultTTL.
	TTL time.Duration
	// HTTPClient carries the requests; nil means a new one.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Sender delivers pushes through Huawei Push Kit v1. Safe for concurrent
// use.
type Sender struct {
	cfg    Config
	client *vendorkit.Client
	tokens *vendorkit.TokenCache
}

// New builds a sender for cfg.
func New(cfg Config) (*Sender, error) {
	if cfg.AppID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("huawei: HMS_APP_ID and HMS_CLIENT_SECRET are required")
	}
	if cfg.AuthURL == "" {
		cfg.AuthURL = DefaultAuthURL
	}
	if cfg.PushURL == "" {
		cfg.PushURL = DefaultPushURL
	}
	if cfg.Category == "" {
		cfg.Category = DefaultCategory
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Sender{cfg: cfg, client: vendorkit.NewClient(cfg.HTTPClient)}
	s.tokens = vendorkit.NewTokenCache(s.fetchToken, 0, cfg.Now)
	return s, nil
}

// fetchToken exchanges the client credentials for an access token.
func (s *Sender) fetchToken(ctx context.Context) (vendorkit.Token, error) {
	resp, err := s.client.PostForm(ctx, s.cfg.AuthURL, nil, url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {s.cfg.AppID},
		"client_secret": {s.cfg.ClientSecret},
	})
	if err != nil {
		return vendorkit.Token{}, err
	}
	return ReadOAuthToken(resp, s.cfg.Now())
}

// ReadOAuthToken reads an OAuth 2.0 token answer ({access_token,
// expires_in} or {error, error_description}); a 4xx is an *AuthError.
func ReadOAuthToken(resp *vendorkit.Response, now time.Time) (vendorkit.Token, error) {
	var a struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   int64           `json:"expires_in"`
		Error       json.RawMessage `json:"error"`
		Description string          `json:"error_description"`
	}
	_ = json.Unmarshal(resp.Body, &a)
	switch {
	case resp.Status >= 400 && resp.Status < 500:
		code := string(a.Error)
		if code == "" {
			code = fmt.Sprintf("http_%d", resp.Status)
		}
		return vendorkit.Token{}, &vendorkit.AuthError{Code: code, Msg: a.Description}
	case resp.Status != http.StatusOK || a.AccessToken == "":
		return vendorkit.Token{}, fmt.Errorf("token endpoint answered %d", resp.Status)
	}
	if a.ExpiresIn <= 0 {
		a.ExpiresIn = 3600
	}
	return vendorkit.Token{Value: a.AccessToken, Expiry: now.Add(time.Duration(a.ExpiresIn) * time.Second)}, nil
}

// TokenFetches counts the access tokens fetched so far.
func (s *Sender) TokenFetches() int { return s.tokens.Fetches() }

// MaxBatch is the most tokens one Push Kit v1 send carries
// (push-providers.md: "up to 1,000 tokens a call").
const MaxBatch = 1000

// plan is how Send cuts its messages into requests: one notice to up to
// MaxBatch tokens each.
var plan = vendorkit.Plan{Provider: push.ProviderHuawei, Max: MaxBatch, Grouping: vendorkit.SameContent}

// MaxBatch reports the most pushes of one notice for provider that one
// request carries: MaxBatch for Huawei, 0 for any other provider.
func (s *Sender) MaxBatch(provider string) int { return plan.MaxBatch(provider) }

// Send delivers each message, one request per notice content and up to
// MaxBatch tokens, and returns one result per message in order.
func (s *Sender) Send(ctx context.Context, msgs []push.Message) []push.Result {
	return vendorkit.SendGroups(ctx, plan, msgs, s.send)
}

// send makes one request: a batch's notice to its tokens.
func (s *Sender) send(ctx context.Context, b vendorkit.Batch) ([]push.Result, error) {
	body := Request{Message: BuildMessage(b.Msgs[0], s.cfg.Category, s.cfg.BadgeClass, s.cfg.TTL)}
	body.Message.Token = b.Tokens
	sendURL := vendorkit.JoinURL(s.cfg.PushURL, "/v1/"+url.PathEscape(s.cfg.AppID)+"/messages:send")
	resp, err := hms.Post(ctx, s.client, s.tokens, sendURL, nil, body)
	if err != nil {
		return nil, err
	}
	return hms.Results(resp, b.Tokens, s.cfg.Now(), illegalTokens), nil
}

// illegalTokens reads a partial success's msg:
// {"success":n,"failure":m,"illegal_tokens":[…]}.
func illegalTokens(msg string) []string {
	var m struct {
		IllegalTokens []string `json:"illegal_tokens"`
	}
	_ = json.Unmarshal([]byte(msg), &m)
	return m.IllegalTokens
}
