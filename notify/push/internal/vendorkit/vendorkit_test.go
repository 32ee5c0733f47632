package vendorkit

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/weifang/kaigong-zsb/notify/push"
)

func TestTokenCacheOneFetchUnderConcurrency(t *testing.T) {
	var fetches atomic.Int32
	release := make(chan struct{})
	c := NewTokenCache(func(ctx context.Context) (Token, error) {
		n := fetches.Add(1)
		<-release
		return Token{Value: "tok" + string(rune('0'+n)), Expiry: time.Now().Add(time.Hour)}, nil
	}, 0, nil)
	var wg sync.WaitGroup
	got := make([]string, 50)
	for i := range got {
		wg.Go(func() {
			tok, err := c.Get(context.Background())
			if err != nil {
				t.Error(err)
			}
			got[i] = tok
		})
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if fetches.Load() != 1 {
		t.Fatalf("%d fetches for 50 concurrent callers", fetches.Load())
	}
	for _, g := range got {
		if g != "tok1" {
			t.Fatalf("token %q", g)
		}
	}
	// 50 callers told that tok1 expired refresh it once.
	for range got {
		wg.Go(func() {
			if tok, err := c.Refresh(context.Background(), "tok1"); err != nil || tok != "tok2" {
				t.Errorf("Refresh = %q, %v", tok, err)
			}
		})
	}
	wg.Wait()
	if fetches.Load() != 2 || c.Fetches() != 2 {
		t.Fatalf("%d fetches after a burst of refreshes", fetches.Load())
	}
}

func TestTokenCacheMargin(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	c := NewTokenCache(func(context.Context) (Token, error) {
		n++
		return Token{Value: "t", Expiry: now.Add(time.Hour)}, nil
	}, 5*time.Minute, func() time.Time { return now })
	c.Get(context.Background())
	now = now.Add(54 * time.Minute)
	c.Get(context.Background())
	if n != 1 {
		t.Fatalf("refetched inside the token's life: %d", n)
	}
	now = now.Add(2 * time.Minute) // 4 minutes left: within the margin
	c.Get(context.Background())
	if n != 2 {
		t.Fatalf("kept a token within the margin: %d fetches", n)
	}
}

func TestWithToken(t *testing.T) {
	n := 0
	c := NewTokenCache(func(context.Context) (Token, error) {
		n++
		return Token{Value: strings.Repeat("x", n), Expiry: time.Now().Add(time.Hour)}, nil
	}, 0, nil)
	// Expired once: refreshed and called again.
	calls := 0
	res, err := WithToken(context.Background(), c, func(tok string) (string, bool, error) {
		calls++
		return tok, tok == "x", nil
	})
	if err != nil || res != "xx" || calls != 2 {
		t.Fatalf("WithToken = %q, %v after %d calls", res, err, calls)
	}
	// Always rejected: one refresh, then ErrStillExpired.
	calls = 0
	_, err = WithToken(context.Background(), c, func(tok string) (string, bool, error) {
		calls++
		return tok, true, nil
	})
	if !errors.Is(err, ErrStillExpired) || calls != 2 || n != 3 {
		t.Fatalf("err %v, calls %d, fetches %d", err, calls, n)
	}
	if r := ErrorResult(context.Background(), err); r.Outcome != push.OutcomeAuthFailed {
		t.Errorf("ErrorResult = %+v", r)
	}
	// A rejected secret stops the provider.
	bad := NewTokenCache(func(context.Context) (Token, error) {
		return Token{}, &AuthError{Code: "1101", Msg: "invalid client"}
	}, 0, nil)
	_, err = WithToken(context.Background(), bad, func(string) (int, bool, error) { return 0, false, nil })
	if r := ErrorResult(context.Background(), err); r.Outcome != push.OutcomeAuthFailed || r.ErrorCode != "1101" {
		t.Errorf("ErrorResult = %+v", r)
	}
	if r := ErrorResult(context.Background(), errors.New("dial")); r.Outcome != push.OutcomeRetry {
		t.Errorf("ErrorResult = %+v", r)
	}
}

func TestGroupByContent(t *testing.T) {
	msgs := []push.Message{
		{Token: "a", Title: "x"}, {Token: "b", Title: "y"}, {Token: "c", Title: "x"},
		{Token: "d", Title: "x"}, {Token: "e", Title: "x", Critical: true},
	}
	got := GroupByContent(msgs, []int{0, 1, 2, 3, 4}, 2)
	want := [][]int{{0, 2}, {3}, {1}, {4}}
	if len(got) != len(want) {
		t.Fatalf("groups %v", got)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) || got[i][0] != want[i][0] {
			t.Fatalf("groups %v, want %v", got, want)
		}
	}
	res, idx := Prepare(push.ProviderHuawei, []push.Message{
		{Token: "a", Provider: "huawei"}, {Provider: "huawei"}, {Token: "c", Provider: "fcm"},
	})
	if len(idx) != 1 || res[1].ErrorCode != push.CodeMissingToken || res[2].ErrorCode != push.CodeProviderUnsupported {
		t.Errorf("Prepare = %v %v", res, idx)
	}
	if n := len(Chunks(make([]int, 2500), MaxBatch)); n != 3 {
		t.Errorf("%d chunks", n)
	}
}

func TestTruncate(t *testing.T) {
	if got := Truncate("审批通过", 10); got != "审批通过" {
		t.Errorf("%q", got)
	}
	if got := Truncate("建设工程规划许可证已核发", 5); got != "建设工程…" || utf8.RuneCountInString(got) != 5 {
		t.Errorf("%q", got)
	}
	// vivo: 20 Chinese characters at most (40 units).
	long := strings.Repeat("审", 30)
	got := TruncateUnits(long, 40, WideUnits)
	units := 0
	for _, r := range got {
		units += WideUnits(r)
	}
	if units > 40 || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
		t.Errorf("%q weighs %d", got, units)
	}
	if got := TruncateUnits("abc", 3, WideUnits); got != "abc" {
		t.Errorf("%q", got)
	}
}
