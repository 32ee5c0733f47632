package huawei

import (
	"strconv"
	"time"

	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/internal/vendorkit"
)

// Request is the body of a Push Kit v1 send.
type Request struct {
	ValidateOnly bool    `json:"validate_only"`
	Message      Message `json:"message"`
}

// Message is a Push Kit v1 message.
type Message struct {
	// Data is the app's data fields as a JSON object in a string.
	Data    string   `json:"data"`
	Android Android  `json:"android"`
	Token   []string `json:"token"`
}

// Android is the message's android block.
type Android struct {
	// Category is the service class, e.g. WORK.
	Category string `json:"category"`
	// Urgency is HIGH for critical notices, NORMAL otherwise.
	Urgency string `json:"urgency"`
	// TTL is a duration in seconds, e.g. "86400s".
	TTL          string       `json:"ttl"`
	Notification Notification `json:"notification"`
}

// Notification is the visible notification.
type Notification struct {
	Title       string      `json:"title"`
	Body        string      `json:"body"`
	ClickAction ClickAction `json:"click_action"`
	// Tag groups a project's notices: a new one replaces the last (the
	// collapse key of the other providers).
	Tag   string `json:"tag,omitempty"`
	Badge *Badge `json:"badge,omitempty"`
}

// ClickAction is what a tap opens: the deep link as an intent (type 1), or
// the app (type 3) when there is none.
type ClickAction struct {
	Type   int    `json:"type"`
	Intent string `json:"intent,omitempty"`
}

// Badge sets the launcher badge to the unread count.
type Badge struct {
	SetNum int    `json:"set_num"`
	Class  string `json:"class"`
}

// Huawei's text limits are not published as numbers for service
// notifications; these keep a notice on one screen.
const (
	maxTitle = 40
	maxBody  = 256
)

// BuildMessage maps a push onto a Push Kit v1 message (without its tokens):
// title and body, the data fields as a JSON string, the deep link as the
// click action, the project as tag, the badge when badgeClass is known, and
// urgency HIGH for critical notices.
func BuildMessage(m push.Message, category, badgeClass string, ttl time.Duration) Message {
	urgency := "NORMAL"
	if m.Critical {
		urgency = "HIGH"
	}
	click := ClickAction{Type: 3}
	if m.Route != "" {
		click = ClickAction{Type: 1, Intent: m.Route}
	}
	n := Notification{
		Title:       vendorkit.Truncate(m.Title, maxTitle),
		Body:        vendorkit.Truncate(m.Body, maxBody),
		ClickAction: click,
		Tag:         m.ProjectID,
	}
	if badgeClass != "" {
		n.Badge = &Badge{SetNum: vendorkit.Badge(m), Class: badgeClass}
	}
	return Message{
		Data: vendorkit.DataJSON(m),
		Android: Android{
			Category:     category,
			Urgency:      urgency,
			TTL:          strconv.FormatInt(int64(ttl/time.Second), 10) + "s",
			Notification: n,
		},
	}
}
