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
// facts, when its main-flow clock started, and the state of each item the
// upstream system has mentioned.
type ProgressInput struct {
	ProjectID string
	Version   int64
	Facts     ProjectFacts
	// StartedOn is the first acceptance of any item. When nil, the
	// earliest AcceptedOn of a main-flow item is used; with neither, the
	// clock has not started.
	StartedOn *workdays.Date
	Items     []ItemProgressInput
}

// ItemProgressInput is the state of one item, as stored in ItemState.
type ItemProgressInput struct {
	Code       string
	Status     string
	AcceptedOn *workdays.Date
	// DecidedOn is the day the item was approved, pre-approved or
	// rejected; it stops the main-flow clock when the last main-flow item
	// is approved. Optional: without it the clock stops today.
	DecidedOn *workdays.Date
	// CorrectionSince is set while the item waits on the enterprise's
	// correction (补正), CorrectionWorkingDays holds the closed waits.
	CorrectionSince       *workdays.Date
	CorrectionWorkingDays int
}

// Progress is a project's progress with working-day deadlines. Its JSON is
// the contract's GET /v1/projects/{id}/progress body, plus stage_name for
// display and calendar_covered, which is false when a date used fell in a
// year without an official holiday schedule (see workdays.Calendar): the
// deadlines then assume Monday–Friday and should be shown as provisional.
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

// OverallProgress is the main-flow clock: the working days the pre-start
// themes (立项 to 开工) may take, used and left. WorkingDaysLeft goes
// negative once the limit is passed.
type OverallProgress struct {
	StartedOn        *workdays.Date `json:"started_on"`
	DueOn            *workdays.Date `json:"due_on"`
	WorkingDaysLimit int            `json:"working_days_limit"`
	WorkingDaysUsed  int            `json:"working_days_used"`
	WorkingDaysLeft  int            `json:"working_days_left"`
	Overdue          bool           `json:"overdue"`
}

// ThemeProgress is one theme's status and its items' deadlines.
type ThemeProgress struct {
	Code   string         `json:"code"`
	Name   string         `json:"name"`
	Status string         `json:"status"`
	Items  []ItemProgress `json:"items"`
}

// ItemProgress is one item's deadline. DueOn is set once the item is
// accepted; WorkingDaysLeft (negative when late) and Overdue only while the
// administration still owes an answer.
type ItemProgress struct {
	Code            string         `json:"code"`
	Name            string         `json:"name"`
	Status          string         `json:"status"`
	AcceptedOn      *workdays.Date `json:"accepted_on"`
	DueOn           *workdays.Date `json:"due_on"`
	WorkingDaysLeft *int           `json:"working_days_left"`
	Overdue         bool           `json:"overdue"`
}

// CorrectionWait returns the working days a correction wait (补正) took, to
// add to ItemState.CorrectionWorkingDays when the enterprise answers: the
// working days after the request day up to and including the answer day,
// which belong to the enterprise, not to the administration.
func CorrectionWait(cal *workdays.Calendar, since, answeredOn workdays.Date) (days int, covered bool) {
	return cal.WorkingDaysBetween(since, answeredOn)
}

