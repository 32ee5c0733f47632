// Package vivo sends pushes through vivo push: an authToken from an md5
// sign, refreshed every couple of hours; /message/send for one device and,
// for one notice to many, saveListPayload then pushToList (2 to 1,000
// regIds); dead devices read from invalidUser(s). A thin client of our own
// against the documented REST API.
package vivo

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/internal/vendorkit"
)

// DefaultPushURL is the vendor's push host, used when none is configured.
const DefaultPushURL = "https://api-push.vivo.com.cn"

// DefaultCategory is the category of classification 1 (system) notices:
// TODO (待办).
const DefaultCategory = "TODO"

// DefaultTTL is how long vivo keeps a notice for an offline phone.
const DefaultTTL = 24 * time.Hour

// tokenRefresh is how long an authToken is used: vivo's is valid a day,
// but vivo advises fetching a new one every one to two hours (and rate-
// limits the auth call, so not more often).
const tokenRefresh = 2 * time.Hour

// Codes are vivo's answer codes that are not success. Only 10070 (daily
// total) is published with certainty (design doc); the others are
// configurable.
type Codes struct {
	// AuthExpired: the authToken was refused; fetch a new one once.
	AuthExpired []int
	// Throttled: flow control; retry later.
	Throttled []int
	// Quota: the day's total is used up; pause until Beijing midnight.
	Quota []int
}

// DefaultCodes are the codes used when Config.Codes is nil.
func DefaultCodes() Codes {
	return Codes{AuthExpired: []int{10000}, Throttled: []int{10072}, Quota: []int{10070}}
}

