package notify

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/internal/workdays"
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/intake"
	"github.com/weifang/kaigong-zsb/notify/outbox"
)

func TestReceiveRejects(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	valid := func() map[string]any {
		return map[string]any{"event_id": "ev-x", "type": intake.EventItemStatusChanged, "occurred_at": "2026-03-10T10:00:00+08:00",
			"project_id": "WF-DEMO-CIVIL", "sequence": 99, "item_code": "GH-02", "status": "accepted"}
	}
	with := func(k string, v any) map[string]any {
		m := valid()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	now := w.clock.Now()
	tests := []struct {
		name   string
		body   string
		secret string
		ts     time.Time
		sig    func(sig string) string
		code   models.Code
		field  string
	}{
		{name: "wrong secret", secret: "nope", code: models.CodeSignatureInvalid},
		{name: "no signature", sig: func(string) string { return "" }, code: models.CodeSignatureInvalid},
		{name: "old timestamp", ts: now.Add(-301 * time.Second), code: models.CodeTimestampOutOfRange},
		{name: "future timestamp", ts: now.Add(301 * time.Second), code: models.CodeTimestampOutOfRange},
		{name: "malformed", body: `{"event_id":`, code: models.CodeMalformedJSON},
		{name: "trailing data", body: `{} {}`, code: models.CodeMalformedJSON},
		{name: "unknown field", body: mustJSON(with("colour", "red")), code: models.CodeValidationFailed, field: "colour"},
		{name: "mistyped sequence", body: mustJSON(with("sequence", "7")), code: models.CodeValidationFailed, field: "sequence"},
		{name: "zero sequence", body: mustJSON(with("sequence", 0)), code: models.CodeValidationFailed, field: "sequence"},
		{name: "bad project id", body: mustJSON(with("project_id", "XX-1")), code: models.CodeValidationFailed, field: "project_id"},
		{name: "long event id", body: mustJSON(with("event_id", strings.Repeat("e", 129))), code: models.CodeValidationFailed, field: "event_id"},
		{name: "bad time", body: mustJSON(with("occurred_at", "yesterday")), code: models.CodeValidationFailed, field: "occurred_at"},
		{name: "unknown type", body: mustJSON(with("type", "project.deleted")), code: models.CodeUnknownEventType},
		{name: "bad status", body: mustJSON(with("status", "lost")), code: models.CodeValidationFailed, field: "status"},
		{name: "field of another type", body: mustJSON(with("agent_username", "agent-town")), code: models.CodeValidationFailed, field: "agent_username"},
		{name: "too many materials", body: mustJSON(with("materials_requested", make([]string, 51))), code: models.CodeValidationFailed, field: "materials_requested"},
		{name: "unknown item", body: mustJSON(with("item_code", "ZZ99")), code: models.CodeUnknownItem},
		{name: "unknown project", body: mustJSON(with("project_id", "WF-NEVER")), code: models.CodeUnknownProject},
		{name: "unknown agent", body: mustJSON(map[string]any{"event_id": "ev-a", "type": intake.EventAgentAssigned, "occurred_at": "2026-03-10T10:00:00+08:00",
			"project_id": "WF-DEMO-CIVIL", "sequence": 99, "agent_username": "ent-demo"}), code: models.CodeValidationFailed, field: "agent_username"},
		{name: "bad project block", body: mustJSON(map[string]any{"event_id": "ev-p", "type": intake.EventProjectUpserted, "occurred_at": "2026-03-10T10:00:00+08:00",
			"project_id": "WF-NEW", "sequence": 1, "project": map[string]any{"name": "x", "type": "castle", "enterprise_credit_code": "short", "region_code": "37"}}),
			code: models.CodeValidationFailed, field: "project.type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if body == "" {
				body = mustJSON(valid())
			}
			secret, ts := testSecret, now
			if tc.secret != "" {
				secret = tc.secret
			}
			if !tc.ts.IsZero() {
				ts = tc.ts
			}
			tsh, sig := intake.SignEvent(secret, ts, []byte(body))
			if tc.sig != nil {
				sig = tc.sig(sig)
			}
			_, err := w.intake.Receive(context.Background(), tsh, sig, []byte(body))
			var me *models.Error
			if !errors.As(err, &me) || me.Code != tc.code {
				t.Fatalf("err = %v, want code %s", err, tc.code)
			}
			if tc.field != "" && !hasField(me.Fields, tc.field) {
				t.Errorf("fields %+v lack %q", me.Fields, tc.field)
			}
		})
	}
	var n int64
	w.d.DB.Model(&models.Event{}).Count(&n)
	if n != 1 {
		t.Errorf("%d events stored, want only the upsert", n)
	}
}

