package models

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// approvedThemes returns statuses with every item of the given themes that
// applies to the project approved.
func approvedThemes(tb testing.TB, p ProjectFacts, themes ...string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	for _, it := range DefaultCatalog().applicableItems(DefaultCatalog().plan(p)) {
		if slices.Contains(themes, it.Theme) {
			out[it.Code] = StatusApproved
		}
	}
	if len(out) == 0 {
		tb.Fatalf("no items in themes %v", themes)
	}
	return out
}

func with(base map[string]string, kv ...string) map[string]string {
	out := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func stepCodes(steps []NextStep) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.Code
	}
	return out
}

func findStep(steps []NextStep, code string) (NextStep, bool) {
	for _, s := range steps {
		if s.Code == code {
			return s, true
		}
	}
	return NextStep{}, false
}

func materialCodes(refs []MaterialRef) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.Code
	}
	return out
}

func TestNextStepsOfANewProject(t *testing.T) {
	c := DefaultCatalog()
	tests := []struct {
		facts ProjectFacts
		want  []string
	}{
		{civil, []string{"LX-01", "YD-09"}},
		{industrial, []string{"LX-01"}},
		// YD-02 waits for YD-01, which small low-risk projects skip.
		{smallRisk, []string{"LX-01", "YD-02"}},
	}
	for _, tt := range tests {
		if got := stepCodes(c.NextSteps(tt.facts, nil)); !slices.Equal(got, tt.want) {
			t.Errorf("%s: next steps = %v, want %v", tt.facts.Type, got, tt.want)
		}
	}
}

// TestNextStepsPreApprovalChain walks the seed's example: the design-scheme
// review's pre-approval lets the planning permit go ahead, whose
// pre-approval in turn lets the drawings review go ahead; an item that does
// not accept pre-approvals (lightning-protection design) waits for the
// formal permit.
func TestNextStepsPreApprovalChain(t *testing.T) {
	c := DefaultCatalog()
	landDone := approvedThemes(t, civil, "LX", "YD")
	tests := []struct {
		name      string
		statuses  map[string]string
		code      string
		wantNext  bool
		wantVia   bool
		wantToGet []string
	}{
		{"scheme review pending blocks the permit", with(landDone, "GH-01", StatusAccepted), "GH-02", false, false, nil},
		{"scheme review pre-approved: permit via pre-approval", with(landDone, "GH-01", StatusPreApproved), "GH-02", true, true, []string{"planning_drawings"}},
		{"scheme review approved: permit normally", with(landDone, "GH-01", StatusApproved), "GH-02", true, false, []string{"planning_drawings"}},
		{"permit pre-approved: drawings review via pre-approval", with(landDone, "GH-01", StatusApproved, "GH-02", StatusPreApproved), "ST-01", true, true, []string{"geotech_report", "construction_drawings"}},
		{"permit pre-approved: lightning design stays blocked", with(landDone, "GH-01", StatusApproved, "GH-02", StatusPreApproved), "ST-03", false, false, nil},
		{"permit approved: lightning design next", with(landDone, "GH-01", StatusApproved, "GH-02", StatusApproved), "ST-03", true, false, []string{"lightning_design_docs"}},
		{"pre-approvals chain: each step's stands in for the next", with(landDone, "GH-01", StatusPreApproved, "GH-02", StatusPreApproved), "ST-01", true, true, []string{"geotech_report", "construction_drawings"}},
		{"land not registered blocks the permit", with(landDone, "GH-01", StatusPreApproved, "YD-08", StatusAccepted), "GH-02", false, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, ok := findStep(c.NextSteps(civil, tt.statuses), tt.code)
			if ok != tt.wantNext {
				t.Fatalf("%s next = %v, want %v", tt.code, ok, tt.wantNext)
			}
			if !ok {
				return
			}
			if step.ViaPreApproval != tt.wantVia {
				t.Errorf("%s via_pre_approval = %v, want %v", tt.code, step.ViaPreApproval, tt.wantVia)
			}
			if got := materialCodes(step.MaterialsToPrepare); !slices.Equal(got, tt.wantToGet) {
				t.Errorf("%s materials_to_prepare = %v, want %v", tt.code, got, tt.wantToGet)
			}
		})
	}
}

