package models

import "github.com/weifang/kaigong-zsb/internal/workdays"

// Main-flow time limits in working days (主流程审批时间): Weifang's 开工直通车
// promises 35 for socially invested civil buildings and 25 for industrial
// ones. The seed sets no figure for small low-risk projects; 15 follows the
// national reform's target for them and is our modelling choice.
const (
	MainFlowCivilWorkingDays        = 35
	MainFlowIndustrialWorkingDays   = 25
	MainFlowSmallLowRiskWorkingDays = 15
)

// MainFlowLimit returns the main-flow time limit of a project type. An
// unknown type gets the civil limit, the longest, so a mistyped project is
// never shown as late on a shorter clock.
func MainFlowLimit(projectType string) int {
	switch projectType {
	case ProjectIndustrial:
		return MainFlowIndustrialWorkingDays
	case ProjectSmallLowRisk:
		return MainFlowSmallLowRiskWorkingDays
	default:
		return MainFlowCivilWorkingDays
	}
}

// ProgressInput is what BuildProgress needs to know about one project: its
// facts and the state of each item the upstream system has mentioned.
type ProgressInput struct {
	ProjectID string
	Version   int64
	Facts     ProjectFacts
	// StartedOn is kept for callers that still set it (Project.StartedOn,
	// the first acceptance of any item); the honest clock does not use it:
	// it counts only the days the required main-flow items were with a
	// department.
	StartedOn *workdays.Date
	Items     []ItemProgressInput
}

// ItemProgressInput is the state of one item, as stored in ItemState (see
// ItemState.ProgressInput).
type ItemProgressInput struct {
	Code       string
	Status     string
	AcceptedOn *workdays.Date
	// DecidedOn is the day the item was approved, pre-approved or
	// rejected; it ends the item's time with the department. A decided item
	// without it is counted as decided on its acceptance day.
	DecidedOn *workdays.Date
	// CorrectionSince is set while the item waits on the enterprise's
	// correction (补正), CorrectionWorkingDays holds the closed waits. Waits
	// recorded in Pauses are placed on their days; closed waits known only
	// by this count are taken from the item's first days with the
	// department.
	CorrectionSince       *workdays.Date
	CorrectionWorkingDays int
	// SuspendedSince is set while the item is suspended (专家评审, 听证,
	// 检测, 公示, 现场勘查: 行政许可法第四十五条), SuspendReason says why.
	SuspendedSince *workdays.Date
	SuspendReason  string
	// Pauses are the closed correction waits and suspensions, Spans the
	// closed earlier applications (withdrawn, or rejected and applied for
	// again), as ApplyItemStatus records them.
	Pauses []ClockPause
	Spans  []ClockSpan
}

// Calendar sources of OverallProgress.Calendar.
const (
	CalendarOfficial      = workdays.SourceOfficial
	CalendarStatutoryOnly = workdays.SourceStatutoryOnly
)

// Progress is a project's progress with working-day deadlines. Its JSON is
// the contract's GET /v1/projects/{id}/progress body, plus stage_name for
// display and calendar_covered, which is false when a date used fell in a
// year without a published holiday schedule (see workdays.Calendar): its
// statutory holidays are counted, its make-up days are not known, and the
// deadlines should be shown as provisional (overall.calendar says
// "statutory_only").
type Progress struct {
	ProjectID       string          `json:"project_id"`
	Version         int64           `json:"version"`
	Stage           string          `json:"stage"`
	StageName       string          `json:"stage_name"`
	Percent         int             `json:"percent"`
	Overall         OverallProgress `json:"overall"`
	Themes          []ThemeProgress `json:"themes"`
	CalendarCovered bool            `json:"calendar_covered"`
}

