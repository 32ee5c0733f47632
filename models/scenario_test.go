package models

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/workdays"
)

// scenarioEvent is one upstream status change of the scenario book.
type scenarioEvent struct {
	day, item, status, reason string
}

// scenarioCheck is what the progress must say on a day, after the events
// up to and including that day.
type scenarioCheck struct {
	day                string
	percent, used      int
	finished, overdue  bool
	warnable           bool // overall DeadlineWarnable
	item               string
	itemStatus         string
	itemOverdue        bool
	itemWarnable       bool
	itemSuspendReason  string
	wantDueOn, wantNil string // overall due_on; wantNil "due" when it must be null
}

// TestScenarioBook runs realistic projects through the rules: the items
// their facts require (lighter, by commitment, or not at all, with the
// reason), the critical path, and a timeline of events with the progress it
// must show.
func TestScenarioBook(t *testing.T) {
	c := DefaultCatalog()
	cal := calendar(t)
	scenarios := []struct {
		name        string
		facts       ProjectFacts
		needed      int // items in the guide
		required    []string
		lighter     map[string]string // code → variant
		commitment  []string
		notRequired map[string]string // code → part of the reason
		path        []string
		pathDays    int
		events      []scenarioEvent
		checks      []scenarioCheck
	}{
		{
			name: "high-rise residential block on transferred land in a regional-assessment zone",
			facts: civilWith(Facts{Investment: ptr("private"), LandSource: ptr("transfer"), NewConstructionLand: ptr(false),
				Use: ptr("residential"), FloorAreaM2: ptr(48000.0), HeightM: ptr(99.0), EnergyTCEPerYear: ptr(800.0),
				ElectricityMWhPerYear: ptr(3000.0), EIACategory: ptr("none"), SiteAreaHa: ptr(3.2), EarthworkM3: ptr(42000.0),
				Zones: []string{"relics"}, OwnWaterSource: ptr(false), HazardousChemicals: ptr(false), CivilAirDefence: ptr("basement"),
				RegionalAssessment: []string{"seismic", "soil_water", "geohazard", "minerals", "relics", "flood"}}),
			needed:   42,
			required: []string{"LX-01", "YD-02", "YD-04", "GH-01", "GH-02", "GH-04", "ST-01", "ST-02", "ST-04", "KG-01"},
			notRequired: map[string]string{
				"LX-02": "1000吨标准煤", "LX-03": "名录", "LX-05": "区域评估", "LX-06": "区域评估", "LX-07": "区域评估",
				"LX-08": "区域评估", "LX-09": "区域评估", "LX-10": "区域评估", "YD-01": "出让", "ST-03": "施工图审查", "KG-02": "必须招标",
			},
			path: []string{"YD-09", "YD-03", "YD-04", "GH-01", "GH-02", "ST-01", "KG-01"}, pathDays: 21,
			events: []scenarioEvent{
				{"2026-09-01", "LX-01", StatusAccepted, ""},
				{"2026-09-02", "LX-01", StatusApproved, ""},
				// two weeks of the enterprise's own preparation
				{"2026-09-14", "YD-02", StatusAccepted, ""},
				{"2026-09-16", "YD-02", StatusApproved, ""},
			},
			checks: []scenarioCheck{
				{day: "2026-09-30", percent: 4, used: 3, warnable: true, item: "YD-02", itemStatus: StatusApproved, wantDueOn: "2026-11-19"},
			},
		},
		{
			name: "12,000 m² shopping centre",
			facts: civilWith(Facts{Investment: ptr("private"), LandSource: ptr("transfer"), Use: ptr("commercial"),
				FloorAreaM2: ptr(12000.0), HeightM: ptr(24.0), EnergyTCEPerYear: ptr(1200.0), ElectricityMWhPerYear: ptr(6000.0),
				EIACategory: ptr("report_form"), SiteAreaHa: ptr(1.5), EarthworkM3: ptr(30000.0), Zones: []string{"relics"},
				OwnWaterSource: ptr(false), HazardousChemicals: ptr(false), CivilAirDefence: ptr("basement"), RegionalAssessment: []string{}}),
			needed:     45,
			required:   []string{"LX-02", "LX-09", "ST-02", "GH-04", "KG-01"},
			lighter:    map[string]string{"LX-03": "环境影响报告表"},
			commitment: []string{"LX-05"},
			notRequired: map[string]string{
				"LX-06": "区划图", "LX-07": "矿产", "LX-08": "地质灾害", "LX-10": "洪", "YD-01": "出让",
				"ST-03": "施工图审查", "ST-04": "50米", "KG-02": "必须招标",
			},
			path: []string{"YD-09", "YD-03", "YD-04", "GH-01", "GH-02", "ST-01", "KG-01"}, pathDays: 21,
			events: []scenarioEvent{
				{"2026-09-01", "LX-02", StatusAccepted, ""},
				{"2026-09-03", "LX-02", StatusSuspended, SuspendExpertReview},
				{"2026-09-07", "LX-03", StatusAccepted, ""},
				{"2026-09-10", "LX-03", StatusCorrectionRequired, ""},
				{"2026-09-15", "LX-03", StatusAccepted, ""},
				{"2026-09-17", "LX-02", StatusAccepted, ""},
				{"2026-09-18", "LX-02", StatusApproved, ""},
				{"2026-09-21", "LX-03", StatusApproved, ""},
			},
			checks: []scenarioCheck{
				// 2 and 3 (LX-02), 8, 9 and 10 (LX-03).
				{day: "2026-09-10", percent: 0, used: 5, warnable: true, item: "LX-02", itemStatus: StatusSuspended, itemSuspendReason: SuspendExpertReview, wantDueOn: "2026-10-28"},
				// LX-02: 2, 3, 18; LX-03: 8, 9, 10, 16, 17, 18, 20 (make-up Sunday), 21.
				{day: "2026-09-30", percent: 4, used: 10, warnable: true, item: "LX-03", itemStatus: StatusApproved, wantDueOn: "2026-11-10"},
			},
		},
		{
			name: "government-funded school",
			facts: civilWith(Facts{Investment: ptr("government"), LandSource: ptr("allocation"), NewConstructionLand: ptr(true),
				Use: ptr("school"), FloorAreaM2: ptr(9000.0), HeightM: ptr(20.0), EnergyTCEPerYear: ptr(500.0), ElectricityMWhPerYear: ptr(2000.0),
				EIACategory: ptr("none"), SiteAreaHa: ptr(3.0), EarthworkM3: ptr(20000.0), Zones: []string{}, OwnWaterSource: ptr(false),
				HazardousChemicals: ptr(false), CivilAirDefence: ptr("basement"), RegionalAssessment: []string{}}),
			needed:     42,
			required:   []string{"YD-01", "YD-03", "ST-02", "KG-02", "GH-04"},
			commitment: []string{"LX-05"},
			notRequired: map[string]string{
				"LX-02": "1000吨标准煤", "LX-03": "名录", "LX-06": "区划图", "LX-07": "矿产", "LX-08": "地质灾害",
				"LX-09": "文物", "LX-10": "洪", "YD-05": "划拨", "YD-06": "划拨", "ST-03": "施工图审查", "ST-04": "50米",
			},
			path:     []string{"LX-01", "YD-01", "YD-02", "YD-03", "YD-04", "GH-01", "GH-02", "ST-01", "KG-02", "KG-04", "KG-01"},
			pathDays: 24,
			events: []scenarioEvent{
				{"2026-09-01", "LX-01", StatusAccepted, ""},
			},
			checks: []scenarioCheck{
				// 21 working days in September, 14 in October to the 26th.
				{day: "2026-10-26", percent: 0, used: 35, warnable: true, item: "LX-01", itemStatus: StatusAccepted, itemOverdue: true, itemWarnable: true, wantDueOn: "2026-10-26"},
				{day: "2026-10-27", percent: 0, used: 36, overdue: true, warnable: true, item: "LX-01", itemStatus: StatusAccepted, itemOverdue: true, itemWarnable: true, wantDueOn: "2026-10-26"},
			},
		},
		{
			name: "industrial plant on standard land with high energy use",
			facts: ProjectFacts{Type: ProjectIndustrial, StandardLand: true, Facts: Facts{Investment: ptr("private"), LandSource: ptr("transfer"),
				Use: ptr("industrial"), FloorAreaM2: ptr(30000.0), HeightM: ptr(18.0), EnergyTCEPerYear: ptr(5000.0),
				ElectricityMWhPerYear: ptr(20000.0), EIACategory: ptr("report_form"), SiteAreaHa: ptr(4.0), EarthworkM3: ptr(30000.0),
				Zones: []string{}, OwnWaterSource: ptr(true), HazardousChemicals: ptr(false), CivilAirDefence: ptr("none"), RegionalAssessment: []string{}}},
			needed:     40,
			required:   []string{"LX-02", "LX-11", "YD-03", "ST-01", "KG-01"},
			lighter:    map[string]string{"LX-03": "环境影响报告表"},
			commitment: []string{"LX-05"},
			notRequired: map[string]string{
				"LX-06": "区划图", "LX-07": "矿产", "LX-08": "地质灾害", "LX-09": "文物", "LX-10": "洪", "LX-14": "危险化学品",
				"YD-01": "出让", "ST-02": "特殊建设工程", "ST-03": "施工图审查", "KG-02": "必须招标",
			},
			path: []string{"YD-02", "YD-03", "YD-04", "GH-01", "GH-02", "ST-01", "KG-01"}, pathDays: 18,
			events: mainFlowEvents(t, ProjectFacts{Type: ProjectIndustrial, StandardLand: true, Facts: Facts{Investment: ptr("private"), LandSource: ptr("transfer"),
				Use: ptr("industrial"), FloorAreaM2: ptr(30000.0), HeightM: ptr(18.0), EnergyTCEPerYear: ptr(5000.0),
				ElectricityMWhPerYear: ptr(20000.0), EIACategory: ptr("report_form"), SiteAreaHa: ptr(4.0), EarthworkM3: ptr(30000.0),
				Zones: []string{}, OwnWaterSource: ptr(true), HazardousChemicals: ptr(false), CivilAirDefence: ptr("none"), RegionalAssessment: []string{}}},
				"2026-09-01", "2026-09-21", scenarioEvent{"2026-10-08", "YX-01", StatusAccepted, ""}),
			checks: []scenarioCheck{
				// Every required main-flow item decided on 21 September: 15
				// working days; the open setting-out inspection does not
				// keep the main flow's clock running.
				{day: "2026-12-01", percent: 62, used: 15, finished: true, item: "YX-01", itemStatus: StatusAccepted, itemOverdue: true, itemWarnable: true, wantNil: "due"},
			},
		},
		{
			name: "small warehouse",
			facts: ProjectFacts{Type: ProjectSmallLowRisk, Facts: Facts{Investment: ptr("private"), LandSource: ptr("transfer"), Use: ptr("warehouse"),
				FloorAreaM2: ptr(1500.0), HeightM: ptr(9.0), EnergyTCEPerYear: ptr(50.0), ElectricityMWhPerYear: ptr(200.0), EIACategory: ptr("none"),
				SiteAreaHa: ptr(0.3), EarthworkM3: ptr(600.0), Zones: []string{}, OwnWaterSource: ptr(false), HazardousChemicals: ptr(false),
				CivilAirDefence: ptr("none"), RegionalAssessment: []string{}}},
			needed:      25,
			required:    []string{"LX-01", "YD-02", "GH-02", "KG-01"},
			notRequired: map[string]string{"LX-04": "名录"},
			path:        []string{"YD-02", "YD-03", "YD-05", "YD-06", "YD-08", "GH-02", "KG-10"}, pathDays: 12,
			events: []scenarioEvent{
				{"2026-09-01", "LX-01", StatusAccepted, ""},
				{"2026-09-02", "LX-01", StatusSuspended, SuspendPublicNotice},
			},
			checks: []scenarioCheck{
				// Only 2 September counts; the public notice stops the clock.
				{day: "2026-10-30", percent: 0, used: 1, warnable: true, item: "LX-01", itemStatus: StatusSuspended, itemSuspendReason: SuspendPublicNotice, wantDueOn: "2026-11-19"},
			},
		},
		{
			name: "plant handling hazardous chemicals",
			facts: industrialWith(Facts{Investment: ptr("state_owned"), LandSource: ptr("allocation"), NewConstructionLand: ptr(true),
				Use: ptr("hazardous_goods"), FloorAreaM2: ptr(20000.0), HeightM: ptr(24.0), EnergyTCEPerYear: ptr(3000.0),
				ElectricityMWhPerYear: ptr(8000.0), EIACategory: ptr("report"), SiteAreaHa: ptr(6.0), EarthworkM3: ptr(80000.0),
				Zones: []string{"geohazard"}, OwnWaterSource: ptr(true), HazardousChemicals: ptr(true), CivilAirDefence: ptr("none"),
				RegionalAssessment: []string{}}),
			needed:      45,
			required:    []string{"LX-02", "LX-03", "LX-05", "LX-06", "LX-08", "LX-11", "LX-14", "YD-01", "ST-02", "ST-03", "KG-02"},
			notRequired: map[string]string{"LX-07": "矿产", "LX-09": "文物", "LX-10": "洪", "YD-05": "划拨", "YD-06": "划拨"},
			path:        []string{"LX-01", "YD-01", "YD-02", "YD-03", "YD-04", "GH-01", "GH-02", "ST-01", "KG-02", "KG-04", "KG-01"},
			pathDays:    24,
			events: []scenarioEvent{
				{"2026-09-01", "LX-14", StatusAccepted, ""},
				{"2026-09-04", "LX-14", StatusWithdrawn, ""},
				{"2026-09-14", "LX-14", StatusAccepted, ""},
				{"2026-09-16", "LX-14", StatusRejected, ""},
				{"2026-09-21", "LX-14", StatusAccepted, ""},
				{"2026-09-23", "LX-14", StatusApproved, ""},
			},
			checks: []scenarioCheck{
				// Three applications: 2–4, 15–16 and 22–23 September.
				{day: "2026-09-30", percent: 2, used: 7, warnable: true, item: "LX-14", itemStatus: StatusApproved, wantDueOn: "2026-10-30"},
			},
		},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			g := c.Guide(sc.facts, nil)
			if len(g.Form.UnknownFacts) != 0 {
				t.Errorf("unknown_facts = %v; the scenario gives every fact", g.Form.UnknownFacts)
			}
			codes := guideCodes(g)
			if len(codes) != sc.needed {
				t.Errorf("%d items in the guide, want %d", len(codes), sc.needed)
			}
			gotNR := map[string]string{}
			for _, nr := range g.Form.NotRequired {
				gotNR[nr.Code] = nr.Reason
			}
			if !slices.Equal(slices.Sorted(maps.Keys(gotNR)), slices.Sorted(maps.Keys(sc.notRequired))) {
				t.Errorf("not required = %v, want %v", slices.Sorted(maps.Keys(gotNR)), slices.Sorted(maps.Keys(sc.notRequired)))
			}
			for code, part := range sc.notRequired {
				if r, ok := gotNR[code]; ok && !strings.Contains(r, part) {
					t.Errorf("%s reason %q, want it to mention %q", code, r, part)
				}
			}
			lighter, commitment := map[string]string{}, []string{}
			for _, th := range g.Form.Themes {
				for _, it := range th.Items {
					switch it.Requirement {
					case RequirementLighter:
						lighter[it.Code] = *it.Variant
					case RequirementCommitment:
						commitment = append(commitment, it.Code)
					}
				}
			}
			if sc.lighter == nil {
				sc.lighter = map[string]string{}
			}
			if !maps.Equal(lighter, sc.lighter) {
				t.Errorf("lighter = %v, want %v", lighter, sc.lighter)
			}
			if sc.commitment == nil {
				sc.commitment = []string{}
			}
			if !slices.Equal(commitment, sc.commitment) {
				t.Errorf("commitment = %v, want %v", commitment, sc.commitment)
			}
			for _, code := range sc.required {
				if it := guideItem(t, g, code); it.Requirement != RequirementRequired {
					t.Errorf("%s = %s, want required", code, it.Requirement)
				}
			}
			cp := c.CriticalPath(sc.facts)
			if !slices.Equal(cp.Items, sc.path) || cp.PromisedWorkingDays != sc.pathDays || !cp.Fits() {
				t.Errorf("critical path = %v (%d days), want %v (%d days)", cp.Items, cp.PromisedWorkingDays, sc.path, sc.pathDays)
			}
			runTimeline(t, c, cal, sc.facts, sc.events, sc.checks)
		})
	}
}

