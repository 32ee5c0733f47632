package fcm

import (
	"encoding/json"
	"testing"

	"github.com/weifang/kaigong-zsb/notify/push"
)

func TestBuildFCMMessage(t *testing.T) {
	tests := []struct {
		name        string
		msg         push.Message
		wantAndroid string
		wantAPNs    string
	}{
		{"ordinary notice is normal priority", pushTo("tok"), "normal", "5"},
		{"critical notice is high priority", func() push.Message {
			m := pushTo("tok")
			m.Category, m.Critical = "correction", true
			return m
		}(), "high", "10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := BuildMessage(tt.msg)
			if m.Token != "tok" || m.Notification.Title != tt.msg.Title || m.Notification.Body != tt.msg.Body {
				t.Errorf("token/notification = %q %+v", m.Token, m.Notification)
			}
			wantData := map[string]string{
				"notification_id": "n-tok", "category": tt.msg.Category, "project_id": "WF-1",
				"item_codes": "370700-001", "route": "zsb://projects/WF-1/progress", "unread_count": "2",
			}
			if len(m.Data) != len(wantData) {
				t.Errorf("data = %v, want %v", m.Data, wantData)
			}
			for k, v := range wantData {
				if m.Data[k] != v {
					t.Errorf("data[%s] = %q, want %q", k, m.Data[k], v)
				}
			}
			if m.Android.CollapseKey != "WF-1" || m.Android.Priority != tt.wantAndroid {
				t.Errorf("android = %+v", m.Android)
			}
			h := m.APNS.Headers
			if h["apns-collapse-id"] != "WF-1" || h["apns-priority"] != tt.wantAPNs || h["apns-push-type"] != "alert" {
				t.Errorf("apns headers = %v", h)
			}
			aps := m.APNS.Payload.Aps
			if aps.ThreadID != "WF-1" || aps.Badge == nil || *aps.Badge != 2 ||
				aps.Alert.Title != tt.msg.Title || aps.Alert.Body != tt.msg.Body {
				t.Errorf("aps = %+v", aps)
			}
		})
	}
}

func TestBuildFCMMessageEdges(t *testing.T) {
	m := pushTo("tok")
	m.ItemCodes = []string{"A", "B", "C"}
	m.UnreadCount = -3
	m.ProjectID = ""
	got := BuildMessage(m)
	if got.Data["item_codes"] != "A,B,C" {
		t.Errorf("item_codes = %q", got.Data["item_codes"])
	}
	if got.Data["unread_count"] != "0" || *got.APNS.Payload.Aps.Badge != 0 {
		t.Errorf("negative unread count not clamped: %q / %d", got.Data["unread_count"], *got.APNS.Payload.Aps.Badge)
	}
	if _, ok := got.APNS.Headers["apns-collapse-id"]; ok {
		t.Error("apns-collapse-id set for a notice without project")
	}
	// A badge of 0 must still be sent: it clears the app icon's badge.
	raw, err := json.Marshal(got.APNS.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Aps map[string]any `json:"aps"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if b, ok := p.Aps["badge"]; !ok || b != float64(0) {
		t.Errorf("aps = %v, want badge 0", p.Aps)
	}
}