// OverallProgress is the main-flow clock (主流程审批时间): the working days
// on which at least one required main-flow item (the pre-start themes, 立项
// to 开工) was with a department, accepted and not yet decided, less
// correction waits and suspensions. StartedOn is the first acceptance of a
// required main-flow item. Finished is true once every required main-flow
// item is decided; a finished project is never overdue. DueOn is the day
// the limit was reached when it has been, otherwise the day it will be if
// the clock runs every working day from today; null before the clock starts
// and once finished within the limit. WorkingDaysLeft goes negative once
// the limit is passed.
type OverallProgress struct {
	StartedOn        *workdays.Date `json:"started_on"`
	DueOn            *workdays.Date `json:"due_on"`
	WorkingDaysLimit int            `json:"working_days_limit"`
	WorkingDaysUsed  int            `json:"working_days_used"`
	WorkingDaysLeft  int            `json:"working_days_left"`
	Overdue          bool           `json:"overdue"`
	Finished         bool           `json:"finished"`
	Calendar         string         `json:"calendar"`
}

// DeadlineWarnable reports whether the main-flow deadline may be warned
// about: the clock has started and the main flow is not finished. A warning
// also needs Overdue or few WorkingDaysLeft; this only rules out the
// dishonest ones.
func (o OverallProgress) DeadlineWarnable() bool {
	return o.StartedOn != nil && !o.Finished
}

// ThemeProgress is one theme's status and its items' deadlines.
type ThemeProgress struct {
	Code   string         `json:"code"`
	Name   string         `json:"name"`
	Status string         `json:"status"`
	Items  []ItemProgress `json:"items"`
}

// ItemProgress is one item's deadline. DueOn is set once the item is
// accepted; WorkingDaysLeft (negative when late) only while the item is
// with the department or paused (correction, suspension); Overdue only
// while the administration owes an answer and is not suspended.
type ItemProgress struct {
	Code            string         `json:"code"`
	Name            string         `json:"name"`
	Status          string         `json:"status"`
	AcceptedOn      *workdays.Date `json:"accepted_on"`
	DueOn           *workdays.Date `json:"due_on"`
	WorkingDaysLeft *int           `json:"working_days_left"`
	Overdue         bool           `json:"overdue"`
	// SuspendReason is set while the item is suspended.
	SuspendReason string `json:"suspend_reason,omitempty"`
}

// DeadlineWarnable reports whether the item's deadline may be warned about:
// it has one and the department owes an answer now (submitted or
// accepted). Not while the enterprise owes a correction, not while
// suspended, never once decided; items the project does not need are not
// in the progress at all.
func (ip ItemProgress) DeadlineWarnable() bool {
	return ip.WorkingDaysLeft != nil && (ip.Status == StatusSubmitted || ip.Status == StatusAccepted)
}

// CorrectionWait returns the working days a correction wait (补正) took, to
// add to ItemState.CorrectionWorkingDays when the enterprise answers: the
// working days after the request day up to and including the answer day,
// which belong to the enterprise, not to the administration.
func CorrectionWait(cal *workdays.Calendar, since, answeredOn workdays.Date) (days int, covered bool) {
	return cal.WorkingDaysBetween(since, answeredOn)
}

// BuildProgress computes a project's progress as of today, a civil date in
// Asia/Shanghai passed in so the rule is a pure function of its inputs. Only
// the items the project needs (its type and facts) take part: they alone
// make the percentage, the stage, the themes and the clock.
//
// Item deadlines: AcceptedOn plus the item's statutory limit in working
// days, pushed out by the item's correction waits and suspensions (closed
// ones, and an open one counted up to today). An item is overdue when today
// is after its due date and the administration owes an answer (submitted,
// accepted, or waiting on a correction that came after the limit); a
// suspended or decided item is never overdue.
//
// The main-flow clock counts the working days on which at least one
// required main-flow item was with a department (see OverallProgress).
func BuildProgress(cat *Catalog, cal *workdays.Calendar, in ProgressInput, today workdays.Date) Progress {
	b := &progressBuilder{cal: cal, today: today, covered: true, inputs: map[string]ItemProgressInput{}, statuses: map[string]string{}}
	for _, ip := range in.Items {
		b.inputs[ip.Code] = ip
		if ip.Status != "" {
			b.statuses[ip.Code] = ip.Status
		}
	}
	pl := cat.plan(in.Facts)
	needed := cat.applicableItems(pl)
	stage := cat.currentStage(needed, b.statuses)
	out := Progress{
		ProjectID: in.ProjectID,
		Version:   in.Version,
		Stage:     stage.Code,
		StageName: stage.Name,
		Percent:   percent(needed, b.statuses),
		Themes:    []ThemeProgress{},
	}
	byTheme := cat.itemsByTheme(pl)
	var mainFlow []*Item
	for i := range cat.Themes {
		t := &cat.Themes[i]
		items := byTheme[t.Code]
		if len(items) == 0 {
			continue
		}
		if t.PreStart {
			mainFlow = append(mainFlow, items...)
		}
		tp := ThemeProgress{Code: t.Code, Name: t.Name, Status: themeStatus(items, b.statuses), Items: make([]ItemProgress, 0, len(items))}
		for _, it := range items {
			tp.Items = append(tp.Items, b.item(it))
		}
		out.Themes = append(out.Themes, tp)
	}
	out.Overall = b.overall(MainFlowLimit(in.Facts.Type), mainFlow)
	out.CalendarCovered = b.covered
	out.Overall.Calendar = CalendarOfficial
	if !b.covered {
		out.Overall.Calendar = CalendarStatutoryOnly
	}
	return out
}

