// Package push is the transport that carries a rendered notice to a phone:
// the Sender interface every push provider implements, the message and
// result types, the outcomes and the retry backoff. It knows no database;
// each provider's client lives in a package beneath it (push/fcm,
// push/huawei, …), and a Router picks one by the device's provider.
//
// A caller that sizes its Send calls per provider asks MaxBatch(sender,
// provider): the Router and every sender answer how many pushes for the
// provider they take together (the vendor's most a request: 1,000 at
// Huawei, HarmonyOS, Honor, Xiaomi, OPPO and vivo; 500 for FCM; for APNs,
// one device a request, the requests kept in flight).
package push

import (
	"context"
	"slices"
	"time"
)

// The push providers a device may name (mobile-contract: "Every phone").
const (
	// ProviderFCM names Firebase Cloud Messaging, the default provider.
	ProviderFCM = "fcm"
	// ProviderAPNs names Apple's push service, sent to directly.
	ProviderAPNs = "apns"
	// ProviderHuawei names Huawei Push Kit v1 (Android with HMS).
	ProviderHuawei = "huawei"
	// ProviderHarmony names Huawei Push Kit v3 (HarmonyOS 5+ native).
	ProviderHarmony = "harmony"
	// ProviderHonor names Honor's push service.
	ProviderHonor = "honor"
	// ProviderXiaomi names Xiaomi MiPush.
	ProviderXiaomi = "xiaomi"
	// ProviderOPPO names OPPO (HeyTap) push.
	ProviderOPPO = "oppo"
	// ProviderVivo names vivo push.
	ProviderVivo = "vivo"
)

// AllProviders lists every provider name the contract knows, whether or not
// this server has credentials for it; a Router says which it can reach.
func AllProviders() []string {
	return []string{ProviderFCM, ProviderAPNs, ProviderHuawei, ProviderHarmony,
		ProviderHonor, ProviderXiaomi, ProviderOPPO, ProviderVivo}
}

// KnownProvider reports whether name is one of AllProviders.
func KnownProvider(name string) bool {
	return slices.Contains(AllProviders(), name)
}

// Message is one push to one device: what the dispatcher hands a sender.
// Title and Body are already localized for the device's user. Its JSON form
// leaves the token out, so a rendered message can be stored for retries or
// logged without leaking it.
type Message struct {
	// Token is the device's push token; it must never be logged.
	Token string `json:"-"`
	// Provider selects the delivery channel ("fcm"; empty means "fcm").
	Provider string `json:"provider,omitempty"`
	// NotificationID is the inbox entry's id; the app de-duplicates on it.
	NotificationID string `json:"notification_id"`
	// Category is the notice's preference category, e.g. "progress".
	Category string `json:"category"`
	// ProjectID is the project the notice is about; it is also the collapse
	// key and thread, so a project's notices group on the phone. Empty for
	// notices about no project (announcements).
	ProjectID string `json:"project_id,omitempty"`
	// ItemCodes are the approval items the notice is about.
	ItemCodes []string `json:"item_codes,omitempty"`
	// Route is the app deep link, e.g. "zsb://projects/WF-1/next-steps".
	Route string `json:"route"`
	// UnreadCount is the user's unread inbox count, shown as the badge.
	UnreadCount int `json:"unread_count"`
	// Title is the visible notification title.
	Title string `json:"title"`
	// Body is the visible notification text.
	Body string `json:"body"`
	// Critical marks notices (correction, rejection, overdue deadline) that
	// are sent with high priority.
	Critical bool `json:"critical,omitempty"`
}

// The outcomes of one push, as reported in Result.Outcome.
const (
	// OutcomeSent means the provider accepted the message.
	OutcomeSent = "sent"
	// OutcomeRetry means a transient failure: send again later, after
	// Backoff(attempt, RetryAfter).
	OutcomeRetry = "retry"
	// OutcomeFailed means a permanent failure for this message: do not retry.
	OutcomeFailed = "failed"
	// OutcomeDeactivate means the token is dead: mark the device inactive and
	// do not retry.
	OutcomeDeactivate = "deactivate"
	// OutcomePaused means the provider refuses every push until
	// Result.PauseUntil (a daily quota used up: it resets at Beijing
	// midnight). Keep the push pending and send it after PauseUntil; it
	// does not count as an attempt.
	OutcomePaused = "paused"
	// OutcomeAuthFailed means the provider rejected our credentials and a
	// fresh access token did not help (a wrong secret or key): the provider
	// is stopped until its configuration is fixed. Keep the push pending; it
	// does not count as an attempt.
	OutcomeAuthFailed = "auth_failed"
)

// Result is the outcome of one Message.
type Result struct {
	// Outcome is one of the Outcome constants.
	Outcome string
	// ErrorCode is the provider's error code (for FCM e.g. "UNREGISTERED",
	// "QUOTA_EXCEEDED") or one of ours ("provider_unsupported",
	// "missing_token", "transport"); empty when sent.
	ErrorCode string
	// RetryAfter is the provider's requested minimum wait before a retry,
	// zero when it named none.
	RetryAfter time.Duration
	// MessageID is the provider's id for a sent message.
	MessageID string
	// PauseUntil, with OutcomePaused, is when the provider takes pushes
	// again (the next Beijing midnight for a daily quota).
	PauseUntil time.Time
}

// Pending reports whether the push was not delivered and should stay
// pending without counting as an attempt: the provider is paused or its
// credentials are broken, through no fault of the push.
func (r Result) Pending() bool {
	return r.Outcome == OutcomePaused || r.Outcome == OutcomeAuthFailed
}

// Sender delivers pushes: one result per message, in the messages' order.
// Implementations are safe for concurrent use and never retry on their own
// beyond what the provider's client does; the caller decides from each
// Result.
type Sender interface {
	Send(ctx context.Context, msgs []Message) []Result
}