func TestNextStepsMaterials(t *testing.T) {
	c := DefaultCatalog()
	filed := map[string]string{"LX-01": StatusApproved}
	tests := []struct {
		name  string
		facts ProjectFacts
		code  string
		want  []string
	}{
		{"filing certificate comes from LX-01", civil, "LX-02", []string{"energy_report"}},
		{"standard land waives the energy report", ProjectFacts{Type: ProjectCivil, StandardLand: true}, "LX-02", []string{}},
		{"regional assessment waives the lightning report", ProjectFacts{Type: ProjectCivil, RegionalAssessment: true}, "LX-12", []string{}},
		{"without it the report is needed", civil, "LX-06", []string{"seismic_report"}},
		{"optional materials are not asked for", civil, "LX-01", []string{"business_license", "project_filing_form"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			statuses := filed
			if tt.code == "LX-01" {
				statuses = nil
			}
			step, ok := findStep(c.NextSteps(tt.facts, statuses), tt.code)
			if !ok {
				t.Fatalf("%s is not a next step", tt.code)
			}
			if got := materialCodes(step.MaterialsToPrepare); !slices.Equal(got, tt.want) {
				t.Errorf("materials_to_prepare = %v, want %v", got, tt.want)
			}
			if step.MaterialsToPrepare == nil {
				t.Error("materials_to_prepare is nil; JSON would show null")
			}
		})
	}
	step, _ := findStep(c.NextSteps(civil, filed), "LX-03")
	for _, m := range step.MaterialsToPrepare {
		if m.Name == "" || strings.ContainsAny(m.Name, "_") {
			t.Errorf("material %s has no proper name: %q", m.Code, m.Name)
		}
	}
}

func TestNextStepsByStatus(t *testing.T) {
	c := DefaultCatalog()
	tests := []struct {
		status string
		next   bool
	}{
		{StatusNotStarted, true},
		{StatusWithdrawn, true},
		{StatusSubmitted, false},
		{StatusAccepted, false},
		{StatusCorrectionRequired, false},
		{StatusPreApproved, false},
		{StatusApproved, false},
		{StatusRejected, false},
	}
	for _, tt := range tests {
		_, ok := findStep(c.NextSteps(civil, map[string]string{"LX-01": tt.status}), "LX-01")
		if ok != tt.next {
			t.Errorf("LX-01 %s: next = %v, want %v", tt.status, ok, tt.next)
		}
	}
}

func TestNextStepsAreInCatalogOrder(t *testing.T) {
	c := DefaultCatalog()
	statuses := with(approvedThemes(t, civil, "LX", "YD"), "GH-01", StatusApproved, "GH-02", StatusPreApproved)
	steps := c.NextSteps(civil, statuses)
	if len(steps) < 5 {
		t.Fatalf("only %d next steps: %v", len(steps), stepCodes(steps))
	}
	index := map[string]int{}
	for i, it := range c.Items {
		index[it.Code] = i
	}
	for i := 1; i < len(steps); i++ {
		if index[steps[i-1].Code] > index[steps[i].Code] {
			t.Fatalf("next steps out of catalog order: %v", stepCodes(steps))
		}
	}
	first := steps[0]
	it, _ := c.Item(first.Code)
	if first.ThemeCode != it.Theme || first.LeadDepartment != it.LeadDepartment || first.DueWithinWorkingDays != it.TimeLimitWorkingDays {
		t.Errorf("next step %+v does not carry the item's theme, department and limit", first)
	}
}

// BenchmarkNextSteps runs on the largest project: civil, with every
// civil item applicable and the pre-start phase half done.
func BenchmarkNextSteps(b *testing.B) {
	c := DefaultCatalog()
	statuses := with(approvedThemes(b, civil, "LX", "YD"), "GH-01", StatusApproved, "GH-02", StatusPreApproved, "ST-01", StatusAccepted)
	b.ReportAllocs()
	for b.Loop() {
		if len(c.NextSteps(civil, statuses)) == 0 {
			b.Fatal("no next steps")
		}
	}
}