// progressBuilder carries the inputs of one BuildProgress call and whether
// every calendar answer so far was covered.
type progressBuilder struct {
	cal      *workdays.Calendar
	today    workdays.Date
	covered  bool
	inputs   map[string]ItemProgressInput
	statuses map[string]string
}

func (b *progressBuilder) isWorkday(d workdays.Date) bool {
	w, ok := b.cal.IsWorkday(d)
	b.covered = b.covered && ok
	return w
}

func (b *progressBuilder) add(start workdays.Date, n int) workdays.Date {
	d, ok := b.cal.AddWorkingDays(start, n)
	b.covered = b.covered && ok
	return d
}

func (b *progressBuilder) between(from, to workdays.Date) int {
	n, ok := b.cal.WorkingDaysBetween(from, to)
	b.covered = b.covered && ok
	return n
}

// left returns the working days from today to due, negative when due is
// past. The day right after a due date that is not a working day gives 0
// while the item is already overdue.
func (b *progressBuilder) left(due workdays.Date) int {
	if b.today.After(due) {
		return -b.between(due, b.today)
	}
	return b.between(b.today, due)
}

// itemClock answers, for one item, on which days it was with a department.
type itemClock struct {
	b      *progressBuilder
	in     ItemProgressInput
	status string
	// unplaced is the number of closed correction days known only as a
	// count, taken from the item's first days with the department.
	unplaced int
}

func (b *progressBuilder) clockOf(code string) *itemClock {
	in := b.inputs[code]
	k := &itemClock{b: b, in: in, status: statusOf(b.statuses, code)}
	placed := 0
	for _, p := range in.Pauses {
		if p.Kind == PauseCorrection {
			placed += b.between(p.From, p.To)
		}
	}
	k.unplaced = max(in.CorrectionWorkingDays-placed, 0)
	return k
}

// paused reports whether day d (up to today) falls in a correction wait or
// a suspension of the item.
func (k *itemClock) paused(d workdays.Date) bool {
	for _, p := range k.in.Pauses {
		if p.From.Before(d) && !d.After(p.To) {
			return true
		}
	}
	if s := k.in.CorrectionSince; s != nil && s.Before(d) && !d.After(k.b.today) {
		return true
	}
	if s := k.in.SuspendedSince; s != nil && s.Before(d) && !d.After(k.b.today) {
		return true
	}
	return false
}

// currentEnd returns the last day of the current application's time with
// the department, or nil when it has none.
func (k *itemClock) currentEnd() *workdays.Date {
	if k.in.AcceptedOn == nil {
		return nil
	}
	switch {
	case decided(k.status):
		if k.in.DecidedOn != nil && k.in.DecidedOn.After(*k.in.AcceptedOn) {
			return k.in.DecidedOn
		}
		return k.in.AcceptedOn
	case k.status == StatusWithdrawn || k.status == StatusNotStarted:
		return k.in.AcceptedOn
	default:
		t := k.b.today
		return &t
	}
}

