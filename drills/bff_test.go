package drills

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/notify/intake"

	apidocs "github.com/weifang/kaigong-zsb/api-docs"
	"github.com/weifang/kaigong-zsb/internal/config"
	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/models"
)

const demoPassword = "demo12345"

// The demo projects and who hears about them (contract.md, "Demo data").
const (
	civil      = "WF-DEMO-CIVIL"
	industrial = "WF-DEMO-INDUSTRIAL"
	otherProj  = "WF-OTHER-1"
)

// stack is what one drill's BFF instances run against: a schema, a Redis
// and key prefix, a signing key the drill knows, and an FCM sink.
type stack struct {
	t        *testing.T
	schema   string
	db       *store.DB // direct, for assertions
	dbURL    string    // what the BFF is given (may go through a proxy)
	redisURL string
	prefix   string
	kid      string
	signKey  ed25519.PrivateKey
	dataDir  string
	sink     *sinkClient
	extra    map[string]string
}

// newStack prepares a schema, a Redis prefix on the shared server, a
// signing key and an in-process FCM sink. Drills change fields before
// starting instances.
func newStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{t: t, schema: schema(t), dataDir: t.TempDir(), kid: "drill1", extra: map[string]string{}}
	s.db = openDB(t, s.schema)
	s.dbURL = databaseURL("127.0.0.1:5432", s.schema)
	_, s.prefix = sharedRedis(t)
	s.redisURL = sharedRedisURL
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, []byte(randomHex(16)))
	s.signKey = ed25519.NewKeyFromSeed(seed)
	s.sink = startInProcessSink(t)
	return s
}

func (s *stack) env(port int) []string {
	vars := map[string]string{
		"BFF_ENV":           "development",
		"BFF_SEED_DEMO":     "true",
		"BFF_ADDR":          loopback(port),
		"BFF_DATA_DIR":      s.dataDir,
		"DATABASE_URL":      s.dbURL,
		"REDIS_URL":         s.redisURL,
		"BFF_REDIS_PREFIX":  s.prefix,
		"JWT_SIGNING_KEYS":  s.kid + ":" + base64.RawURLEncoding.EncodeToString(s.signKey.Seed()),
		"FCM_ENDPOINT":      pushsink.Endpoint(s.sink.base),
		"BFF_DIGEST_WINDOW": "0s", // one push per change, so pushes can be counted per change
		"BFF_ACCESS_LOG":    "false",
		// A score of drills run at once, some with several instances: a
		// small pool each keeps them within PostgreSQL's 100 connections.
		"BFF_DB_MAX_CONNS": "6",
	}
	for k, v := range s.extra {
		vars[k] = v
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}

// bff is one running BFF process.
type bff struct {
	t    *testing.T
	s    *stack
	name string
	port int
	base string
	p    *proc
	hc   *http.Client
}

// startBFF starts bin/bff on a free port and waits until it answers. A port
// found free can be taken by another process (an outgoing connection gets
// it as its ephemeral port) before the BFF binds it; then another is tried.
func (s *stack) startBFF(name string) *bff {
	s.t.Helper()
	b := &bff{t: s.t, s: s, name: name, hc: &http.Client{Timeout: 30 * time.Second}}
	for attempt := 1; ; attempt++ {
		b.port = freePort(s.t)
		b.base = "http://" + loopback(b.port)
		if b.tryStart(attempt < 4) {
			return b
		}
		s.t.Logf("%s: port %d was taken before it bound it; trying another", name, b.port)
	}
}

func (b *bff) start() {
	b.t.Helper()
	b.tryStart(false)
}

// tryStart starts the process and waits until it answers. It reports false
// when the process could not bind its port and retryBusy is set; any other
// failure ends the test.
func (b *bff) tryStart(retryBusy bool) bool {
	b.t.Helper()
	b.p = startProc(b.t, b.name, bins.bff, nil, b.s.env(b.port), nil)
	busy := false
	eventually(b.t, 90*time.Second, b.name+" to answer /healthz", func() (bool, string) {
		if !b.p.running() {
			out := b.p.out.String()
			if retryBusy && strings.Contains(out, "address already in use") {
				busy = true
				return true, ""
			}
			b.t.Fatalf("%s exited while starting: %v\n%s", b.name, b.p.exitErr(), tail(out, 4<<10))
		}
		r, err := b.call("GET", "/healthz", "", nil)
		return err == nil && r.status == 200, fmt.Sprint(err)
	})
	return !busy
}

// kill SIGKILLs the process: no shutdown, no draining.
func (b *bff) kill() { b.p.kill() }

// restart starts the process again with the same configuration and port.
func (b *bff) restart() { b.start() }

// resp is one HTTP answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r resp) String() string {
	return fmt.Sprintf("%d %s", r.status, tail(string(r.body), 600))
}

