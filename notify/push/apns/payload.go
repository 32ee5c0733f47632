package apns

import (
	"encoding/json"

	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/internal/vendorkit"
)

// Aps is the aps dictionary of the payload.
type Aps struct {
	Alert    Alert  `json:"alert"`
	Badge    int    `json:"badge"`
	Sound    string `json:"sound"`
	ThreadID string `json:"thread-id,omitempty"`
	// InterruptionLevel is the service class: time-sensitive for critical
	// notices (they break through Focus), active for the others.
	InterruptionLevel string `json:"interruption-level"`
}

// Alert is the visible notification.
type Alert struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

// Payload is an APNs payload: aps beside the app's data fields as
// top-level keys.
type Payload struct {
	Aps  Aps
	Data map[string]string
}

// MarshalJSON puts the data fields beside aps.
func (p Payload) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(p.Data)+1)
	for k, v := range p.Data {
		out[k] = v
	}
	out["aps"] = p.Aps
	return json.Marshal(out)
}

// BuildPayload maps a push onto an APNs payload: alert title and body, the
// unread count as badge, the project as thread, the interruption level,
// and the data fields (route is the deep link) at the top level.
func BuildPayload(m push.Message) Payload {
	level := "active"
	if m.Critical {
		level = "time-sensitive"
	}
	return Payload{
		Aps: Aps{
			Alert:             Alert{Title: m.Title, Body: m.Body},
			Badge:             vendorkit.Badge(m),
			Sound:             "default",
			ThreadID:          m.ProjectID,
			InterruptionLevel: level,
		},
		Data: vendorkit.Data(m),
	}
}
