// Package fcm is the Firebase Cloud Messaging sender: it renders a
// push.Message as an FCM HTTP v1 message and sends batches through the
// Firebase Admin SDK, mapping FCM's answers onto push outcomes.
package fcm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"

	"github.com/weifang/kaigong-zsb/notify/push"
)

// maxBatch is the most messages one SendEach call accepts.
const maxBatch = 500

// LocalProjectID is the Firebase project id used when pushes go to a
// local sink and no project was configured.
const LocalProjectID = "kaigong-local"

// Config says where FCM pushes go (FCM_PROJECT_ID, FCM_CREDENTIALS_FILE,
// FCM_ENDPOINT).
type Config struct {
	// ProjectID is the Firebase project. With a credentials file it may be
	// empty (the file names the project); with only an Endpoint it
	// defaults to LocalProjectID.
	ProjectID string
	// CredentialsFile is a service-account JSON file for the real FCM.
	CredentialsFile string
	// Endpoint overrides FCM's base URL, e.g. "http://127.0.0.1:9099/v1";
	// the client posts to Endpoint + "/projects/{project}/messages:send".
	// Without CredentialsFile requests are sent unauthenticated, which only a
	// local sink accepts.
	Endpoint string
	// Conns is how many idle connections the transport keeps; zero means
	// DefaultConns.
	Conns int
}

// Sender delivers pushes through FCM HTTP v1 with firebase-admin-go. It is
// safe for concurrent use.
type Sender struct {
	client *messaging.Client
	now    func() time.Time
}

// NewSender builds a sender for cfg. It needs a credentials file (the
// real FCM) or an endpoint (a local sink); with neither it fails rather
// than guess at ambient Google credentials.
func NewSender(ctx context.Context, cfg Config) (*Sender, error) {
	var opts []option.ClientOption
	switch {
	case cfg.CredentialsFile != "":
		// Kept beside the HTTP client so that the SDK still reads the
		// project id from the file when none was configured.
		opts = append(opts, option.WithCredentialsFile(cfg.CredentialsFile))
	case cfg.Endpoint != "":
		// The client below sends no credentials; this keeps the SDK from
		// looking for ambient ones should it ever build a client itself.
		opts = append(opts, option.WithoutAuthentication())
		if cfg.ProjectID == "" {
			cfg.ProjectID = LocalProjectID
		}
	default:
		return nil, errors.New("fcm: FCM needs a credentials file or an endpoint")
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("fcm: FCM endpoint %q is not an http(s) URL", cfg.Endpoint)
		}
		// The client appends "/projects/…" itself; a trailing slash would
		// double it.
		opts = append(opts, option.WithEndpoint(strings.TrimRight(cfg.Endpoint, "/")))
	}
	if cfg.Conns <= 0 {
		cfg.Conns = DefaultConns
	}
	hc, err := newHTTPClient(ctx, cfg.CredentialsFile, cfg.Conns)
	if err != nil {
		return nil, err
	}
	opts = append(opts, option.WithHTTPClient(hc))
	if cfg.ProjectID == "" {
		// Configuration is parsed once, in main: the project comes from it
		// or from the service-account file, never from the environment
		// behind our back.
		if cfg.ProjectID, err = projectOfCredentials(cfg.CredentialsFile); err != nil {
			return nil, err
		}
	}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: cfg.ProjectID}, opts...)
	if err != nil {
		return nil, fmt.Errorf("fcm: firebase app: %w", err)
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("fcm: firebase messaging: %w", err)
	}
	return &Sender{client: client, now: time.Now}, nil
}

// projectOfCredentials reads the project id a service-account file names.
func projectOfCredentials(file string) (string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("fcm: FCM credentials: %w", err)
	}
	var sa struct {
		ProjectID string `json:"project_id"`
	}
	if err := json.Unmarshal(raw, &sa); err != nil || sa.ProjectID == "" {
		return "", fmt.Errorf("fcm: FCM credentials file %s names no project_id; set FCM_PROJECT_ID", file)
	}
	return sa.ProjectID, nil
}

// scope is the OAuth scope FCM HTTP v1 sends need, and all the
// sender's token is good for.
const scope = "https://www.googleapis.com/auth/firebase.messaging"