func encodeBody(body any) []byte {
	switch v := body.(type) {
	case nil:
		return nil
	case []byte:
		return v
	case string:
		return []byte(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return b
	}
}

// answerBeforeUpload sends req's headers with a Content-Length of size and
// only the first 64 KiB of the body, then reads the answer.
func answerBeforeUpload(req *http.Request, size int) (*http.Response, error) {
	conn, err := net.Dial("tcp", req.URL.Host)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	var head strings.Builder
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nConnection: close\r\n", req.Method, req.URL.RequestURI(), req.URL.Host, size)
	for name, vals := range req.Header {
		for _, v := range vals {
			fmt.Fprintf(&head, "%s: %s\r\n", name, v)
		}
	}
	head.WriteString("\r\n")
	if _, err := conn.Write([]byte(head.String())); err != nil {
		conn.Close()
		return nil, err
	}
	_, _ = conn.Write(bytes.Repeat([]byte("x"), 64<<10)) // the server may already have hung up
	res, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		conn.Close()
		return nil, err
	}
	res.Body = connBody{res.Body, conn} // closing the body hangs up
	return res, nil
}

type connBody struct {
	io.ReadCloser
	conn net.Conn
}

func (b connBody) Close() error {
	err := b.ReadCloser.Close()
	_ = b.conn.Close()
	return err
}

// call sends one request; headers are name, value pairs.
func (b *bff) call(method, path, token string, body any, headers ...string) (resp, error) {
	raw := encodeBody(body)
	req, err := http.NewRequest(method, b.base+path, bytes.NewReader(raw))
	if err != nil {
		return resp{}, err
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := b.hc.Do(req)
	if err != nil && len(raw) > 1<<20 {
		// The server refuses an oversized body from its headers and hangs
		// up; the client may then fail its upload before reading the 413.
		// Read the answer the way a careful client does.
		res, err = answerBeforeUpload(req, len(raw))
	}
	if err != nil {
		return resp{}, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		return resp{}, err
	}
	return resp{status: res.StatusCode, header: res.Header, body: out}, nil
}

var (
	validatorOnce sync.Once
	validator     *apidocs.Validator
	validatorErr  error
)

// must sends one request, expects status and checks the exchange against
// the contract (api-docs/openapi.yaml).
func (b *bff) must(method, path, token string, body any, status int, headers ...string) resp {
	b.t.Helper()
	r, err := b.call(method, path, token, body, headers...)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	if r.status != status {
		b.t.Fatalf("%s %s: %s, want %d", method, path, r, status)
	}
	b.checkContract(method, path, token, body, r, headers...)
	return r
}

// checkContract reports an answer the contract does not allow.
func (b *bff) checkContract(method, path, token string, body any, r resp, headers ...string) {
	b.t.Helper()
	validatorOnce.Do(func() { validator, validatorErr = apidocs.NewValidator() })
	if validatorErr != nil {
		b.t.Fatal(validatorErr)
	}
	raw := encodeBody(body)
	req, _ := http.NewRequest(method, b.base+path, bytes.NewReader(raw))
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if err := validator.Validate(req, raw, r.status, r.header, r.body); err != nil {
		b.t.Errorf("contract violation on %s %s: %v\nanswer: %s", method, path, err, r)
	}
}

// tokenPair is a login or refresh answer.
type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	User         struct {
		ID int64 `json:"id"`
	} `json:"user"`
}

func (b *bff) login(username string) tokenPair {
	b.t.Helper()
	var p tokenPair
	b.must("POST", "/v1/auth/login", "", map[string]string{"username": username, "password": demoPassword}, 200).decode(b.t, &p)
	return p
}

// phone is a user with one registered device: what the pushes are counted
// against.
type phone struct {
	user   string
	userID int64
	access string
	token  string // the FCM registration token
	instID string
	// since is when the phone was set up; notices born before it (e.g. the
	// deadline warnings of a fresh start) were not meant for this device.
	since time.Time
}

// phoneFor logs user in, registers a device with a fresh push token and
// switches quiet hours off (the drills run at any time of day).
func (b *bff) phoneFor(user string) phone {
	b.t.Helper()
	p := b.login(user)
	ph := phone{user: user, userID: p.User.ID, access: p.AccessToken,
		token: "fcm-" + user + "-" + randomHex(12), instID: "inst-" + user + "-" + randomHex(4)}
	b.must("PUT", "/v1/me/devices/"+ph.instID, ph.access,
		map[string]string{"platform": "android", "push_token": ph.token}, 200)
	var prefs map[string]any
	b.must("GET", "/v1/me/push-preferences", ph.access, nil, 200).decode(b.t, &prefs)
	prefs["quiet_hours"] = map[string]any{"enabled": false, "start": "22:00", "end": "07:30"}
	b.must("PUT", "/v1/me/push-preferences", ph.access, prefs, 200)
	ph.since = time.Now()
	return ph
}

