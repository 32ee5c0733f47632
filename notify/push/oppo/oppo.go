// Package oppo sends pushes through OPPO (HeyTap) push: an auth token from
// a sha256 sign, valid a day; unicast for one device, unicast_batch for up
// to 1,000 messages (each its own content), every item answered on its
// own. A thin client of our own against the documented REST API.
package oppo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/internal/vendorkit"
)

// DefaultPushURL is the vendor's push host, used when none is configured.
const DefaultPushURL = "https://api.push.oppomobile.com"

// DefaultCategory is notification.category: TODO (待办), a service
// category of the private channel.
const DefaultCategory = "TODO"

// DefaultTTL is how long OPPO keeps a notice for an offline phone.
const DefaultTTL = 24 * time.Hour

// tokenLife is how long an OPPO auth token is valid; the answer names no
// expiry.
const tokenLife = 24 * time.Hour

// tokenMargin replaces the day-long token an hour early.
const tokenMargin = time.Hour

// Config is the OPPO provider's configuration (OPPO_APP_KEY,
// OPPO_MASTER_SECRET, OPPO_CHANNEL_ID, OPPO_CATEGORY, OPPO_PUSH_URL).
type Config struct {
	AppKey       string
	MasterSecret string
	// ChannelID is the registered private channel the notices go in.
	ChannelID string
	// Category is notification.category; empty means DefaultCategory.
	Category string
	// PushURL is the push base URL; empty means DefaultPushURL.
	PushURL string
	// TTL is the message's offline time to live; zero means DefaultTTL.
	TTL time.Duration
	// HTTPClient carries the requests; nil means a new one.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// OPPO's answer codes the sender acts on.
const (
	CodeSystemError   = -1
	CodeFlowControl   = -2
	CodeInvalidToken  = 11
	CodeCallLimit     = 13
	CodeTokenExpired  = 29
	CodeDailyQuota    = 33
	CodeCallLimit2    = 55
	CodeInvalidRegID  = 10000
	codeSuccess       = 0
	sendPathSingle    = "/server/v1/message/notification/unicast"
	sendPathBatch     = "/server/v1/message/notification/unicast_batch"
	authPath          = "/server/v1/auth"
	targetTypeRegID   = 2
	clickIntentScheme = 5
	clickOpenApp      = 0
)

// Sender delivers pushes through OPPO. Safe for concurrent use.
type Sender struct {
	cfg    Config
	client *vendorkit.Client
	tokens *vendorkit.TokenCache
}

// New builds a sender for cfg.
func New(cfg Config) (*Sender, error) {
	if cfg.AppKey == "" || cfg.MasterSecret == "" || cfg.ChannelID == "" {
		return nil, errors.New("oppo: OPPO_APP_KEY, OPPO_MASTER_SECRET and OPPO_CHANNEL_ID are required")
	}
	if cfg.Category == "" {
		cfg.Category = DefaultCategory
	}
	if cfg.PushURL == "" {
		cfg.PushURL = DefaultPushURL
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Sender{cfg: cfg, client: vendorkit.NewClient(cfg.HTTPClient)}
	s.tokens = vendorkit.NewTokenCache(s.fetchToken, tokenMargin, cfg.Now)
	return s, nil
}

// Answer is OPPO's answer: code, message and data (the auth token, a
// messageId, or the batch's items).
type Answer struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// Sign is OPPO's auth sign: hex(sha256(app_key + timestamp + master_secret)).
func Sign(appKey, timestamp, masterSecret string) string {
	sum := sha256.Sum256([]byte(appKey + timestamp + masterSecret))
	return hex.EncodeToString(sum[:])
}

func (s *Sender) fetchToken(ctx context.Context) (vendorkit.Token, error) {
	now := s.cfg.Now()
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	resp, err := s.client.PostForm(ctx, vendorkit.JoinURL(s.cfg.PushURL, authPath), nil, url.Values{
		"app_key": {s.cfg.AppKey}, "timestamp": {ts}, "sign": {Sign(s.cfg.AppKey, ts, s.cfg.MasterSecret)},
	})
	if err != nil {
		return vendorkit.Token{}, err
	}
	var a Answer
	if resp.Status != http.StatusOK || json.Unmarshal(resp.Body, &a) != nil {
		return vendorkit.Token{}, fmt.Errorf("auth answered %d", resp.Status)
	}
	var data struct {
		AuthToken string `json:"auth_token"`
	}
	_ = json.Unmarshal(a.Data, &data)
	switch {
	case a.Code == codeSuccess && data.AuthToken != "":
		return vendorkit.Token{Value: data.AuthToken, Expiry: now.Add(tokenLife)}, nil
	case a.Code == CodeSystemError || a.Code == CodeFlowControl:
		return vendorkit.Token{}, fmt.Errorf("auth answered code %d", a.Code)
	default:
		// A wrong key or sign: another try cannot help.
		return vendorkit.Token{}, &vendorkit.AuthError{Code: strconv.Itoa(a.Code), Msg: a.Message}
	}
}

// TokenFetches counts the auth tokens fetched so far.
func (s *Sender) TokenFetches() int { return s.tokens.Fetches() }

// MaxBatch is the most messages one unicast_batch carries
// (push-providers.md: 1,000), each with its own content.
const MaxBatch = 1000

// plan is how Send cuts its messages into requests: the next up to
// MaxBatch messages each, whatever their content.
var plan = vendorkit.Plan{Provider: push.ProviderOPPO, Max: MaxBatch, Grouping: vendorkit.AnyContent}

// MaxBatch reports the most pushes for provider that one request carries:
// MaxBatch for OPPO, 0 for any other provider.
func (s *Sender) MaxBatch(provider string) int { return plan.MaxBatch(provider) }

// Send delivers the messages, up to MaxBatch a request (one alone by
// unicast), and returns one result per message in order.
func (s *Sender) Send(ctx context.Context, msgs []push.Message) []push.Result {
	return vendorkit.SendGroups(ctx, plan, msgs, s.send)
}

// send makes one request: unicast for one message, unicast_batch for more.
func (s *Sender) send(ctx context.Context, b vendorkit.Batch) ([]push.Result, error) {
	form := url.Values{}
	path := sendPathSingle
	if len(b.Msgs) == 1 {
		raw, _ := json.Marshal(BuildMessage(b.Msgs[0], s.cfg.ChannelID, s.cfg.Category, s.cfg.TTL))
		form.Set("message", string(raw))
	} else {
		batch := make([]Message, len(b.Msgs))
		for j, m := range b.Msgs {
			batch[j] = BuildMessage(m, s.cfg.ChannelID, s.cfg.Category, s.cfg.TTL)
		}
		raw, _ := json.Marshal(batch)
		form.Set("messages", string(raw))
		path = sendPathBatch
	}
	sendURL := vendorkit.JoinURL(s.cfg.PushURL, path)
	resp, err := vendorkit.WithToken(ctx, s.tokens, func(tok string) (*vendorkit.Response, bool, error) {
		form.Set("auth_token", tok)
		resp, err := s.client.PostForm(ctx, sendURL, nil, form)
		if err != nil {
			return nil, false, err
		}
		var a Answer
		_ = json.Unmarshal(resp.Body, &a)
		return resp, a.Code == CodeInvalidToken || a.Code == CodeTokenExpired, nil
	})
	if err != nil {
		return nil, err
	}
	return s.results(resp, b.Tokens, len(b.Msgs) > 1), nil
}

// results maps one answer to each message's result.
func (s *Sender) results(resp *vendorkit.Response, tokens []string, batch bool) []push.Result {
	out := make([]push.Result, len(tokens))
	now := s.cfg.Now()
	var a Answer
	if resp.Status != http.StatusOK || json.Unmarshal(resp.Body, &a) != nil {
		vendorkit.Fill(out, allIndices(len(out)), vendorkit.HTTPResult(resp, now))
		return out
	}
	if a.Code != codeSuccess {
		vendorkit.Fill(out, allIndices(len(out)), s.classify(a.Code, resp, now))
		return out
	}
	if !batch {
		var d struct {
			MessageID string `json:"messageId"`
		}
		_ = json.Unmarshal(a.Data, &d)
		out[0] = push.Sent(d.MessageID)
		return out
	}
	var items []struct {
		MessageID      string `json:"messageId"`
		RegistrationID string `json:"registrationId"`
		ErrorCode      int    `json:"errorCode"`
	}
	_ = json.Unmarshal(a.Data, &items)
	byToken := map[string]push.Result{}
	for _, it := range items {
		if it.ErrorCode != 0 {
			byToken[it.RegistrationID] = s.classify(it.ErrorCode, resp, now)
		} else {
			byToken[it.RegistrationID] = push.Sent(it.MessageID)
		}
	}
	for i, t := range tokens {
		r, ok := byToken[t]
		if !ok {
			// Not named in the answer: we cannot know it went.
			r = push.Retry(push.CodeBadResponse, 0)
		}
		out[i] = r
	}
	return out
}

// classify maps an OPPO error code (of a call or of one item).
func (s *Sender) classify(code int, resp *vendorkit.Response, now time.Time) push.Result {
	c := strconv.Itoa(code)
	switch code {
	case CodeInvalidRegID:
		return push.Deactivate(c)
	case CodeFlowControl, CodeCallLimit, CodeCallLimit2:
		return push.Throttled(c, push.ParseRetryAfter(resp.Header.Get("Retry-After"), now))
	case CodeDailyQuota:
		return push.QuotaExhausted(c, now)
	case CodeSystemError:
		return push.Retry(c, 0)
	case CodeInvalidToken, CodeTokenExpired:
		return push.AuthFailed(c)
	}
	return push.Failed(c)
}

func allIndices(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
