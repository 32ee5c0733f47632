package models

import (
	"encoding/json"
	"slices"
	"sort"
	"testing"
)

var (
	civil      = ProjectFacts{Type: ProjectCivil}
	industrial = ProjectFacts{Type: ProjectIndustrial}
	smallRisk  = ProjectFacts{Type: ProjectSmallLowRisk}
)

// guideItem finds an item of the guide's form, failing the test when the
// item is missing.
func guideItem(tb testing.TB, g Guide, code string) GuideItem {
	tb.Helper()
	for _, th := range g.Form.Themes {
		for _, it := range th.Items {
			if it.Code == code {
				return it
			}
		}
	}
	tb.Fatalf("item %s is not in the guide", code)
	return GuideItem{}
}

func guideMaterial(tb testing.TB, it GuideItem, code string) GuideMaterial {
	tb.Helper()
	for _, m := range it.Materials {
		if m.Code == code {
			return m
		}
	}
	tb.Fatalf("material %s is not listed for %s", code, it.Code)
	return GuideMaterial{}
}

func guideCodes(g Guide) map[string]bool {
	out := map[string]bool{}
	for _, th := range g.Form.Themes {
		for _, it := range th.Items {
			out[it.Code] = true
		}
	}
	return out
}

func TestGuideItemsFollowProjectType(t *testing.T) {
	c := DefaultCatalog()
	tests := []struct {
		facts   ProjectFacts
		present []string
		absent  []string
	}{
		{civil, []string{"LX-01", "GH-04", "ST-01", "ST-04", "KG-01", "KG-02", "JR-04"}, []string{"LX-04", "LX-11", "LX-14"}},
		{industrial, []string{"LX-01", "LX-11", "LX-14", "ST-01", "KG-01", "KG-02"}, []string{"LX-04", "GH-04", "ST-04", "JR-04"}},
		{smallRisk, []string{"LX-01", "LX-04", "GH-02", "KG-01", "YS-01", "BZ-03"}, []string{"LX-03", "YD-01", "GH-01", "ST-01", "ST-02", "KG-02"}},
	}
	for _, tt := range tests {
		t.Run(tt.facts.Type, func(t *testing.T) {
			codes := guideCodes(c.Guide(tt.facts, nil))
			for _, code := range tt.present {
				if !codes[code] {
					t.Errorf("%s missing from the %s guide", code, tt.facts.Type)
				}
			}
			for _, code := range tt.absent {
				if codes[code] {
					t.Errorf("%s should not be in the %s guide", code, tt.facts.Type)
				}
			}
		})
	}
}

func TestGuideWaivers(t *testing.T) {
	c := DefaultCatalog()
	tests := []struct {
		name       string
		facts      ProjectFacts
		item, mat  string
		wantWaived bool
		wantReason string
	}{
		{"plain civil needs the seismic report", civil, "LX-06", "seismic_report", false, ""},
		{"regional assessment waives the lightning report", ProjectFacts{Type: ProjectCivil, RegionalAssessment: true}, "LX-12", "lightning_risk_report", true, "区域雷电灾害风险评估已覆盖本项目"},
		{"standard land waives it too", ProjectFacts{Type: ProjectIndustrial, StandardLand: true}, "LX-06", "seismic_report", true, "标准地出让前已完成区域地震安全性评价"},
		{"standard land waives the energy report", ProjectFacts{Type: ProjectIndustrial, StandardLand: true}, "LX-02", "energy_report", true, "标准地出让时已明确能耗标准，以承诺替代节能报告"},
		{"a seismic-only regional assessment keeps the energy report", ProjectFacts{Type: ProjectCivil, Facts: Facts{RegionalAssessment: []string{"seismic"}}}, "LX-02", "energy_report", false, ""},
		{"no tender needed: no award notice", ProjectFacts{Type: ProjectCivil, Facts: Facts{Investment: ptr("private"), Use: ptr("residential")}}, "KG-01", "bid_award_notice", true, "非必须招标项目，可直接发包，以施工合同申报"},
		{"small low-risk projects need no tender", smallRisk, "KG-01", "bid_award_notice", true, "小型低风险社会投资项目可直接发包，免于招标"},
		{"civil projects do", civil, "KG-01", "bid_award_notice", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := guideMaterial(t, guideItem(t, c.Guide(tt.facts, nil), tt.item), tt.mat)
			if m.Waived != tt.wantWaived {
				t.Fatalf("%s/%s waived = %v, want %v", tt.item, tt.mat, m.Waived, tt.wantWaived)
			}
			switch {
			case tt.wantWaived && (m.WaivedReason == nil || *m.WaivedReason != tt.wantReason):
				t.Errorf("waived_reason = %v, want %q", m.WaivedReason, tt.wantReason)
			case !tt.wantWaived && m.WaivedReason != nil:
				t.Errorf("waived_reason = %q for a material that is needed", *m.WaivedReason)
			}
			if !m.Required {
				t.Errorf("%s/%s should stay listed as required", tt.item, tt.mat)
			}
		})
	}
}

