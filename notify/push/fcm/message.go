package fcm

import (
	"strconv"
	"strings"

	"firebase.google.com/go/v4/messaging"

	"github.com/weifang/kaigong-zsb/notify/push"
)

// APNs and Android priorities: high only for critical notices, so ordinary
// progress updates do not wake a dozing phone (and do not count against
// Android's high-priority budget, which demotes apps that overuse it).
const (
	apnsPriorityCritical = "10"
	apnsPriorityNormal   = "5"
)

// BuildMessage turns a push.Message into the FCM HTTP v1 message of the
// contract (mobile-contract/push-message.schema.json): notification title and
// body, string data for the app (notification_id, category, project_id,
// item_codes, route, unread_count), the project as Android collapse key and
// as APNs collapse id and thread, the unread count as badge, and high
// priority for critical notices only.
func BuildMessage(m push.Message) *messaging.Message {
	androidPriority, apnsPriority := "normal", apnsPriorityNormal
	if m.Critical {
		androidPriority, apnsPriority = "high", apnsPriorityCritical
	}
	badge := max(m.UnreadCount, 0)

	headers := map[string]string{
		"apns-priority":  apnsPriority,
		"apns-push-type": "alert",
	}
	if m.ProjectID != "" {
		headers["apns-collapse-id"] = m.ProjectID
	}
	return &messaging.Message{
		Token: m.Token,
		Notification: &messaging.Notification{
			Title: m.Title,
			Body:  m.Body,
		},
		Data: map[string]string{
			"notification_id": m.NotificationID,
			"category":        m.Category,
			"project_id":      m.ProjectID,
			"item_codes":      strings.Join(m.ItemCodes, ","),
			"route":           m.Route,
			"unread_count":    strconv.Itoa(badge),
		},
		Android: &messaging.AndroidConfig{
			CollapseKey: m.ProjectID,
			Priority:    androidPriority,
		},
		APNS: &messaging.APNSConfig{
			Headers: headers,
			Payload: &messaging.APNSPayload{
				Aps: &messaging.Aps{
					Alert: &messaging.ApsAlert{
						Title: m.Title,
						Body:  m.Body,
					},
					Badge:    &badge,
					Sound:    "default",
					ThreadID: m.ProjectID,
				},
			},
		},
	}
}