// mainFlowEvents accepts every required main-flow item of the project on
// one day and approves it on another, then adds the extra events.
func mainFlowEvents(tb testing.TB, p ProjectFacts, accepted, approved string, extra ...scenarioEvent) []scenarioEvent {
	tb.Helper()
	var out []scenarioEvent
	codes := slices.Sorted(maps.Keys(approvedThemes(tb, p, "LX", "YD", "GH", "ST", "KG")))
	for _, code := range codes {
		out = append(out, scenarioEvent{accepted, code, StatusAccepted, ""})
	}
	for _, code := range codes {
		out = append(out, scenarioEvent{approved, code, StatusApproved, ""})
	}
	return append(out, extra...)
}

// runTimeline applies the events through ApplyItemStatus, as the webhook
// intake does, and checks the progress on the checks' days.
func runTimeline(t *testing.T, c *Catalog, cal *workdays.Calendar, p ProjectFacts, events []scenarioEvent, checks []scenarioCheck) {
	t.Helper()
	states := map[string]*ItemState{}
	next := 0
	for _, ck := range checks {
		today := date(t, ck.day)
		for ; next < len(events) && !date(t, events[next].day).After(today); next++ {
			ev := events[next]
			st := states[ev.item]
			if st == nil {
				st = &ItemState{ItemCode: ev.item}
				states[ev.item] = st
			}
			// 09:00 in Weifang.
			at := date(t, ev.day).Midnight().Add(9 * time.Hour)
			if _, err := ApplyItemStatus(cal, st, ev.status, ev.reason, at); err != nil {
				t.Fatalf("%s %s %s: %v", ev.day, ev.item, ev.status, err)
			}
		}
		in := ProgressInput{Facts: p}
		for _, code := range slices.Sorted(maps.Keys(states)) {
			in.Items = append(in.Items, states[code].ProgressInput())
		}
		pr := BuildProgress(c, cal, in, today)
		o := pr.Overall
		if pr.Percent != ck.percent || o.WorkingDaysUsed != ck.used || o.Finished != ck.finished || o.Overdue != ck.overdue || o.DeadlineWarnable() != ck.warnable {
			t.Errorf("%s: percent %d, used %d, finished %v, overdue %v, warnable %v; want %d, %d, %v, %v, %v",
				ck.day, pr.Percent, o.WorkingDaysUsed, o.Finished, o.Overdue, o.DeadlineWarnable(), ck.percent, ck.used, ck.finished, ck.overdue, ck.warnable)
		}
		wantDue := ck.wantDueOn
		if ck.wantNil == "due" {
			wantDue = "null"
		}
		if dateString(o.DueOn) != wantDue {
			t.Errorf("%s: due_on %s, want %s", ck.day, dateString(o.DueOn), wantDue)
		}
		if ck.item != "" {
			ip := progressItem(t, pr, ck.item)
			if ip.Status != ck.itemStatus || ip.Overdue != ck.itemOverdue || ip.DeadlineWarnable() != ck.itemWarnable || ip.SuspendReason != ck.itemSuspendReason {
				t.Errorf("%s: %s = %s, overdue %v, warnable %v, suspend reason %q; want %s, %v, %v, %q", ck.day, ck.item,
					ip.Status, ip.Overdue, ip.DeadlineWarnable(), ip.SuspendReason, ck.itemStatus, ck.itemOverdue, ck.itemWarnable, ck.itemSuspendReason)
			}
		}
	}
}
