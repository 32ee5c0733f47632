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
	if p.Version != 2 || p.LastSequence != 2 || p.StartedOn == nil || workdays.DateOf(*p.StartedOn).String() != "2026-03-10" {
		t.Fatalf("project after acceptance = %+v", p)
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
