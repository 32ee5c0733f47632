package notify

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/intake"
	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/xiaomi"
)

// routeThrough rebuilds w's pipeline, and the intake that hands it work,
// over sender, so that pushes are planned for every provider it serves.
func (w *world) routeThrough(sender push.Sender) {
	w.t.Helper()
	w.d.Sender = sender
	var err error
	if w.pipe, err = NewPipeline(w.d); err != nil {
		w.t.Fatal(err)
	}
	if w.intake, err = intake.New(w.in, w.pipe, nil); err != nil {
		w.t.Fatal(err)
	}
	if err := w.pipe.cons.ensureGroup(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

// vendorDevice gives u a device of provider with token.
func (w *world) vendorDevice(u models.User, provider, token string) {
	w.t.Helper()
	dev := models.Device{InstallationID: "inst-" + token, UserID: u.ID, Platform: "android", Provider: provider,
		PushToken: token, PushTokenHash: "h-" + token, Active: true}
	if err := w.d.DB.Create(&dev).Error; err != nil {
		w.t.Fatal(err)
	}
}

// stateChanges records a Router's provider state changes: what the app
// turns into one log line each and the zsb_push_provider_state gauge.
type stateChanges struct {
	mu  sync.Mutex
	got []push.ProviderState
}

func (s *stateChanges) hook(st push.ProviderState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, st)
}

func (s *stateChanges) list() []push.ProviderState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]push.ProviderState(nil), s.got...)
}

