package notify

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/push"
)

// devices gives u n more FCM devices, tokens prefix-00000 onwards.
func (w *world) devices(u models.User, prefix string, n int) {
	w.t.Helper()
	devs := make([]models.Device, n)
	for i := range devs {
		tok := fmt.Sprintf("%s-%05d", prefix, i)
		devs[i] = models.Device{InstallationID: "inst-" + tok, UserID: u.ID, Platform: "android", Provider: push.ProviderFCM,
			PushToken: tok, PushTokenHash: "h-" + tok, Active: true}
	}
	if err := w.d.DB.CreateInBatches(devs, 500).Error; err != nil {
		w.t.Fatal(err)
	}
}

// firstSendWatch wraps the sender: at its first Send it counts the
// deliveries planned so far.
type firstSendWatch struct {
	push.Sender
	once    sync.Once
	planned func() int64
	atFirst int64
}

func (f *firstSendWatch) Send(ctx context.Context, msgs []push.Message) []push.Result {
	f.once.Do(func() { f.atFirst = f.planned() })
	return f.Sender.Send(ctx, msgs)
}

// everyTokenOnce checks that each of the user's tokens got the push exactly
// once, and returns how many tokens got it.
func (w *world) everyTokenOnce(prefix string, n int) {
	w.t.Helper()
	got := map[string]int{}
	for _, r := range w.sink.Delivered() {
		got[r.Token]++
	}
	missing, twice := 0, 0
	for i := range n {
		switch got[fmt.Sprintf("%s-%05d", prefix, i)] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
	}
	if missing > 0 || twice > 0 {
		w.t.Fatalf("of %d devices, %d got no push and %d got it more than once", n, missing, twice)
	}
}

func (w *world) countDeliveries() int64 {
	w.t.Helper()
	var n int64
	if err := w.d.DB.Model(&models.PushDelivery{}).Count(&n).Error; err != nil {
		w.t.Fatal(err)
	}
	return n
}

// chunkedWorld is a world on PostgreSQL, where the stream reader hands a
// sender a fan-out, whose enterprise has n more devices (tokens fan-00000
// onwards) and whose sink has seen nothing yet.
func chunkedWorld(t *testing.T, n int) *world {
	w := newWorld(t, 0)
	if w.d.DB.Dialect != "postgres" {
		t.Skip("the reader plans leased, and so hands a sender a fan-out (planNext), only on PostgreSQL; TestFanOutSendsWhilePlanning covers SQLite")
	}
	w.upsert(false)
	w.devices(w.ent, "fan", n)
	w.drain()
	w.sink.Reset()
	return w
}

// handFanOut has the stream reader hand the push of a correction (sent at
// once) to s.
func (w *world) handFanOut(s handing) {
	w.t.Helper()
	w.pipe.cons.dv.senders = s
	w.item("ST-01", models.StatusCorrectionRequired, map[string]any{"reason": "缺图"})
	ctx := context.Background()
	if _, err := w.pipe.relay.relayOnce(ctx); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.pipe.cons.readOnce(ctx, -1); err != nil {
		w.t.Fatal(err)
	}
}

// A push to thousands of devices leaves before its plan is complete: the
// stream reader plans the first chunk, the sender plans the rest chunk by
// chunk while it sends. Every device gets it exactly once and the job ends
// done. (On SQLite there is no such shortcut: the dispatcher plans it
// whole, and every device still gets it once.)
func TestFanOutSendsWhilePlanning(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	const n = 2*nextChunk + firstChunk + 300 // four chunks, the last one short
	w.devices(w.ent, "fan", n)
	w.drain()
	w.sink.Reset()
	watch := &firstSendWatch{Sender: w.pipe.disp.d.Sender, planned: w.countDeliveries}
	w.pipe.disp.d.Sender = watch
	before := w.countDeliveries()

	w.item("ST-01", models.StatusCorrectionRequired, map[string]any{"reason": "缺图"}) // critical: pushed at once
	w.drain()

	w.everyTokenOnce("fan", n)
	total := w.countDeliveries() - before
	// The enterprise's own device besides the n, and the agents' devices
	// when the notice reaches them too.
	if total < n+1 {
		t.Fatalf("%d deliveries planned, want at least %d", total, n+1)
	}
	if w.d.DB.Dialect == "postgres" && watch.atFirst-before >= total {
		t.Fatalf("the first push left after all %d deliveries were planned; want it after the first chunk", total)
	}
	var open int64
	if err := w.d.DB.Model(&models.PushJob{}).Where("state = ?", models.PushJobPending).Count(&open).Error; err != nil {
		t.Fatal(err)
	}
	if open != 0 {
		t.Fatalf("%d push jobs still pending after the fan-out", open)
	}
}

