package vendorkit

import (
	"context"

	"github.com/weifang/kaigong-zsb/notify/push"
)

// Grouping says which messages one request to a vendor may carry together.
type Grouping int

const (
	// SameContent is for vendors whose send call takes one notice and many
	// tokens (Huawei, HarmonyOS, Honor, Xiaomi, vivo): a batch holds
	// messages that differ only in their token.
	SameContent Grouping = iota
	// AnyContent is for vendors whose send call takes many messages, each
	// with its own content (OPPO's unicast_batch), or one message alone
	// (APNs): a batch holds the next messages in order.
	AnyContent
)

// Plan is how a vendor sender cuts a Send into requests.
type Plan struct {
	// Provider is the push provider the sender serves; messages for
	// another are answered provider_unsupported.
	Provider string
	// Max is the most messages one request carries: the vendor's
	// documented maximum (push-providers.md). Zero means MaxBatch.
	Max int
	// Grouping says which messages may share a request.
	Grouping Grouping
	// Parallel bounds the requests in flight; zero means DefaultParallel.
	Parallel int
}

// MaxBatch reports the most messages for provider one request carries
// under the plan, and 0 for any other provider: what a sender's MaxBatch
// method answers.
func (p Plan) MaxBatch(provider string) int {
	if provider != p.Provider {
		return 0
	}
	if p.Max <= 0 {
		return MaxBatch
	}
	return p.Max
}

// Batch is the part of a Send that one request to the vendor carries.
type Batch struct {
	// Msgs are the messages, in the order Send was given them. With
	// SameContent they differ only in their tokens, and Msgs[0] stands for
	// all of them.
	Msgs []push.Message
	// Tokens are the messages' device tokens, in the same order.
	Tokens []string
}

// SendFunc makes the request for one batch and returns one result per
// message of the batch, in order, or an error that answers the whole batch
// (see ErrorResult).
type SendFunc func(ctx context.Context, b Batch) ([]push.Result, error)

// SendGroups is the send loop every vendor sender shares: it answers the
// messages it cannot send at once (another provider, no token; see
// Prepare), cuts the others into batches as plan says (one notice's
// messages, or the next ones in order, at most plan.Max a batch), hands
// each batch to send, at most plan.Parallel at a time, and returns one
// result per message, in order. A batch not sent before ctx ends is
// answered canceled; a message send leaves unanswered is answered
// bad_response, to be retried.
func SendGroups(ctx context.Context, plan Plan, msgs []push.Message, send SendFunc) []push.Result {
	results, idx := Prepare(plan.Provider, msgs)
	max := plan.MaxBatch(plan.Provider)
	var groups [][]int
	if plan.Grouping == SameContent {
		groups = GroupByContent(msgs, idx, max)
	} else {
		groups = Chunks(idx, max)
	}
	ForEach(groups, plan.Parallel, func(group []int) {
		if Canceled(ctx, results, group) {
			return
		}
		b := Batch{Msgs: make([]push.Message, len(group)), Tokens: make([]string, len(group))}
		for j, i := range group {
			b.Msgs[j], b.Tokens[j] = msgs[i], msgs[i].Token
		}
		got, err := send(ctx, b)
		if err != nil {
			Fill(results, group, ErrorResult(ctx, err))
			return
		}
		for j, i := range group {
			if j < len(got) {
				results[i] = got[j]
			} else {
				results[i] = push.Retry(push.CodeBadResponse, 0)
			}
		}
	})
	return results
}