// Config is the vivo provider's configuration (VIVO_APP_ID, VIVO_APP_KEY,
// VIVO_APP_SECRET, VIVO_PUSH_URL).
type Config struct {
	AppID     string
	AppKey    string
	AppSecret string
	// PushURL is the push base URL; empty means DefaultPushURL.
	PushURL string
	// Category is the category of classification 1; empty means
	// DefaultCategory.
	Category string
	// TTL is the message's time to live; zero means DefaultTTL.
	TTL time.Duration
	// Codes classify vivo's answers; nil means DefaultCodes().
	Codes *Codes
	// HTTPClient carries the requests; nil means a new one.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Sender delivers pushes through vivo. Safe for concurrent use.
type Sender struct {
	cfg    Config
	codes  Codes
	client *vendorkit.Client
	tokens *vendorkit.TokenCache
}

// New builds a sender for cfg.
func New(cfg Config) (*Sender, error) {
	if cfg.AppID == "" || cfg.AppKey == "" || cfg.AppSecret == "" {
		return nil, errors.New("vivo: VIVO_APP_ID, VIVO_APP_KEY and VIVO_APP_SECRET are required")
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
	codes := DefaultCodes()
	if cfg.Codes != nil {
		codes = *cfg.Codes
	}
	s := &Sender{cfg: cfg, codes: codes, client: vendorkit.NewClient(cfg.HTTPClient)}
	s.tokens = vendorkit.NewTokenCache(s.fetchToken, 15*time.Minute, cfg.Now)
	return s, nil
}

// Sign is vivo's auth sign: md5_lower(appId + appKey + timestamp + appSecret).
func Sign(appID, appKey string, timestamp int64, appSecret string) string {
	sum := md5.Sum([]byte(appID + appKey + strconv.FormatInt(timestamp, 10) + appSecret))
	return hex.EncodeToString(sum[:])
}

// Answer is vivo's answer.
type Answer struct {
	Result      int    `json:"result"`
	Desc        string `json:"desc"`
	AuthToken   string `json:"authToken"`
	TaskID      string `json:"taskId"`
	InvalidUser *struct {
		Status int    `json:"status"`
		UserID string `json:"userid"`
	} `json:"invalidUser"`
	InvalidUsers []struct {
		Status int    `json:"status"`
		UserID string `json:"userid"`
	} `json:"invalidUsers"`
}

func (s *Sender) fetchToken(ctx context.Context) (vendorkit.Token, error) {
	now := s.cfg.Now()
	ts := now.UnixMilli()
	resp, err := s.client.PostJSON(ctx, vendorkit.JoinURL(s.cfg.PushURL, "/message/auth"), nil, map[string]any{
		"appId": s.cfg.AppID, "appKey": s.cfg.AppKey, "timestamp": ts,
		"sign": Sign(s.cfg.AppID, s.cfg.AppKey, ts, s.cfg.AppSecret),
	})
	if err != nil {
		return vendorkit.Token{}, err
	}
	var a Answer
	if resp.Status != http.StatusOK || json.Unmarshal(resp.Body, &a) != nil {
		return vendorkit.Token{}, fmt.Errorf("auth answered %d", resp.Status)
	}
	if a.Result != 0 || a.AuthToken == "" {
		if slices.Contains(s.codes.Throttled, a.Result) {
			return vendorkit.Token{}, fmt.Errorf("auth throttled (%d)", a.Result)
		}
		return vendorkit.Token{}, &vendorkit.AuthError{Code: strconv.Itoa(a.Result), Msg: a.Desc}
	}
	return vendorkit.Token{Value: a.AuthToken, Expiry: now.Add(tokenRefresh)}, nil
}

// TokenFetches counts the authTokens fetched so far.
func (s *Sender) TokenFetches() int { return s.tokens.Fetches() }

// post sends body to path with the cached authToken, refreshing it once
// when vivo refuses it.
func (s *Sender) post(ctx context.Context, path string, body any) (*vendorkit.Response, Answer, error) {
	u := vendorkit.JoinURL(s.cfg.PushURL, path)
	var a Answer
	resp, err := vendorkit.WithToken(ctx, s.tokens, func(tok string) (*vendorkit.Response, bool, error) {
		resp, err := s.client.PostJSON(ctx, u, http.Header{"authToken": {tok}}, body)
		if err != nil {
			return nil, false, err
		}
		a = Answer{}
		_ = json.Unmarshal(resp.Body, &a)
		return resp, resp.Status == http.StatusOK && slices.Contains(s.codes.AuthExpired, a.Result), nil
	})
	return resp, a, err
}

// requestID returns a fresh unique requestId.
func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// MaxBatch is the most regIds one pushToList carries (push-providers.md:
// regIds[2..1000]); a notice to one device goes by /message/send.
const MaxBatch = 1000

// plan is how Send cuts its messages into requests: one notice to up to
// MaxBatch devices each.
var plan = vendorkit.Plan{Provider: push.ProviderVivo, Max: MaxBatch, Grouping: vendorkit.SameContent}

// MaxBatch reports the most pushes of one notice for provider that one
// pushToList carries: MaxBatch for vivo, 0 for any other provider.
func (s *Sender) MaxBatch(provider string) int { return plan.MaxBatch(provider) }

// Send delivers each message, one request per device alone and two per
// notice content for up to MaxBatch devices, and returns one result per
// message in order.
func (s *Sender) Send(ctx context.Context, msgs []push.Message) []push.Result {
	return vendorkit.SendGroups(ctx, plan, msgs, s.send)
}

// send delivers a batch's notice to its devices: /message/send for one,
// saveListPayload then pushToList for more.
func (s *Sender) send(ctx context.Context, b vendorkit.Batch) ([]push.Result, error) {
	payload := BuildPayload(b.Msgs[0], s.cfg.AppID, s.cfg.Category, s.cfg.TTL)
	payload.RequestID = requestID()
	var (
		resp *vendorkit.Response
		a    Answer
		err  error
	)
	if len(b.Tokens) == 1 {
		payload.RegID = b.Tokens[0]
		resp, a, err = s.post(ctx, "/message/send", payload)
	} else {
		resp, a, err = s.post(ctx, "/message/saveListPayload", payload)
		if err == nil && resp.Status == http.StatusOK && a.Result == 0 && a.TaskID != "" {
			resp, a, err = s.post(ctx, "/message/pushToList", map[string]any{
				"regIds": b.Tokens, "taskId": a.TaskID, "requestId": requestID(),
			})
		}
	}
	if err != nil {
		return nil, err
	}
	return s.results(resp, a, b.Tokens), nil
}

// results maps one answer to each token's result.
func (s *Sender) results(resp *vendorkit.Response, a Answer, tokens []string) []push.Result {
	out := make([]push.Result, len(tokens))
	now := s.cfg.Now()
	code := strconv.Itoa(a.Result)
	var all push.Result
	switch {
	case resp.Status >= 500:
		all = push.Retry("http_"+strconv.Itoa(resp.Status), push.ParseRetryAfter(resp.Header.Get("Retry-After"), now))
	case resp.Status != http.StatusOK:
		all = vendorkit.HTTPResult(resp, now)
	case a.Result == 0:
		invalid := map[string]int{}
		if a.InvalidUser != nil {
			invalid[a.InvalidUser.UserID] = a.InvalidUser.Status
		}
		for _, u := range a.InvalidUsers {
			invalid[u.UserID] = u.Status
		}
		for i, t := range tokens {
			if st, ok := invalid[t]; ok {
				// 1: no such user; 2: uninstalled or unsubscribed.
				out[i] = push.Deactivate("invalid_user_" + strconv.Itoa(st))
			} else {
				out[i] = push.Sent(a.TaskID)
			}
		}
		return out
	case slices.Contains(s.codes.Quota, a.Result):
		all = push.QuotaExhausted(code, now)
	case slices.Contains(s.codes.Throttled, a.Result):
		all = push.Throttled(code, push.ParseRetryAfter(resp.Header.Get("Retry-After"), now))
	case slices.Contains(s.codes.AuthExpired, a.Result):
		all = push.AuthFailed(code)
	default:
		all = push.Failed(code)
	}
	for i := range out {
		out[i] = all
	}
	return out
}
