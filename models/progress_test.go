package models

import (
	"encoding/json"
	"testing"

	"github.com/weifang/kaigong-zsb/internal/workdays"
)

func calendar(tb testing.TB) *workdays.Calendar {
	tb.Helper()
	c, err := workdays.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func date(tb testing.TB, s string) workdays.Date {
	tb.Helper()
	d, err := workdays.ParseDate(s)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func datep(tb testing.TB, s string) *workdays.Date {
	tb.Helper()
	d := date(tb, s)
	return &d
}

func dateString(d *workdays.Date) string {
	if d == nil {
		return "null"
	}
	return d.String()
}

func TestProgressBeforeTheClockStarts(t *testing.T) {
	p := BuildProgress(DefaultCatalog(), calendar(t), ProgressInput{ProjectID: "WF-1", Version: 3, Facts: civil}, date(t, "2026-09-01"))
	want := OverallProgress{WorkingDaysLimit: 35, WorkingDaysLeft: 35, Calendar: CalendarOfficial}
	if p.Overall != want {
		t.Errorf("overall = %+v, want %+v", p.Overall, want)
	}
	if p.ProjectID != "WF-1" || p.Version != 3 || p.Stage != "land_planning" || p.StageName != "立项用地规划许可" || p.Percent != 0 || !p.CalendarCovered {
		t.Errorf("progress header = %+v", p)
	}
	if len(p.Themes) != 10 {
		t.Errorf("%d themes, want 10 for a civil project", len(p.Themes))
	}
}

// TestMainFlowClock runs the main-flow clock over September 2026, which
// holds the make-up Sunday of 20 September and the Mid-Autumn Friday of 25
// September: (2026-09-01, 2026-09-30] is 21 working days. The clock counts
// only the days a required main-flow item was with a department.
func TestMainFlowClock(t *testing.T) {
	cal := calendar(t)
	sep1 := datep(t, "2026-09-01")
	noMinerals := ProjectFacts{Type: ProjectCivil, Facts: Facts{Zones: []string{}}}
	tests := []struct {
		name     string
		facts    ProjectFacts
		today    string
		items    []ItemProgressInput
		started  string
		wantUsed int
		wantLeft int
		wantDue  string
		overdue  bool
		finished bool
	}{
		{name: "one item with a department all month", facts: civil, today: "2026-09-30",
			items:   []ItemProgressInput{{Code: "LX-03", Status: StatusAccepted, AcceptedOn: sep1}},
			started: "2026-09-01", wantUsed: 21, wantLeft: 14, wantDue: "2026-10-26"},
		{name: "the enterprise's own months do not count", facts: civil, today: "2026-09-30",
			items: []ItemProgressInput{
				{Code: "LX-01", Status: StatusApproved, AcceptedOn: sep1, DecidedOn: datep(t, "2026-09-02")},
			},
			started: "2026-09-01", wantUsed: 1, wantLeft: 34, wantDue: "2026-11-23"},
		{name: "parallel items count once", facts: civil, today: "2026-09-30",
			items: []ItemProgressInput{
				{Code: "LX-03", Status: StatusAccepted, AcceptedOn: sep1},
				{Code: "LX-05", Status: StatusAccepted, AcceptedOn: datep(t, "2026-09-10")},
			},
			started: "2026-09-01", wantUsed: 21, wantLeft: 14, wantDue: "2026-10-26"},
		{name: "a closed correction wait is excluded on its days", facts: civil, today: "2026-09-30",
			items: []ItemProgressInput{{Code: "LX-03", Status: StatusAccepted, AcceptedOn: sep1, CorrectionWorkingDays: 3,
				Pauses: []ClockPause{{Kind: PauseCorrection, From: date(t, "2026-09-07"), To: date(t, "2026-09-10")}}}},
			started: "2026-09-01", wantUsed: 18, wantLeft: 17, wantDue: "2026-10-29"},
		{name: "a wait known only by its count is excluded too", facts: civil, today: "2026-09-30",
			items:   []ItemProgressInput{{Code: "LX-03", Status: StatusAccepted, AcceptedOn: sep1, CorrectionWorkingDays: 3}},
			started: "2026-09-01", wantUsed: 18, wantLeft: 17, wantDue: "2026-10-29"},
		{name: "a correction wait covered by another item's work does not pause the flow", facts: civil, today: "2026-09-30",
			items: []ItemProgressInput{
				{Code: "LX-03", Status: StatusAccepted, AcceptedOn: sep1,
					Pauses: []ClockPause{{Kind: PauseCorrection, From: date(t, "2026-09-07"), To: date(t, "2026-09-10")}}},
				{Code: "YD-01", Status: StatusAccepted, AcceptedOn: sep1},
			},
			started: "2026-09-01", wantUsed: 21, wantLeft: 14, wantDue: "2026-10-26"},
		// 25 September is Mid-Autumn: 28, 29 and 30 are paused.
		{name: "an open correction stops the clock", facts: civil, today: "2026-09-30",
			items:   []ItemProgressInput{{Code: "LX-03", Status: StatusCorrectionRequired, AcceptedOn: sep1, CorrectionSince: datep(t, "2026-09-24")}},
			started: "2026-09-01", wantUsed: 18, wantLeft: 17, wantDue: "2026-10-29"},
		{name: "a suspension stops the clock", facts: civil, today: "2026-09-30",
			items: []ItemProgressInput{{Code: "LX-03", Status: StatusSuspended, AcceptedOn: sep1,
				SuspendedSince: datep(t, "2026-09-24"), SuspendReason: SuspendExpertReview}},
			started: "2026-09-01", wantUsed: 18, wantLeft: 17, wantDue: "2026-10-29"},
		{name: "items outside the main flow do not start it", facts: civil, today: "2026-09-30",
			items:    []ItemProgressInput{{Code: "JR-01", Status: StatusAccepted, AcceptedOn: sep1}},
			wantUsed: 0, wantLeft: 35, wantDue: "null"},
		{name: "items the project does not need do not start it", facts: noMinerals, today: "2026-09-30",
			items:    []ItemProgressInput{{Code: "LX-07", Status: StatusAccepted, AcceptedOn: sep1}},
			wantUsed: 0, wantLeft: 35, wantDue: "null"},
		{name: "industrial is late after 25 days", facts: industrial, today: "2026-10-13",
			items:   []ItemProgressInput{{Code: "LX-03", Status: StatusAccepted, AcceptedOn: sep1}},
			started: "2026-09-01", wantUsed: 26, wantLeft: -1, wantDue: "2026-10-12", overdue: true},
		// The make-up Sunday 20 September is the 14th working day.
		{name: "small low-risk has 15 days", facts: smallRisk, today: "2026-09-30",
			items:   []ItemProgressInput{{Code: "LX-04", Status: StatusAccepted, AcceptedOn: sep1}},
			started: "2026-09-01", wantUsed: 21, wantLeft: -6, wantDue: "2026-09-21", overdue: true},
		{name: "a finished project is never overdue", facts: industrial, today: "2026-12-01",
			items:   allMainFlow(t, industrial, "2026-09-01", "2026-10-13"),
			started: "2026-09-01", wantUsed: 26, wantLeft: -1, wantDue: "2026-10-12", finished: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := BuildProgress(DefaultCatalog(), cal, ProgressInput{Facts: tt.facts, Items: tt.items}, date(t, tt.today)).Overall
			wantStarted := tt.started
			if wantStarted == "" {
				wantStarted = "null"
			}
			if dateString(o.StartedOn) != wantStarted {
				t.Errorf("started_on = %s, want %s", dateString(o.StartedOn), wantStarted)
			}
			if o.WorkingDaysUsed != tt.wantUsed || o.WorkingDaysLeft != tt.wantLeft || dateString(o.DueOn) != tt.wantDue || o.Overdue != tt.overdue || o.Finished != tt.finished {
				t.Errorf("overall = used %d, left %d, due %s, overdue %v, finished %v; want used %d, left %d, due %s, overdue %v, finished %v",
					o.WorkingDaysUsed, o.WorkingDaysLeft, dateString(o.DueOn), o.Overdue, o.Finished, tt.wantUsed, tt.wantLeft, tt.wantDue, tt.overdue, tt.finished)
			}
			if o.WorkingDaysLimit != MainFlowLimit(tt.facts.Type) {
				t.Errorf("limit = %d", o.WorkingDaysLimit)
			}
			if o.DeadlineWarnable() != (o.StartedOn != nil && !tt.finished) {
				t.Errorf("DeadlineWarnable = %v", o.DeadlineWarnable())
			}
		})
	}
}

// allMainFlow returns every required main-flow item of the project,
// accepted and approved on the given days.
func allMainFlow(tb testing.TB, p ProjectFacts, accepted, decided string) []ItemProgressInput {
	tb.Helper()
	var out []ItemProgressInput
	for code := range approvedThemes(tb, p, "LX", "YD", "GH", "ST", "KG") {
		out = append(out, ItemProgressInput{Code: code, Status: StatusApproved, AcceptedOn: datep(tb, accepted), DecidedOn: datep(tb, decided)})
	}
	return out
}

func TestMainFlowClockStopsWhenPreStartIsDone(t *testing.T) {
	c := DefaultCatalog()
	var items []ItemProgressInput
	for _, in := range allMainFlow(t, civil, "2026-09-01", "2026-09-30") {
		if in.Code == "KG-01" {
			in.DecidedOn = datep(t, "2026-10-09") // the permit comes last
		}
		items = append(items, in)
	}
	// Items after the main flow are with their departments; they do not
	// keep the main flow's clock running.
	items = append(items, ItemProgressInput{Code: "YX-01", Status: StatusAccepted, AcceptedOn: datep(t, "2026-10-09")})
	p := BuildProgress(c, calendar(t), ProgressInput{Facts: civil, Items: items}, date(t, "2026-12-01"))
	o := p.Overall
	// 21 working days in September, then 8 and 9 October.
	if o.WorkingDaysUsed != 23 || o.WorkingDaysLeft != 12 || o.Overdue || !o.Finished || o.DueOn != nil || o.DeadlineWarnable() {
		t.Errorf("overall = %+v, want 23 used, 12 left, finished, not overdue, no due date, not warnable", o)
	}
	if p.Stage != "construction_permit" {
		t.Errorf("stage = %s, want construction_permit (验线 still open)", p.Stage)
	}
	// A rejection is a decision too: the administration has answered.
	items[0].Status = StatusRejected
	if o := BuildProgress(c, calendar(t), ProgressInput{Facts: civil, Items: items}, date(t, "2026-12-01")).Overall; !o.Finished {
		t.Errorf("a rejected main-flow item left the main flow unfinished: %+v", o)
	}
	// A withdrawn one is not.
	items[0].Status = StatusWithdrawn
	if o := BuildProgress(c, calendar(t), ProgressInput{Facts: civil, Items: items}, date(t, "2026-12-01")).Overall; o.Finished {
		t.Errorf("a withdrawn main-flow item finished the main flow: %+v", o)
	}
}

// TestItemDeadlines follows GH-02 (5 working days) accepted on Monday 28
// September 2026, which runs across National Day: 29 and 30 September, then
// 8, 9 and the make-up Saturday 10 October.
func TestItemDeadlines(t *testing.T) {
	cal := calendar(t)
	accepted := datep(t, "2026-09-28")
	tests := []struct {
		name     string
		in       ItemProgressInput
		today    string
		wantDue  string
		wantLeft string // "null" or a number
		overdue  bool
	}{
		{"three days left before the holiday", ItemProgressInput{Status: StatusAccepted, AcceptedOn: accepted}, "2026-09-30", "2026-10-10", "3", false},
		{"due on the make-up Saturday", ItemProgressInput{Status: StatusAccepted, AcceptedOn: accepted}, "2026-10-10", "2026-10-10", "0", false},
		{"the Sunday after is late", ItemProgressInput{Status: StatusAccepted, AcceptedOn: accepted}, "2026-10-11", "2026-10-10", "0", true},
		{"Monday is a day late", ItemProgressInput{Status: StatusSubmitted, AcceptedOn: accepted}, "2026-10-12", "2026-10-10", "-1", true},
		{"an open correction pushes the date", ItemProgressInput{Status: StatusCorrectionRequired, AcceptedOn: accepted, CorrectionSince: datep(t, "2026-09-29")}, "2026-09-30", "2026-10-12", "4", false},
		{"closed corrections push the date", ItemProgressInput{Status: StatusAccepted, AcceptedOn: accepted, CorrectionWorkingDays: 2}, "2026-09-30", "2026-10-13", "5", false},
		{"a decided item is never late", ItemProgressInput{Status: StatusApproved, AcceptedOn: accepted}, "2026-10-20", "2026-10-10", "null", false},
		{"a pre-approval stops the clock", ItemProgressInput{Status: StatusPreApproved, AcceptedOn: accepted}, "2026-10-20", "2026-10-10", "null", false},
		{"not accepted yet", ItemProgressInput{Status: StatusSubmitted}, "2026-10-20", "null", "null", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Code = "GH-02"
			p := BuildProgress(DefaultCatalog(), cal, ProgressInput{Facts: civil, Items: []ItemProgressInput{in}}, date(t, tt.today))
			ip := progressItem(t, p, "GH-02")
			left := "null"
			if ip.WorkingDaysLeft != nil {
				left = string(mustJSON(t, *ip.WorkingDaysLeft))
			}
			if dateString(ip.DueOn) != tt.wantDue || left != tt.wantLeft || ip.Overdue != tt.overdue {
				t.Errorf("GH-02 = due %s, left %s, overdue %v; want due %s, left %s, overdue %v",
					dateString(ip.DueOn), left, ip.Overdue, tt.wantDue, tt.wantLeft, tt.overdue)
			}
			if ip.Status != tt.in.Status {
				t.Errorf("status = %s, want %s", ip.Status, tt.in.Status)
			}
		})
	}
}

