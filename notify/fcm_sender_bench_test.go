package notify

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFCMSend sends batches of deliveryBatch pushes from senders
// goroutines at once, as the dispatcher does under a fan-out, through the
// real FCM client to the local sink (both in this process). cpu-µs/push is
// the CPU the client and the sink spent per push: on a shared machine a
// steadier figure than the wall clock.
func BenchmarkFCMSend(b *testing.B) {
	sink := pushsink.New(pushsink.Options{MaxMessages: 200_000})
	base, err := sink.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sink.Close() })
	sender, err := NewFCMSender(context.Background(), FCMConfig{Endpoint: pushsink.Endpoint(base)})
	if err != nil {
		b.Fatal(err)
	}
	batches := make([][]PushMessage, senders)
	for s := range batches {
		for i := range deliveryBatch {
			m := pushTo(fmt.Sprintf("tok-bench-%d-%d", s, i))
			batches[s] = append(batches[s], m)
		}
	}
	ctx := context.Background()
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		for _, batch := range batches {
			wg.Go(func() {
				for _, r := range sender.Send(ctx, batch) {
					if r.Outcome != OutcomeSent {
						b.Errorf("push %+v", r)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	b.StopTimer()
	pushes := float64(b.N * senders * deliveryBatch)
	b.ReportMetric(pushes/b.Elapsed().Seconds(), "pushes/s")
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/pushes, "cpu-µs/push")
}
