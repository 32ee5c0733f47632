// Package apns sends pushes to iPhones through Apple's push service
// directly, with github.com/sideshow/apns2: token authentication with the
// team's .p8 key (an ES256 provider token, renewed by apns2 every 50
// minutes and once more when APNs calls it expired), one device a request
// over HTTP/2, each answer's reason mapped to the push's outcome.
package apns

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/token"

	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/internal/vendorkit"
)

// DefaultURL is Apple's production host (APNS_URL's default); the
// sandbox's is apns2.HostDevelopment.
const DefaultURL = apns2.HostProduction

// DefaultTTL is how long APNs keeps a notice for an offline phone.
const DefaultTTL = 24 * time.Hour

// DefaultParallel is how many requests a Send has in flight: HTTP/2
// multiplexes them over one connection.
const DefaultParallel = 64

// Config is the APNs provider's configuration (APNS_KEY_FILE,
// APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC, APNS_URL).
type Config struct {
	// KeyFile is the .p8 key file.
	KeyFile string
	// KeyPEM is the key's content, used instead of KeyFile when set.
	KeyPEM []byte
	KeyID  string
	TeamID string
	// Topic is the app's bundle id.
	Topic string
	// URL is the base URL; empty means DefaultURL. An http:// URL (a
	// local stand-in) is spoken to in HTTP/2 without TLS.
	URL string
	// TTL is the notice's expiration; zero means DefaultTTL.
	TTL time.Duration
	// Parallel bounds the requests in flight; zero means DefaultParallel.
	Parallel int
	// HTTPClient replaces apns2's HTTP/2 client (tests); nil keeps it.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Sender delivers pushes through APNs. Safe for concurrent use.
type Sender struct {
	cfg    Config
	client *apns2.Client
	token  *token.Token

	mu       sync.Mutex
	renewals int
}

// New builds a sender for cfg, reading the key.
func New(cfg Config) (*Sender, error) {
	if cfg.KeyID == "" || cfg.TeamID == "" || cfg.Topic == "" {
		return nil, errors.New("apns: APNS_KEY_ID, APNS_TEAM_ID and APNS_TOPIC are required")
	}
	var (
		key *ecdsa.PrivateKey
		err error
	)
	switch {
	case cfg.KeyPEM != nil:
		key, err = token.AuthKeyFromBytes(cfg.KeyPEM)
	case cfg.KeyFile != "":
		key, err = token.AuthKeyFromFile(cfg.KeyFile)
	default:
		return nil, errors.New("apns: APNS_KEY_FILE is required")
	}
	if err != nil {
		return nil, fmt.Errorf("apns: .p8 key: %w", err)
	}
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("apns: APNS_URL %q is not an http(s) URL", cfg.URL)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = DefaultParallel
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	tok := &token.Token{AuthKey: key, KeyID: cfg.KeyID, TeamID: cfg.TeamID}
	client := apns2.NewTokenClient(tok)
	client.Host = vendorkit.JoinURL(cfg.URL, "")
	switch {
	case cfg.HTTPClient != nil:
		client.HTTPClient = cfg.HTTPClient
	case u.Scheme == "http":
		// A local stand-in: HTTP/2 with prior knowledge, no TLS.
		t := &http.Transport{Protocols: new(http.Protocols)}
		t.Protocols.SetUnencryptedHTTP2(true)
		client.HTTPClient = &http.Client{Transport: t, Timeout: apns2.HTTPClientTimeout}
	}
	return &Sender{cfg: cfg, client: client, token: tok}, nil
}

// Renewals counts the provider tokens made anew because APNs called one
// expired.
func (s *Sender) Renewals() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.renewals
}

// renew makes a new provider token unless another request already
// replaced stale: one renewal for a burst of ExpiredProviderToken answers
// (APNs throttles renewing more often than every 20 minutes).
func (s *Sender) renew(stale string) error {
	s.token.Lock()
	defer s.token.Unlock()
	if s.token.Bearer != stale {
		return nil
	}
	if _, err := s.token.Generate(); err != nil {
		return err
	}
	s.mu.Lock()
	s.renewals++
	s.mu.Unlock()
	return nil
}

