package notify

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

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
			if _, _, err := d.p.disp.planNext(ctx, s.rest); err != nil {
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
	w := newWorld(t, 0)
	if w.d.DB.Dialect != "postgres" {
		t.Skip("the reader plans leased, and so hands a sender a fan-out, only on PostgreSQL; TestFanOutSendsWhilePlanning covers SQLite")
	}
	w.upsert(false)
	const n = 3 * nextChunk
	w.devices(w.ent, "fan", n)
	w.drain()
	w.sink.Reset()
	w.pipe.cons.dv.senders = dyingSender{w.pipe}

	w.item("ST-01", models.StatusCorrectionRequired, map[string]any{"reason": "缺图"})
	ctx := context.Background()
	if _, err := w.pipe.relay.relayOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.pipe.cons.readOnce(ctx, -1); err != nil {
		t.Fatal(err)
	}
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

// keepingSender keeps what a reader hands it, sending nothing.
type keepingSender struct{ work []straight }

func (*keepingSender) reserve() bool                          { return true }
func (k *keepingSender) hand(_ context.Context, w []straight) { k.work = append(k.work, w...) }

// A chunk part of which another instance planned meanwhile is sent from
// here only for the devices this planner wrote: the others' deliveries
// stay as the other planner left them, and nobody gets the push twice.
func TestFanOutChunkPlannedInPartElsewhereSendsOnlyItsOwn(t *testing.T) {
	w := newWorld(t, 0)
	if w.d.DB.Dialect != "postgres" {
		t.Skip("chunked planning (planNext) is PostgreSQL's; SQLite plans a push whole")
	}
	w.upsert(false)
	const n = firstChunk + nextChunk
	w.devices(w.ent, "fan", n)
	w.drain()
	keep := &keepingSender{}
	w.pipe.cons.dv.senders = keep
	w.item("ST-01", models.StatusCorrectionRequired, map[string]any{"reason": "缺图"})
	ctx := context.Background()
	if _, err := w.pipe.relay.relayOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.pipe.cons.readOnce(ctx, -1); err != nil {
		t.Fatal(err)
	}
	var rest *fanout
	for _, s := range keep.work {
		if s.rest != nil {
			rest = s.rest
		}
	}
	if rest == nil {
		t.Fatalf("no fan-out handed over for %d devices", n)
	}
	// Another planner wrote every third device of the next chunk, leased
	// to itself.
	var next []models.Device
	if err := w.d.DB.Where("user_id = ? AND (provider, installation_id) > (?, ?)", w.ent.ID, rest.after.provider, rest.after.installationID).
		Order("provider, installation_id").Limit(nextChunk).Find(&next).Error; err != nil {
		t.Fatal(err)
	}
	theirs := map[string]bool{}
	theirLease := w.clock.Now().Add(time.Minute).UTC()
	for i, dev := range next {
		if i%3 != 0 {
			continue
		}
		theirs[dev.InstallationID] = true
		if err := w.d.DB.Create(&models.PushDelivery{NotificationID: rest.notificationID, InstallationID: dev.InstallationID,
			State: models.DeliveryPending, NextAt: rest.due, Attempts: 1, Payload: rest.payload, ReceivedAt: rest.received,
			LeaseUntil: &theirLease}).Error; err != nil {
			t.Fatal(err)
		}
	}

	chunk, more, err := w.pipe.disp.planNext(ctx, rest)
	if err != nil {
		t.Fatal(err)
	}
	if more != nil {
		t.Errorf("planning goes on after a chunk planned in part elsewhere; the other planner has the job's cursor")
	}
	if want := len(next) - len(theirs); len(chunk) != want {
		t.Fatalf("planNext returned %d deliveries, want the %d it wrote", len(chunk), want)
	}
	for _, b := range chunk {
		if theirs[b.InstallationID] {
			t.Fatalf("%s was planned by the other instance, and returned to send here too", b.InstallationID)
		}
		if b.Payload != rest.payload || b.Attempts != 1 || b.PushToken == "" {
			t.Fatalf("returned delivery %+v lacks what sending it needs", b)
		}
	}
	var kept int64
	if err := w.d.DB.Model(&models.PushDelivery{}).Where("notification_id = ? AND lease_until = ?", rest.notificationID, theirLease).
		Count(&kept).Error; err != nil {
		t.Fatal(err)
	}
	if kept != int64(len(theirs)) {
		t.Fatalf("%d of the other planner's %d deliveries keep its lease", kept, len(theirs))
	}
}
