package tasks

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
	a := newRedisLock(rdb, key, time.Minute)
	b := newRedisLock(rdb, key, time.Minute)
	if ok, err := a.acquire(ctx); !ok || err != nil {
		t.Fatalf("first acquire = %v, %v", ok, err)
	}
	if ok, _ := b.acquire(ctx); ok {
		t.Fatal("second holder acquired a held lock")
	}
	if err := b.release(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.acquire(ctx); !ok {
		t.Fatal("a stranger's release freed the lock")
	}
	if err := a.release(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.acquire(ctx); !ok {
		t.Fatal("lock not free after its holder released it")
	}
}
