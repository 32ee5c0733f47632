package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"
)

// fcmMaxBatch is the most messages one SendEach call accepts.
const fcmMaxBatch = 500

// LocalFCMProjectID is the Firebase project id used when pushes go to a
// local sink and no project was configured.
const LocalFCMProjectID = "kaigong-local"

// FCMConfig says where FCM pushes go (FCM_PROJECT_ID, FCM_CREDENTIALS_FILE,
// FCM_ENDPOINT).
type FCMConfig struct {
	// ProjectID is the Firebase project. With a credentials file it may be
	// empty (the file names the project); with only an Endpoint it
	// defaults to LocalFCMProjectID.
	ProjectID string
	// CredentialsFile is a service-account JSON file for the real FCM.
	CredentialsFile string
	// Endpoint overrides FCM's base URL, e.g. "http://127.0.0.1:9099/v1";
	// the client posts to Endpoint + "/projects/{project}/messages:send".
	// Without CredentialsFile requests are sent unauthenticated, which only a
	// local sink accepts.
	Endpoint string
}

// FCMSender delivers pushes through FCM HTTP v1 with firebase-admin-go. It is
// safe for concurrent use.
type FCMSender struct {
	client *messaging.Client
	now    func() time.Time
}

// NewFCMSender builds a sender for cfg. It needs a credentials file (the
// real FCM) or an endpoint (a local sink); with neither it fails rather
// than guess at ambient Google credentials.
func NewFCMSender(ctx context.Context, cfg FCMConfig) (*FCMSender, error) {
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
			cfg.ProjectID = LocalFCMProjectID
		}
	default:
		return nil, errors.New("notify: FCM needs a credentials file or an endpoint")
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("notify: FCM endpoint %q is not an http(s) URL", cfg.Endpoint)
		}
		// The client appends "/projects/…" itself; a trailing slash would
		// double it.
		opts = append(opts, option.WithEndpoint(strings.TrimRight(cfg.Endpoint, "/")))
	}
	hc, err := newFCMHTTPClient(ctx, cfg.CredentialsFile)
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
	client, err := newMessagingClient(ctx, cfg.ProjectID, opts)
	if err != nil {
		return nil, fmt.Errorf("notify: firebase messaging: %w", err)
	}
	return &FCMSender{client: client, now: time.Now}, nil
}

// projectOfCredentials reads the project id a service-account file names.
func projectOfCredentials(file string) (string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("notify: FCM credentials: %w", err)
	}
	var sa struct {
		ProjectID string `json:"project_id"`
	}
	if err := json.Unmarshal(raw, &sa); err != nil || sa.ProjectID == "" {
		return "", fmt.Errorf("notify: FCM credentials file %s names no project_id; set FCM_PROJECT_ID", file)
	}
	return sa.ProjectID, nil
}

// newMessagingClient builds firebase-admin-go's messaging client as
// firebase.NewApp followed by app.Messaging would, without importing the
// SDK's root package: that package links in Firestore, Cloud Storage and
// their gRPC, xDS and telemetry stacks, whose package initialisation alone
// kept about 10 MB of the BFF resident at idle (the binary went from 83 to
// 61 MB). messaging.NewClient takes its configuration as a type from the
// SDK's internal package, which cannot be named here, so the value is built
// through reflection; any change of that shape in a new SDK version fails
// here with a clear error (and TestFCMSender* at once), never silently.
func newMessagingClient(ctx context.Context, projectID string, opts []option.ClientOption) (*messaging.Client, error) {
	newClient := reflect.ValueOf(messaging.NewClient)
	ft := newClient.Type()
	if ft.NumIn() != 2 || ft.In(1).Kind() != reflect.Pointer || ft.In(1).Elem().Kind() != reflect.Struct ||
		ft.NumOut() != 2 || ft.Out(0) != reflect.TypeOf((*messaging.Client)(nil)) {
		return nil, fmt.Errorf("unexpected messaging.NewClient signature %s", ft)
	}
	conf := reflect.New(ft.In(1).Elem()).Elem()
	for name, v := range map[string]any{"Opts": opts, "ProjectID": projectID, "Version": firebaseSDKVersion} {
		f := conf.FieldByName(name)
		if !f.IsValid() || !f.CanSet() || f.Type() != reflect.TypeOf(v) {
			return nil, fmt.Errorf("unexpected messaging configuration type %s (field %s)", conf.Type(), name)
		}
		f.Set(reflect.ValueOf(v))
	}
	out := newClient.Call([]reflect.Value{reflect.ValueOf(ctx), conf.Addr()})
	if err, _ := out[1].Interface().(error); err != nil {
		return nil, err
	}
	return out[0].Interface().(*messaging.Client), nil
}

