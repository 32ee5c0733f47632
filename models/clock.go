package models

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/weifang/kaigong-zsb/internal/workdays"
)

// StatusSuspended is the contract's status for an item whose statutory
// time limit is suspended (行政许可法第四十五条: expert review, hearing,
// testing, public notice, site survey). The item's clock and the main
// flow's stop until its next status.
const StatusSuspended = "suspended"

// Suspension reasons of the contract.
const (
	SuspendExpertReview = "expert_review"
	SuspendHearing      = "hearing"
	SuspendTesting      = "testing"
	SuspendPublicNotice = "public_notice"
	SuspendSiteSurvey   = "site_survey"
)

// SuspendReasons lists the reasons a suspension may give.
var SuspendReasons = []string{SuspendExpertReview, SuspendHearing, SuspendTesting, SuspendPublicNotice, SuspendSiteSurvey}

// IsSuspendReason reports whether s is one of SuspendReasons.
func IsSuspendReason(s string) bool { return slices.Contains(SuspendReasons, s) }

// Pause kinds of ClockPause.
const (
	PauseCorrection = "correction"
	PauseSuspension = "suspension"
)

// ClockPause is a closed stretch of an item's time that belongs to the
// enterprise (a correction wait, 补正) or is excluded by law (a suspension):
// the working days in (From, To] do not count.
type ClockPause struct {
	Kind   string        `json:"kind"`
	Reason string        `json:"reason,omitempty"`
	From   workdays.Date `json:"from"`
	To     workdays.Date `json:"to"`
}

// ClockSpan is a closed earlier application of an item: with the
// department on the working days in (From, To].
type ClockSpan struct {
	From workdays.Date `json:"from"`
	To   workdays.Date `json:"to"`
}

// ItemClock is the clock history stored on ItemState (its clock column).
type ItemClock struct {
	Pauses []ClockPause `json:"pauses,omitempty"`
	Spans  []ClockSpan  `json:"spans,omitempty"`
}

// Clock reads the item's clock history; an empty column is none.
func (st *ItemState) Clock() (ItemClock, error) {
	var c ItemClock
	if st.ClockJSON == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(st.ClockJSON), &c); err != nil {
		return ItemClock{}, fmt.Errorf("models: item %s clock: %w", st.ItemCode, err)
	}
	return c, nil
}

func (st *ItemState) setClock(c ItemClock) {
	if len(c.Pauses) == 0 && len(c.Spans) == 0 {
		st.ClockJSON = ""
		return
	}
	b, _ := json.Marshal(c) // dates and strings only: cannot fail
	st.ClockJSON = string(b)
}

func dateOfPtr(t *time.Time) *workdays.Date {
	if t == nil {
		return nil
	}
	d := workdays.DateOf(*t)
	return &d
}

func timeOf(d workdays.Date) *time.Time {
	t := d.Midnight()
	return &t
}

// ProgressInput returns the item's state as BuildProgress reads it. A clock
// column that cannot be read counts as no history.
func (st *ItemState) ProgressInput() ItemProgressInput {
	c, _ := st.Clock()
	return ItemProgressInput{
		Code:                  st.ItemCode,
		Status:                st.Status,
		AcceptedOn:            dateOfPtr(st.AcceptedOn),
		DecidedOn:             dateOfPtr(st.DecidedOn),
		CorrectionSince:       dateOfPtr(st.CorrectionSince),
		CorrectionWorkingDays: st.CorrectionWorkingDays,
		SuspendedSince:        dateOfPtr(st.SuspendedSince),
		SuspendReason:         st.SuspendReason,
		Pauses:                c.Pauses,
		Spans:                 c.Spans,
	}
}

