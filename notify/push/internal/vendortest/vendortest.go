// Package vendortest is what the vendor senders' tests share: a running
// push sink (the vendors' stand-ins) and sample pushes.
package vendortest

import (
	"fmt"
	"testing"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/notify/push"
)

// StartSink starts a push sink on a free port, closed after the test, and
// returns it with its base URL.
func StartSink(t testing.TB, opts pushsink.Options) (*pushsink.Sink, string) {
	t.Helper()
	s := pushsink.New(opts)
	base, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start sink: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close sink: %v", err)
		}
	})
	return s, base
}

// Notice is a sample push of one notice to token through provider.
func Notice(provider, token string) push.Message {
	return push.Message{
		Token: token, Provider: provider,
		NotificationID: "ntf-0001", Category: "progress", ProjectID: "WF-2026-0001",
		ItemCodes: []string{"GH-01", "JS-02"}, Route: "zsb://projects/WF-2026-0001/next-steps",
		UnreadCount: 3, Title: "建设工程规划许可证已核发", Body: "潍坊市自然资源和规划局已核发您的规划许可证，请查看下一步。",
	}
}

// Fanout is one notice to n devices: tokens "<prefix>-0000" on.
func Fanout(provider, prefix string, n int) []push.Message {
	out := make([]push.Message, n)
	for i := range out {
		out[i] = Notice(provider, fmt.Sprintf("%s-%04d", prefix, i))
	}
	return out
}

// Outcomes lists the results' outcomes.
func Outcomes(results []push.Result) []string {
	out := make([]string, len(results))
	for i, r := range results {
		out[i] = r.Outcome
	}
	return out
}

// AllOutcome fails the test unless every result has outcome.
func AllOutcome(t testing.TB, results []push.Result, outcome string) {
	t.Helper()
	for i, r := range results {
		if r.Outcome != outcome {
			t.Fatalf("result %d = %+v, want %s", i, r, outcome)
		}
	}
}