func TestReceiveSignatureRotation(t *testing.T) {
	w := newWorld(t, 0)
	body := []byte(mustJSON(map[string]any{"event_id": "ev-rot", "type": intake.EventProjectUpserted, "occurred_at": "2026-03-10T10:00:00+08:00",
		"project_id": "WF-ROT", "sequence": 1, "project": map[string]any{"name": "轮换", "type": "industrial",
			"enterprise_credit_code": "91370700MA3DEMO001", "region_code": "370702001"}}))
	ts, good := intake.SignEvent("old-secret-0123456789", w.clock.Now(), body)
	_, bad := intake.SignEvent("retired", w.clock.Now(), body)
	res, err := w.intake.Receive(context.Background(), ts, bad+", "+good, body)
	if err != nil || res.Result != intake.ResultApplied {
		t.Fatalf("Receive = %+v, %v; want applied with the old secret during rotation", res, err)
	}
}

func TestReceiveAppliesOnceInOrder(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	w.item("GH-02", models.StatusAccepted, nil)

	var p models.Project
	w.d.DB.Take(&p, "id = ?", "WF-DEMO-CIVIL")
	// The version moves with every change; the last sequence is the
	// project record's own (the item keeps its own).
	if p.Version != 2 || p.LastSequence != 1 || p.StartedOn == nil || workdays.DateOf(*p.StartedOn).String() != "2026-03-10" {
		t.Fatalf("project after acceptance = %+v", p)
	}
	var item models.ItemState
	if err := w.d.DB.Take(&item, "project_id = ? AND item_code = ?", "WF-DEMO-CIVIL", "GH-02").Error; err != nil || item.LastSequence != 2 {
		t.Fatalf("item after acceptance = %+v, %v; want its last sequence 2", item, err)
	}

	// The same event id again: duplicate, nothing changes.
	body := mustJSON(map[string]any{"event_id": "ev-2", "type": intake.EventItemStatusChanged, "occurred_at": "2026-03-10T10:00:00+08:00",
		"project_id": "WF-DEMO-CIVIL", "sequence": 2, "item_code": "GH-02", "status": "rejected"})
	ts, sig := intake.SignEvent(testSecret, w.clock.Now(), []byte(body))
	res, err := w.intake.Receive(context.Background(), ts, sig, []byte(body))
	if err != nil || res.Result != intake.ResultDuplicate {
		t.Fatalf("repeat = %+v, %v; want duplicate", res, err)
	}

	// An older sequence: stale, kept in the timeline, nothing changes.
	w.seq = 0
	w.mustSend(map[string]any{"event_id": "ev-late", "type": intake.EventItemStatusChanged, "item_code": "GH-02", "status": "rejected"}, intake.ResultStale)
	var ev models.Event
	if err := w.d.DB.Take(&ev, "event_id = ?", "ev-late").Error; err != nil || ev.Result != intake.ResultStale {
		t.Fatalf("stale event row = %+v, %v", ev, err)
	}
	var st models.ItemState
	w.d.DB.Take(&st, "project_id = ? AND item_code = ?", "WF-DEMO-CIVIL", "GH-02")
	if st.Status != models.StatusAccepted {
		t.Fatalf("stale event changed the item: %+v", st)
	}
	var outbox int64
	w.d.DB.Model(&models.OutboxEntry{}).Count(&outbox)
	if outbox != 1 {
		t.Fatalf("%d outbox entries, want 1 (the acceptance only)", outbox)
	}
}