// BuildProgress computes a project's progress as of today, a civil date in
// Asia/Shanghai passed in so the rule is a pure function of its inputs.
//
// Item deadlines: AcceptedOn plus the item's statutory limit in working
// days, pushed out by the item's correction waits (closed ones, and an open
// one counted up to today). An item is overdue when today is after its due
// date and the administration has not answered (submitted, accepted or
// waiting on a correction).
//
// The main-flow clock runs from StartedOn over the applicable items of the
// pre-start themes, and stops when all of them are approved. It excludes
// correction waits of those items: closed waits are known only as counts,
// so they add up; open waits all run to today, so together they count once,
// from the earliest one's start. Overlapping closed waits of parallel items
// are therefore counted twice, in the enterprise's favour; the exclusion
// never exceeds the days elapsed.
func BuildProgress(cat *Catalog, cal *workdays.Calendar, in ProgressInput, today workdays.Date) Progress {
	b := &progressBuilder{cal: cal, today: today, covered: true, inputs: map[string]ItemProgressInput{}, statuses: map[string]string{}}
	for _, ip := range in.Items {
		b.inputs[ip.Code] = ip
		if ip.Status != "" {
			b.statuses[ip.Code] = ip.Status
		}
	}
	stage := cat.CurrentStage(in.Facts, b.statuses)
	out := Progress{
		ProjectID: in.ProjectID,
		Version:   in.Version,
		Stage:     stage.Code,
		StageName: stage.Name,
		Percent:   cat.Percent(in.Facts, b.statuses),
		Themes:    []ThemeProgress{},
	}
	byTheme := cat.itemsByTheme(in.Facts)
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
	out.Overall = b.overall(MainFlowLimit(in.Facts.Type), in.StartedOn, mainFlow)
	out.CalendarCovered = b.covered
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

// openWait returns the working days of an open correction wait so far.
func (b *progressBuilder) openWait(since *workdays.Date) int {
	if since == nil {
		return 0
	}
	return b.between(*since, b.today)
}

// awaitingAnswer reports whether the administration owes an answer on an
// item with this status, so its clock runs.
func awaitingAnswer(status string) bool {
	return status == StatusSubmitted || status == StatusAccepted || status == StatusCorrectionRequired
}

func (b *progressBuilder) item(it *Item) ItemProgress {
	in := b.inputs[it.Code]
	ip := ItemProgress{Code: it.Code, Name: it.Name, Status: statusOf(b.statuses, it.Code)}
	if in.AcceptedOn == nil {
		return ip
	}
	accepted := *in.AcceptedOn
	due := b.add(accepted, it.TimeLimitWorkingDays+in.CorrectionWorkingDays+b.openWait(in.CorrectionSince))
	ip.AcceptedOn, ip.DueOn = &accepted, &due
	if awaitingAnswer(ip.Status) {
		left := b.left(due)
		ip.WorkingDaysLeft = &left
		ip.Overdue = b.today.After(due)
	}
	return ip
}

func (b *progressBuilder) overall(limit int, startedOn *workdays.Date, mainFlow []*Item) OverallProgress {
	o := OverallProgress{WorkingDaysLimit: limit, WorkingDaysLeft: limit}
	start := startedOn
	if start == nil {
		start = b.earliestAcceptance(mainFlow)
	}
	finished := len(mainFlow) > 0
	var lastDecision, openSince *workdays.Date
	closed := 0
	for _, it := range mainFlow {
		in := b.inputs[it.Code]
		if statusOf(b.statuses, it.Code) != StatusApproved {
			finished = false
		}
		if in.DecidedOn != nil && (lastDecision == nil || in.DecidedOn.After(*lastDecision)) {
			lastDecision = in.DecidedOn
		}
		closed += in.CorrectionWorkingDays
		if in.CorrectionSince != nil && (openSince == nil || in.CorrectionSince.Before(*openSince)) {
			openSince = in.CorrectionSince
		}
	}
	if start == nil {
		return o
	}
	started := *start
	end := b.today
	if finished && lastDecision != nil && lastDecision.Before(end) {
		end = *lastDecision
	}
	elapsed := b.between(started, end)
	paused := closed
	if openSince != nil && !finished {
		from := *openSince
		if from.Before(started) {
			from = started
		}
		paused += b.between(from, end)
	}
	paused = min(paused, elapsed)
	due := b.add(started, limit+paused)
	o.StartedOn, o.DueOn = &started, &due
	o.WorkingDaysUsed = elapsed - paused
	o.WorkingDaysLeft = limit - o.WorkingDaysUsed
	o.Overdue = !finished && b.today.After(due)
	return o
}

// earliestAcceptance returns the first AcceptedOn among items, or nil.
func (b *progressBuilder) earliestAcceptance(items []*Item) *workdays.Date {
	var first *workdays.Date
	for _, it := range items {
		if acc := b.inputs[it.Code].AcceptedOn; acc != nil && (first == nil || acc.Before(*first)) {
			first = acc
		}
	}
	return first
}
