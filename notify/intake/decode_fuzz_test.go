package intake

import (
	"encoding/json"
	"errors"
	"regexp"
	"testing"
	"unicode/utf8"

	"github.com/weifang/kaigong-zsb/models"
)

// fuzzEventSeeds are webhook bodies of every shape the decoder meets: each
// event type, and the usual ways of getting one wrong.
var fuzzEventSeeds = []string{
	`{"event_id":"e-1","type":"item.status_changed","occurred_at":"2026-11-24T10:00:00+08:00","project_id":"WF-1","sequence":7,"item_code":"LX-01","status":"accepted"}`,
	`{"event_id":"e-2","type":"item.status_changed","occurred_at":"2026-11-24T10:00:00Z","project_id":"WF-1","sequence":8,"item_code":"GH-02","status":"correction_required","reason":"补充材料","materials_requested":["总平面图","授权委托书"]}`,
	`{"event_id":"e-3","type":"project.upserted","occurred_at":"2026-11-24T10:00:00+08:00","project_id":"WF-NEW","sequence":1,"project":{"name":"新项目","type":"civil","enterprise_credit_code":"91370700MA3DEMO001","region_code":"370702","key_project":true}}`,
	`{"event_id":"e-4","type":"agent.assigned","occurred_at":"2026-11-24T10:00:00.123+08:00","project_id":"WF-1","sequence":9,"agent_username":"agent-county"}`,
	`{"event_id":"e-5","type":"item.status_changed","occurred_at":"2026-11-24T10:00:00+08:00","project_id":"WF-1","sequence":7,"agent_username":"x"}`,
	`{"event_id":"","type":"project.upserted","occurred_at":"yesterday","project_id":"1","sequence":0,"project":{"type":"villa"}}`,
	`{"event_id":"e-6","type":"meteor.strike"}`,
	`{"event_id":1,"type":["item.status_changed"],"sequence":"7","materials_requested":"all"}`,
	`{"type":"project.upserted","project":null} {"trailing":true}`,
	`[]`, `null`, `"event"`, `{`, ``, `{"event_id":"e\u0000","x":{}}`, `{"":""}`,
}

var fuzzProjectID = regexp.MustCompile(`^WF-[A-Za-z0-9-]{1,61}$`)

// FuzzDecodeEvent feeds the webhook decoder arbitrary bodies. It never
// panics; it refuses with the contract's codes only (malformed_json,
// validation_failed with the fields named, unknown_event_type); what it
// accepts meets every rule the rest of the intake relies on; and an accepted
// event encodes and decodes to itself.
func FuzzDecodeEvent(f *testing.F) {
	for _, s := range fuzzEventSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := decodeEvent(body)
		if err != nil {
			var me *models.Error
			if !errors.As(err, &me) {
				t.Fatalf("error %T %v is not a *models.Error", err, err)
			}
			switch me.Code {
			case models.CodeMalformedJSON, models.CodeUnknownEventType:
			case models.CodeValidationFailed:
				if len(me.Fields) == 0 {
					t.Fatalf("validation_failed names no field: %v", me)
				}
				for _, fe := range me.Fields {
					// An unknown key that is the empty string is named as
					// such: {"": …} answers field "".
					if fe.Message == "" || (fe.Field == "" && fe.Message != "unknown field") {
						t.Fatalf("field error without a field or message: %+v", fe)
					}
				}
			default:
				t.Fatalf("decodeEvent answered code %s", me.Code)
			}
			return
		}
		if n := utf8.RuneCountInString(ev.EventID); n < 1 || n > 128 {
			t.Fatalf("accepted event_id of %d characters", n)
		}
		if !fuzzProjectID.MatchString(ev.ProjectID) || ev.Sequence < 1 || ev.OccurredAt.IsZero() {
			t.Fatalf("accepted %q sequence %d at %v", ev.ProjectID, ev.Sequence, ev.OccurredAt)
		}
		switch ev.Type {
		case EventProjectUpserted:
			p := ev.Project
			if p == nil || p.Name == "" || !models.IsProjectType(p.Type) || len(p.EnterpriseCreditCode) != 18 ||
				(len(p.RegionCode) != 6 && len(p.RegionCode) != 9) {
				t.Fatalf("accepted project block %+v", p)
			}
			if ev.ItemCode != "" || ev.Status != "" || ev.AgentUsername != "" || len(ev.MaterialsRequested) > 0 {
				t.Fatalf("project.upserted carries another type's fields: %+v", ev)
			}
		case EventItemStatusChanged:
			if ev.ItemCode == "" || !itemStatuses[ev.Status] || ev.Project != nil || ev.AgentUsername != "" {
				t.Fatalf("accepted item change %+v", ev)
			}
			if len(ev.MaterialsRequested) > 50 || utf8.RuneCountInString(ev.Reason) > 1000 {
				t.Fatalf("accepted oversized correction %d materials, %d reason", len(ev.MaterialsRequested), len(ev.Reason))
			}
		case EventAgentAssigned:
			if ev.AgentUsername == "" || ev.Project != nil || ev.ItemCode != "" || ev.Status != "" {
				t.Fatalf("accepted agent assignment %+v", ev)
			}
		default:
			t.Fatalf("accepted type %q", ev.Type)
		}
		again, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("accepted event does not encode: %v", err)
		}
		ev2, err := decodeEvent(again)
		if err != nil {
			t.Fatalf("accepted event, encoded again, is refused: %v\n%s", err, again)
		}
		third, _ := json.Marshal(ev2)
		if string(third) != string(again) || !ev2.OccurredAt.Equal(ev.OccurredAt) {
			t.Fatalf("decode/encode is not stable:\n%s\n%s", again, third)
		}
	})
}
