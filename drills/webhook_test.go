package drills

import (
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/config"
	"github.com/weifang/kaigong-zsb/models"
)

// dbState is what a webhook can change, read directly from the database.
type dbState struct {
	version, lastSeq                  int64
	events, outbox, itemRows, applied int64
	items                             string
}

func (s *stack) state(t *testing.T, project string) dbState {
	t.Helper()
	var st dbState
	st.version, st.lastSeq = s.projectVersion(project)
	st.events = count(t, s.db, "SELECT count(*) FROM events WHERE project_id = ?", project)
	st.applied = count(t, s.db, "SELECT count(*) FROM events WHERE project_id = ? AND result = 'applied'", project)
	st.outbox = count(t, s.db, "SELECT count(*) FROM outbox_entries WHERE project_id = ? AND kind = 'change'", project)
	st.itemRows = count(t, s.db, "SELECT count(*) FROM item_states WHERE project_id = ?", project)
	var rows []string
	if err := s.db.Raw("SELECT item_code || '=' || status FROM item_states WHERE project_id = ? ORDER BY item_code", project).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	st.items = strings.Join(rows, ",")
	return st
}

// TestWebhookAttacks sends the upstream webhook forged, re-signed with the
// wrong secret, replayed outside the 300 s window, with a duplicated
// event_id, out of sequence and oversized: each gets the contract's answer
// and none changes anything (checked in the database and at the sink).
func TestWebhookAttacks(t *testing.T) {
	drill(t)
	s := newStack(t)
	b := s.startBFF("bff")
	ent := b.phoneFor("ent-demo")
	code := firstItem(t, b, ent.access, civil)
	_, seq := s.projectVersion(civil)

	post := func(body []byte, headers []string, status int, code string) resp {
		t.Helper()
		r := b.must("POST", "/v1/upstream/events", "", body, status, headers...)
		if code != "" && !strings.Contains(string(r.body), `"code":"`+code+`"`) {
			t.Errorf("answer %s, want code %s", r, code)
		}
		return r
	}
	now := time.Now()
	good := itemEvent("drill-hook-1", civil, int(seq)+1, code, models.StatusAccepted)
	goodBody := encodeBody(good)
	post(goodBody, signed(config.DevWebhookSecret, now, goodBody), 202, "")
	before := s.state(t, civil)
	eventually(t, time.Minute, "the real event's push", func() (bool, string) {
		rep := s.pushReport(ent)
		return rep.complete() && rep.expected == 1, rep.String()
	})

	next := itemEvent("drill-hook-2", civil, int(seq)+2, code, models.StatusApproved)
	nextBody := encodeBody(next)
	forgedBody := []byte(strings.Replace(string(nextBody), `"approved"`, `"rejected"`, 1))
	huge := itemEvent("drill-hook-huge", civil, int(seq)+2, code, models.StatusCorrectionRequired)
	huge["reason"] = strings.Repeat("大", 700<<10) // 2.1 MB of UTF-8
	hugeBody := encodeBody(huge)

	cases := []struct {
		name    string
		body    []byte
		headers []string
		status  int
		code    string
		result  string
	}{
		{"forged: body changed after signing", forgedBody, signed(config.DevWebhookSecret, now, nextBody), 401, "signature_invalid", ""},
		{"signed with the wrong secret", nextBody, signed("not-the-upstream-secret", now, nextBody), 401, "signature_invalid", ""},
		{"signature of another timestamp", nextBody, []string{"X-Upstream-Timestamp", itoa(now.Unix() + 1), "X-Upstream-Signature", signed(config.DevWebhookSecret, now, nextBody)[3]}, 401, "signature_invalid", ""},
		{"no signature", nextBody, nil, 401, "signature_invalid", ""},
		{"replayed 10 minutes later", nextBody, signed(config.DevWebhookSecret, now.Add(-10*time.Minute), nextBody), 401, "timestamp_out_of_range", ""},
		{"replayed just outside the window", nextBody, signed(config.DevWebhookSecret, now.Add(-301*time.Second), nextBody), 401, "timestamp_out_of_range", ""},
		{"from the future", nextBody, signed(config.DevWebhookSecret, now.Add(10*time.Minute), nextBody), 401, "timestamp_out_of_range", ""},
		{"the real event again", goodBody, signed(config.DevWebhookSecret, now, goodBody), 202, "", "duplicate"},
		{"its event_id with other content", encodeBody(itemEvent("drill-hook-1", civil, int(seq)+5, code, models.StatusRejected)), nil, 202, "", "duplicate"},
		{"2 MiB body", hugeBody, signed(config.DevWebhookSecret, now, hugeBody), 413, "payload_too_large", ""},
		{"malformed JSON", []byte(`{"event_id":`), nil, 400, "malformed_json", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.headers
			if h == nil && tc.name != "no signature" {
				h = signed(config.DevWebhookSecret, time.Now(), tc.body)
			}
			r := post(tc.body, h, tc.status, tc.code)
			if tc.result != "" && !strings.Contains(string(r.body), `"result":"`+tc.result+`"`) {
				t.Errorf("answer %s, want result %s", r, tc.result)
			}
			if after := s.state(t, civil); after != before {
				t.Errorf("the database changed:\n before %+v\n after  %+v", before, after)
			}
		})
	}

	t.Run("sequence out of order", func(t *testing.T) {
		old := itemEvent("drill-hook-old", civil, int(seq)+1, code, models.StatusRejected) // not above the last applied
		body := encodeBody(old)
		r := post(body, signed(config.DevWebhookSecret, time.Now(), body), 202, "")
		if !strings.Contains(string(r.body), `"result":"stale"`) {
			t.Errorf("answer %s, want result stale", r)
		}
		after := s.state(t, civil)
		want := before
		want.events++ // kept in the timeline, nothing else
		if after != want {
			t.Errorf("a stale event changed the database:\n want %+v\n got  %+v", want, after)
		}
		var tl struct {
			Items []struct {
				EventID string `json:"event_id"`
			} `json:"items"`
		}
		b.must("GET", "/v1/projects/"+civil+"/timeline?limit=100", ent.access, nil, 200).decode(t, &tl)
		found := false
		for _, it := range tl.Items {
			found = found || it.EventID == "drill-hook-old"
		}
		if !found {
			t.Errorf("the stale event is not in the timeline")
		}
	})

	// Only the one real change was ever pushed.
	time.Sleep(2 * time.Second) // give a wrongly applied event the time to show up
	if rep := s.pushReport(ent); rep.expected != 1 || !rep.complete() || rep.repeats != 0 {
		t.Errorf("pushes: %s", rep)
	}
	if n := count(t, s.db, "SELECT count(*) FROM outbox_entries WHERE kind = 'change'"); n != 1 {
		t.Errorf("%d outbox entries of item changes, want 1", n)
	}
}
