package bff_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/notify/intake"

	apidocs "github.com/weifang/kaigong-zsb/api-docs"
	"github.com/weifang/kaigong-zsb/internal/app"
	"github.com/weifang/kaigong-zsb/internal/config"
	"github.com/weifang/kaigong-zsb/internal/testenv"
)

const demoPassword = "demo12345"

var (
	validatorOnce sync.Once
	validator     *apidocs.Validator
	validatorErr  error
)

// env is one running BFF, wired exactly as in production (app.Open), on a
// loopback port with its own schema, key prefix and data directory.
type env struct {
	t    *testing.T
	app  *app.App
	base string
	http *http.Client
}

// start boots the real wiring against the test's PostgreSQL schema and Redis
// prefix, with the demo data and the built-in FCM sink.
func start(t *testing.T, overrides map[string]string) *env {
	t.Helper()
	validatorOnce.Do(func() { validator, validatorErr = apidocs.NewValidator() })
	if validatorErr != nil {
		t.Fatal(validatorErr)
	}
	vars := map[string]string{
		"BFF_ADDR":          "127.0.0.1:0",
		"BFF_DATA_DIR":      t.TempDir(),
		"DATABASE_URL":      testenv.DatabaseURL(t),
		"REDIS_URL":         testenv.RedisURL(t),
		"BFF_REDIS_PREFIX":  "test:" + testenv.RandomSuffix() + ":",
		"BFF_DIGEST_WINDOW": "0s",
		"BFF_ACCESS_LOG":    "false",
	}
	for k, v := range overrides {
		vars[k] = v
	}
	cfg, err := config.Parse(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		_ = a.Close()
		testenv.FlushPrefix(t, cfg.RedisURL, cfg.RedisPrefix)
	})
	return &env{t: t, app: a, base: "http://" + a.Addr(), http: &http.Client{Timeout: 15 * time.Second}}
}

// resp is a received answer.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

func (r resp) problemCode(t *testing.T) string {
	t.Helper()
	var p struct {
		Code string `json:"code"`
	}
	r.json(t, &p)
	return p.Code
}

// do sends one request and validates the exchange against the OpenAPI
// contract; a response the contract does not allow fails the test.
func (e *env) do(method, path, token string, body any, headers ...string) resp {
	e.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
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
	record(method, path)
	res, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	vreq, _ := http.NewRequest(method, e.base+path, bytes.NewReader(raw))
	vreq.Header = req.Header.Clone()
	if err := validator.Validate(vreq, raw, res.StatusCode, res.Header, out); err != nil {
		e.t.Errorf("contract violation: %v\nbody: %s", err, truncate(out))
	}
	return resp{Status: res.StatusCode, Header: res.Header, Body: out}
}

func truncate(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

func (e *env) expect(r resp, status int) resp {
	e.t.Helper()
	if r.Status != status {
		e.t.Fatalf("status %d, want %d: %s", r.Status, status, truncate(r.Body))
	}
	return r
}

type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	User         struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
		Role     string `json:"role"`
	} `json:"user"`
}

func (e *env) login(username string) tokenPair {
	e.t.Helper()
	var p tokenPair
	e.expect(e.do("POST", "/v1/auth/login", "", map[string]string{"username": username, "password": demoPassword}), 200).json(e.t, &p)
	return p
}

// event is an upstream webhook body.
type event map[string]any

// send signs and posts an upstream event as the approval system does.
func (e *env) send(ev event) resp {
	e.t.Helper()
	body, err := json.Marshal(ev)
	if err != nil {
		e.t.Fatal(err)
	}
	ts, sig := intake.SignEvent(config.DevWebhookSecret, time.Now(), body)
	return e.do("POST", "/v1/upstream/events", "", body, "X-Upstream-Timestamp", ts, "X-Upstream-Signature", sig)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// doOversized sends a POST whose declared body is larger than the server
// accepts, as a client that reads the answer before finishing its upload:
// the headers with the full Content-Length, the first 64 KiB of the body,
// then the answer. The server refuses such a request from its headers and
// closes the connection, so a plain client may see a broken pipe in place
// of the 413; this one always sees the answer.
func (e *env) doOversized(path string, size int, headers ...string) resp {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	var head strings.Builder
	fmt.Fprintf(&head, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", path, strings.TrimPrefix(e.base, "http://"), size)
	for i := 0; i+1 < len(headers); i += 2 {
		fmt.Fprintf(&head, "%s: %s\r\n", headers[i], headers[i+1])
	}
	head.WriteString("\r\n")
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := conn.Write([]byte(head.String())); err != nil {
		e.t.Fatal(err)
	}
	_, _ = conn.Write(bytes.Repeat([]byte("x"), 64<<10)) // the server may already have hung up
	record("POST", path)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.t.Fatalf("reading the answer to an oversized body: %v", err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	vreq, _ := http.NewRequest("POST", e.base+path, nil)
	if err := validator.Validate(vreq, nil, res.StatusCode, res.Header, out); err != nil {
		e.t.Errorf("contract violation: %v\nbody: %s", err, truncate(out))
	}
	return resp{Status: res.StatusCode, Header: res.Header, Body: out}
}
