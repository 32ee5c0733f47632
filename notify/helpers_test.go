package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/internal/workdays"
	mobilecontract "github.com/weifang/kaigong-zsb/mobile-contract"
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/intake"
	"github.com/weifang/kaigong-zsb/notify/outbox"
	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/fcm"
	"github.com/weifang/kaigong-zsb/notify/tasks"
)

const testSecret = "test-upstream-secret-0123456789"

// fakeCatalog is a three-item chain of the real catalog's codes, so the
// intake tests read simply: the planning permit (GH-02, may be
// pre-approved) unlocks drawing review (ST-01), which unlocks the
// construction permit (KG-01). The deadline scan (package tasks) reads the
// real catalog's limits for the same codes.
type fakeCatalog struct{}

var fakeItems = map[string]struct {
	zh, en string
	pre    string
	mats   []outbox.StepMaterial
}{
	"GH-02": {"建设工程规划许可证", "Construction planning permit", "", nil},
	"ST-01": {"施工图审查", "Construction drawing review", "GH-02",
		[]outbox.StepMaterial{{Code: "M1", Name: "施工图设计文件"}, {Code: "M2", Name: "勘察文件"}}},
	"KG-01": {"施工许可", "Construction permit", "ST-01", nil},
}

func (fakeCatalog) HasItem(code string) bool { _, ok := fakeItems[code]; return ok }

func (fakeCatalog) ItemNames(code string) (string, string) {
	it := fakeItems[code]
	return it.zh, it.en
}

func (fakeCatalog) NextSteps(_ models.Project, st map[string]string) []outbox.Step {
	var out []outbox.Step
	for _, code := range []string{"GH-02", "ST-01", "KG-01"} {
		it := fakeItems[code]
		if s := st[code]; s != "" && s != models.StatusNotStarted {
			continue
		}
		if it.pre != "" && st[it.pre] != models.StatusApproved && st[it.pre] != models.StatusPreApproved {
			continue
		}
		out = append(out, outbox.Step{Code: code, Name: it.zh, NameEn: it.en, Materials: it.mats})
	}
	return out
}

// world is one test's pipeline over a private database, Redis prefix and
// FCM sink.
type world struct {
	t      testing.TB
	d      Deps
	clock  *testenv.Clock
	sink   *pushsink.Sink
	intake *intake.Intake
	// in is the intake's configuration, for tests that build another.
	in    intake.Config
	tasks *tasks.Service
	pipe  *Pipeline
	seq   int64
	reg   *prometheus.Registry

	ent, agentTown, agentCounty, other models.User
}

// shanghai builds an instant from Asia/Shanghai wall time.
func shanghai(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, workdays.Location)
}

func newWorld(t testing.TB, digest time.Duration) *world {
	t.Helper()
	return newWorldOn(t, digest, testenv.DB(t))
}