func progressItem(tb testing.TB, p Progress, code string) ItemProgress {
	tb.Helper()
	for _, th := range p.Themes {
		for _, it := range th.Items {
			if it.Code == code {
				return it
			}
		}
	}
	tb.Fatalf("item %s not in progress", code)
	return ItemProgress{}
}

func TestStageAndPercent(t *testing.T) {
	c := DefaultCatalog()
	all := map[string]string{}
	for _, it := range c.applicableItems(c.plan(civil)) {
		all[it.Code] = StatusApproved
	}
	tests := []struct {
		name      string
		statuses  map[string]string
		wantStage string
		wantPct   int
	}{
		{"nothing done", nil, "land_planning", 0},
		// 20 of the 53 civil items: 立项 (11) and 用地 (9).
		{"land done", approvedThemes(t, civil, "LX", "YD"), "engineering_permit", 37},
		{"pre-approved is not done", with(approvedThemes(t, civil, "LX", "YD"), "GH-01", StatusPreApproved), "engineering_permit", 37},
		{"everything done", all, "completion", 100},
		{"one left", with(all, "BZ-03", StatusAccepted), "completion", 98},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.CurrentStage(civil, tt.statuses).Code; got != tt.wantStage {
				t.Errorf("stage = %s, want %s", got, tt.wantStage)
			}
			if got := c.Percent(civil, tt.statuses); got != tt.wantPct {
				t.Errorf("percent = %d, want %d", got, tt.wantPct)
			}
		})
	}
}