// DefaultConns is how many idle connections to FCM the transport keeps when
// Config.Conns is zero: one per request the pipeline may have in flight
// (firebase-admin-go's SendEach sends with 50 goroutines, and the pipeline
// sends up to four batches at once), so that connections are reused between
// requests instead of being closed and dialed again. The transport Google's
// client libraries build keeps 100. Over HTTP/2 (the real FCM) one
// connection carries many requests anyway.
const DefaultConns = 200

// newHTTPClient is the HTTP client FCM requests go through: a transport
// sized for the sender's concurrency, authenticated with the service account
// in credentialsFile, or not at all for a local sink (credentialsFile empty).
// The client Google's libraries would build also wraps every request in
// OpenTelemetry instrumentation, which nothing here exports and which makes
// each request cost two writes instead of one (the wrapped body is flushed
// apart from the headers); this one leaves it out.
func newHTTPClient(ctx context.Context, credentialsFile string, conns int) (*http.Client, error) {
	base, ok := http.DefaultTransport.(*http.Transport)
	if !ok { // replaced by someone: start from net/http's defaults
		base = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true,
			IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second, ExpectContinueTimeout: time.Second}
	}
	base = base.Clone()
	base.MaxIdleConns = conns
	base.MaxIdleConnsPerHost = conns
	// Like Google's transport: prune a dead HTTP/2 connection by pinging it
	// after 31 s of silence.
	base.HTTP2 = &http.HTTP2Config{SendPingTimeout: 31 * time.Second}
	if credentialsFile == "" {
		return &http.Client{Transport: base}, nil
	}
	rt, err := htransport.NewTransport(ctx, base, option.WithCredentialsFile(credentialsFile),
		option.WithScopes(scope), option.WithTelemetryDisabled())
	if err != nil {
		return nil, fmt.Errorf("fcm: FCM credentials: %w", err)
	}
	return &http.Client{Transport: rt}, nil
}

// MaxBatch reports how many pushes for provider the sender takes together:
// the most one SendEach call accepts (500; FCM HTTP v1 itself takes one
// message a request, which SendEach sends side by side), 0 for any
// provider but FCM.
func (s *Sender) MaxBatch(provider string) int {
	if provider != push.ProviderFCM && provider != "" {
		return 0
	}
	return maxBatch
}

// Send delivers each message and returns one result per message, in the
// same order. Messages for providers other than FCM or without a token fail
// without being sent. Send never retries itself (beyond the five attempts
// firebase-admin-go makes on a 503); the caller decides from each result.
func (s *Sender) Send(ctx context.Context, msgs []push.Message) []push.Result {
	results := make([]push.Result, len(msgs))
	var (
		index []int
		batch []*messaging.Message
	)
	for i, m := range msgs {
		switch {
		case m.Provider != "" && m.Provider != push.ProviderFCM:
			results[i] = push.Result{Outcome: push.OutcomeFailed, ErrorCode: "provider_unsupported"}
		case m.Token == "":
			results[i] = push.Result{Outcome: push.OutcomeFailed, ErrorCode: "missing_token"}
		default:
			index = append(index, i)
			batch = append(batch, BuildMessage(m))
		}
	}
	for start := 0; start < len(batch); start += maxBatch {
		end := min(start+maxBatch, len(batch))
		if ctx.Err() != nil {
			for _, i := range index[start:end] {
				results[i] = push.Result{Outcome: push.OutcomeRetry, ErrorCode: "canceled"}
			}
			continue
		}
		for j, r := range s.sendChunk(ctx, batch[start:end]) {
			results[index[start+j]] = r
		}
	}
	return results
}

// sendChunk sends at most maxBatch messages. SendEach rejects a whole
// chunk when one message fails the SDK's local validation; the chunk is then
// sent one by one so that one bad message cannot sink the others.
func (s *Sender) sendChunk(ctx context.Context, chunk []*messaging.Message) []push.Result {
	out := make([]push.Result, len(chunk))
	br, err := s.client.SendEach(ctx, chunk)
	if err != nil {
		for i, m := range chunk {
			id, err := s.client.Send(ctx, m)
			out[i] = s.result(id, err)
		}
		return out
	}
	for i, r := range br.Responses {
		if r.Success {
			out[i] = push.Result{Outcome: push.OutcomeSent, MessageID: r.MessageID}
			continue
		}
		out[i] = s.result("", r.Error)
	}
	return out
}

func (s *Sender) result(id string, err error) push.Result {
	if err == nil {
		return push.Result{Outcome: push.OutcomeSent, MessageID: id}
	}
	return classifyError(err, s.now())
}