// dyingSender takes the pushes a reader hands it, sends the first chunk
// and plans one more, and then dies: the rest of the plan and the chunk it
// planned are never sent by it.
type dyingSender struct{ p *Pipeline }

func (dyingSender) reserve() bool { return true }
func (d dyingSender) hand(ctx context.Context, work []straight) {
	var wg sync.WaitGroup
	for _, s := range work {
		d.p.sendPlanned(ctx, &wg, s.first, true)
		if s.rest != nil {
			if _, _, err := d.p.disp.planNext(ctx, s.rest, newFanoutRun(s.rest.after)); err != nil {
				panic(err)
			}
		}
	}
	wg.Wait()
}

// An instance that dies halfway through planning and sending a fan-out
// loses nothing: once its leases end, any dispatcher sends the chunk it
// planned and plans the rest from the job's cursor, and no device gets the
// push twice.
func TestFanOutOutlivesItsPlanner(t *testing.T) {
	const n = 3 * nextChunk
	w := chunkedWorld(t, n)
	w.handFanOut(dyingSender{w.pipe})
	if got := len(w.sink.Delivered()); got < firstChunk || got >= n {
		t.Fatalf("the planner sent %d before dying, want its first chunk of %d", got, firstChunk)
	}
	// Nothing more goes while the dead planner's leases last.
	w.pipe.cons.dv.senders = inlineSenders{w.pipe}
	w.drain()
	if got := len(w.sink.Delivered()); got >= n {
		t.Fatalf("%d sent while the dead planner's leases lasted", got)
	}
	var job models.PushJob
	if err := w.d.DB.Where("user_id = ? AND plan_after <> ''", w.ent.ID).Take(&job).Error; err != nil {
		t.Fatalf("the half-planned job: %v", err)
	}
	if job.State != models.PushJobPending {
		t.Fatalf("half-planned job is %s, want pending", job.State)
	}

	w.clock.Add(deliveryLease + time.Second)
	w.drain()
	w.everyTokenOnce("fan", n)
	if err := w.d.DB.Where("notification_id = ?", job.NotificationID).Take(&job).Error; err != nil {
		t.Fatal(err)
	}
	if job.State != models.PushJobDone {
		t.Fatalf("job is %s after the takeover, want done", job.State)
	}
}

// outOfOrderSender takes a fan-out a reader hands it, sends the first
// chunk, reads the next two, sends and records only the second of them (as
// when the chunks' records complete out of order) and dies.
type outOfOrderSender struct {
	p        *Pipeline
	skipped  []leasedDelivery
	recorded []leasedDelivery
}

func (*outOfOrderSender) reserve() bool { return true }
func (o *outOfOrderSender) hand(ctx context.Context, work []straight) {
	var wg sync.WaitGroup
	for _, s := range work {
		o.p.sendPlanned(ctx, &wg, s.first, true)
		if s.rest == nil {
			continue
		}
		run := newFanoutRun(s.rest.after)
		skipped, next, err := o.p.disp.planNext(ctx, s.rest, run)
		if err != nil || next == nil {
			panic(fmt.Sprint("the second chunk: ", err))
		}
		recorded, after, err := o.p.disp.planNext(ctx, next, run)
		if err != nil || after == nil {
			panic(fmt.Sprint("the third chunk: ", err))
		}
		o.p.sendPlanned(ctx, &wg, recorded, false)
		wg.Wait()
		// One more chunk read, which moves the job's cursor as far as it
		// may: not past the unsent chunk.
		if _, _, err := o.p.disp.planNext(ctx, after, run); err != nil {
			panic(err)
		}
		o.skipped, o.recorded = skipped, recorded
	}
	wg.Wait()
}

