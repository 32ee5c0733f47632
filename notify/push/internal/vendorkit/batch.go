package vendorkit

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"

	"github.com/weifang/kaigong-zsb/notify/push"
)

// MaxBatch is the most device tokens one send accepts at the vendors that
// take many (Huawei, Honor, Xiaomi, OPPO, vivo).
const MaxBatch = 1000

// Prepare checks each message against what a sender for provider can
// send: messages for another provider, or without a token, get a failed
// result at once; the indices of the others are returned in order.
func Prepare(provider string, msgs []push.Message) ([]push.Result, []int) {
	results := make([]push.Result, len(msgs))
	var ok []int
	for i, m := range msgs {
		switch {
		case m.Provider != provider:
			results[i] = push.Failed(push.CodeProviderUnsupported)
		case m.Token == "":
			results[i] = push.Failed(push.CodeMissingToken)
		default:
			ok = append(ok, i)
		}
	}
	return results, ok
}

// Chunks splits idx into runs of at most max, in order.
func Chunks(idx []int, max int) [][]int {
	if max <= 0 {
		max = MaxBatch
	}
	var out [][]int
	for start := 0; start < len(idx); start += max {
		out = append(out, idx[start:min(start+max, len(idx))])
	}
	return out
}

// GroupByContent groups the messages at idx that carry the same content
// (everything but the token), in order of first appearance, each group cut
// into chunks of at most max: one vendor call sends one content to many
// tokens.
func GroupByContent(msgs []push.Message, idx []int, max int) [][]int {
	groups := map[string]int{}
	var order [][]int
	for _, i := range idx {
		key := contentKey(msgs[i])
		g, ok := groups[key]
		if !ok {
			g = len(order)
			groups[key] = g
			order = append(order, nil)
		}
		order[g] = append(order[g], i)
	}
	var out [][]int
	for _, g := range order {
		out = append(out, Chunks(g, max)...)
	}
	return out
}

func contentKey(m push.Message) string {
	m.Token = ""
	raw, _ := json.Marshal(m) // Message has only plain fields: cannot fail
	return string(raw)
}

// Data is the app's data fields, the same on every provider (the FCM
// message's data): notification_id, category, project_id, item_codes
// (comma-separated), route, unread_count.
func Data(m push.Message) map[string]string {
	return map[string]string{
		"notification_id": m.NotificationID,
		"category":        m.Category,
		"project_id":      m.ProjectID,
		"item_codes":      strings.Join(m.ItemCodes, ","),
		"route":           m.Route,
		"unread_count":    strconv.Itoa(Badge(m)),
	}
}

// DataJSON is Data as a JSON object in a string, for the vendors whose
// data field is one (Huawei v1, Honor, Xiaomi, OPPO).
func DataJSON(m push.Message) string {
	raw, _ := json.Marshal(Data(m)) // a map of strings: cannot fail
	return string(raw)
}

// Badge is the badge number: the unread count, never negative.
func Badge(m push.Message) int {
	return max(m.UnreadCount, 0)
}

// DefaultParallel is how many requests one Send has in flight to a vendor.
const DefaultParallel = 8

// ForEach calls fn for each group, at most parallel at once, and returns
// when all are done. fn writes only its own groups' results.
func ForEach(groups [][]int, parallel int, fn func(group []int)) {
	if parallel <= 0 {
		parallel = DefaultParallel
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, g := range groups {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(g)
		})
	}
	wg.Wait()
}
