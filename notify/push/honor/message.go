package honor

import (
	"strconv"
	"time"

	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/internal/vendorkit"
)

// Message is the body of a Honor send.
type Message struct {
	// Data is the app's data fields as a JSON object in a string.
	Data    string   `json:"data"`
	Android Android  `json:"android"`
	Token   []string `json:"token"`
}

// Android is the message's android block.
type Android struct {
	// TTL is a duration in seconds, e.g. "86400s".
	TTL          string       `json:"ttl"`
	Notification Notification `json:"notification"`
}

// Notification is the visible notification.
type Notification struct {
	Title string `json:"title"`
	Body  string `json:"body"`
	// Importance is the service class: NORMAL.
	Importance  string      `json:"importance"`
	ClickAction ClickAction `json:"clickAction"`
	// Tag groups a project's notices: a new one replaces the last.
	Tag   string `json:"tag,omitempty"`
	Badge *Badge `json:"badge,omitempty"`
}

// ClickAction is what a tap opens: the deep link as an intent (type 1) or
// the app (type 3).
type ClickAction struct {
	Type   int    `json:"type"`
	Intent string `json:"intent,omitempty"`
}

// Badge sets the launcher badge.
type Badge struct {
	SetNum     int    `json:"setNum"`
	BadgeClass string `json:"badgeClass"`
}

const (
	maxTitle = 40
	maxBody  = 256
)

// BuildMessage maps a push onto a Honor message (without its tokens).
// Honor has no high-priority form beyond the NORMAL importance: critical
// notices go as every service notice does.
func BuildMessage(m push.Message, importance, badgeClass string, ttl time.Duration) Message {
	click := ClickAction{Type: 3}
	if m.Route != "" {
		click = ClickAction{Type: 1, Intent: m.Route}
	}
	n := Notification{
		Title:       vendorkit.Truncate(m.Title, maxTitle),
		Body:        vendorkit.Truncate(m.Body, maxBody),
		Importance:  importance,
		ClickAction: click,
		Tag:         m.ProjectID,
	}
	if badgeClass != "" {
		n.Badge = &Badge{SetNum: vendorkit.Badge(m), BadgeClass: badgeClass}
	}
	return Message{
		Data: vendorkit.DataJSON(m),
		Android: Android{
			TTL:          strconv.FormatInt(int64(ttl/time.Second), 10) + "s",
			Notification: n,
		},
	}
}
