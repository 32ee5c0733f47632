package redisconn

import (
	"context"
	"strings"
	"testing"

	"github.com/weifang/kaigong-zsb/internal/testenv"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()
	emb, err := Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if emb.Embedded == nil || !strings.HasPrefix(emb.Desc, "in-process") {
		t.Fatalf("embedded: %+v", emb)
	}
	if err := emb.Client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	emb.Close()

	real, err := Open(ctx, testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	if real.Embedded != nil {
		t.Fatal("a URL must not start an in-process server")
	}
	real.Close()

	for _, bad := range []string{"memcache://x", "redis+sentinel://127.0.0.1:1", "redis+sentinel://127.0.0.1:1/primary/zero", "redis://127.0.0.1:1/0"} {
		if _, err := Open(ctx, bad); err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
}
