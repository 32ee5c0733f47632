package redislock

import (
	"context"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/testenv"
)

func TestSchedulerLockHasOneHolder(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	ctx := context.Background()
	key := prefix + "{notify}:deadline-lock"
	a := New(rdb, key, time.Minute)
	b := New(rdb, key, time.Minute)
	if ok, err := a.Acquire(ctx); !ok || err != nil {
		t.Fatalf("first acquire = %v, %v", ok, err)
	}
	if ok, _ := b.Acquire(ctx); ok {
		t.Fatal("second holder acquired a held lock")
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.Acquire(ctx); !ok {
		t.Fatal("a stranger's release freed the lock")
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.Acquire(ctx); !ok {
		t.Fatal("lock not free after its holder released it")
	}
}
