// Package pushsink is the local stand-in for the push services: Firebase
// Cloud Messaging's HTTP v1 API at the root, and each Chinese vendor's API
// under its own prefix (vendor.go). It accepts what firebase-admin-go's messaging client sends, answers
// the way FCM does (including FCM's error bodies, so messaging.IsUnregistered
// and friends work against it), records every message it receives and can be
// told to fail on purpose. `make run`, the tests and failure drills use it so
// that no push ever leaves the machine during development.
package pushsink

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// DefaultMaxMessages is how many received messages a sink keeps when Options
// does not say otherwise; older ones are dropped first.
const DefaultMaxMessages = 10000

// maxRequestBody bounds a send request. FCM itself caps the payload at 4 KiB;
// the rest is headroom for the envelope and platform blocks.
const maxRequestBody = 1 << 20

// Options configures a Sink. The zero value is usable.
type Options struct {
	// Logger receives one debug line per request; tokens appear only as a
	// short hash. Nil discards.
	Logger *slog.Logger
	// Now is the clock used for receive times and timed faults. Nil means
	// time.Now.
	Now func() time.Time
	// MaxMessages bounds the record of received messages (per vendor for
	// the vendor stand-ins). Zero means DefaultMaxMessages.
	MaxMessages int
	// Credentials are what the vendor stand-ins accept; the zero value
	// means DevCredentials().
	Credentials *Credentials
	// TokenTTL, when positive, is the life of the access tokens the vendor
	// stand-ins hand out instead of each vendor's own (an hour, a day).
	TokenTTL time.Duration
}

// Sink is an http.Handler speaking the FCM HTTP v1 send API plus a small
// control API under /_sink/. It is safe for concurrent use.
type Sink struct {
	log         *slog.Logger
	now         func() time.Time
	maxMessages int
	mux         *http.ServeMux

	mu       sync.Mutex
	seq      int64
	received []Received
	recorded int // messages recorded since the last reset, dropped ones too
	faults   []*activeFault
	faultSeq int64
	vend     *vendorState

	srvMu  sync.Mutex
	server *http.Server
	done   chan error

	connMu sync.Mutex
	fresh  map[net.Conn]struct{}

	caPEM []byte  // StartTLS's CA
	fcm   fcmAuth // service accounts and access tokens, once one is made
}

// New returns a sink with no recorded messages and no faults.
func New(opts Options) *Sink {
	s := &Sink{
		log:         opts.Logger,
		now:         opts.Now,
		maxMessages: opts.MaxMessages,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxMessages <= 0 {
		s.maxMessages = DefaultMaxMessages
	}
	creds := DevCredentials()
	if opts.Credentials != nil {
		creds = *opts.Credentials
	}
	s.vend = newVendorState(creds, opts.TokenTTL)
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /v1/projects/{project}/messages:send", s.handleSend)
	s.mux.HandleFunc("POST "+fcmTokenPath, s.handleFCMToken)
	s.mux.HandleFunc("GET /_sink/messages", s.handleListMessages)
	s.mux.HandleFunc("DELETE /_sink/messages", s.handleResetMessages)
	s.mux.HandleFunc("GET /_sink/faults", s.handleListFaults)
	s.mux.HandleFunc("POST /_sink/faults", s.handleAddFault)
	s.mux.HandleFunc("DELETE /_sink/faults", s.handleClearFaults)
	s.routeVendors()
	s.mux.HandleFunc("/", s.handleNotFound)
	return s
}

// ServeHTTP routes FCM sends and control requests.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// tokenHash is what the sink logs instead of a push token.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:6])
}
