package oppo

import (
	"time"

	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/internal/vendorkit"
)

// Message is one OPPO message: a notification to one registration id.
type Message struct {
	TargetType   int          `json:"target_type"`
	TargetValue  string       `json:"target_value"`
	Notification Notification `json:"notification"`
}

// Notification is the visible notification.
type Notification struct {
	Title   string `json:"title"`
	Content string `json:"content"`
	// ClickActionType is 5 (an intent scheme URL: the deep link) or 0
	// (open the app).
	ClickActionType int    `json:"click_action_type"`
	ClickActionURL  string `json:"click_action_url,omitempty"`
	// ActionParameters is the app's data fields as a JSON object in a
	// string.
	ActionParameters string `json:"action_parameters"`
	// ChannelID and Category are the service class: the registered
	// private channel and e.g. TODO.
	ChannelID string `json:"channel_id"`
	Category  string `json:"category"`
	// NotifyLevel is 2 (status bar and lock screen) or, for critical
	// notices, 16 (also a banner, sound and vibration: OPPO's strong
	// reminder for private channels).
	NotifyLevel int `json:"notify_level"`
	// OffLineTTL is how long, in seconds, a notice waits for an offline
	// phone.
	OffLineTTL int64 `json:"off_line_ttl"`
}

// OPPO's text limits.
const (
	maxTitle   = 50
	maxContent = 200
)

// Notification levels.
const (
	notifyLevelNormal   = 2
	notifyLevelCritical = 16
)

// BuildMessage maps a push onto an OPPO message. OPPO has no collapse key
// or badge field: the app sets the badge from unread_count.
func BuildMessage(m push.Message, channelID, category string, ttl time.Duration) Message {
	n := Notification{
		Title:            vendorkit.Truncate(m.Title, maxTitle),
		Content:          vendorkit.Truncate(m.Body, maxContent),
		ClickActionType:  clickOpenApp,
		ActionParameters: vendorkit.DataJSON(m),
		ChannelID:        channelID,
		Category:         category,
		NotifyLevel:      notifyLevelNormal,
		OffLineTTL:       int64(ttl / time.Second),
	}
	if m.Route != "" {
		n.ClickActionType, n.ClickActionURL = clickIntentScheme, m.Route
	}
	if m.Critical {
		n.NotifyLevel = notifyLevelCritical
	}
	return Message{TargetType: targetTypeRegID, TargetValue: m.Token, Notification: n}
}
