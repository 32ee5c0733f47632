package pushsink

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

// benchMessage is a send request like the BFF's: notification, string data,
// Android and APNs blocks.
const benchMessage = `{"message":{"data":{"category":"progress","item_codes":"370700-001","notification_id":"n_0123456789abcdef0123456789abcdef","project_id":"WF-1","route":"zsb://projects/WF-1/progress","unread_count":"2"},"notification":{"title":"进度更新","body":"建设工程规划许可证已预审批"},"android":{"collapse_key":"WF-1","priority":"normal"},"apns":{"headers":{"apns-collapse-id":"WF-1","apns-priority":"5","apns-push-type":"alert"},"payload":{"aps":{"alert":{"title":"进度更新","body":"建设工程规划许可证已预审批"},"badge":2,"sound":"default","thread-id":"WF-1"}}},"token":"tok-bench"},"validate_only":false}`

// BenchmarkHandleSend is the sink's own work for one accepted send, without
// the network: what a fan-out costs the process hosting the sink beyond
// net/http.
func BenchmarkHandleSend(b *testing.B) {
	s := New(Options{})
	body := []byte(benchMessage)
	b.ReportAllocs()
	n := 0
	cpu0 := cpuTime(b)
	for b.Loop() {
		if n++; n%1000 == 0 {
			s.Reset() // measure the handler, not a full record
		}
		r := httptest.NewRequest(http.MethodPost, "/v1/projects/demo/messages:send", bytes.NewReader(body))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user and system CPU time so far: on a shared
// machine a steadier measure than the wall clock.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