// firebaseSDKVersion is firebase.Version of the SDK in go.mod, which the
// client names in its X-Goog-Api-Client header; a test keeps it in step.
const firebaseSDKVersion = "4.19.0"

// fcmScope is the OAuth scope FCM HTTP v1 sends need, and all the
// sender's token is good for.
const fcmScope = "https://www.googleapis.com/auth/firebase.messaging"

// fcmConns is how many idle connections to FCM the transport keeps: one per
// request a fan-out has in flight (firebase-admin-go's SendEach sends with 50
// goroutines, and the dispatcher runs senders batches at once, as do the
// stream readers' senders with wide batches), so that connections are
// reused between requests instead of being closed and dialed again. When
// both fan out at once, up to twice as many are in flight, and the excess
// is dialed and closed. The transport Google's client libraries build keeps
// 100. Over HTTP/2 (the real FCM) one connection carries many requests
// anyway.
const fcmConns = 50 * senders

// newFCMHTTPClient is the HTTP client FCM requests go through: a transport
// sized for the sender's concurrency, authenticated with the service account
// in credentialsFile, or not at all for a local sink (credentialsFile empty).
// The client Google's libraries would build also wraps every request in
// OpenTelemetry instrumentation, which nothing here exports and which makes
// each request cost two writes instead of one (the wrapped body is flushed
// apart from the headers); this one leaves it out.
func newFCMHTTPClient(ctx context.Context, credentialsFile string) (*http.Client, error) {
	base, ok := http.DefaultTransport.(*http.Transport)
	if !ok { // replaced by someone: start from net/http's defaults
		base = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true,
			IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second, ExpectContinueTimeout: time.Second}
	}
	base = base.Clone()
	base.MaxIdleConns = fcmConns
	base.MaxIdleConnsPerHost = fcmConns
	// Like Google's transport: prune a dead HTTP/2 connection by pinging it
	// after 31 s of silence.
	base.HTTP2 = &http.HTTP2Config{SendPingTimeout: 31 * time.Second}
	if credentialsFile == "" {
		return &http.Client{Transport: base}, nil
	}
	rt, err := htransport.NewTransport(ctx, base, option.WithCredentialsFile(credentialsFile),
		option.WithScopes(fcmScope), option.WithTelemetryDisabled())
	if err != nil {
		return nil, fmt.Errorf("notify: FCM credentials: %w", err)
	}
	return &http.Client{Transport: rt}, nil
}

// Send delivers each message and returns one result per message, in the
// same order. Messages for providers other than FCM or without a token fail
// without being sent. Send never retries itself (beyond the five attempts
// firebase-admin-go makes on a 503); the caller decides from each result.
func (s *FCMSender) Send(ctx context.Context, msgs []PushMessage) []PushResult {
	results := make([]PushResult, len(msgs))
	var (
		index []int
		batch []*messaging.Message
	)
	for i, m := range msgs {
		switch {
		case m.Provider != "" && m.Provider != ProviderFCM:
			results[i] = PushResult{Outcome: OutcomeFailed, ErrorCode: "provider_unsupported"}
		case m.Token == "":
			results[i] = PushResult{Outcome: OutcomeFailed, ErrorCode: "missing_token"}
		default:
			index = append(index, i)
			batch = append(batch, BuildFCMMessage(m))
		}
	}
	for start := 0; start < len(batch); start += fcmMaxBatch {
		end := min(start+fcmMaxBatch, len(batch))
		if ctx.Err() != nil {
			for _, i := range index[start:end] {
				results[i] = PushResult{Outcome: OutcomeRetry, ErrorCode: "canceled"}
			}
			continue
		}
		for j, r := range s.sendChunk(ctx, batch[start:end]) {
			results[index[start+j]] = r
		}
	}
	return results
}

// sendChunk sends at most fcmMaxBatch messages. SendEach rejects a whole
// chunk when one message fails the SDK's local validation; the chunk is then
// sent one by one so that one bad message cannot sink the others.
func (s *FCMSender) sendChunk(ctx context.Context, chunk []*messaging.Message) []PushResult {
	out := make([]PushResult, len(chunk))
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
			out[i] = PushResult{Outcome: OutcomeSent, MessageID: r.MessageID}
			continue
		}
		out[i] = s.result("", r.Error)
	}
	return out
}

func (s *FCMSender) result(id string, err error) PushResult {
	if err == nil {
		return PushResult{Outcome: OutcomeSent, MessageID: id}
	}
	return classifyFCMError(err, s.now())
}