func TestGuideProvidersAndDependencies(t *testing.T) {
	c := DefaultCatalog()
	g := c.Guide(civil, nil)
	permit := guideItem(t, g, "KG-01")
	tests := []struct {
		mat  string
		want string // "" for none
	}{
		{"planning_permit", "GH-02"},
		{"land_title_certificate", "YD-08"},
		{"bid_award_notice", "KG-02"},
		{"construction_contract", ""},
	}
	for _, tt := range tests {
		m := guideMaterial(t, permit, tt.mat)
		got := ""
		if m.ProvidedByItem != nil {
			got = *m.ProvidedByItem
		}
		if got != tt.want {
			t.Errorf("KG-01 %s provided_by_item = %q, want %q", tt.mat, got, tt.want)
		}
	}
	if want := []string{"GH-02", "YD-08", "ST-01", "ST-02", "KG-02", "KG-04"}; !slices.Equal(permit.DependsOn, want) {
		t.Errorf("civil KG-01 depends_on = %v, want %v", permit.DependsOn, want)
	}
	small := guideItem(t, c.Guide(smallRisk, nil), "KG-01")
	if want := []string{"GH-02", "YD-08", "KG-04"}; !slices.Equal(small.DependsOn, want) {
		t.Errorf("small KG-01 depends_on = %v, want %v (inapplicable prerequisites dropped)", small.DependsOn, want)
	}
	lx1 := guideItem(t, g, "LX-01")
	if m := guideMaterial(t, lx1, "project_application_report"); m.Required {
		t.Error("optional material project_application_report is marked required")
	}
}

func TestGuideMap(t *testing.T) {
	c := DefaultCatalog()
	statuses := with(approvedThemes(t, civil, "YD"), "LX-01", StatusApproved, "LX-02", StatusAccepted, "GH-01", StatusPreApproved)
	g := c.Guide(civil, statuses)
	nodes := map[string]MapNode{}
	for _, n := range g.Map.Nodes {
		nodes[n.ID] = n
	}
	nodeTests := []struct{ id, kind, status string }{
		{"LX", NodeTheme, ThemeInProgress},
		{"YD", NodeTheme, ThemeDone},
		{"ST", NodeTheme, ThemeNotStarted},
		{"LX-01", NodeItem, StatusApproved},
		{"GH-01", NodeItem, StatusPreApproved},
		{"GH-02", NodeItem, StatusNotStarted},
	}
	for _, tt := range nodeTests {
		n, ok := nodes[tt.id]
		if !ok || n.Kind != tt.kind || n.Status != tt.status {
			t.Errorf("node %s = %+v, want kind %s status %s", tt.id, n, tt.kind, tt.status)
		}
	}
	edges := map[[2]string]string{}
	for _, e := range g.Map.Edges {
		edges[[2]string{e.From, e.To}] = e.Kind
	}
	edgeTests := []struct{ from, to, kind string }{
		{"LX", "LX-01", EdgeContains},
		{"LX-01", "LX-02", EdgeRequires},
		{"GH-01", "GH-02", EdgePreApprovalOK},
		{"GH-02", "ST-01", EdgePreApprovalOK},
		{"GH-02", "ST-03", EdgeRequires},
	}
	for _, tt := range edgeTests {
		if got := edges[[2]string{tt.from, tt.to}]; got != tt.kind {
			t.Errorf("edge %s→%s kind = %q, want %q", tt.from, tt.to, got, tt.kind)
		}
	}
	for _, e := range g.Map.Edges {
		if _, ok := nodes[e.From]; !ok {
			t.Errorf("edge from unknown node %s", e.From)
		}
		if _, ok := nodes[e.To]; !ok {
			t.Errorf("edge to unknown node %s", e.To)
		}
	}
}

