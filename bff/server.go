// Package bff is the HTTP gateway the mobile app talks to: Fiber routes,
// handlers, middleware and the one error mapper.
package bff

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/weifang/kaigong-zsb/notify/intake"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/weifang/kaigong-zsb/auth"
	"github.com/weifang/kaigong-zsb/internal/projectview"
	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/tasks"
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

// The HTTP layer's per-connection buffers. The read buffer holds a request's
// headers: long bearer tokens must reach auth, which answers 401. The write
// buffer holds a whole progress answer (about 10 KB for the largest demo
// project) with its headers, so it leaves in one write system call; with
// Fiber's 4 KiB it took two, and the write was the largest single cost of a
// progress read in its profile. Both are held per keep-alive connection.
const (
	ReadBufferSize  = 16 << 10
	WriteBufferSize = 16 << 10
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
	Intake *intake.Intake
	Tasks  *tasks.Service
	// Push says which push providers the server can deliver through; nil
	// means FCM only.
	Push interface{ Supports(provider string) bool }
}

// Server is the configured Fiber application.
type Server struct {
	app       *fiber.App
	log       *slog.Logger
	metrics   *httpMetrics
	accessLog bool
	deps      Deps
	users     *userCache
	catalog   catalogAnswer
}

// New builds the gateway and its routes.
func New(d Deps) *Server {
	s := &Server{log: d.Log, deps: d, accessLog: d.AccessLog}
	s.users = newUserCache(10*time.Second, time.Minute, 10000, func(ctx context.Context, id int64) (*models.User, error) {
		u := new(models.User)
		if err := d.DB.WithContext(ctx).Take(u, id).Error; err != nil {
			return nil, err
		}
		return u, nil
	}, d.Log)
	s.metrics = newHTTPMetrics(d.Registry)
	s.app = fiber.New(fiber.Config{
		AppName:               "zsb-bff",
		BodyLimit:             MaxBodyBytes,
		ReadTimeout:           readTimeout,
		WriteTimeout:          writeTimeout,
		IdleTimeout:           idleTimeout,
		ReadBufferSize:        ReadBufferSize,
		WriteBufferSize:       WriteBufferSize,
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