// MaxBatch reports how many pushes for provider the sender takes
// together: APNs takes one device a request (push-providers.md), so this
// is how many requests it keeps in flight over its HTTP/2 connection
// (Config.Parallel); 0 for any other provider.
func (s *Sender) MaxBatch(provider string) int {
	if provider != push.ProviderAPNs {
		return 0
	}
	return s.cfg.Parallel
}

// plan is how Send cuts its messages into requests: one each, up to
// Config.Parallel in flight.
func (s *Sender) plan() vendorkit.Plan {
	return vendorkit.Plan{Provider: push.ProviderAPNs, Max: 1, Grouping: vendorkit.AnyContent, Parallel: s.cfg.Parallel}
}

// Send delivers each message, one request each, and returns one result per
// message in order.
func (s *Sender) Send(ctx context.Context, msgs []push.Message) []push.Result {
	return vendorkit.SendGroups(ctx, s.plan(), msgs, func(ctx context.Context, b vendorkit.Batch) ([]push.Result, error) {
		return []push.Result{s.sendOne(ctx, b.Msgs[0])}, nil
	})
}

func (s *Sender) sendOne(ctx context.Context, m push.Message) push.Result {
	n, err := s.notification(m)
	if err != nil {
		return push.Failed("payload")
	}
	for attempt := 0; ; attempt++ {
		bearer := s.token.GenerateIfExpired()
		pctx, cancel := context.WithTimeout(ctx, vendorkit.DefaultTimeout)
		resp, err := s.client.PushWithContext(pctx, n)
		cancel()
		if err != nil {
			return vendorkit.ErrorResult(ctx, err)
		}
		if resp.StatusCode == http.StatusForbidden && resp.Reason == apns2.ReasonExpiredProviderToken && attempt == 0 {
			if err := s.renew(bearer); err != nil {
				return push.AuthFailed("sign")
			}
			continue
		}
		return s.result(resp)
	}
}

// result maps an APNs answer to the push's outcome.
func (s *Sender) result(r *apns2.Response) push.Result {
	switch {
	case r.StatusCode == http.StatusOK:
		return push.Sent(r.ApnsID)
	case r.Reason == apns2.ReasonUnregistered || r.Reason == apns2.ReasonExpiredToken ||
		r.Reason == apns2.ReasonBadDeviceToken || r.Reason == apns2.ReasonDeviceTokenNotForTopic:
		return push.Deactivate(r.Reason)
	case r.StatusCode == http.StatusTooManyRequests || r.Reason == apns2.ReasonTooManyProviderTokenUpdates:
		return push.Throttled(orStatus(r), 0)
	case r.StatusCode >= 500:
		return push.Retry(orStatus(r), 0)
	case r.StatusCode == http.StatusForbidden:
		// ExpiredProviderToken after a renewal, InvalidProviderToken (a
		// wrong key, key id or team), MissingProviderToken: the
		// credentials are wrong.
		return push.AuthFailed(orStatus(r))
	default:
		return push.Failed(orStatus(r))
	}
}

func orStatus(r *apns2.Response) string {
	if r.Reason != "" {
		return r.Reason
	}
	return fmt.Sprintf("http_%d", r.StatusCode)
}

func (s *Sender) notification(m push.Message) (*apns2.Notification, error) {
	payload, err := json.Marshal(BuildPayload(m))
	if err != nil {
		return nil, err
	}
	n := &apns2.Notification{
		DeviceToken: m.Token,
		Topic:       s.cfg.Topic,
		PushType:    apns2.PushTypeAlert,
		Priority:    apns2.PriorityLow,
		Expiration:  s.cfg.Now().Add(s.cfg.TTL),
		CollapseID:  collapseID(m.ProjectID),
		Payload:     payload,
	}
	if m.Critical {
		n.Priority = apns2.PriorityHigh
	}
	return n, nil
}

// collapseID is the project id, which APNs takes up to 64 bytes of.
func collapseID(projectID string) string {
	if len(projectID) <= 64 {
		return projectID
	}
	return ""
}

// Close closes the sender's idle connections.
func (s *Sender) Close() {
	s.client.CloseIdleConnections()
}