// withDepartment reports whether the item (any of its applications) was
// with a department on d, before the unplaced correction days are taken.
func (k *itemClock) withDepartment(d workdays.Date) bool {
	in := false
	if end := k.currentEnd(); end != nil && k.in.AcceptedOn.Before(d) && !d.After(*end) {
		in = true
	}
	for _, s := range k.in.Spans {
		if s.From.Before(d) && !d.After(s.To) {
			in = true
		}
	}
	return in && !k.paused(d)
}

// first returns the first day the item was with a department, or nil.
func (k *itemClock) first() *workdays.Date {
	var f *workdays.Date
	if k.in.AcceptedOn != nil {
		f = k.in.AcceptedOn
	}
	for i := range k.in.Spans {
		if s := &k.in.Spans[i]; f == nil || s.From.Before(*f) {
			f = &s.From
		}
	}
	return f
}

func (b *progressBuilder) item(it *Item) ItemProgress {
	k := b.clockOf(it.Code)
	ip := ItemProgress{Code: it.Code, Name: it.Name, Status: k.status}
	if k.status == StatusSuspended {
		ip.SuspendReason = k.in.SuspendReason
	}
	if k.in.AcceptedOn == nil {
		return ip
	}
	accepted := *k.in.AcceptedOn
	// The due date: the limit's working days after acceptance that are
	// not paused (an open pause counts up to today), plus the unplaced
	// correction days.
	need := it.TimeLimitWorkingDays + k.unplaced
	due := accepted
	if need > 0 {
		for d, n := accepted.AddDays(1), 0; ; d = d.AddDays(1) {
			if b.isWorkday(d) && (d.After(b.today) || !k.paused(d)) {
				if n++; n == need {
					due = d
					break
				}
			}
		}
	}
	ip.AcceptedOn, ip.DueOn = &accepted, &due
	switch k.status {
	case StatusSubmitted, StatusAccepted, StatusCorrectionRequired:
		left := b.left(due)
		ip.WorkingDaysLeft = &left
		ip.Overdue = b.today.After(due)
	case StatusSuspended:
		left := b.left(due)
		ip.WorkingDaysLeft = &left
	}
	return ip
}

func (b *progressBuilder) overall(limit int, mainFlow []*Item) OverallProgress {
	o := OverallProgress{WorkingDaysLimit: limit, WorkingDaysLeft: limit}
	o.Finished = len(mainFlow) > 0
	clocks := make([]*itemClock, 0, len(mainFlow))
	var start *workdays.Date
	for _, it := range mainFlow {
		k := b.clockOf(it.Code)
		clocks = append(clocks, k)
		if !decided(k.status) {
			o.Finished = false
		}
		if f := k.first(); f != nil && (start == nil || f.Before(*start)) {
			start = f
		}
	}
	if start == nil {
		return o
	}
	started := *start
	o.StartedOn = &started
	// Count day by day: a working day counts when at least one required
	// main-flow item was with a department on it. An item's unplaced
	// correction days are its own first days with the department.
	skip := make([]int, len(clocks))
	for i, k := range clocks {
		skip[i] = k.unplaced
	}
	var limitDay *workdays.Date
	for d := started.AddDays(1); !d.After(b.today); d = d.AddDays(1) {
		if !b.isWorkday(d) {
			continue
		}
		counts := false
		for i, k := range clocks {
			if !k.withDepartment(d) {
				continue
			}
			if skip[i] > 0 {
				skip[i]--
				continue
			}
			counts = true
		}
		if counts {
			if o.WorkingDaysUsed++; o.WorkingDaysUsed == limit {
				day := d
				limitDay = &day
			}
		}
	}
	o.WorkingDaysLeft = limit - o.WorkingDaysUsed
	o.Overdue = !o.Finished && o.WorkingDaysUsed > limit
	switch {
	case limitDay != nil:
		o.DueOn = limitDay
	case !o.Finished:
		due := b.add(b.today, limit-o.WorkingDaysUsed)
		o.DueOn = &due
	}
	return o
}
