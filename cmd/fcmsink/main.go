// Command fcmsink runs the local push sink on its own, for drills and for
// pointing a BFF at it: FCM (FCM_ENDPOINT is the base URL plus "/v1") and
// each vendor's stand-in under base URL + "/{vendor}" (huawei, harmony,
// honor, xiaomi, oppo, vivo, apns), accepting pushsink.DevCredentials. It
// prints its base URL on the first line of standard output.
//
// HarmonyOS and APNs authenticate with keys of their own: with -keys DIR,
// fcmsink generates a HarmonyOS service account and an APNs .p8 key, writes
// them to DIR/harmony-service-account.json and DIR/apns.p8 (for
// HARMONY_SERVICE_ACCOUNT_FILE and APNS_KEY_FILE) and accepts them; without
// it, those two stand-ins refuse every send.
//
// With -tls it serves as FCM is served: TLS with HTTP/2, and, with
// -fcm-account, OAuth: it writes a service-account file whose token_uri is
// its own token endpoint, and from then on every FCM send needs a token from
// there. A BFF reaches it over its real transport with FCM_CREDENTIALS_FILE
// set to that file and SSL_CERT_FILE to the -ca file.
//
// Control it over HTTP: GET/DELETE /_sink/messages, GET/POST/DELETE
// /_sink/faults (FCM); GET/DELETE /_sink/vendors/{vendor}/messages,
// POST/DELETE /_sink/vendors/{vendor}/faults, POST
// /_sink/vendors/{vendor}/expire-tokens (the vendors); and GET
// /_fcmsink/requests counts every request the sink answered by method,
// route and status (e.g. "POST /huawei/oauth2/v3/token 200": the access
// tokens handed out), for drills to see token refreshes and retries.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
)

// The files -keys writes.
const (
	harmonyAccountFile = "harmony-service-account.json"
	apnsKeyFile        = "apns.p8"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fcmsink:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("fcmsink", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9099", "listen address (host:port; port 0 picks a free one)")
	verbose := fs.Bool("v", false, "log every received message (tokens appear only as a short hash)")
	keys := fs.String("keys", "", "directory to write a generated HarmonyOS service account ("+harmonyAccountFile+
		") and APNs key ("+apnsKeyFile+") to, which the stand-ins then accept")
	tokenTTL := fs.Duration("token-ttl", 0, "life of the vendors' access tokens (0: each vendor's own)")
	useTLS := fs.Bool("tls", false, "serve over TLS with HTTP/2, with a certificate from a CA made at start")
	caFile := fs.String("ca", "", "with -tls: write the CA certificate (PEM) here, for the client's SSL_CERT_FILE")
	accountFile := fs.String("fcm-account", "", "write an FCM service-account file here; FCM sends then need its OAuth token")
	project := fs.String("project", "kaigong-local", "the Firebase project the -fcm-account file names")
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	creds := pushsink.DevCredentials()
	if *keys != "" {
		if err := writeKeys(*keys, &creds); err != nil {
			return err
		}
	}
	sink := pushsink.New(pushsink.Options{Logger: logger, Credentials: &creds, TokenTTL: *tokenTTL})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           &requestCounter{next: sink, n: map[string]int{}},
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	scheme := "http://"
	if *useTLS {
		// FCM as FCM is served: TLS, HTTP/2 by ALPN.
		cfg, ca, err := pushsink.SelfSignedTLS()
		if err != nil {
			return err
		}
		srv.TLSConfig = cfg
		srv.Protocols.SetHTTP2(true)
		ln = tls.NewListener(ln, cfg)
		scheme = "https://"
		if *caFile != "" {
			if err := os.WriteFile(*caFile, ca, 0o644); err != nil {
				return err
			}
		}
	} else {
		// APNs speaks HTTP/2 only: without TLS, with prior knowledge (h2c).
		srv.Protocols.SetUnencryptedHTTP2(true)
	}
	served := make(chan error, 1)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			served <- err
		}
	}()
	base := scheme + ln.Addr().String()
	if *accountFile != "" {
		account, err := sink.FCMServiceAccount(base, *project)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*accountFile, account, 0o600); err != nil {
			return err
		}
	}
	fmt.Println(base)
	attrs := []any{"base_url", base, "fcm_endpoint", pushsink.Endpoint(base)}
	for _, v := range pushsink.Vendors() {
		attrs = append(attrs, v, pushsink.VendorBase(base, v))
	}
	logger.Info("fcmsink listening", attrs...)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	logger.Info("fcmsink stopping")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// requestCounter counts the requests the sink answers, by method, route
// and status, and serves the counts at GET /_fcmsink/requests.
type requestCounter struct {
	next http.Handler
	mu   sync.Mutex
	n    map[string]int
}

func (c *requestCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_fcmsink/requests" && r.Method == http.MethodGet {
		c.mu.Lock()
		b, err := json.Marshal(map[string]any{"counts": c.n})
		c.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
		return
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	c.next.ServeHTTP(sw, r)
	key := r.Method + " " + route(r.URL.Path) + " " + strconv.Itoa(sw.status)
	c.mu.Lock()
	c.n[key]++
	c.mu.Unlock()
}

// route is a request path with the device token of an APNs path left out.
func route(path string) string {
	if strings.HasPrefix(path, "/apns/3/device/") {
		return "/apns/3/device/{token}"
	}
	return path
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeKeys generates the HarmonyOS service account and the APNs key into
// dir and fills creds' public halves.
func writeKeys(dir string, creds *pushsink.Credentials) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	account, err := pushsink.NewHarmonyServiceAccount(creds)
	if err != nil {
		return err
	}
	key, err := pushsink.NewAPNsKey(creds)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, harmonyAccountFile), account, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, apnsKeyFile), key, 0o600)
}
