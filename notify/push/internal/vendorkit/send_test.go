package vendorkit

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/weifang/kaigong-zsb/notify/push"
)

// recorder is a SendFunc that keeps each batch it was handed.
type recorder struct {
	mu      sync.Mutex
	batches [][]string
	answer  func(b Batch) ([]push.Result, error)
}

func (r *recorder) send(_ context.Context, b Batch) ([]push.Result, error) {
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(b.Tokens))
	r.mu.Unlock()
	if r.answer != nil {
		return r.answer(b)
	}
	out := make([]push.Result, len(b.Msgs))
	for i, m := range b.Msgs {
		out[i] = push.Sent("id-" + m.Token)
	}
	return out, nil
}

func (r *recorder) sorted() [][]string {
	out := slices.Clone(r.batches)
	slices.SortFunc(out, func(a, b []string) int { return slices.Compare(a, b) })
	return out
}

func TestSendGroupsSameContent(t *testing.T) {
	msgs := []push.Message{
		{Provider: "huawei", Token: "a", Title: "x"}, {Provider: "huawei", Token: "b", Title: "y"},
		{Provider: "huawei", Token: "c", Title: "x"}, {Provider: "fcm", Token: "d", Title: "x"},
		{Provider: "huawei", Title: "x"}, {Provider: "huawei", Token: "e", Title: "x"},
	}
	var r recorder
	res := SendGroups(context.Background(), Plan{Provider: "huawei", Max: 2, Grouping: SameContent}, msgs, r.send)
	want := [][]string{{"a", "c"}, {"b"}, {"e"}}
	if got := r.sorted(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", got, want)
	}
	for i, w := range []push.Result{push.Sent("id-a"), push.Sent("id-b"), push.Sent("id-c"),
		push.Failed(push.CodeProviderUnsupported), push.Failed(push.CodeMissingToken), push.Sent("id-e")} {
		if res[i] != w {
			t.Errorf("result %d = %+v, want %+v", i, res[i], w)
		}
	}
}

func TestSendGroupsAnyContent(t *testing.T) {
	msgs := []push.Message{
		{Provider: "oppo", Token: "a", Title: "x"}, {Provider: "oppo", Token: "b", Title: "y"},
		{Provider: "oppo", Token: "c", Title: "z"},
	}
	var r recorder
	SendGroups(context.Background(), Plan{Provider: "oppo", Max: 2, Grouping: AnyContent}, msgs, r.send)
	if got, want := r.sorted(), [][]string{{"a", "b"}, {"c"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", got, want)
	}
}

func TestSendGroupsErrorsAndShortAnswers(t *testing.T) {
	msgs := []push.Message{{Provider: "xiaomi", Token: "a", Title: "x"}, {Provider: "xiaomi", Token: "b", Title: "x"},
		{Provider: "xiaomi", Token: "c", Title: "y"}}
	r := recorder{answer: func(b Batch) ([]push.Result, error) {
		if b.Msgs[0].Title == "x" {
			return []push.Result{push.Sent("only-one")}, nil // one answer for two
		}
		return nil, &AuthError{Code: "21301"}
	}}
	res := SendGroups(context.Background(), Plan{Provider: "xiaomi"}, msgs, r.send)
	if res[0] != push.Sent("only-one") || res[1] != push.Retry(push.CodeBadResponse, 0) {
		t.Errorf("short answer: %+v %+v", res[0], res[1])
	}
	if res[2].Outcome != push.OutcomeAuthFailed || res[2].ErrorCode != "21301" {
		t.Errorf("error: %+v", res[2])
	}
}

func TestSendGroupsCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var r recorder
	res := SendGroups(ctx, Plan{Provider: "vivo"}, []push.Message{{Provider: "vivo", Token: "a"}}, r.send)
	if len(r.batches) != 0 || res[0] != push.Retry(push.CodeCanceled, 0) {
		t.Fatalf("after cancel: %d batches sent, result %+v", len(r.batches), res[0])
	}
}

func TestPlanMaxBatch(t *testing.T) {
	p := Plan{Provider: "honor", Max: 1000}
	if p.MaxBatch("honor") != 1000 || p.MaxBatch("huawei") != 0 || (Plan{Provider: "x"}).MaxBatch("x") != MaxBatch {
		t.Fatalf("MaxBatch: %d %d %d", p.MaxBatch("honor"), p.MaxBatch("huawei"), (Plan{Provider: "x"}).MaxBatch("x"))
	}
}
