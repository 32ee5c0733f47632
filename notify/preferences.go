package notify

import (
	"encoding/json"
	// Time zones must resolve even in a container image without zoneinfo.
	_ "time/tzdata"

	"github.com/weifang/kaigong-zsb/notify/outbox"
)

// Locales the BFF writes notices in.
const (
	LocaleZhCN = "zh-CN"
	LocaleEn   = "en"
)

// DefaultTimezone is the time zone of quiet hours unless the user picks one.
const DefaultTimezone = "Asia/Shanghai"

// Preferences is what a user lets the BFF push, in the JSON form of the
// contract's GET/PUT /v1/me/push-preferences.
type Preferences struct {
	// PushEnabled false stops every push, critical ones included; the inbox
	// still records everything.
	PushEnabled bool `json:"push_enabled"`
	// Categories switches notice categories; a category missing from the
	// map keeps its default. correction cannot be switched off.
	Categories map[string]bool `json:"categories"`
	// QuietHours defers non-critical pushes to their end.
	QuietHours QuietHours `json:"quiet_hours"`
	// Timezone is the IANA zone quiet hours are read in.
	Timezone string `json:"timezone"`
	// MutedProjects lists project ids whose non-critical notices are not
	// pushed.
	MutedProjects []string `json:"muted_projects"`
	// Locale is the language of notices: "zh-CN" or "en".
	Locale string `json:"locale"`
}

// QuietHours is a daily window, in the user's time zone, in which only
// critical notices are pushed. Start after End spans midnight.
type QuietHours struct {
	Enabled bool   `json:"enabled"`
	Start   string `json:"start"` // "HH:MM"
	End     string `json:"end"`   // "HH:MM"
}

// Categories lists every category, in the contract's order.
func Categories() []string {
	return []string{outbox.CategoryProgress, outbox.CategoryNextSteps, outbox.CategoryCorrection,
		outbox.CategoryDeadline, outbox.CategoryAgentTask, outbox.CategoryAnnouncement}
}

// categoryDefault is a category's setting for users who never chose.
func categoryDefault(category string) bool {
	return category != outbox.CategoryAnnouncement
}

// DefaultPreferences returns the preferences of a user who never set any.
func DefaultPreferences() Preferences {
	cats := make(map[string]bool, 6)
	for _, c := range Categories() {
		cats[c] = categoryDefault(c)
	}
	return Preferences{
		PushEnabled:   true,
		Categories:    cats,
		QuietHours:    QuietHours{Enabled: true, Start: "22:00", End: "07:30"},
		Timezone:      DefaultTimezone,
		MutedProjects: []string{},
		Locale:        LocaleZhCN,
	}
}

// MarshalJSON writes absent lists and maps as [] and {} rather than null,
// so the app never has to tell the two apart.
func (p Preferences) MarshalJSON() ([]byte, error) {
	type plain Preferences
	if p.Categories == nil {
		p.Categories = map[string]bool{}
	}
	if p.MutedProjects == nil {
		p.MutedProjects = []string{}
	}
	return json.Marshal(plain(p))
}
