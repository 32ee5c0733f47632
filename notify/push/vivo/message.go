package vivo

import (
	"time"

	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/internal/vendorkit"
)

// Payload is a vivo notice: the body of /message/send (with RegID) and of
// /message/saveListPayload (without).
type Payload struct {
	AppID string `json:"appId,omitempty"`
	RegID string `json:"regId,omitempty"`
	// NotifyType is 4 (sound and vibration) for critical notices, 2
	// (sound) otherwise.
	NotifyType int    `json:"notifyType"`
	Title      string `json:"title"`
	Content    string `json:"content"`
	// SkipType is 4 (open the app page SkipContent names: the deep link)
	// or 1 (open the app).
	SkipType    int    `json:"skipType"`
	SkipContent string `json:"skipContent,omitempty"`
	// Classification 1 (system) with Category is the service class.
	Classification int    `json:"classification"`
	Category       string `json:"category"`
	// TimeToLive is in seconds.
	TimeToLive int64  `json:"timeToLive"`
	RequestID  string `json:"requestId"`
	// ClientCustomMap is the app's data fields.
	ClientCustomMap map[string]string `json:"clientCustomMap"`
}

// vivo's text limits, a Chinese character counting two.
const (
	maxTitle   = 40
	maxContent = 100
)

const (
	notifyTypeSound    = 2
	notifyTypeCritical = 4
	skipOpenApp        = 1
	skipAppPage        = 4
	classSystem        = 1
)

// BuildPayload maps a push onto a vivo notice (without regId and
// requestId). vivo has no collapse key or badge field: the app sets the
// badge from unread_count.
func BuildPayload(m push.Message, appID, category string, ttl time.Duration) Payload {
	p := Payload{
		AppID:           appID,
		NotifyType:      notifyTypeSound,
		Title:           vendorkit.TruncateUnits(m.Title, maxTitle, vendorkit.WideUnits),
		Content:         vendorkit.TruncateUnits(m.Body, maxContent, vendorkit.WideUnits),
		SkipType:        skipOpenApp,
		Classification:  classSystem,
		Category:        category,
		TimeToLive:      int64(ttl / time.Second),
		ClientCustomMap: vendorkit.Data(m),
	}
	if m.Route != "" {
		p.SkipType, p.SkipContent = skipAppPage, m.Route
	}
	if m.Critical {
		p.NotifyType = notifyTypeCritical
	}
	return p
}