// Xiaomi's stand-in answers its daily-quota code until the vendor's day
// resets at Beijing midnight. Through the real pipeline and Router: the
// Xiaomi pushes stay pending (not failed, and not sent again while the
// provider is paused: one request reaches the vendor, one state change is
// reported for two notices), the FCM phone is not held up, and once the
// clock passes midnight each Xiaomi push is delivered exactly once.
func TestQuotaPauseResumesAtBeijingMidnightThroughThePipeline(t *testing.T) {
	w := newWorld(t, 0)
	// No quiet hours: this test is about the pause. (With the default
	// ones, 22:00-07:30, the resumed push goes out at 00:01 all the same:
	// a delivery's second look at the preferences withholds or sends, it
	// does not defer to the end of quiet hours.)
	w.prefs(w.ent, func(p *Preferences) { p.QuietHours.Enabled = false })

	vendor := pushsink.New(pushsink.Options{Now: w.clock.Now})
	base, err := vendor.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vendor.Close() })
	c := pushsink.DevCredentials()
	xs, err := xiaomi.New(xiaomi.Config{AppSecret: c.XiaomiAppSecret, Package: c.XiaomiPackage, ChannelID: "zsb_work",
		PushURL: pushsink.VendorBase(base, pushsink.VendorXiaomi), Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var changes stateChanges
	router := push.NewRouter(map[string]push.Sender{push.ProviderFCM: w.d.Sender, push.ProviderXiaomi: xs},
		push.WithClock(w.clock.Now), push.WithStateHook(changes.hook))
	w.routeThrough(router)
	w.vendorDevice(w.ent, push.ProviderXiaomi, "xm-ent-1")

	// What reached the phones: pushes to the FCM phone, requests to
	// Xiaomi's stand-in and the pushes it delivered.
	type seen struct{ fcm, xiaomiRequests, xiaomiDelivered int }
	look := func() seen {
		return seen{len(w.delivered("tok-ent-demo")), len(vendor.VendorMessages(pushsink.VendorXiaomi)),
			len(vendor.VendorDelivered(pushsink.VendorXiaomi))}
	}

	w.upsert(false)
	midnight := push.NextBeijingMidnight(w.clock.Now())
	quota := pushsink.VendorFault{Vendor: pushsink.VendorXiaomi, Kind: pushsink.FaultQuota, For: midnight.Sub(w.clock.Now())}
	if _, err := vendor.AddVendorFault(quota); err != nil {
		t.Fatal(err)
	}
	w.item("GH-02", models.StatusAccepted, nil)
	w.drain()
	// The FCM phone is not held up by a paused Xiaomi.
	if got, want := look(), (seen{fcm: 1, xiaomiRequests: 1}); got != want {
		t.Fatalf("with Xiaomi's quota spent: %+v, want %+v", got, want)
	}
	assertPending := func(code string) {
		t.Helper()
		var d models.PushDelivery
		if err := w.d.DB.Joins("JOIN notifications ON notifications.id = push_deliveries.notification_id").
			Where("notifications.item_codes = ? AND push_deliveries.installation_id = ?", code, "inst-xm-ent-1").
			Order("push_deliveries.created_at DESC").Take(&d).Error; err != nil {
			t.Fatal(err)
		}
		if d.State != models.DeliveryPending || !d.NextAt.Equal(midnight) {
			t.Fatalf("Xiaomi delivery %s next %v, want pending until %v", d.State, d.NextAt, midnight)
		}
	}
	assertPending("GH-02")
	if got := changes.list(); len(got) != 1 || got[0].Provider != push.ProviderXiaomi || got[0].State != push.StatePaused ||
		!got[0].Until.Equal(midnight) || got[0].ErrorCode != strconv.Itoa(xiaomi.CodeDailyTotal) {
		t.Fatalf("state changes %+v, want Xiaomi paused until %v by its daily total", got, midnight)
	}
	if gauge := stateGauge(router, push.ProviderXiaomi); gauge != push.StatePaused {
		t.Fatalf("zsb_push_provider_state for Xiaomi: %s, want paused", gauge)
	}
	var paused dto.Metric
	if err := w.d.Metrics.pushes.WithLabelValues(push.OutcomePaused).Write(&paused); err != nil {
		t.Fatal(err)
	}
	if n := paused.GetCounter().GetValue(); n != 1 {
		t.Fatalf("zsb_pushes_total{outcome=paused} = %v, want 1", n)
	}

	// A second notice while the provider is paused: the router holds it
	// without asking the vendor, and reports no new state.
	w.clock.Add(2 * time.Hour)
	w.item("GH-02", models.StatusApproved, nil)
	w.drain()
	w.clock.Set(midnight.Add(-time.Minute))
	w.drain()
	// Only the request that found the quota spent reached the vendor.
	if got, want := look(), (seen{fcm: 2, xiaomiRequests: 1}); got != want {
		t.Fatalf("a minute before midnight: %+v, want %+v", got, want)
	}
	if n := len(changes.list()); n != 1 {
		t.Fatalf("%d state changes during the pause, want the one: %+v", n, changes.list())
	}
	var notPending int64
	if err := w.d.DB.Model(&models.PushDelivery{}).Where("installation_id = ? AND state <> ?", "inst-xm-ent-1",
		models.DeliveryPending).Count(&notPending).Error; err != nil || notPending != 0 {
		t.Fatalf("%d Xiaomi deliveries not pending during the pause (%v)", notPending, err)
	}

	// The vendor's day resets; the pause has run out.
	w.clock.Set(midnight.Add(time.Minute))
	w.drain()
	w.clock.Add(time.Hour)
	w.drain()
	if got, want := look(), (seen{fcm: 2, xiaomiRequests: 3, xiaomiDelivered: 2}); got != want {
		t.Fatalf("after midnight: %+v, want %+v (one push per notice)", got, want)
	}
	ids := map[string]int{}
	for _, r := range vendor.VendorDelivered(pushsink.VendorXiaomi) {
		if r.Token != "xm-ent-1" {
			t.Fatalf("delivered to %q", r.Token)
		}
		ids[xiaomiNotificationID(t, r)]++
	}
	if len(ids) != 2 {
		t.Fatalf("delivered notification ids %v, want two, once each", ids)
	}
	var sent int64
	if err := w.d.DB.Model(&models.PushDelivery{}).Where("installation_id = ? AND state = ?", "inst-xm-ent-1",
		models.DeliverySent).Count(&sent).Error; err != nil || sent != 2 {
		t.Fatalf("%d Xiaomi deliveries sent (%v), want 2", sent, err)
	}
	if got := changes.list(); len(got) != 2 || got[1].State != push.StateOK {
		t.Fatalf("state changes %+v, want paused then ok", got)
	}
	if gauge := stateGauge(router, push.ProviderXiaomi); gauge != push.StateOK {
		t.Fatalf("zsb_push_provider_state for Xiaomi: %s, want ok", gauge)
	}
}

// stateGauge is the state whose zsb_push_provider_state sample is 1 for
// provider.
func stateGauge(r *push.Router, provider string) string {
	for _, s := range r.StateGauge() {
		if s.Provider == provider && s.Value == 1 {
			return s.State
		}
	}
	return ""
}

// xiaomiNotificationID reads the notification_id of a push Xiaomi's
// stand-in received: in the form's payload, a JSON string.
func xiaomiNotificationID(t *testing.T, r pushsink.VendorReceived) string {
	t.Helper()
	var form map[string]string
	if err := json.Unmarshal(r.Message, &form); err != nil {
		t.Fatalf("Xiaomi message %s: %v", r.Message, err)
	}
	var data map[string]string
	if err := json.Unmarshal([]byte(form["payload"]), &data); err != nil || data["notification_id"] == "" {
		t.Fatalf("Xiaomi payload %q: %v", form["payload"], err)
	}
	return data["notification_id"]
}
