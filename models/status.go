package models

// Theme statuses, derived from the statuses of a theme's items for the
// guide's map and the progress view.
const (
	ThemeNotStarted = "not_started"
	ThemeInProgress = "in_progress"
	ThemeDone       = "done"
)

// statusOf returns an item's status, StatusNotStarted when the upstream
// system has not mentioned the item.
func statusOf(statuses map[string]string, code string) string {
	if s := statuses[code]; s != "" {
		return s
	}
	return StatusNotStarted
}

// notStarted reports whether an item with this status may be applied for
// afresh: never applied for, or withdrawn by the enterprise.
func notStarted(status string) bool {
	return status == StatusNotStarted || status == StatusWithdrawn
}

// decided reports whether the administration has answered the application,
// which stops the item's clock. A pre-approval is an answer: what remains is
// for the enterprise to meet the missing conditions.
func decided(status string) bool {
	return status == StatusApproved || status == StatusPreApproved || status == StatusRejected
}

// satisfies reports whether a prerequisite with status pre lets item go
// ahead, and whether it does so only through its pre-approval.
func satisfies(item *Item, preCode, pre string) (ok, viaPreApproval bool) {
	switch {
	case pre == StatusApproved:
		return true, false
	case pre == StatusPreApproved && item.AcceptsPreApprovalOf(preCode):
		return true, true
	default:
		return false, false
	}
}

// themeStatus derives a theme's status from its items' statuses: done when
// every item is approved, not started when none has been applied for (or
// all were withdrawn), in progress otherwise.
func themeStatus(items []*Item, statuses map[string]string) string {
	allDone, noneStarted := true, true
	for _, it := range items {
		s := statusOf(statuses, it.Code)
		if s != StatusApproved {
			allDone = false
		}
		if !notStarted(s) {
			noneStarted = false
		}
	}
	switch {
	case len(items) == 0 || noneStarted:
		return ThemeNotStarted
	case allDone:
		return ThemeDone
	default:
		return ThemeInProgress
	}
}
