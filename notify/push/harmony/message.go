package harmony

import (
	"hash/fnv"
	"time"

	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/internal/vendorkit"
)

// Request is the body of a Push Kit v3 send.
type Request struct {
	Payload     Payload     `json:"payload"`
	Target      Target      `json:"target"`
	PushOptions PushOptions `json:"pushOptions"`
}

// Payload holds the notification.
type Payload struct {
	Notification Notification `json:"notification"`
}

// Notification is the visible notification.
type Notification struct {
	// Category is the service class, e.g. WORK.
	Category    string      `json:"category"`
	Title       string      `json:"title"`
	Body        string      `json:"body"`
	ClickAction ClickAction `json:"clickAction"`
	Badge       *Badge      `json:"badge,omitempty"`
	// NotifyID groups a project's notices: a new one replaces the last
	// (derived from the project id; omitted for notices about none).
	NotifyID *int32 `json:"notifyId,omitempty"`
}

// ClickAction is what a tap opens: the deep link (actionType 1, uri) or
// the app (actionType 0), with the app's data fields either way.
type ClickAction struct {
	ActionType int               `json:"actionType"`
	URI        string            `json:"uri,omitempty"`
	Data       map[string]string `json:"data"`
}

// Badge sets the app icon's badge.
type Badge struct {
	SetNum int `json:"setNum"`
}

// Target is who receives it.
type Target struct {
	Token []string `json:"token"`
}

// PushOptions are the delivery options.
type PushOptions struct {
	// TTL is in seconds.
	TTL int64 `json:"ttl"`
}

const (
	maxTitle = 40
	maxBody  = 256
)

// BuildRequest maps a push onto a Push Kit v3 request (without its
// tokens): title and body, the data fields as clickAction.data, the deep
// link as clickAction.uri, the badge, and the project as notifyId.
// HarmonyOS has no per-message priority: the WORK category is what lets
// a notice alert.
func BuildRequest(m push.Message, category string, ttl time.Duration) Request {
	click := ClickAction{ActionType: 0, Data: vendorkit.Data(m)}
	if m.Route != "" {
		click.ActionType, click.URI = 1, m.Route
	}
	n := Notification{
		Category:    category,
		Title:       vendorkit.Truncate(m.Title, maxTitle),
		Body:        vendorkit.Truncate(m.Body, maxBody),
		ClickAction: click,
		Badge:       &Badge{SetNum: vendorkit.Badge(m)},
	}
	if m.ProjectID != "" {
		id := NotifyID(m.ProjectID)
		n.NotifyID = &id
	}
	return Request{Payload: Payload{Notification: n}, PushOptions: PushOptions{TTL: int64(ttl / time.Second)}}
}

// NotifyID is the notifyId of a project's notices: a stable non-negative
// 31-bit hash of the project id.
func NotifyID(projectID string) int32 {
	h := fnv.New32a()
	h.Write([]byte(projectID))
	return int32(h.Sum32() & 0x7fffffff)
}
