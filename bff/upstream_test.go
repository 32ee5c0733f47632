package bff_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/notify/intake"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/internal/testenv"
	mobilecontract "github.com/weifang/kaigong-zsb/mobile-contract"
)

func (e *env) progressVersion(tok, id string) int64 {
	e.t.Helper()
	var p struct {
		Version int64 `json:"version"`
	}
	e.expect(e.do("GET", "/v1/projects/"+id+"/progress", tok, nil), 200).json(e.t, &p)
	return p.Version
}

func (e *env) firstNextStep(tok, id string) string {
	e.t.Helper()
	var next struct {
		Items []struct {
			Code string `json:"code"`
		} `json:"items"`
	}
	e.expect(e.do("GET", "/v1/projects/"+id+"/next-steps", tok, nil), 200).json(e.t, &next)
	if len(next.Items) == 0 {
		e.t.Fatalf("%s has no next steps", id)
	}
	return next.Items[0].Code
}

// noQuietHours switches quiet hours off, so ordinary notices are pushed at
// once whatever the time of day the test runs.
func (e *env) noQuietHours(tok string) {
	e.t.Helper()
	var p map[string]any
	e.expect(e.do("GET", "/v1/me/push-preferences", tok, nil), 200).json(e.t, &p)
	p["quiet_hours"] = map[string]any{"enabled": false, "start": "22:00", "end": "07:30"}
	e.expect(e.do("PUT", "/v1/me/push-preferences", tok, p), 200)
}

func itemEvent(id string, seq int, item, status string) event {
	return event{
		"event_id": "ev-" + id + "-" + strconv.Itoa(seq) + "-" + status, "type": "item.status_changed",
		"occurred_at": time.Now().Format(time.RFC3339), "project_id": id, "sequence": seq,
		"item_code": item, "status": status,
	}
}

func deliveredTo(s *pushsink.Sink, token string) []pushsink.Received {
	var out []pushsink.Received
	for _, m := range s.Delivered() {
		if m.Token == token {
			out = append(out, m)
		}
	}
	return out
}