func TestProgressFlagsUncoveredYears(t *testing.T) {
	cal := calendar(t)
	if cal.Covers(2099) {
		t.Fatal("the calendar covers 2099; pick a later year")
	}
	in := ProgressInput{Facts: civil, StartedOn: datep(t, "2098-12-01"), Items: []ItemProgressInput{
		{Code: "LX-01", Status: StatusAccepted, AcceptedOn: datep(t, "2098-12-01")},
	}}
	p := BuildProgress(DefaultCatalog(), cal, in, date(t, "2099-01-10"))
	if p.CalendarCovered || p.Overall.Calendar != CalendarStatutoryOnly {
		t.Errorf("calendar_covered = %v, calendar = %q for dates in an uncovered year", p.CalendarCovered, p.Overall.Calendar)
	}
	// (2098-12-01, 2099-01-10]: 22 working days in December 2098, then 2,
	// 5 to 9 January 2099; 1 January is statutory, so not counted.
	if p.Overall.WorkingDaysUsed != 28 {
		t.Errorf("working_days_used = %d, want 28 (2099-01-01 is a statutory holiday)", p.Overall.WorkingDaysUsed)
	}
	if p.Overall.DueOn == nil {
		t.Error("an uncovered year must still yield a due date")
	}
}

func TestCorrectionWait(t *testing.T) {
	cal := calendar(t)
	tests := []struct {
		since, answered string
		want            int
	}{
		{"2026-09-24", "2026-09-24", 0},
		{"2026-09-24", "2026-09-28", 1}, // Friday 25th is Mid-Autumn
		{"2026-09-30", "2026-10-09", 2}, // National Day in between
	}
	for _, tt := range tests {
		got, covered := CorrectionWait(cal, date(t, tt.since), date(t, tt.answered))
		if got != tt.want || !covered {
			t.Errorf("CorrectionWait(%s, %s) = %d (covered %v), want %d", tt.since, tt.answered, got, covered, tt.want)
		}
	}
}