// newWorldOn is newWorld on a database the test opened.
func newWorldOn(t testing.TB, digest time.Duration, db *store.DB) *world {
	t.Helper()
	rdb, prefix := testenv.Redis(t)
	sink := pushsink.New(pushsink.Options{})
	base, err := sink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	sender, err := fcm.NewSender(context.Background(), fcm.Config{Endpoint: pushsink.Endpoint(base)})
	if err != nil {
		t.Fatal(err)
	}
	cal, err := workdays.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	// Tuesday 2026-03-10, 10:00 in Weifang: a working day, outside quiet hours.
	c := testenv.NewClock(shanghai(2026, 3, 10, 10, 0))
	w := &world{t: t, clock: c, sink: sink, reg: reg}
	w.d = Deps{DB: db, Redis: rdb, RedisPrefix: prefix, Sender: sender,
		Metrics: m, Now: c.Now, Settings: Settings{DigestWindow: digest,
			PollInterval: 20 * time.Millisecond, ClaimIdle: time.Second}}
	w.pipe, err = NewPipeline(w.d)
	if err != nil {
		t.Fatal(err)
	}
	w.in = intake.Config{DB: db, Catalog: fakeCatalog{}, Calendar: cal, Now: c.Now,
		Secrets: []string{"old-secret-0123456789", testSecret}}
	counted := w.in
	counted.Registerer = reg
	w.intake, err = intake.New(counted, w.pipe, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.tasks, err = tasks.New(tasks.Config{DB: db, Redis: rdb, RedisPrefix: prefix, Catalog: models.DefaultCatalog(),
		Calendar: cal, Now: c.Now, EscalateAfter: time.Hour, WarnDays: 3}, w.pipe.Nudge)
	if err != nil {
		t.Fatal(err)
	}
	w.ent = w.user(models.User{Username: "ent-demo", Role: models.RoleEnterprise, EnterpriseCode: "91370700MA3DEMO001"})
	w.other = w.user(models.User{Username: "ent-other", Role: models.RoleEnterprise, EnterpriseCode: "91370700MA3OTHER02"})
	w.agentTown = w.user(models.User{Username: "agent-town", Role: models.RoleAgent, AgentLevel: models.LevelTown, RegionCode: "370702"})
	w.agentCounty = w.user(models.User{Username: "agent-county", Role: models.RoleAgent, AgentLevel: models.LevelCounty, RegionCode: "370702"})
	for _, u := range []models.User{w.ent, w.other, w.agentTown, w.agentCounty} {
		w.device(u, "tok-"+u.Username)
	}
	if err := w.pipe.cons.ensureGroup(context.Background()); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) user(u models.User) models.User {
	w.t.Helper()
	u.DisplayName, u.PasswordHash = u.Username, "x"
	if err := w.d.DB.Create(&u).Error; err != nil {
		w.t.Fatal(err)
	}
	return u
}

func (w *world) device(u models.User, token string) {
	w.t.Helper()
	dev := models.Device{InstallationID: "inst-" + token, UserID: u.ID, Platform: "android", Provider: push.ProviderFCM,
		PushToken: token, PushTokenHash: "h-" + token, Active: true}
	if err := w.d.DB.Create(&dev).Error; err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) prefs(u models.User, mutate func(*Preferences)) {
	w.t.Helper()
	p := DefaultPreferences()
	mutate(&p)
	b, _ := json.Marshal(p)
	if err := w.d.DB.Save(&models.PushPreferenceRow{UserID: u.ID, Data: string(b)}).Error; err != nil {
		w.t.Fatal(err)
	}
}

// send signs and posts an event; fields override the defaults.
func (w *world) send(fields map[string]any) (intake.Result, error) {
	w.t.Helper()
	w.seq++
	ev := map[string]any{"event_id": fmt.Sprintf("ev-%d", w.seq), "occurred_at": w.clock.Now().Format(time.RFC3339),
		"project_id": "WF-DEMO-CIVIL", "sequence": w.seq}
	for k, v := range fields {
		if v == nil {
			delete(ev, k)
			continue
		}
		ev[k] = v
	}
	body, _ := json.Marshal(ev)
	ts, sig := intake.SignEvent(testSecret, w.clock.Now(), body)
	return w.intake.Receive(context.Background(), ts, sig, body)
}

func (w *world) mustSend(fields map[string]any, want string) {
	w.t.Helper()
	res, err := w.send(fields)
	if err != nil {
		w.t.Fatalf("event %v: %v", fields, err)
	}
	if res.Result != want {
		w.t.Fatalf("event %v: result %q, want %q", fields, res.Result, want)
	}
}

func (w *world) upsert(key bool) {
	w.t.Helper()
	w.mustSend(map[string]any{"type": intake.EventProjectUpserted, "project": map[string]any{
		"name": "示例住宅", "type": "civil", "enterprise_credit_code": "91370700MA3DEMO001",
		"region_code": "370702", "key_project": key}}, intake.ResultApplied)
}

func (w *world) item(code, status string, extra map[string]any) {
	w.t.Helper()
	f := map[string]any{"type": intake.EventItemStatusChanged, "item_code": code, "status": status}
	for k, v := range extra {
		f[k] = v
	}
	w.mustSend(f, intake.ResultApplied)
}

// drain runs the pipeline's steps until nothing is left to do now:
// relay, consume, then plan and send as the dispatcher does. Every step
// has finished when it returns; no loop keeps running.
func (w *world) drain() {
	w.t.Helper()
	ctx := context.Background()
	for range 20 {
		r, err := w.pipe.relay.relayOnce(ctx)
		if err != nil {
			w.t.Fatal(err)
		}
		c, err := w.pipe.cons.readOnce(ctx, -1)
		if err != nil {
			w.t.Fatal(err)
		}
		pl, s, err := w.pipe.dispatchDue(ctx, ctx, true)
		if err != nil {
			w.t.Fatal(err)
		}
		if r+c+pl+s == 0 {
			return
		}
	}
	w.t.Fatal("pipeline did not settle")
}

// sinkMsg is the part of a received FCM message the tests look at.
type sinkMsg struct {
	Token        string `json:"token"`
	Notification struct {
		Title string `json:"title"`
		Body  string `json:"body"`
	} `json:"notification"`
	Data    map[string]string `json:"data"`
	Android struct {
		Priority string `json:"priority"`
	} `json:"android"`
}

// delivered returns the messages the sink accepted for token.
func (w *world) delivered(token string) []sinkMsg {
	w.t.Helper()
	var out []sinkMsg
	for _, r := range w.sink.Delivered() {
		if err := mobilecontract.ValidatePushMessage(r.Message); err != nil {
			w.t.Errorf("push to %s breaks the contract: %v\n%s", r.Token, err, r.Message)
		}
		if r.Token != token {
			continue
		}
		var m sinkMsg
		if err := json.Unmarshal(r.Message, &m); err != nil {
			w.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func (w *world) inbox(u models.User) []models.Notification {
	w.t.Helper()
	var rows []models.Notification
	if err := w.d.DB.Where("user_id = ?", u.ID).Order("created_at, id").Find(&rows).Error; err != nil {
		w.t.Fatal(err)
	}
	return rows
}

// metric sums every series of the named counter or gauge.
func (w *world) metric(name string) float64 {
	w.t.Helper()
	mfs, err := w.reg.Gather()
	if err != nil {
		w.t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}
