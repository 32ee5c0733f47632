// Package harmony sends pushes through Huawei Push Kit v3, the API for
// HarmonyOS 5+ native apps: requests signed with a PS256 JWT of the
// project's service account (no OAuth call), one notice to up to 1,000
// tokens, partial success read from the answer's msg. A thin client of our
// own against the documented REST API.
package harmony

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/internal/hms"
	"github.com/weifang/kaigong-zsb/notify/push/internal/vendorkit"
)

// DefaultPushURL is the vendor's push host, used when none is configured.
const DefaultPushURL = "https://push-api.cloud.huawei.com"

// DefaultCategory is notification.category: WORK, a service class.
const DefaultCategory = "WORK"

// DefaultTTL is how long Huawei keeps a notice for an offline phone.
const DefaultTTL = 24 * time.Hour

// jwtLife is how long a signed JWT is valid (Huawei accepts at most an
// hour); the cache replaces it five minutes before.
const jwtLife = time.Hour

// Config is the HarmonyOS provider's configuration (HARMONY_PROJECT_ID,
// HARMONY_SERVICE_ACCOUNT_FILE, HARMONY_PUSH_URL).
type Config struct {
	// ProjectID is the AppGallery Connect project; empty means the
	// service account's project_id.
	ProjectID string
	// ServiceAccountFile is the service account's JSON key file.
	ServiceAccountFile string
	// ServiceAccountJSON is the file's content, used instead of reading
	// ServiceAccountFile when set.
	ServiceAccountJSON []byte
	// PushURL is the push base URL; empty means DefaultPushURL.
	PushURL string
	// Category is notification.category; empty means DefaultCategory.
	Category string
	// TTL is the message's time to live; zero means DefaultTTL.
	TTL time.Duration
	// HTTPClient carries the requests; nil means a new one.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// serviceAccount is the part of the key file the sender uses.
type serviceAccount struct {
	ProjectID  string `json:"project_id"`
	KeyID      string `json:"key_id"`
	PrivateKey string `json:"private_key"`
	SubAccount string `json:"sub_account"`
	TokenURI   string `json:"token_uri"`
}

// Sender delivers pushes through Push Kit v3. Safe for concurrent use.
type Sender struct {
	cfg    Config
	sa     serviceAccount
	key    *rsa.PrivateKey
	client *vendorkit.Client
	tokens *vendorkit.TokenCache
}

// New builds a sender for cfg, reading the service account.
func New(cfg Config) (*Sender, error) {
	raw := cfg.ServiceAccountJSON
	if raw == nil {
		if cfg.ServiceAccountFile == "" {
			return nil, errors.New("harmony: HARMONY_SERVICE_ACCOUNT_FILE is required")
		}
		var err error
		if raw, err = os.ReadFile(cfg.ServiceAccountFile); err != nil {
			return nil, fmt.Errorf("harmony: service account: %w", err)
		}
	}
	var sa serviceAccount
	if err := json.Unmarshal(raw, &sa); err != nil {
		return nil, fmt.Errorf("harmony: service account: %w", err)
	}
	if sa.KeyID == "" || sa.SubAccount == "" || sa.PrivateKey == "" || sa.TokenURI == "" {
		return nil, errors.New("harmony: service account lacks key_id, sub_account, private_key or token_uri")
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(sa.PrivateKey))
	if err != nil {
		return nil, fmt.Errorf("harmony: service account key: %w", err)
	}
	if cfg.ProjectID == "" {
		cfg.ProjectID = sa.ProjectID
	}
	if cfg.ProjectID == "" {
		return nil, errors.New("harmony: HARMONY_PROJECT_ID is required")
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
	s := &Sender{cfg: cfg, sa: sa, key: key, client: vendorkit.NewClient(cfg.HTTPClient)}
	s.tokens = vendorkit.NewTokenCache(s.sign, 0, cfg.Now)
	return s, nil
}

// sign makes a JWT: header {alg PS256, kid}, claims {iss: sub_account,
// aud: token_uri, iat, exp}.
func (s *Sender) sign(context.Context) (vendorkit.Token, error) {
	now := s.cfg.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodPS256, jwt.RegisteredClaims{
		Issuer:    s.sa.SubAccount,
		Audience:  jwt.ClaimStrings{s.sa.TokenURI},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(jwtLife)),
	})
	t.Header["kid"] = s.sa.KeyID
	signed, err := t.SignedString(s.key)
	if err != nil {
		return vendorkit.Token{}, &vendorkit.AuthError{Code: "sign", Msg: err.Error()}
	}
	return vendorkit.Token{Value: signed, Expiry: now.Add(jwtLife)}, nil
}

// TokenFetches counts the JWTs signed so far.
func (s *Sender) TokenFetches() int { return s.tokens.Fetches() }

// MaxBatch is the most tokens one Push Kit v3 send carries
// (push-providers.md: 1,000, as v1).
const MaxBatch = 1000

// plan is how Send cuts its messages into requests: one notice to up to
// MaxBatch tokens each.
var plan = vendorkit.Plan{Provider: push.ProviderHarmony, Max: MaxBatch, Grouping: vendorkit.SameContent}

// MaxBatch reports the most pushes of one notice for provider that one
// request carries: MaxBatch for HarmonyOS, 0 for any other provider.
func (s *Sender) MaxBatch(provider string) int { return plan.MaxBatch(provider) }

// Send delivers each message, one request per notice content and up to
// MaxBatch tokens, and returns one result per message in order.
func (s *Sender) Send(ctx context.Context, msgs []push.Message) []push.Result {
	return vendorkit.SendGroups(ctx, plan, msgs, s.send)
}

// send makes one request: a batch's notice to its tokens.
func (s *Sender) send(ctx context.Context, b vendorkit.Batch) ([]push.Result, error) {
	body := BuildRequest(b.Msgs[0], s.cfg.Category, s.cfg.TTL)
	body.Target.Token = b.Tokens
	sendURL := vendorkit.JoinURL(s.cfg.PushURL, "/v3/"+url.PathEscape(s.cfg.ProjectID)+"/messages:send")
	resp, err := hms.Post(ctx, s.client, s.tokens, sendURL, http.Header{"push-type": {"0"}}, body) // an alert notification
	if err != nil {
		return nil, err
	}
	return hms.Results(resp, b.Tokens, s.cfg.Now(), illegalTokens), nil
}

// illegalTokens reads a partial success's msg: {"illegalTokens":
// {reason: […]}}, every reason meaning the token is dead.
func illegalTokens(msg string) []string {
	var m struct {
		IllegalTokens map[string][]string `json:"illegalTokens"`
	}
	_ = json.Unmarshal([]byte(msg), &m)
	var out []string
	for _, toks := range m.IllegalTokens {
		out = append(out, toks...)
	}
	return out
}
