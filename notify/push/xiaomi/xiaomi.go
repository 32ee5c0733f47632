// Package xiaomi sends pushes through Xiaomi MiPush: the app secret in
// every request (no token to fetch), form-encoded sends of one notice to
// up to 1,000 registration ids in the app's registered private channel,
// dead ids read from the answer's bad_regids. A thin client of our own
// against the documented REST API.
package xiaomi

import (
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/internal/vendorkit"
)

// DefaultPushURL is the vendor's push host, used when none is configured.
const DefaultPushURL = "https://api.xmpush.xiaomi.com"

// DefaultTTL is how long Xiaomi keeps a notice for an offline phone.
const DefaultTTL = 24 * time.Hour

// Config is the Xiaomi provider's configuration (XIAOMI_APP_SECRET,
// XIAOMI_PACKAGE, XIAOMI_CHANNEL_ID, XIAOMI_PUSH_URL).
type Config struct {
	AppSecret string
	// Package is the app's package name (restricted_package_name).
	Package string
	// ChannelID is the registered private channel (工作信息) the notices
	// go in: their service class.
	ChannelID string
	// PushURL is the push base URL; empty means DefaultPushURL.
	PushURL string
	// TTL is the message's time to live; zero means DefaultTTL.
	TTL time.Duration
	// HTTPClient carries the requests; nil means a new one.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Xiaomi's answer codes the sender acts on.
const (
	CodeBadSecret   = 21301
	CodeBadSecret2  = 21302
	CodeQuota       = 200001
	CodeDailyTotal  = 10034
	CodeTooFrequent = 10027
)

// Sender delivers pushes through MiPush. Safe for concurrent use.
type Sender struct {
	cfg    Config
	client *vendorkit.Client
}

// New builds a sender for cfg.
func New(cfg Config) (*Sender, error) {
	if cfg.AppSecret == "" || cfg.Package == "" || cfg.ChannelID == "" {
		return nil, errors.New("xiaomi: XIAOMI_APP_SECRET, XIAOMI_PACKAGE and XIAOMI_CHANNEL_ID are required")
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
	return &Sender{cfg: cfg, client: vendorkit.NewClient(cfg.HTTPClient)}, nil
}

// Answer is MiPush's answer to a send.
type Answer struct {
	Result      string `json:"result"`
	Code        int    `json:"code"`
	Reason      string `json:"reason"`
	Description string `json:"description"`
	Data        struct {
		ID string `json:"id"`
		// BadRegIDs lists the dead registration ids: a comma-separated
		// string or an array (the design doc marks it unconfirmed).
		BadRegIDs json.RawMessage `json:"bad_regids"`
	} `json:"data"`
}

// MaxBatch is the most registration ids one MiPush send carries
// (push-providers.md: 1,000).
const MaxBatch = 1000

// plan is how Send cuts its messages into requests: one notice to up to
// MaxBatch registration ids each.
var plan = vendorkit.Plan{Provider: push.ProviderXiaomi, Max: MaxBatch, Grouping: vendorkit.SameContent}

// MaxBatch reports the most pushes of one notice for provider that one
// request carries: MaxBatch for Xiaomi, 0 for any other provider.
func (s *Sender) MaxBatch(provider string) int { return plan.MaxBatch(provider) }

// Send delivers each message, one request per notice content and up to
// MaxBatch registration ids, and returns one result per message in order.
func (s *Sender) Send(ctx context.Context, msgs []push.Message) []push.Result {
	return vendorkit.SendGroups(ctx, plan, msgs, s.send)
}

// send makes one request: a batch's notice to its registration ids. The
// static app secret is the whole credential: there is nothing to refresh.
func (s *Sender) send(ctx context.Context, b vendorkit.Batch) ([]push.Result, error) {
	form := BuildForm(b.Msgs[0], s.cfg.Package, s.cfg.ChannelID, s.cfg.TTL)
	form.Set("registration_id", strings.Join(b.Tokens, ","))
	resp, err := s.client.PostForm(ctx, vendorkit.JoinURL(s.cfg.PushURL, "/v3/message/regid"),
		http.Header{"Authorization": {"key=" + s.cfg.AppSecret}}, form)
	if err != nil {
		return nil, err
	}
	return s.results(resp, b.Tokens), nil
}

func (s *Sender) results(resp *vendorkit.Response, tokens []string) []push.Result {
	out := make([]push.Result, len(tokens))
	var a Answer
	decodeErr := json.Unmarshal(resp.Body, &a)
	now := s.cfg.Now()
	code := strconv.Itoa(a.Code)
	var all push.Result
	switch {
	case resp.Status >= 500:
		all = push.Retry("http_"+strconv.Itoa(resp.Status), push.ParseRetryAfter(resp.Header.Get("Retry-After"), now))
	case decodeErr != nil || resp.Status != http.StatusOK:
		all = vendorkit.HTTPResult(resp, now)
	case a.Result == "ok" && a.Code == 0:
		bad := map[string]bool{}
		for _, t := range badRegIDs(a.Data.BadRegIDs) {
			bad[t] = true
		}
		for i, t := range tokens {
			if bad[t] {
				out[i] = push.Deactivate("bad_regid")
			} else {
				out[i] = push.Sent(a.Data.ID)
			}
		}
		return out
	case a.Code == CodeBadSecret || a.Code == CodeBadSecret2:
		// A static secret: there is nothing to refresh.
		all = push.AuthFailed(code)
	case a.Code == CodeQuota || a.Code == CodeDailyTotal:
		all = push.QuotaExhausted(code, now)
	case a.Code == CodeTooFrequent:
		all = push.Throttled(code, push.ParseRetryAfter(resp.Header.Get("Retry-After"), now))
	default:
		all = push.Failed(code)
	}
	for i := range out {
		out[i] = all
	}
	return out
}

// badRegIDs reads bad_regids as a comma-separated string or an array.
func badRegIDs(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil
	}
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			list = append(list, t)
		}
	}
	return list
}

// MiPush's text limits: a title under 50 characters, a description under
// 128.
const (
	maxTitle       = 49
	maxDescription = 127
)

// BuildForm maps a push onto MiPush's form fields (without
// registration_id): title and description, the data fields as payload (a
// JSON string), the private channel, the deep link as an intent
// (notify_effect 2), the project as notify_id. MiPush has no per-message
// priority: the private channel's importance, set in the console, is the
// high-priority form, so critical notices go as every other.
func BuildForm(m push.Message, pkg, channelID string, ttl time.Duration) url.Values {
	f := url.Values{
		"restricted_package_name": {pkg},
		"title":                   {vendorkit.Truncate(m.Title, maxTitle)},
		"description":             {vendorkit.Truncate(m.Body, maxDescription)},
		"pass_through":            {"0"},
		"notify_type":             {"-1"},
		"payload":                 {vendorkit.DataJSON(m)},
		"time_to_live":            {strconv.FormatInt(ttl.Milliseconds(), 10)},
		"extra.channel_id":        {channelID},
		"extra.notify_effect":     {"1"},
	}
	if m.Route != "" {
		f.Set("extra.notify_effect", "2")
		f.Set("extra.intent_uri", m.Route)
	}
	if m.ProjectID != "" {
		h := fnv.New32a()
		h.Write([]byte(m.ProjectID))
		f.Set("notify_id", strconv.FormatUint(uint64(h.Sum32()&0x7fffffff), 10))
	}
	return f
}