// TestUpstreamEventToInboxAndPush follows one approval change from the signed
// webhook to the progress read, the inbox and the phone.
func TestUpstreamEventToInboxAndPush(t *testing.T) {
	e := start(t, nil)
	tok := e.login("ent-demo").AccessToken
	e.expect(e.do("PUT", "/v1/me/devices/phone-1", tok, map[string]any{"platform": "android", "push_token": "token-phone-1"}), 200)
	e.noQuietHours(tok)

	v0 := e.progressVersion(tok, "WF-DEMO-CIVIL")
	item := e.firstNextStep(tok, "WF-DEMO-CIVIL")
	ev := itemEvent("WF-DEMO-CIVIL", 100, item, "accepted")
	var res struct {
		EventID string `json:"event_id"`
		Result  string `json:"result"`
	}
	e.expect(e.send(ev), 202).json(t, &res)
	if res.Result != "applied" || res.EventID != ev["event_id"] {
		t.Fatalf("result %+v", res)
	}
	// Never stale after 202: the very next read sees the change.
	if v := e.progressVersion(tok, "WF-DEMO-CIVIL"); v <= v0 {
		t.Fatalf("progress version %d after the event, was %d", v, v0)
	}

	// The same event again changes nothing.
	e.expect(e.send(ev), 202).json(t, &res)
	if res.Result != "duplicate" {
		t.Fatalf("repeat answered %s", res.Result)
	}
	// An older sequence is stale: kept in the timeline, applied to nothing.
	v1 := e.progressVersion(tok, "WF-DEMO-CIVIL")
	old := itemEvent("WF-DEMO-CIVIL", 99, item, "rejected")
	e.expect(e.send(old), 202).json(t, &res)
	if res.Result != "stale" || e.progressVersion(tok, "WF-DEMO-CIVIL") != v1 {
		t.Fatalf("stale event: %+v", res)
	}
	var tl struct {
		Items []struct {
			EventID string `json:"event_id"`
			Result  string `json:"result"`
		} `json:"items"`
	}
	e.expect(e.do("GET", "/v1/projects/WF-DEMO-CIVIL/timeline", tok, nil), 200).json(t, &tl)
	results := map[string]string{}
	for _, it := range tl.Items {
		results[it.EventID] = it.Result
	}
	if results[ev["event_id"].(string)] != "applied" || results[old["event_id"].(string)] != "stale" {
		t.Fatalf("timeline %+v", tl)
	}

	// The inbox gets the notice; the phone gets one push for it.
	type inbox struct {
		Items []struct {
			ID        string   `json:"id"`
			Category  string   `json:"category"`
			Title     string   `json:"title"`
			ProjectID *string  `json:"project_id"`
			ItemCodes []string `json:"item_codes"`
		} `json:"items"`
		UnreadCount int `json:"unread_count"`
	}
	var box inbox
	testenv.Eventually(t, "the inbox notice", func() bool {
		e.expect(e.do("GET", "/v1/me/notifications?unread=true", tok, nil), 200).json(t, &box)
		for _, n := range box.Items {
			if n.ProjectID != nil && *n.ProjectID == "WF-DEMO-CIVIL" && len(n.ItemCodes) == 1 && n.ItemCodes[0] == item {
				return true
			}
		}
		return false
	})
	// The phone gets a push for this change (the demo data may also earn it
	// deadline warnings; those are not what this test follows).
	pushFor := func() map[string]string {
		for _, m := range deliveredTo(e.app.Sink, "token-phone-1") {
			var msg struct {
				Data map[string]string `json:"data"`
			}
			if err := json.Unmarshal(m.Message, &msg); err != nil {
				t.Fatal(err)
			}
			if msg.Data["project_id"] == "WF-DEMO-CIVIL" && msg.Data["item_codes"] == item && msg.Data["category"] != "deadline" {
				return msg.Data
			}
		}
		return nil
	}
	testenv.Eventually(t, "the push at the sink", func() bool { return pushFor() != nil })
	for _, m := range e.app.Sink.Delivered() {
		if err := mobilecontract.ValidatePushMessage(m.Message); err != nil {
			t.Errorf("push breaks mobile-contract/push-message.schema.json: %v\n%s", err, m.Message)
		}
	}
	if data := pushFor(); data["notification_id"] == "" || data["unread_count"] == "" || !strings.HasPrefix(data["route"], "zsb://projects/WF-DEMO-CIVIL/") {
		t.Fatalf("push data %v", data)
	}

	// Read one, then all. The unread count follows exactly: reading a
	// notice twice takes it off once. (Nothing else arrives meanwhile: the
	// pipeline's work for this event is done and no other event is sent.)
	unreadNow := func() int {
		var b inbox
		e.expect(e.do("GET", "/v1/me/notifications?unread=true&limit=1", tok, nil), 200).json(t, &b)
		return b.UnreadCount
	}
	before := unreadNow()
	if before < 1 {
		t.Fatalf("unread count %d with an unread notice in the inbox", before)
	}
	e.expect(e.do("POST", "/v1/me/notifications/"+box.Items[0].ID+"/read", tok, nil), 204)
	e.expect(e.do("POST", "/v1/me/notifications/"+box.Items[0].ID+"/read", tok, nil), 204)
	if after := unreadNow(); after != before-1 {
		t.Fatalf("reading one notice (twice) moved the unread count from %d to %d", before, after)
	}
	e.expect(e.do("POST", "/v1/me/notifications/no-such-id/read", tok, nil), 404)
	e.expect(e.do("POST", "/v1/me/notifications/read-all", tok, nil), 204)
	e.expect(e.do("GET", "/v1/me/notifications?unread=true", tok, nil), 200).json(t, &box)
	if box.UnreadCount != 0 || len(box.Items) != 0 {
		t.Fatalf("after read-all: %+v", box)
	}
	// Someone else's notification is not theirs to read.
	other := e.login("ent-other").AccessToken
	var all inbox
	e.expect(e.do("GET", "/v1/me/notifications", tok, nil), 200).json(t, &all)
	e.expect(e.do("POST", "/v1/me/notifications/"+all.Items[0].ID+"/read", other, nil), 404)
}