// A fan-out's job cursor passes only chunks whose deliveries are written:
// when a later chunk was sent and recorded but an earlier one was not (its
// planner died first), the instance that takes the job over sends the
// earlier chunk and not the later one again.
func TestFanOutCursorPassesOnlyWrittenChunks(t *testing.T) {
	const n = firstChunk + 3*nextChunk
	w := chunkedWorld(t, n)
	o := &outOfOrderSender{p: w.pipe}
	w.handFanOut(o)
	if len(o.skipped) != nextChunk || len(o.recorded) != nextChunk {
		t.Fatalf("read chunks of %d and %d, want %d each", len(o.skipped), len(o.recorded), nextChunk)
	}
	// Nothing of the unsent chunk is written; the recorded one is, sent.
	var unsent, sent int64
	ids := func(ds []leasedDelivery) []string {
		out := make([]string, len(ds))
		for i, d := range ds {
			out[i] = d.InstallationID
		}
		return out
	}
	if err := w.d.DB.Model(&models.PushDelivery{}).Where("installation_id IN ?", ids(o.skipped)).Count(&unsent).Error; err != nil {
		t.Fatal(err)
	}
	if err := w.d.DB.Model(&models.PushDelivery{}).Where("installation_id IN ? AND state = ? AND attempts = 1 AND lease_until IS NULL",
		ids(o.recorded), models.DeliverySent).Count(&sent).Error; err != nil {
		t.Fatal(err)
	}
	if unsent != 0 || sent != nextChunk {
		t.Fatalf("%d rows for the chunk never sent (want 0), %d sent rows for the recorded one (want %d)", unsent, sent, nextChunk)
	}
	var job models.PushJob
	if err := w.d.DB.Where("user_id = ? AND plan_after <> ''", w.ent.ID).Take(&job).Error; err != nil {
		t.Fatalf("the half-planned job: %v", err)
	}
	if job.State != models.PushJobPending || job.PlanAfter >= o.skipped[0].InstallationID {
		t.Fatalf("job %s at %q; want pending before the unsent chunk (%q)", job.State, job.PlanAfter, o.skipped[0].InstallationID)
	}

	w.pipe.cons.dv.senders = inlineSenders{w.pipe}
	w.clock.Add(deliveryLease + time.Second)
	w.drain()
	w.everyTokenOnce("fan", n)
	if err := w.d.DB.Where("notification_id = ?", job.NotificationID).Take(&job).Error; err != nil {
		t.Fatal(err)
	}
	if job.State != models.PushJobDone {
		t.Fatalf("job is %s after the takeover, want done", job.State)
	}
}

// In a chunk written after its send, a dead token deactivates its device
// and a refused send is written pending, to be retried by the dispatcher:
// each outcome is the delivery's first write, with its attempt row.
func TestFanOutChunkOutcomesAreWrittenWithTheirAttempts(t *testing.T) {
	const n = firstChunk + 2*nextChunk
	w := chunkedWorld(t, n)
	w.d.Settings.MaxPushAttempts = 3
	// Past the first chunk (the reader's, planned leased): written by
	// recordUnwritten.
	dead, busy := fmt.Sprintf("fan-%05d", firstChunk+10), fmt.Sprintf("fan-%05d", firstChunk+nextChunk+20)
	if _, err := w.sink.AddFault(pushsink.Fault{Token: dead, Code: pushsink.CodeUnregistered}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sink.AddFault(pushsink.Fault{Token: busy, Code: pushsink.CodeQuotaExceeded, Count: 1, RetryAfter: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	w.item("ST-01", models.StatusCorrectionRequired, map[string]any{"reason": "缺图"})
	w.drain()

	delivery := func(tok string) models.PushDelivery {
		t.Helper()
		var d models.PushDelivery
		if err := w.d.DB.Where("installation_id = ?", "inst-"+tok).Take(&d).Error; err != nil {
			t.Fatalf("delivery of %s: %v", tok, err)
		}
		return d
	}
	if d := delivery(dead); d.State != models.DeliveryDeactivated || d.Attempts != 1 || d.LeaseUntil != nil {
		t.Fatalf("dead token's delivery %+v, want deactivated after one attempt", d)
	}
	var dev models.Device
	if err := w.d.DB.Where("installation_id = ?", "inst-"+dead).Take(&dev).Error; err != nil || dev.Active {
		t.Fatalf("dead token's device active=%v (%v), want deactivated", dev.Active, err)
	}
	if d := delivery(busy); d.State != models.DeliveryPending || d.Attempts != 1 || d.LeaseUntil != nil || !d.NextAt.After(w.clock.Now()) {
		t.Fatalf("refused send's delivery %+v, want pending, unleased, due later", d)
	}
	w.clock.Add(31 * time.Second)
	w.drain()
	w.clock.Add(time.Minute)
	w.drain()
	if d := delivery(busy); d.State != models.DeliverySent || d.Attempts != 2 {
		t.Fatalf("refused send's delivery after its retry %+v, want sent at the second attempt", d)
	}
	var attempts []models.PushAttempt
	if err := w.d.DB.Order("attempt").Find(&attempts, "installation_id IN ?", []string{"inst-" + dead, "inst-" + busy}).Error; err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, a := range attempts {
		got[a.InstallationID] = append(got[a.InstallationID], a.Outcome)
	}
	if fmt.Sprint(got["inst-"+dead]) != "[deactivated]" || fmt.Sprint(got["inst-"+busy]) != "[retry sent]" {
		t.Fatalf("attempt rows %v", got)
	}
	// Everyone else got it once; the dead token never did.
	sent := map[string]int{}
	for _, r := range w.sink.Delivered() {
		sent[r.Token]++
	}
	for i := range n {
		tok := fmt.Sprintf("fan-%05d", i)
		if want := 1; tok != dead && sent[tok] != want {
			t.Fatalf("%s got the push %d times", tok, sent[tok])
		}
	}
}