// TestGuideJSONShape checks the contract's field names at every level and
// that lists are arrays, never null.
func TestGuideJSONShape(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(mustJSON(t, DefaultCatalog().Guide(smallRisk, nil)), &doc); err != nil {
		t.Fatal(err)
	}
	form := asObject(t, doc["form"], "form")
	wantKeys(t, doc, "guide", "form", "map")
	wantKeys(t, form, "form", "themes", "not_required", "unknown_facts")
	asArray(t, form["not_required"], "not_required")
	asArray(t, form["unknown_facts"], "unknown_facts")
	for _, th := range asArray(t, form["themes"], "themes") {
		theme := asObject(t, th, "theme")
		wantKeys(t, theme, "theme", "code", "name", "stage", "lead_department", "items")
		for _, it := range asArray(t, theme["items"], "items") {
			item := asObject(t, it, "item")
			wantKeys(t, item, "item", "code", "name", "requirement", "variant", "unknown_facts", "lead_department",
				"time_limit_working_days", "promised_working_days", "limit_source", "pre_approval",
				"certificates", "merged_from", "materials", "intermediaries", "depends_on")
			for _, list := range []string{"certificates", "merged_from", "intermediaries", "depends_on", "unknown_facts"} {
				asArray(t, item[list], list)
			}
			for _, m := range asArray(t, item["materials"], "materials") {
				wantKeys(t, asObject(t, m, "material"), "material", "code", "name", "required", "waived", "waived_reason", "provided_by_item")
			}
			for _, im := range asArray(t, item["intermediaries"], "intermediaries") {
				wantKeys(t, asObject(t, im, "intermediary"), "intermediary", "code", "name")
			}
		}
	}
	graph := asObject(t, doc["map"], "map")
	wantKeys(t, graph, "map", "nodes", "edges")
	for _, n := range asArray(t, graph["nodes"], "nodes") {
		wantKeys(t, asObject(t, n, "node"), "node", "id", "kind", "label", "status")
	}
	for _, e := range asArray(t, graph["edges"], "edges") {
		wantKeys(t, asObject(t, e, "edge"), "edge", "from", "to", "kind")
	}

	var empty map[string]any
	if err := json.Unmarshal(mustJSON(t, DefaultCatalog().Guide(ProjectFacts{Type: "unknown"}, nil)), &empty); err != nil {
		t.Fatal(err)
	}
	asArray(t, asObject(t, empty["form"], "form")["themes"], "themes of an empty guide")
	asArray(t, asObject(t, empty["map"], "map")["edges"], "edges of an empty guide")
}

func ptr[T any](v T) *T { return &v }

func asObject(tb testing.TB, v any, what string) map[string]any {
	tb.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		tb.Fatalf("%s = %v, want an object", what, v)
	}
	return m
}

func asArray(tb testing.TB, v any, what string) []any {
	tb.Helper()
	a, ok := v.([]any)
	if !ok {
		tb.Fatalf("%s = %v, want an array", what, v)
	}
	return a
}

func wantKeys(tb testing.TB, m map[string]any, what string, keys ...string) {
	tb.Helper()
	var got []string
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	want := slices.Clone(keys)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		tb.Fatalf("%s keys = %v, want %v", what, got, want)
	}
}
