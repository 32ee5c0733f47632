package fcm

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/notify/push"
)

// The pipeline's shape under a fan-out: senders batches of deliveryBatch
// pushes in flight at once.
const (
	senders       = 4
	deliveryBatch = 500
)

// BenchmarkFCMSend sends batches of deliveryBatch pushes from senders
// goroutines at once, as the pipeline does under a fan-out, through the
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
	sender, err := NewSender(context.Background(), Config{Endpoint: pushsink.Endpoint(base)})
	if err != nil {
		b.Fatal(err)
	}
	batches := make([][]push.Message, senders)
	for s := range batches {
		for i := range deliveryBatch {
			m := pushTo(fmt.Sprintf("tok-bench-%d-%d", s, i))
			batches[s] = append(batches[s], m)
		}
	}
	ctx := context.Background()
	cpu0 := testenv.CPUTime(b)
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		for _, batch := range batches {
			wg.Go(func() {
				for _, r := range sender.Send(ctx, batch) {
					if r.Outcome != push.OutcomeSent {
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
	b.ReportMetric(float64((testenv.CPUTime(b)-cpu0).Microseconds())/pushes, "cpu-µs/push")
}
