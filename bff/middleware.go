package bff

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/weifang/kaigong-zsb/internal/logging"
	"github.com/weifang/kaigong-zsb/models"
)

const localRequestID = "request_id"

// requestIDMiddleware takes a well-formed X-Request-Id from the client or
// makes one, echoes it, and puts it in the request's context so every log
// line of the request carries it.
func requestIDMiddleware(c *fiber.Ctx) error {
	id := c.Get(fiber.HeaderXRequestID)
	if !validRequestID(id) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	} else {
		id = string([]byte(id)) // detach from fasthttp's buffer
	}
	c.Locals(localRequestID, id)
	c.Set(fiber.HeaderXRequestID, id)
	c.SetUserContext(logging.WithRequestID(c.UserContext(), id))
	return c.Next()
}

func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID).(string)
	return id
}

// routePath is the route pattern (not the raw path) so metrics stay bounded.
func routePath(c *fiber.Ctx) string {
	if r := c.Route(); r != nil && r.Path != "" && r.Path != "/" {
		return r.Path
	}
	if c.Path() == "/" {
		return "/"
	}
	return "unmatched"
}

// observe records request metrics and writes one access log line per request.
// It runs after the error handler so the status is final.
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := s.errorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	status := c.Response().StatusCode()
	route := routePath(c)
	elapsed := time.Since(start)
	s.metrics.observeRequest(c.Method(), route, status, elapsed)
	if s.accessLog {
		// Typed attributes: the key-value form boxes each value.
		s.log.LogAttrs(c.UserContext(), slog.LevelInfo, "request",
			slog.String("method", c.Method()), slog.String("route", route), slog.Int("status", status),
			slog.Float64("elapsed_ms", float64(elapsed.Microseconds())/1000), slog.Int("bytes", len(c.Response().Body())))
	}
	return nil
}

// recoverMiddleware turns a panic into a 500 problem and logs the stack.
func (s *Server) recoverMiddleware(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.ErrorContext(c.UserContext(), "panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = &models.Error{Code: models.CodeInternal, Message: "internal error"}
		}
	}()
	return c.Next()
}

// securityHeaders sets headers every API answer should carry.
func securityHeaders(c *fiber.Ctx) error {
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "no-referrer")
	return c.Next()
}

// ctxTimeout bounds the work of one request, so a stuck backend cannot hold
// a connection forever. The request's context reports the deadline at once
// but starts its timer only when something first waits on it: most reads
// are answered from memory and never do, and a timer per request was a fifth
// of the progress read's allocations.
func ctxTimeout(d time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := &deadlineContext{Context: c.UserContext(), deadline: time.Now().Add(d)}
		defer ctx.stop()
		c.SetUserContext(ctx)
		return c.Next()
	}
}

// deadlineContext is context.WithDeadline whose timer is made on the first
// call to Done or Err. Until then nothing can be waiting on it, so nothing
// can observe the difference: Deadline answers as it would, and a context
// derived from it asks for Done, which starts the timer.
type deadlineContext struct {
	context.Context // the parent
	deadline        time.Time

	// Set at most once, by start or stop; inner stays nil when the request
	// ended before anything waited, and the context then reads as canceled.
	once    sync.Once
	started atomic.Bool        // inner is set
	inner   context.Context    // context.WithDeadline(parent, deadline)
	cancel  context.CancelFunc // inner's
}

func (d *deadlineContext) start() {
	d.once.Do(func() {
		ctx, cancel := context.WithDeadline(d.Context, d.deadline)
		d.inner, d.cancel = ctx, cancel
		d.started.Store(true)
	})
}

// Value answers from the timer's context once it exists: the context
// package then finds its cancellation there, so a context derived from this
// one is registered with it directly (not watched by a goroutine), and
// context.Cause agrees with Err. Before, nothing can be waiting.
func (d *deadlineContext) Value(key any) any {
	if d.started.Load() {
		return d.inner.Value(key)
	}
	return d.Context.Value(key)
}

// AfterFunc is context.AfterFunc's hook for contexts of other types (pgx
// calls it for every query): without it, each call would start a goroutine
// to wait on Done.
func (d *deadlineContext) AfterFunc(f func()) (stop func() bool) {
	d.start()
	if d.inner != nil {
		return context.AfterFunc(d.inner, f)
	}
	// Stopped before anything waited: done already, and f runs at once, in
	// its own goroutine, as context.AfterFunc does for a done context.
	go f()
	return func() bool { return false }
}

func (d *deadlineContext) Deadline() (time.Time, bool) {
	if p, ok := d.Context.Deadline(); ok && p.Before(d.deadline) {
		return p, true
	}
	return d.deadline, true
}

func (d *deadlineContext) Done() <-chan struct{} {
	d.start()
	if d.inner == nil {
		return closedDone
	}
	return d.inner.Done()
}

func (d *deadlineContext) Err() error {
	d.start()
	if d.inner == nil {
		return context.Canceled
	}
	return d.inner.Err()
}

// stop releases the timer, if one was started, when the request ends; a
// context that was never waited on is simply dropped.
func (d *deadlineContext) stop() {
	// Never started: from now on it reads as canceled, as a WithDeadline
	// context does after its cancel.
	d.once.Do(func() {})
	if d.cancel != nil {
		d.cancel()
	}
}

// closedDone is the Done of a request that ended before anything waited.
var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func itoa(n int) string { return strconv.Itoa(n) }
