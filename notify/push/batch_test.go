package push

import (
	"context"
	"testing"
)

// batchingSender is a sender that says how many pushes it takes together.
type batchingSender struct {
	fakeSender
	provider string
	max      int
}

func (b *batchingSender) MaxBatch(provider string) int {
	if provider != b.provider {
		return 0
	}
	return b.max
}

func TestMaxBatch(t *testing.T) {
	r := NewRouter(map[string]Sender{
		ProviderFCM:    &batchingSender{fakeSender: fakeSender{answer: sentAll}, provider: ProviderFCM, max: 500},
		ProviderHuawei: &batchingSender{fakeSender: fakeSender{answer: sentAll}, provider: ProviderHuawei, max: 1000},
		ProviderVivo:   &fakeSender{answer: sentAll}, // says nothing
	})
	for provider, want := range map[string]int{
		ProviderFCM: 500, "": 500, ProviderHuawei: 1000, ProviderVivo: 0, ProviderOPPO: 0,
	} {
		if got := r.MaxBatch(provider); got != want {
			t.Errorf("Router.MaxBatch(%q) = %d, want %d", provider, got, want)
		}
		if got := MaxBatch(r, provider); got != want {
			t.Errorf("MaxBatch(router, %q) = %d, want %d", provider, got, want)
		}
	}
	var plain Sender = &fakeSender{answer: sentAll}
	if got := MaxBatch(plain, ProviderFCM); got != 0 {
		t.Errorf("MaxBatch of a sender that does not say = %d, want 0", got)
	}
	// The router still sends through the batching senders.
	res := r.Send(context.Background(), []Message{{Provider: ProviderHuawei, Token: "t"}})
	if res[0].Outcome != OutcomeSent {
		t.Fatalf("send: %+v", res[0])
	}
}