func TestUpstreamEventRejections(t *testing.T) {
	e := start(t, nil)
	good, _ := json.Marshal(itemEvent("WF-DEMO-CIVIL", 5, "LX-01", "accepted"))
	now := time.Now()
	ts, sig := intake.SignEvent("dev-upstream-secret", now, good)
	_, wrongSig := intake.SignEvent("another-secret", now, good)
	oldTS, oldSig := intake.SignEvent("dev-upstream-secret", now.Add(-10*time.Minute), good)
	post := func(body []byte, ts, sig string) resp {
		return e.do("POST", "/v1/upstream/events", "", body, "X-Upstream-Timestamp", ts, "X-Upstream-Signature", sig)
	}
	signed := func(body []byte) resp {
		ts, sig := intake.SignEvent("dev-upstream-secret", time.Now(), body)
		return post(body, ts, sig)
	}
	for name, tc := range map[string]struct {
		r      func() resp
		status int
		code   string
	}{
		"forged":            {func() resp { return post(good, ts, wrongSig) }, 401, "signature_invalid"},
		"no signature":      {func() resp { return post(good, ts, "") }, 401, "signature_invalid"},
		"tampered body":     {func() resp { return post([]byte(strings.Replace(string(good), "accepted", "approved", 1)), ts, sig) }, 401, "signature_invalid"},
		"replayed too late": {func() resp { return post(good, oldTS, oldSig) }, 401, "timestamp_out_of_range"},
		"malformed":         {func() resp { return signed([]byte(`{"event_id":`)) }, 400, "malformed_json"},
		"unknown type": {func() resp {
			b, _ := json.Marshal(event{"event_id": "x1", "type": "project.deleted", "occurred_at": now.Format(time.RFC3339), "project_id": "WF-DEMO-CIVIL", "sequence": 9})
			return signed(b)
		}, 422, "unknown_event_type"},
		"unknown project": {func() resp { b, _ := json.Marshal(itemEvent("WF-NOPE", 1, "LX-01", "accepted")); return signed(b) }, 422, "unknown_project"},
		"unknown item": {func() resp {
			b, _ := json.Marshal(itemEvent("WF-DEMO-CIVIL", 7, "ZZ-99", "accepted"))
			return signed(b)
		}, 422, "unknown_item"},
		"bad status": {func() resp { b, _ := json.Marshal(itemEvent("WF-DEMO-CIVIL", 7, "LX-01", "lost")); return signed(b) }, 422, "validation_failed"},
		"two megabytes": {func() resp {
			// Refused from its headers: sent as a client that reads the
			// answer before finishing its upload (see doOversized).
			body := []byte(`{"event_id":"` + strings.Repeat("x", 2<<20) + `"}`)
			ts, sig := intake.SignEvent("dev-upstream-secret", time.Now(), body)
			return e.doOversized("/v1/upstream/events", len(body), "X-Upstream-Timestamp", ts, "X-Upstream-Signature", sig)
		}, 413, "payload_too_large"},
	} {
		t.Run(name, func(t *testing.T) {
			r := tc.r()
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, truncate(r.Body))
			}
			if c := r.problemCode(t); c != tc.code {
				t.Fatalf("code %s, want %s", c, tc.code)
			}
		})
	}
	// Nothing above was applied: the project is where the demo left it.
	tok := e.login("ent-demo").AccessToken
	var tl struct {
		Items []any `json:"items"`
	}
	e.expect(e.do("GET", "/v1/projects/WF-DEMO-CIVIL/timeline", tok, nil), 200).json(t, &tl)
	if len(tl.Items) != 0 {
		t.Fatalf("rejected events reached the timeline: %+v", tl.Items)
	}
}

// TestHelpRequestToAgentTask: an enterprise asks for help, the town agents of
// the region see the task and one of them claims it; a second claimant gets
// 409.
func TestHelpRequestToAgentTask(t *testing.T) {
	e := start(t, nil)
	ent := e.login("ent-demo").AccessToken
	var task struct {
		ID        int64   `json:"id"`
		Level     string  `json:"level"`
		Status    string  `json:"status"`
		ClaimedBy *string `json:"claimed_by"`
	}
	r := e.expect(e.do("POST", "/v1/projects/WF-DEMO-CIVIL/help-requests", ent, map[string]string{"topic": "施工图审查", "message": "请协助准备材料"}), 201)
	r.json(t, &task)
	if task.Level != "town" || task.Status != "open" || r.Header.Get("Location") == "" {
		t.Fatalf("task %+v", task)
	}
	e.expect(e.do("POST", "/v1/projects/WF-DEMO-CIVIL/help-requests", ent, map[string]string{"topic": "", "message": "x"}), 422)

	town := e.login("agent-town").AccessToken
	var list struct {
		Items []struct {
			ID    int64  `json:"id"`
			Kind  string `json:"kind"`
			Level string `json:"level"`
		} `json:"items"`
	}
	has := func(id int64) bool {
		for _, it := range list.Items {
			if it.ID == id {
				return true
			}
		}
		return false
	}
	e.expect(e.do("GET", "/v1/agent/tasks?status=open", town, nil), 200).json(t, &list)
	if !has(task.ID) {
		t.Fatalf("town agent's open tasks lack the help request: %+v", list)
	}
	// The county agent does not see a town task, nor may an enterprise user.
	county := e.login("agent-county").AccessToken
	e.expect(e.do("GET", "/v1/agent/tasks?status=open", county, nil), 200).json(t, &list)
	if has(task.ID) {
		t.Fatalf("county sees town task: %+v", list)
	}
	id := strconv.FormatInt(task.ID, 10)
	e.expect(e.do("POST", "/v1/agent/tasks/"+id+"/claim", county, nil), 404)
	e.expect(e.do("GET", "/v1/agent/tasks", ent, nil), 404)
	e.expect(e.do("GET", "/v1/agent/tasks?status=lost", town, nil), 422)

	e.expect(e.do("POST", "/v1/agent/tasks/"+id+"/claim", town, nil), 200).json(t, &task)
	if task.Status != "claimed" || task.ClaimedBy == nil || *task.ClaimedBy != "agent-town" {
		t.Fatalf("claimed %+v", task)
	}
	e.expect(e.do("POST", "/v1/agent/tasks/"+id+"/complete", town, nil), 200).json(t, &task)
	if task.Status != "done" {
		t.Fatalf("completed %+v", task)
	}
	e.expect(e.do("GET", "/v1/agent/tasks?status=done", town, nil), 200).json(t, &list)
	if !has(task.ID) {
		t.Fatalf("done list %+v", list)
	}
}
