package notify

import (
	"slices"
	"time"

	"github.com/weifang/kaigong-zsb/notify/outbox"
)

// Notice is what Decide needs to know about a notice.
type Notice struct {
	// Category is the notice's preference category.
	Category string
	// Critical marks a correction request, a rejection or an overdue
	// deadline: pushed even in quiet hours, for muted projects and disabled
	// categories.
	Critical bool
	// ProjectID is the project the notice is about, if any.
	ProjectID string
}

// Reasons a Decision gives, for logs and metrics.
const (
	ReasonAllowed          = "allowed"
	ReasonCritical         = "critical"
	ReasonPushDisabled     = "push_disabled"
	ReasonProjectMuted     = "project_muted"
	ReasonCategoryDisabled = "category_disabled"
	ReasonQuietHours       = "quiet_hours"
)

// Decision says whether and when to push a notice to a user.
type Decision struct {
	// Push is false when the notice is only recorded in the inbox.
	Push bool
	// At is when to push: zero means now, otherwise the end of the user's
	// quiet hours.
	At time.Time
	// Reason is one of the Reason constants.
	Reason string
}

// Decide applies a user's preferences to a notice at time now. Push disabled
// stops everything; a critical notice (and any correction) goes out at
// once; muted projects and switched-off categories are dropped; anything
// else found inside quiet hours waits until they end. Decide never fails:
// an unknown time zone falls back to Asia/Shanghai and malformed quiet
// hours count as none, since stored preferences were validated on the way
// in. A category missing from the preferences keeps its default; a category
// Preferences does not know is pushed.
func Decide(p Preferences, n Notice, now time.Time) Decision {
	if !p.PushEnabled {
		return Decision{Reason: ReasonPushDisabled}
	}
	if n.Critical || n.Category == outbox.CategoryCorrection {
		return Decision{Push: true, Reason: ReasonCritical}
	}
	if n.ProjectID != "" && slices.Contains(p.MutedProjects, n.ProjectID) {
		return Decision{Reason: ReasonProjectMuted}
	}
	on, set := p.Categories[n.Category]
	if !set {
		on = !isCategory(n.Category) || categoryDefault(n.Category)
	}
	if !on {
		return Decision{Reason: ReasonCategoryDisabled}
	}
	if end, quiet := quietUntil(p, now); quiet {
		return Decision{Push: true, At: end, Reason: ReasonQuietHours}
	}
	return Decision{Push: true, Reason: ReasonAllowed}
}

// quietUntil reports whether now falls in p's quiet hours and, if so, when
// they end. Wall-clock minutes are compared in the user's zone, and the end
// is built with time.Date in that zone, so days of 23 or 25 hours (DST) end
// quiet hours at the right local time.
func quietUntil(p Preferences, now time.Time) (time.Time, bool) {
	q := p.QuietHours
	if !q.Enabled {
		return time.Time{}, false
	}
	start, ok1 := parseClock(q.Start)
	end, ok2 := parseClock(q.End)
	if !ok1 || !ok2 || start == end {
		return time.Time{}, false
	}
	loc, ok := loadZone(p.Timezone)
	if !ok {
		loc, _ = loadZone(DefaultTimezone)
	}
	local := now.In(loc)
	minute := local.Hour()*60 + local.Minute()

	var dayOffset int
	switch {
	case start < end && minute >= start && minute < end:
		dayOffset = 0 // same-day window, e.g. 13:00–14:00
	case start > end && minute >= start:
		dayOffset = 1 // before midnight in a window like 22:00–07:30
	case start > end && minute < end:
		dayOffset = 0 // after midnight in a window like 22:00–07:30
	default:
		return time.Time{}, false
	}
	y, m, d := local.Date()
	at := time.Date(y, m, d+dayOffset, end/60, end%60, 0, 0, loc)
	if !at.After(now) {
		// The end's wall time occurs twice today (DST fall-back) and
		// time.Date chose the earlier instant, which has passed; wall clock
		// and real time run together again, so count the minutes left.
		at = now.Truncate(time.Minute).Add(time.Duration(end-minute) * time.Minute)
	}
	return at, true
}
