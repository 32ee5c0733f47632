package notify

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/notify/outbox"
)

// FuzzPreferencesValidate feeds arbitrary PUT /v1/me/push-preferences bodies
// and clocks through the validator and Decide. Validate never panics and
// names a field in every complaint; preferences it accepts survive a JSON
// round trip, never switch correction off, and make Decide push critical
// notices at once and defer others only to a moment after now and within a
// day.
func FuzzPreferencesValidate(f *testing.F) {
	def, _ := json.Marshal(DefaultPreferences())
	f.Add(def, int64(1795550000), "progress", false)
	f.Add([]byte(`{"push_enabled":true,"categories":{"progress":true,"announcement":true},"quiet_hours":{"enabled":true,"start":"23:30","end":"00:15"},"timezone":"America/New_York","muted_projects":["WF-1"],"locale":"en"}`), int64(1793512800), "next_steps", false)
	f.Add([]byte(`{"push_enabled":true,"categories":{},"quiet_hours":{"enabled":true,"start":"01:30","end":"02:30"},"timezone":"Europe/Berlin","muted_projects":[],"locale":"zh-CN"}`), int64(1774746000), "deadline", false)
	f.Add([]byte(`{"push_enabled":false,"categories":{"correction":false,"x":true},"quiet_hours":{"enabled":true,"start":"24:00","end":"7:30"},"timezone":"Local","muted_projects":[""],"locale":"fr"}`), int64(0), "correction", true)
	f.Add([]byte(`{"quiet_hours":{"enabled":true,"start":"10:00","end":"10:00"},"timezone":"Asia/Shanghai","locale":"en"}`), int64(-1), "", false)
	f.Add([]byte(`null`), int64(42), "agent_task", true)
	f.Fuzz(func(t *testing.T, body []byte, unix int64, category string, critical bool) {
		var p Preferences
		if json.Unmarshal(body, &p) != nil {
			return
		}
		errs := p.Validate()
		for _, fe := range errs {
			if fe.Field == "" || fe.Message == "" {
				t.Fatalf("complaint without a field or message: %+v", fe)
			}
		}
		if len(errs) > 0 {
			return
		}
		if on, set := p.Categories[outbox.CategoryCorrection]; set && !on {
			t.Fatalf("accepted preferences that switch corrections off")
		}
		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("accepted preferences do not encode: %v", err)
		}
		var back Preferences
		if err := json.Unmarshal(raw, &back); err != nil || len(back.Validate()) > 0 {
			t.Fatalf("accepted preferences, encoded again, are refused: %v %v", err, back.Validate())
		}
		// Any moment between 1970 and 2100.
		now := time.Unix(int64(uint64(unix)%(130*365*24*3600)), 0)
		d := Decide(p, Notice{Category: category, Critical: critical, ProjectID: "WF-1"}, now)
		switch {
		case !p.PushEnabled:
			if d.Push {
				t.Fatalf("pushed with push disabled: %+v", d)
			}
		case critical || category == outbox.CategoryCorrection:
			if !d.Push || !d.At.IsZero() {
				t.Fatalf("a critical notice was not pushed at once: %+v", d)
			}
		case d.Push && !d.At.IsZero():
			if !p.QuietHours.Enabled {
				t.Fatalf("deferred without quiet hours: %+v", d)
			}
			if !d.At.After(now) || d.At.Sub(now) > 25*time.Hour {
				t.Fatalf("deferred from %v to %v", now, d.At)
			}
		}
	})
}
