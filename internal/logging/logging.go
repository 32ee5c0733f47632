// Package logging builds the service's JSON slog logger and carries the
// request id through contexts, so every log line of a request names it.
package logging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

type ctxKey struct{}

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// New returns a JSON logger at the given level ("debug", "info", "warn",
// "error") that adds request_id to records logged with a request's context.
//
// If w has a Flush method (BufferedWriter), it is flushed after every record
// at warning level or above, so those are never held back.
func New(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	f, _ := w.(flusher)
	return slog.New(requestIDHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}), f})
}

type flusher interface{ Flush() error }

type requestIDHandler struct {
	slog.Handler
	flush flusher
}

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	err := h.Handler.Handle(ctx, r)
	if h.flush != nil && r.Level >= slog.LevelWarn {
		err = errors.Join(err, h.flush.Flush())
	}
	return err
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs), h.flush}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name), h.flush}
}

// RedisLogger adapts a slog logger to go-redis's internal logger, so the
// client's connection warnings are JSON lines like everything else.
type RedisLogger struct{ Log *slog.Logger }

// Printf logs one go-redis message at warn level.
func (r RedisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.Log.WarnContext(ctx, "redis client", "msg_detail", fmt.Sprintf(format, v...))
}
