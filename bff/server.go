// Package bff is the HTTP gateway the mobile app talks to: Fiber routes,
// handlers, middleware and the one error mapper.
package bff

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/auth"
	"github.com/weifang/kaigong-zsb/notify"
	"github.com/weifang/kaigong-zsb/projectview"
	"github.com/weifang/kaigong-zsb/store"
)

// Limits of the HTTP layer. The webhook's 1 MiB is the contract's; JSON
// bodies of the app's own routes are far smaller and capped in decode.
const (
	MaxBodyBytes    = 1 << 20
	maxAppJSONBytes = 64 << 10
	readTimeout     = 10 * time.Second
	writeTimeout    = 15 * time.Second
	idleTimeout     = 90 * time.Second
	requestTimeout  = 10 * time.Second
)

// Deps are the collaborators the gateway needs; main wires them.
type Deps struct {
	Log      *slog.Logger
	DB       *store.DB
	Redis    redis.UniversalClient
	Registry *prometheus.Registry
	// AccessLog writes one info line per request.
	AccessLog bool
	// ProxyHeader, when set, is the header carrying the client address.
	ProxyHeader string
	// ServeMetrics serves /metrics on this listener (else on an ops address).
	ServeMetrics bool

	Tokens *auth.Tokens
	Login  *auth.Authenticator
	Views  *projectview.Views
	Intake *notify.Intake
	Tasks  *notify.Tasks
}

// Server is the configured Fiber application.
type Server struct {
	app       *fiber.App
	log       *slog.Logger
	metrics   *httpMetrics
	accessLog bool
	deps      Deps
	users     *userCache
}

// New builds the gateway and its routes.
func New(d Deps) *Server {
	s := &Server{log: d.Log, deps: d, accessLog: d.AccessLog, users: newUserCache(10*time.Second, 10000)}
	s.metrics = newHTTPMetrics(d.Registry)
	s.app = fiber.New(fiber.Config{
		AppName:               "zsb-bff",
		BodyLimit:             MaxBodyBytes,
		ReadTimeout:           readTimeout,
		WriteTimeout:          writeTimeout,
		IdleTimeout:           idleTimeout,
		ReadBufferSize:        16 << 10, // long bearer tokens reach auth, which answers 401
		DisableStartupMessage: true,
		ErrorHandler:          s.errorHandler,
		ProxyHeader:           d.ProxyHeader,
		StrictRouting:         true,
		CaseSensitive:         true,
	})
	s.app.Use(requestIDMiddleware, s.observe, s.recoverMiddleware, securityHeaders, ctxTimeout(requestTimeout))
	s.routes()
	return s
}

// App exposes the Fiber app, for tests that drive it with app.Test.
func (s *Server) App() *fiber.App { return s.app }

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops accepting connections and waits for in-flight requests.
func (s *Server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }
