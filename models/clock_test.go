package models

import (
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/workdays"
)

// at returns 09:00 in Weifang on the day.
func at(tb testing.TB, day string) time.Time {
	tb.Helper()
	return date(tb, day).Midnight().Add(9 * time.Hour)
}

func TestApplyItemStatus(t *testing.T) {
	cal := calendar(t)
	type step struct {
		day, status, reason string
		changed             bool
	}
	tests := []struct {
		name  string
		steps []step
		check func(t *testing.T, st *ItemState)
	}{
		{"acceptance and decision", []step{
			{"2026-09-01", StatusSubmitted, "", true},
			{"2026-09-02", StatusAccepted, "", true},
			{"2026-09-04", StatusApproved, "", true},
		}, func(t *testing.T, st *ItemState) {
			wantDay(t, "accepted", st.AcceptedOn, "2026-09-02")
			wantDay(t, "decided", st.DecidedOn, "2026-09-04")
			if st.ClockJSON != "" {
				t.Errorf("clock = %s, want none", st.ClockJSON)
			}
		}},
		{"a correction wait is closed by the next status", []step{
			{"2026-09-01", StatusAccepted, "", true},
			{"2026-09-03", StatusCorrectionRequired, "", true},
			{"2026-09-08", StatusAccepted, "", true},
		}, func(t *testing.T, st *ItemState) {
			wantDay(t, "accepted", st.AcceptedOn, "2026-09-01")
			if st.CorrectionSince != nil || st.CorrectionWorkingDays != 3 {
				t.Errorf("correction since %v, days %d; want closed, 3 (4, 7, 8 September)", st.CorrectionSince, st.CorrectionWorkingDays)
			}
			c := mustClock(t, st)
			if len(c.Pauses) != 1 || c.Pauses[0] != (ClockPause{Kind: PauseCorrection, From: date(t, "2026-09-03"), To: date(t, "2026-09-08")}) {
				t.Errorf("pauses = %+v", c.Pauses)
			}
		}},
		{"a suspension keeps its reason", []step{
			{"2026-09-01", StatusAccepted, "", true},
			{"2026-09-10", StatusSuspended, SuspendHearing, true},
			{"2026-09-10", StatusSuspended, SuspendHearing, false},
		}, func(t *testing.T, st *ItemState) {
			wantDay(t, "suspended", st.SuspendedSince, "2026-09-10")
			if st.SuspendReason != SuspendHearing || st.Status != StatusSuspended {
				t.Errorf("status %s, reason %q", st.Status, st.SuspendReason)
			}
		}},
		{"the next status ends a suspension", []step{
			{"2026-09-01", StatusAccepted, "", true},
			{"2026-09-10", StatusSuspended, SuspendTesting, true},
			{"2026-09-17", StatusApproved, "", true},
		}, func(t *testing.T, st *ItemState) {
			if st.SuspendedSince != nil || st.SuspendReason != "" {
				t.Errorf("suspension still open: %v %q", st.SuspendedSince, st.SuspendReason)
			}
			c := mustClock(t, st)
			if len(c.Pauses) != 1 || c.Pauses[0] != (ClockPause{Kind: PauseSuspension, Reason: SuspendTesting, From: date(t, "2026-09-10"), To: date(t, "2026-09-17")}) {
				t.Errorf("pauses = %+v", c.Pauses)
			}
			wantDay(t, "decided", st.DecidedOn, "2026-09-17")
		}},
		{"a repeated status changes nothing", []step{
			{"2026-09-01", StatusAccepted, "", true},
			{"2026-09-05", StatusAccepted, "", false},
		}, func(t *testing.T, st *ItemState) {
			wantDay(t, "accepted", st.AcceptedOn, "2026-09-01")
		}},
		{"a decision without an acceptance event", []step{
			{"2026-09-07", StatusApproved, "", true},
		}, func(t *testing.T, st *ItemState) {
			wantDay(t, "accepted", st.AcceptedOn, "2026-09-07")
			wantDay(t, "decided", st.DecidedOn, "2026-09-07")
		}},
		{"a new application after a rejection keeps the old span", []step{
			{"2026-09-01", StatusAccepted, "", true},
			{"2026-09-03", StatusRejected, "", true},
			{"2026-09-14", StatusAccepted, "", true},
		}, func(t *testing.T, st *ItemState) {
			wantDay(t, "accepted", st.AcceptedOn, "2026-09-14")
			if st.DecidedOn != nil {
				t.Errorf("decided = %v on a new application", st.DecidedOn)
			}
			c := mustClock(t, st)
			if len(c.Spans) != 1 || c.Spans[0] != (ClockSpan{From: date(t, "2026-09-01"), To: date(t, "2026-09-03")}) {
				t.Errorf("spans = %+v", c.Spans)
			}
		}},
		{"a withdrawal closes the application", []step{
			{"2026-09-01", StatusAccepted, "", true},
			{"2026-09-04", StatusWithdrawn, "", true},
			{"2026-09-14", StatusAccepted, "", true},
		}, func(t *testing.T, st *ItemState) {
			wantDay(t, "accepted", st.AcceptedOn, "2026-09-14")
			c := mustClock(t, st)
			if len(c.Spans) != 1 || c.Spans[0] != (ClockSpan{From: date(t, "2026-09-01"), To: date(t, "2026-09-04")}) {
				t.Errorf("spans = %+v", c.Spans)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &ItemState{ProjectID: "P", ItemCode: "LX-03"}
			for _, s := range tt.steps {
				changed, err := ApplyItemStatus(cal, st, s.status, s.reason, at(t, s.day))
				if err != nil {
					t.Fatalf("%s %s: %v", s.day, s.status, err)
				}
				if changed != s.changed {
					t.Errorf("%s %s: changed = %v, want %v", s.day, s.status, changed, s.changed)
				}
			}
			tt.check(t, st)
		})
	}
}

func TestApplyItemStatusRefuses(t *testing.T) {
	cal := calendar(t)
	tests := []struct {
		name, status, reason, field string
	}{
		{"a suspension without a reason", StatusSuspended, "", "reason"},
		{"a suspension for no legal reason", StatusSuspended, "holiday", "reason"},
		{"an unknown status", "paused", "", "status"},
		{"not_started is not an upstream status", StatusNotStarted, "", "status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &ItemState{ItemCode: "LX-03", Status: StatusAccepted}
			_, err := ApplyItemStatus(cal, st, tt.status, tt.reason, at(t, "2026-09-01"))
			var e *Error
			if ErrorCode(err) != CodeValidationFailed || !asError(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != tt.field {
				t.Fatalf("error = %v, want validation_failed on %s", err, tt.field)
			}
			if st.Status != StatusAccepted {
				t.Errorf("a refused event changed the status to %s", st.Status)
			}
		})
	}
}

// TestApplyItemStatusUsesTheWeifangDate: an event at 18:30 UTC is 02:30 the
// next morning in Weifang; that is the day that counts.
func TestApplyItemStatusUsesTheWeifangDate(t *testing.T) {
	st := &ItemState{ItemCode: "LX-03"}
	if _, err := ApplyItemStatus(calendar(t), st, StatusAccepted, "", time.Date(2026, 9, 1, 18, 30, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	wantDay(t, "accepted", st.AcceptedOn, "2026-09-02")
}

// TestSuspensionStopsBothClocks drives one main-flow item (GH-02, 5
// working days) through a correction and a suspension with ApplyItemStatus
// and reads the item's and the main flow's clocks as BuildProgress does.
func TestSuspensionStopsBothClocks(t *testing.T) {
	cal := calendar(t)
	st := &ItemState{ProjectID: "P", ItemCode: "GH-02"}
	apply := func(day, status, reason string) {
		t.Helper()
		if _, err := ApplyItemStatus(cal, st, status, reason, at(t, day)); err != nil {
			t.Fatal(err)
		}
	}
	progress := func(today string) (ItemProgress, OverallProgress) {
		t.Helper()
		p := BuildProgress(DefaultCatalog(), cal, ProgressInput{Facts: civil, Items: []ItemProgressInput{st.ProgressInput()}}, date(t, today))
		return progressItem(t, p, "GH-02"), p.Overall
	}
	apply("2026-09-01", StatusAccepted, "")
	apply("2026-09-03", StatusCorrectionRequired, "")
	apply("2026-09-08", StatusAccepted, "")
	apply("2026-09-10", StatusSuspended, SuspendExpertReview)

	// Days with the department: 2, 3, 9, 10. The expert review has run
	// for weeks, far past the 5-day limit: neither clock moves, nothing is
	// overdue, nothing may be warned about.
	ip, o := progress("2026-10-20")
	if o.WorkingDaysUsed != 4 || o.Overdue || !o.DeadlineWarnable() {
		t.Errorf("overall = %+v, want 4 days used, not overdue, still warnable as a project", o)
	}
	if ip.Status != StatusSuspended || ip.Overdue || ip.DeadlineWarnable() || ip.SuspendReason != SuspendExpertReview {
		t.Errorf("item = %+v, want suspended for expert review, not overdue, not warnable", ip)
	}
	if ip.WorkingDaysLeft == nil || *ip.WorkingDaysLeft != 1 {
		t.Errorf("working_days_left = %v, want 1 (4 of 5 used)", ip.WorkingDaysLeft)
	}

	// The review ends on 21 October: the clock runs again from the 22nd.
	apply("2026-10-21", StatusAccepted, "")
	ip, o = progress("2026-10-23")
	if o.WorkingDaysUsed != 6 || !ip.Overdue || !ip.DeadlineWarnable() {
		t.Errorf("after the review: used %d, item %+v; want 6 used (22, 23 October), overdue", o.WorkingDaysUsed, ip)
	}
	// The fifth day with the department is 22 October.
	wantDay(t, "due", timeOfDate(ip.DueOn), "2026-10-22")
}

func TestItemDeadlineWarnable(t *testing.T) {
	left := 2
	tests := []struct {
		status string
		left   *int
		want   bool
	}{
		{StatusAccepted, &left, true},
		{StatusSubmitted, &left, true},
		{StatusCorrectionRequired, &left, false},
		{StatusSuspended, &left, false},
		{StatusApproved, nil, false},
		{StatusAccepted, nil, false},
	}
	for _, tt := range tests {
		if got := (ItemProgress{Status: tt.status, WorkingDaysLeft: tt.left}).DeadlineWarnable(); got != tt.want {
			t.Errorf("%s (left %v): DeadlineWarnable = %v, want %v", tt.status, tt.left, got, tt.want)
		}
	}
}

func wantDay(tb testing.TB, what string, got *time.Time, want string) {
	tb.Helper()
	if got == nil {
		tb.Errorf("%s = nil, want %s", what, want)
		return
	}
	if d := workdays.DateOf(*got).String(); d != want {
		tb.Errorf("%s = %s, want %s", what, d, want)
	}
}

func timeOfDate(d *workdays.Date) *time.Time {
	if d == nil {
		return nil
	}
	t := d.Midnight()
	return &t
}

func mustClock(tb testing.TB, st *ItemState) ItemClock {
	tb.Helper()
	c, err := st.Clock()
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}
