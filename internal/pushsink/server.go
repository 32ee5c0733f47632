package pushsink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Start listens on addr (use "127.0.0.1:0" in tests) and serves the sink in
// the background. It returns the base URL, e.g. "http://127.0.0.1:9099"; the
// FCM endpoint to configure a client with is that plus "/v1" (see Endpoint).
func (s *Sink) Start(addr string) (string, error) {
	return s.start(addr, nil)
}

// StartTLS is Start over TLS, the way FCM is served: HTTP/2 (and HTTP/1.1)
// by ALPN, with a certificate for 127.0.0.1 and localhost signed by a CA
// made for this sink. A client trusts the sink by that CA alone
// (CACertPEM), e.g. a process started with SSL_CERT_FILE naming it. It
// returns the base URL, e.g. "https://127.0.0.1:9443".
func (s *Sink) StartTLS(addr string) (string, error) {
	cfg, caPEM, err := selfSignedTLS()
	if err != nil {
		return "", err
	}
	s.caPEM = caPEM
	return s.start(addr, cfg)
}

// CACertPEM is the CA that signed a StartTLS sink's certificate.
func (s *Sink) CACertPEM() []byte { return s.caPEM }

func (s *Sink) start(addr string, tlsCfg *tls.Config) (string, error) {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.server != nil {
		return "", errors.New("pushsink: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("pushsink: listen: %w", err)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ConnState:         s.trackConn,
	}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	scheme := "http://"
	if tlsCfg != nil {
		srv.Protocols.SetHTTP2(true)
		srv.TLSConfig = tlsCfg
		ln = tls.NewListener(ln, tlsCfg)
		scheme = "https://"
	} else {
		// APNs speaks HTTP/2 only; without TLS that is HTTP/2 with prior
		// knowledge (h2c), which the server takes beside HTTP/1.1.
		srv.Protocols.SetUnencryptedHTTP2(true)
	}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	s.server, s.done = srv, done
	return scheme + ln.Addr().String(), nil
}

// Endpoint turns a base URL returned by Start into the FCM endpoint a
// firebase messaging client is configured with (option.WithEndpoint): the
// client appends "/projects/{project}/messages:send" to it.
func Endpoint(baseURL string) string {
	return baseURL + "/v1"
}

// Close stops a started sink, letting in-flight requests finish for up to
// five seconds. Closing a sink that was never started does nothing.
func (s *Sink) Close() error {
	s.srvMu.Lock()
	srv, done := s.server, s.done
	s.server, s.done = nil, nil
	s.srvMu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shutdown := make(chan error, 1)
	go func() { shutdown <- srv.Shutdown(ctx) }()
	s.closeUnusedConns()
	err := <-shutdown
	if errors.Is(err, context.DeadlineExceeded) {
		// Only a connection dialed after closeUnusedConns ran can still
		// be waiting: it carries no request (the sink's handlers answer at
		// once), so hanging up on it loses nothing.
		err = srv.Close()
	} else if err != nil {
		err = errors.Join(err, srv.Close())
	}
	if serveErr := <-done; err == nil {
		err = serveErr
	}
	return err
}

// trackConn remembers connections that have not carried a request yet.
// HTTP clients dial spare connections under load (firebase-admin-go sends
// with 50 workers); Shutdown would wait five seconds for each such
// connection to speak, so Close hangs up on them instead.
func (s *Sink) trackConn(c net.Conn, state http.ConnState) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if s.fresh == nil {
		s.fresh = make(map[net.Conn]struct{})
	}
	if state == http.StateNew {
		s.fresh[c] = struct{}{}
		return
	}
	delete(s.fresh, c)
}

func (s *Sink) closeUnusedConns() {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	for c := range s.fresh {
		_ = c.Close()
		delete(s.fresh, c)
	}
}
