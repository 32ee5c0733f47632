package bff

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"runtime/debug"
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
// a connection forever.
func ctxTimeout(d time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), d)
		defer cancel()
		c.SetUserContext(ctx)
		return c.Next()
	}
}