func TestReceiveCorrectionClock(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	w.item("GH-02", models.StatusAccepted, nil)
	w.item("GH-02", models.StatusCorrectionRequired, map[string]any{"reason": "图纸缺少签章", "materials_requested": []string{"总平面图"}})
	// Tuesday 10 March to Monday 16 March: 4 working days (Wed–Fri, Mon).
	w.clock.Set(shanghai(2026, 3, 16, 9, 0))
	w.item("GH-02", models.StatusAccepted, nil)
	var st models.ItemState
	w.d.DB.Take(&st, "project_id = ? AND item_code = ?", "WF-DEMO-CIVIL", "GH-02")
	if st.CorrectionSince != nil || st.CorrectionWorkingDays != 4 || workdays.DateOf(*st.AcceptedOn).String() != "2026-03-10" {
		t.Fatalf("item after correction = %+v", st)
	}
}

func TestReceiveConcurrentDuplicates(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	body := []byte(mustJSON(map[string]any{"event_id": "ev-race", "type": intake.EventItemStatusChanged, "occurred_at": "2026-03-10T10:00:00+08:00",
		"project_id": "WF-DEMO-CIVIL", "sequence": 5, "item_code": "GH-02", "status": "accepted"}))
	ts, sig := intake.SignEvent(testSecret, w.clock.Now(), body)
	results := make(chan string, 8)
	for range 8 {
		go func() {
			res, err := w.intake.Receive(context.Background(), ts, sig, body)
			if err != nil {
				results <- err.Error()
				return
			}
			results <- res.Result
		}()
	}
	counts := map[string]int{}
	for range 8 {
		counts[<-results]++
	}
	if counts[intake.ResultApplied] != 1 || counts[intake.ResultDuplicate] != 7 {
		t.Fatalf("results %v, want 1 applied and 7 duplicate", counts)
	}
}

