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
	want := OverallProgress{WorkingDaysLimit: 35, WorkingDaysLeft: 35}
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
// September: 2026-09-01 to 2026-09-30 is 21 working days.
func TestMainFlowClock(t *testing.T) {
	cal := calendar(t)
	tests := []struct {
		name     string
		facts    ProjectFacts
		started  string
		today    string
		items    []ItemProgressInput
		wantUsed int
		wantLeft int
		wantDue  string
		overdue  bool
	}{
		{name: "no corrections", facts: civil, started: "2026-09-01", today: "2026-09-30",
			wantUsed: 21, wantLeft: 14, wantDue: "2026-10-26"},
		{name: "a closed and an open correction are excluded", facts: civil, started: "2026-09-01", today: "2026-09-30",
			items: []ItemProgressInput{
				{Code: "LX-03", Status: StatusAccepted, CorrectionWorkingDays: 3},
				{Code: "YD-01", Status: StatusCorrectionRequired, CorrectionSince: datep(t, "2026-09-24")},
			},
			wantUsed: 15, wantLeft: 20, wantDue: "2026-11-03"},
		{name: "overlapping open corrections count once", facts: civil, started: "2026-09-01", today: "2026-09-30",
			items: []ItemProgressInput{
				{Code: "YD-01", Status: StatusCorrectionRequired, CorrectionSince: datep(t, "2026-09-24")},
				{Code: "LX-05", Status: StatusCorrectionRequired, CorrectionSince: datep(t, "2026-09-28")},
			},
			wantUsed: 18, wantLeft: 17, wantDue: "2026-10-29"},
		{name: "corrections outside the main flow do not pause it", facts: civil, started: "2026-09-01", today: "2026-09-30",
			items: []ItemProgressInput{
				{Code: "JR-01", Status: StatusCorrectionRequired, CorrectionSince: datep(t, "2026-09-02"), CorrectionWorkingDays: 4},
			},
			wantUsed: 21, wantLeft: 14, wantDue: "2026-10-26"},
		{name: "industrial is late after 25 days", facts: industrial, started: "2026-09-01", today: "2026-10-13",
			wantUsed: 26, wantLeft: -1, wantDue: "2026-10-12", overdue: true},
		// The make-up Sunday 20 September is the 14th working day.
		{name: "small low-risk has 15 days", facts: smallRisk, started: "2026-09-01", today: "2026-09-30",
			wantUsed: 21, wantLeft: -6, wantDue: "2026-09-21", overdue: true},
		{name: "the start defaults to the first acceptance", facts: civil, today: "2026-09-30",
			items: []ItemProgressInput{
				{Code: "LX-03", Status: StatusAccepted, AcceptedOn: datep(t, "2026-09-03")},
				{Code: "LX-01", Status: StatusApproved, AcceptedOn: datep(t, "2026-09-01")},
			},
			wantUsed: 21, wantLeft: 14, wantDue: "2026-10-26"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := ProgressInput{Facts: tt.facts, Items: tt.items}
			if tt.started != "" {
				in.StartedOn = datep(t, tt.started)
			}
			o := BuildProgress(DefaultCatalog(), cal, in, date(t, tt.today)).Overall
			if o.StartedOn == nil || o.StartedOn.String() != "2026-09-01" {
				t.Errorf("started_on = %s, want 2026-09-01", dateString(o.StartedOn))
			}
			if o.WorkingDaysUsed != tt.wantUsed || o.WorkingDaysLeft != tt.wantLeft || dateString(o.DueOn) != tt.wantDue || o.Overdue != tt.overdue {
				t.Errorf("overall = used %d, left %d, due %s, overdue %v; want used %d, left %d, due %s, overdue %v",
					o.WorkingDaysUsed, o.WorkingDaysLeft, dateString(o.DueOn), o.Overdue, tt.wantUsed, tt.wantLeft, tt.wantDue, tt.overdue)
			}
			if o.WorkingDaysLimit != MainFlowLimit(tt.facts.Type) {
				t.Errorf("limit = %d", o.WorkingDaysLimit)
			}
		})
	}
}

func TestMainFlowClockStopsWhenPreStartIsDone(t *testing.T) {
	c := DefaultCatalog()
	var items []ItemProgressInput
	for code := range approvedThemes(t, civil, "LX", "YD", "GH", "ST", "KG") {
		decided := "2026-09-30"
		if code == "KG-01" {
			decided = "2026-10-09" // the permit comes last
		}
		items = append(items, ItemProgressInput{Code: code, Status: StatusApproved, DecidedOn: datep(t, decided)})
	}
	p := BuildProgress(c, calendar(t), ProgressInput{Facts: civil, StartedOn: datep(t, "2026-09-01"), Items: items}, date(t, "2026-12-01"))
	o := p.Overall
	// 21 working days in September, then 8 and 9 October.
	if o.WorkingDaysUsed != 23 || o.WorkingDaysLeft != 12 || o.Overdue {
		t.Errorf("overall = %+v, want 23 used, 12 left, not overdue", o)
	}
	if p.Stage != "construction_permit" {
		t.Errorf("stage = %s, want construction_permit (验线 still open)", p.Stage)
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
		// 20 of the 56 civil items: 立项 (11) and 用地 (9).
		{"land done", approvedThemes(t, civil, "LX", "YD"), "engineering_permit", 35},
		{"pre-approved is not done", with(approvedThemes(t, civil, "LX", "YD"), "GH-01", StatusPreApproved), "engineering_permit", 35},
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
		t.Skip("the calendar covers 2099")
	}
	in := ProgressInput{Facts: civil, StartedOn: datep(t, "2098-12-01"), Items: []ItemProgressInput{
		{Code: "LX-01", Status: StatusAccepted, AcceptedOn: datep(t, "2098-12-01")},
	}}
	p := BuildProgress(DefaultCatalog(), cal, in, date(t, "2099-01-10"))
	if p.CalendarCovered {
		t.Error("calendar_covered = true for dates in uncovered years")
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
	wantKeys(t, overall, "overall", "started_on", "due_on", "working_days_limit", "working_days_used", "working_days_left", "overdue")
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