// ApplyItemStatus moves an item to a new status at the instant at (its
// civil date in Asia/Shanghai is the day that counts) and keeps the item's
// clock: the acceptance day, the decision day, correction waits and
// suspensions (reason is the suspension reason and is required for
// StatusSuspended, ignored otherwise; ItemState.Reason is the caller's).
//
//   - accepted: the clock starts (a new application after a withdrawal or
//     a rejection starts a new span; the old one is kept);
//   - correction_required: a correction wait opens; the next status closes
//     it, adding its working days to CorrectionWorkingDays;
//   - suspended: a suspension opens and stops the item's clock and, for a
//     main-flow item, the main flow's, until the next status closes it;
//   - approved, pre_approved, rejected: the decision day ends the item's
//     time with the department (an item decided without an acceptance
//     event is taken as accepted that day);
//   - withdrawn: the application's time with the department ends.
//
// A status equal to the current one changes nothing and returns false (the
// contract keeps such an event in the timeline but applies nothing).
func ApplyItemStatus(cal *workdays.Calendar, st *ItemState, status, reason string, at time.Time) (changed bool, err error) {
	if !IsItemStatus(status) {
		return false, ValidationError(FieldError{Field: "status", Message: fmt.Sprintf("unknown status %q", status)})
	}
	if status == StatusSuspended && !IsSuspendReason(reason) {
		return false, ValidationError(FieldError{Field: "reason", Message: fmt.Sprintf("a suspension needs a reason, one of %v", SuspendReasons)})
	}
	if status == st.Status {
		return false, nil
	}
	clock, err := st.Clock()
	if err != nil {
		clock = ItemClock{}
	}
	day := workdays.DateOf(at)
	// Close what the previous status left open.
	if st.CorrectionSince != nil {
		since := workdays.DateOf(*st.CorrectionSince)
		n, _ := cal.WorkingDaysBetween(since, day)
		st.CorrectionWorkingDays += n
		clock.Pauses = append(clock.Pauses, ClockPause{Kind: PauseCorrection, From: since, To: day})
		st.CorrectionSince = nil
	}
	if st.SuspendedSince != nil {
		since := workdays.DateOf(*st.SuspendedSince)
		clock.Pauses = append(clock.Pauses, ClockPause{Kind: PauseSuspension, Reason: st.SuspendReason, From: since, To: day})
		st.SuspendedSince, st.SuspendReason = nil, ""
	}
	prev := st.Status
	switch status {
	case StatusAccepted:
		fresh := prev == StatusWithdrawn || prev == StatusRejected || prev == StatusNotStarted || prev == ""
		if st.AcceptedOn != nil && fresh {
			end := day
			if st.DecidedOn != nil {
				end = workdays.DateOf(*st.DecidedOn)
			}
			if prev == StatusWithdrawn {
				// the span was closed at the withdrawal
				end = workdays.DateOf(*st.AcceptedOn)
			}
			if acc := workdays.DateOf(*st.AcceptedOn); end.After(acc) {
				clock.Spans = append(clock.Spans, ClockSpan{From: acc, To: end})
			}
			st.AcceptedOn, st.DecidedOn = nil, nil
		}
		if st.AcceptedOn == nil {
			st.AcceptedOn = timeOf(day)
		}
	case StatusCorrectionRequired:
		st.CorrectionSince = timeOf(day)
	case StatusSuspended:
		st.SuspendedSince, st.SuspendReason = timeOf(day), reason
	case StatusApproved, StatusPreApproved, StatusRejected:
		if st.AcceptedOn == nil {
			st.AcceptedOn = timeOf(day)
		}
		st.DecidedOn = timeOf(day)
	case StatusWithdrawn:
		if st.AcceptedOn != nil {
			acc := workdays.DateOf(*st.AcceptedOn)
			if day.After(acc) && !decided(prev) {
				clock.Spans = append(clock.Spans, ClockSpan{From: acc, To: day})
			}
			// The withdrawn application's days are in Spans; the
			// acceptance day stays for display, with no days after it.
		}
		st.DecidedOn = nil
	}
	st.Status = status
	st.setClock(clock)
	return true, nil
}

// ItemStatuses are the statuses the upstream may send.
var ItemStatuses = []string{StatusSubmitted, StatusAccepted, StatusCorrectionRequired, StatusSuspended,
	StatusPreApproved, StatusApproved, StatusRejected, StatusWithdrawn}

// IsItemStatus reports whether s is one of ItemStatuses.
func IsItemStatus(s string) bool { return slices.Contains(ItemStatuses, s) }