func TestAgentAssignedKeyProjectCreatesTask(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(true)
	w.mustSend(map[string]any{"type": intake.EventAgentAssigned, "agent_username": "agent-county"}, intake.ResultApplied)
	var task models.AgentTask
	if err := w.d.DB.Take(&task, "kind = ?", models.TaskKeyProject).Error; err != nil {
		t.Fatal(err)
	}
	if task.ClaimedBy == nil || *task.ClaimedBy != w.agentCounty.ID {
		t.Fatalf("key-project task = %+v, want it held by agent-county", task)
	}
	w.drain()
	got := w.delivered("tok-agent-county")
	if len(got) != 1 || got[0].Data["category"] != outbox.CategoryAgentTask || !strings.HasPrefix(got[0].Notification.Title, "新任务：示例住宅") {
		t.Fatalf("agent pushes = %+v", got)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func hasField(fe []models.FieldError, field string) bool {
	for _, f := range fe {
		if f.Field == field {
			return true
		}
	}
	return false
}

// The acceptance day is Shanghai's whatever the database session's time
// zone: a date cast in SQL once turned it into midnight of the session's
// zone, a day early east of Shanghai's midnight.
func TestAcceptanceDayIsShanghaisInAnySessionTimeZone(t *testing.T) {
	for _, tz := range []string{"UTC", "Asia/Tokyo", "America/Los_Angeles"} {
		t.Run(tz, func(t *testing.T) {
			w := newWorldOn(t, 0, testenv.DBWith(t, "timezone="+tz))
			w.upsert(false)
			w.item("GH-02", models.StatusAccepted, nil)
			var p models.Project
			if err := w.d.DB.Take(&p, "id = ?", "WF-DEMO-CIVIL").Error; err != nil {
				t.Fatal(err)
			}
			if want := shanghai(2026, 3, 10, 0, 0); p.StartedOn == nil || !p.StartedOn.Equal(want) {
				t.Fatalf("started_on = %v, want %v (Shanghai midnight)", p.StartedOn, want)
			}
			var st models.ItemState
			if err := w.d.DB.Take(&st, "project_id = ? AND item_code = ?", "WF-DEMO-CIVIL", "GH-02").Error; err != nil {
				t.Fatal(err)
			}
			if want := shanghai(2026, 3, 10, 0, 0); st.AcceptedOn == nil || !st.AcceptedOn.Equal(want) {
				t.Fatalf("accepted_on = %v, want %v", st.AcceptedOn, want)
			}
		})
	}
}

// Ordering is per record (contract, "Additions"): an event for item B that
// the upstream retries after a 503 is applied although item A's later event
// committed meanwhile; an item event is stale only against its own item's
// last sequence, a project event only against the project's.
func TestOrderingIsPerRecord(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false) // sequence 1
	// ev-2 (ST-01 submitted) failed with a 503; ev-3 (GH-02) commits first.
	w.mustSend(map[string]any{"event_id": "ev-3", "sequence": 3, "type": intake.EventItemStatusChanged, "item_code": "GH-02", "status": "accepted"}, intake.ResultApplied)
	// The upstream's retry of ev-2.
	w.mustSend(map[string]any{"event_id": "ev-2", "sequence": 2, "type": intake.EventItemStatusChanged, "item_code": "ST-01", "status": "submitted"}, intake.ResultApplied)
	var st models.ItemState
	if err := w.d.DB.Take(&st, "project_id = ? AND item_code = ?", "WF-DEMO-CIVIL", "ST-01").Error; err != nil || st.Status != models.StatusSubmitted || st.LastSequence != 2 {
		t.Fatalf("ST-01 after the retried event = %+v, %v; want submitted at sequence 2", st, err)
	}
	var p models.Project
	w.d.DB.Take(&p, "id = ?", "WF-DEMO-CIVIL")
	if p.Version != 3 || p.LastSequence != 1 {
		t.Fatalf("project = version %d, last sequence %d; want version 3 (every applied change moves it) and the project record's own sequence 1", p.Version, p.LastSequence)
	}
	w.drain()
	if got := w.delivered("tok-ent-demo"); len(got) != 2 {
		t.Fatalf("%d pushes to the enterprise, want 2 (both item changes)", len(got))
	}

	// Stale against the same item, whatever the others did.
	w.mustSend(map[string]any{"event_id": "ev-2b", "sequence": 2, "type": intake.EventItemStatusChanged, "item_code": "GH-02", "status": "rejected"}, intake.ResultStale)
	w.mustSend(map[string]any{"event_id": "ev-2c", "sequence": 2, "type": intake.EventItemStatusChanged, "item_code": "ST-01", "status": "accepted"}, intake.ResultStale)
	// A project event against the project's own sequence (1), not the
	// items' (3).
	w.mustSend(map[string]any{"event_id": "ev-p2", "sequence": 2, "type": intake.EventProjectUpserted, "project": map[string]any{
		"name": "示例住宅（二期）", "type": "civil", "enterprise_credit_code": "91370700MA3DEMO001", "region_code": "370702"}}, intake.ResultApplied)
	w.mustSend(map[string]any{"event_id": "ev-a2", "sequence": 2, "type": intake.EventAgentAssigned, "agent_username": "agent-county"}, intake.ResultStale)
	w.d.DB.Take(&p, "id = ?", "WF-DEMO-CIVIL")
	if p.Name != "示例住宅（二期）" || p.LastSequence != 2 || p.Version != 4 {
		t.Fatalf("project after its own event = %+v", p)
	}
	var gh models.ItemState
	w.d.DB.Take(&gh, "project_id = ? AND item_code = ?", "WF-DEMO-CIVIL", "GH-02")
	if gh.Status != models.StatusAccepted || gh.LastSequence != 3 {
		t.Fatalf("GH-02 = %+v, want accepted at sequence 3", gh)
	}
}

// An event that repeats an item's current status changes nothing and
// pushes nothing, is kept in the timeline and is answered applied; a
// correction asking for other materials is a new request.
func TestRepeatedStatusChangesNothing(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	w.item("GH-02", models.StatusAccepted, nil)
	w.item("GH-02", models.StatusApproved, nil)
	w.drain()
	var before models.Project
	w.d.DB.Take(&before, "id = ?", "WF-DEMO-CIVIL")
	inbox, pushes := len(w.inbox(w.ent)), len(w.delivered("tok-ent-demo"))
	var outboxBefore int64
	w.d.DB.Model(&models.OutboxEntry{}).Count(&outboxBefore)

	// The same approval again under a new event id.
	w.mustSend(map[string]any{"event_id": "ev-again", "type": intake.EventItemStatusChanged, "item_code": "GH-02", "status": "approved"}, intake.ResultApplied)
	w.drain()
	if n := len(w.inbox(w.ent)); n != inbox {
		t.Errorf("inbox grew from %d to %d on a repeated approval", inbox, n)
	}
	if n := len(w.delivered("tok-ent-demo")); n != pushes {
		t.Errorf("pushes grew from %d to %d on a repeated approval", pushes, n)
	}
	var outboxAfter int64
	w.d.DB.Model(&models.OutboxEntry{}).Count(&outboxAfter)
	if outboxAfter != outboxBefore {
		t.Errorf("outbox grew from %d to %d", outboxBefore, outboxAfter)
	}
	var after models.Project
	w.d.DB.Take(&after, "id = ?", "WF-DEMO-CIVIL")
	if after.Version != before.Version {
		t.Errorf("version moved from %d to %d though nothing changed", before.Version, after.Version)
	}
	var ev models.Event
	if err := w.d.DB.Take(&ev, "event_id = ?", "ev-again").Error; err != nil || ev.Result != intake.ResultApplied {
		t.Fatalf("the repeat is not in the timeline as applied: %+v, %v", ev, err)
	}
	// It still counts for the item's order: an older event is stale.
	w.mustSend(map[string]any{"event_id": "ev-older", "sequence": w.seq, "type": intake.EventItemStatusChanged, "item_code": "GH-02", "status": "rejected"}, intake.ResultStale)

	// Corrections: the same request again is a repeat; other materials are
	// a new request, pushed.
	w.item("ST-01", models.StatusCorrectionRequired, map[string]any{"reason": "缺少签章", "materials_requested": []string{"施工图设计文件"}})
	w.drain()
	pushes = len(w.delivered("tok-ent-demo"))
	w.item("ST-01", models.StatusCorrectionRequired, map[string]any{"reason": "缺少签章", "materials_requested": []string{"施工图设计文件"}})
	w.drain()
	if n := len(w.delivered("tok-ent-demo")); n != pushes {
		t.Errorf("the same correction request pushed again (%d → %d)", pushes, n)
	}
	w.item("ST-01", models.StatusCorrectionRequired, map[string]any{"reason": "缺少签章", "materials_requested": []string{"施工图设计文件", "勘察文件"}})
	w.drain()
	got := w.delivered("tok-ent-demo")
	if len(got) != pushes+1 || !strings.Contains(got[len(got)-1].Notification.Body, "勘察文件") {
		t.Errorf("a correction asking for more materials was not pushed: %d pushes, want %d", len(got), pushes+1)
	}
}

// An item state written before items kept their own sequence (0) is held to
// the project's last sequence, the rule of that time, until its next change.
func TestItemWithoutItsOwnSequenceIsHeldToTheProjects(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	if err := w.d.DB.Create(&models.ItemState{ProjectID: "WF-DEMO-CIVIL", ItemCode: "GH-02", Status: models.StatusAccepted}).Error; err != nil {
		t.Fatal(err)
	}
	if err := w.d.DB.Model(&models.Project{}).Where("id = ?", "WF-DEMO-CIVIL").Update("last_sequence", 5).Error; err != nil {
		t.Fatal(err)
	}
	w.mustSend(map[string]any{"sequence": 5, "type": intake.EventItemStatusChanged, "item_code": "GH-02", "status": "approved"}, intake.ResultStale)
	w.mustSend(map[string]any{"sequence": 6, "type": intake.EventItemStatusChanged, "item_code": "GH-02", "status": "approved"}, intake.ResultApplied)
	var st models.ItemState
	w.d.DB.Take(&st, "project_id = ? AND item_code = ?", "WF-DEMO-CIVIL", "GH-02")
	if st.Status != models.StatusApproved || st.LastSequence != 6 {
		t.Fatalf("item = %+v, want approved at sequence 6", st)
	}
}

// project.upserted carries the project's facts (strictly decoded, kept
// when a later upsert leaves them out), and item.status_changed takes
// "suspended" with its reason: the item's clock stops until the next status.
func TestFactsAndSuspensionFromTheWebhook(t *testing.T) {
	w := newWorld(t, 0)
	project := map[string]any{"name": "示例住宅", "type": "civil", "enterprise_credit_code": "91370700MA3DEMO001",
		"region_code": "370702", "facts": map[string]any{"use": "warehouse", "floor_area_m2": 8000, "investment": "private"}}
	w.mustSend(map[string]any{"type": intake.EventProjectUpserted, "project": project}, intake.ResultApplied)
	var p models.Project
	if err := w.d.DB.Take(&p, "id = ?", "WF-DEMO-CIVIL").Error; err != nil {
		t.Fatal(err)
	}
	f, err := p.Facts()
	if err != nil || f.Use == nil || *f.Use != "warehouse" {
		t.Fatalf("stored facts %s (%v), want the use given", p.FactsJSON, err)
	}
	delete(project, "facts")
	w.mustSend(map[string]any{"type": intake.EventProjectUpserted, "project": project}, intake.ResultApplied)
	if err := w.d.DB.Take(&p, "id = ?", "WF-DEMO-CIVIL").Error; err != nil || !strings.Contains(p.FactsJSON, "warehouse") {
		t.Fatalf("facts after an upsert without them: %s (%v)", p.FactsJSON, err)
	}
	project["facts"] = map[string]any{"colour": "blue"}
	_, err = w.send(map[string]any{"type": intake.EventProjectUpserted, "project": project})
	var me *models.Error
	if !errors.As(err, &me) || me.Code != models.CodeValidationFailed || len(me.Fields) == 0 || !strings.HasPrefix(me.Fields[0].Field, "project.facts") {
		t.Fatalf("an unknown fact: %+v, want validation_failed naming project.facts", me)
	}

	w.item("GH-02", models.StatusAccepted, nil)
	_, err = w.send(map[string]any{"type": intake.EventItemStatusChanged, "item_code": "GH-02", "status": "suspended"})
	if models.ErrorCode(err) != models.CodeValidationFailed {
		t.Fatalf("a suspension without its reason: %v, want validation_failed", err)
	}
	w.clock.Add(24 * time.Hour)
	w.item("GH-02", models.StatusSuspended, map[string]any{"reason": models.SuspendExpertReview})
	var st models.ItemState
	if err := w.d.DB.Take(&st, "project_id = ? AND item_code = ?", "WF-DEMO-CIVIL", "GH-02").Error; err != nil {
		t.Fatal(err)
	}
	if st.Status != models.StatusSuspended || st.SuspendedSince == nil || st.SuspendReason != models.SuspendExpertReview {
		t.Fatalf("suspended state %+v", st)
	}
	w.drain()
	got := w.delivered("tok-ent-demo")
	if len(got) == 0 || got[len(got)-1].Notification.Title != "建设工程规划许可证 暂停计时" || !strings.HasSuffix(got[len(got)-1].Notification.Body, "专家评审") {
		t.Fatalf("suspension push = %+v", got)
	}
	w.clock.Add(7 * 24 * time.Hour)
	w.item("GH-02", models.StatusAccepted, nil)
	st = models.ItemState{} // gorm leaves a pointer field alone when its column is NULL
	if err := w.d.DB.Take(&st, "project_id = ? AND item_code = ?", "WF-DEMO-CIVIL", "GH-02").Error; err != nil {
		t.Fatal(err)
	}
	clock, err := st.Clock()
	if err != nil || st.SuspendedSince != nil || len(clock.Pauses) != 1 || clock.Pauses[0].Kind != models.PauseSuspension {
		t.Fatalf("after the suspension: since %v, clock %+v (%v); want one closed suspension", st.SuspendedSince, clock, err)
	}
}
