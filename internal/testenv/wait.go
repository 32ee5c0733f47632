package testenv

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Eventually polls cond until it holds, failing the test after 20 s. It
// waits for asynchronous work (a pipeline, a subscription) to happen; it
// asserts nothing about how fast.
func Eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// CountCommands counts, from now on, the commands named name (e.g. "mget")
// that rdb sends, pipelined or not: each is a round trip a cache may save.
func CountCommands(rdb redis.UniversalClient, name string) *atomic.Int64 {
	h := &commandCounter{name: name}
	rdb.AddHook(h)
	return &h.n
}

type commandCounter struct {
	name string
	n    atomic.Int64
}

func (h *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.count(cmd)
		return next(ctx, cmd)
	}
}

func (h *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			h.count(c)
		}
		return next(ctx, cmds)
	}
}

func (h *commandCounter) count(cmd redis.Cmder) {
	if strings.EqualFold(cmd.Name(), h.name) {
		h.n.Add(1)
	}
}