func TestProgressJSONShape(t *testing.T) {
	in := ProgressInput{ProjectID: "WF-1", Facts: civil, Items: []ItemProgressInput{
		{Code: "LX-01", Status: StatusAccepted, AcceptedOn: datep(t, "2026-09-01")},
	}}
	var doc map[string]any
	if err := json.Unmarshal(mustJSON(t, BuildProgress(DefaultCatalog(), calendar(t), in, date(t, "2026-09-02"))), &doc); err != nil {
		t.Fatal(err)
	}
	wantKeys(t, doc, "progress", "project_id", "version", "stage", "stage_name", "percent", "overall", "themes", "calendar_covered")
	overall := asObject(t, doc["overall"], "overall")
	wantKeys(t, overall, "overall", "started_on", "due_on", "working_days_limit", "working_days_used", "working_days_left", "overdue", "finished", "calendar")
	if overall["calendar"] != CalendarOfficial || overall["finished"] != false {
		t.Errorf("calendar = %v, finished = %v", overall["calendar"], overall["finished"])
	}
	if overall["started_on"] != "2026-09-01" {
		t.Errorf("started_on = %v", overall["started_on"])
	}
	for _, th := range asArray(t, doc["themes"], "themes") {
		theme := asObject(t, th, "theme")
		wantKeys(t, theme, "theme", "code", "name", "status", "items")
		for _, it := range asArray(t, theme["items"], "items") {
			item := asObject(t, it, "item")
			wantKeys(t, item, "item", "code", "name", "status", "accepted_on", "due_on", "working_days_left", "overdue")
			if item["code"] == "LX-02" && (item["accepted_on"] != nil || item["due_on"] != nil || item["working_days_left"] != nil) {
				t.Errorf("an item not accepted must show null dates: %v", item)
			}
			if item["code"] == "LX-01" && item["due_on"] != "2026-09-02" {
				t.Errorf("LX-01 due_on = %v, want 2026-09-02", item["due_on"])
			}
		}
	}
}