// event is an upstream webhook body.
type event map[string]any

func (e event) id() string { return e["event_id"].(string) }

// itemEvent is an item.status_changed event.
func itemEvent(id, project string, seq int, item, status string) event {
	return event{"event_id": id, "type": "item.status_changed", "occurred_at": time.Now().Format(time.RFC3339),
		"project_id": project, "sequence": seq, "item_code": item, "status": status}
}

var itemStatuses = []string{models.StatusSubmitted, models.StatusAccepted, models.StatusCorrectionRequired,
	models.StatusPreApproved, models.StatusApproved, models.StatusRejected, models.StatusWithdrawn}

// eventPlan makes n item.status_changed events for project with sequences
// from..from+n-1, random catalog items of the project's type and random
// statuses.
func eventPlan(project, projectType, tag string, from, n int, rng *rand.Rand) []event {
	var codes []string
	for _, it := range models.DefaultCatalog().Items {
		if it.Applies(projectType) {
			codes = append(codes, it.Code)
		}
	}
	out := make([]event, n)
	for i := range out {
		seq := from + i
		out[i] = itemEvent(fmt.Sprintf("drill-%s-%s-%d", tag, project, seq), project, seq,
			codes[rng.IntN(len(codes))], itemStatuses[rng.IntN(len(itemStatuses))])
	}
	return out
}

// signed returns the headers the upstream system sends with body.
func signed(secret string, at time.Time, body []byte) []string {
	ts, sig := intake.SignEvent(secret, at, body)
	return []string{"X-Upstream-Timestamp", ts, "X-Upstream-Signature", sig}
}

// post sends one signed event once.
func (b *bff) post(ev event) (resp, error) {
	body := encodeBody(ev)
	return b.call("POST", "/v1/upstream/events", "", body, signed(config.DevWebhookSecret, time.Now(), body)...)
}

// deliver sends ev the way the upstream system does: again and again
// (same event_id, fresh signature) until it is accepted, across crashes and
// outages. target picks the instance for each try. It returns the result
// ("applied", "duplicate", "stale") and how many tries it took.
func deliver(ctx context.Context, t *testing.T, target func() *bff, ev event) (string, int) {
	wait := 50 * time.Millisecond
	for try := 1; ; try++ {
		r, err := target().post(ev)
		if err == nil && r.status == 202 {
			var res struct {
				Result string `json:"result"`
			}
			if json.Unmarshal(r.body, &res) != nil {
				t.Errorf("event %s: unreadable answer %s", ev.id(), r)
			}
			return res.Result, try
		}
		if err == nil && r.status != 503 && r.status != 429 && r.status < 500 {
			t.Errorf("event %s: %s (not retryable)", ev.id(), r)
			return "", try
		}
		if ctx.Err() != nil {
			t.Errorf("event %s: gave up after %d tries: %v %v", ev.id(), try, err, r)
			return "", try
		}
		time.Sleep(wait)
		wait = min(2*wait, time.Second)
	}
}

// sendAll delivers each project's events in order (sequences must grow per
// project), the projects concurrently, and returns the results by event id.
func sendAll(ctx context.Context, t *testing.T, target func() *bff, plans ...[]event) map[string]string {
	var (
		mu  sync.Mutex
		out = map[string]string{}
		wg  sync.WaitGroup
	)
	for _, plan := range plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, ev := range plan {
				res, _ := deliver(ctx, t, target, ev)
				mu.Lock()
				out[ev.id()] = res
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

// projectVersion reads a project's version and the highest sequence
// applied to any of its records (the project's own or an item's: ordering
// is per record) directly; the next event a drill sends is above it.
func (s *stack) projectVersion(id string) (version, lastSeq int64) {
	s.t.Helper()
	var p models.Project
	if err := s.db.Where("id = ?", id).Take(&p).Error; err != nil {
		s.t.Fatal(err)
	}
	var items int64
	if err := s.db.Raw("SELECT COALESCE(MAX(last_sequence), 0) FROM item_states WHERE project_id = ?", id).Scan(&items).Error; err != nil {
		s.t.Fatal(err)
	}
	return p.Version, max(p.LastSequence, items)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func joinLines(lines []string, max int) string {
	if len(lines) > max {
		lines = append(lines[:max:max], fmt.Sprintf("… and %d more", len(lines)-max))
	}
	return strings.Join(lines, "\n  ")
}
