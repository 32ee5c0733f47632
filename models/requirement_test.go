package models

import (
	"slices"
	"strings"
	"testing"
)

func civilWith(f Facts) ProjectFacts      { return ProjectFacts{Type: ProjectCivil, Facts: f} }
func industrialWith(f Facts) ProjectFacts { return ProjectFacts{Type: ProjectIndustrial, Facts: f} }

// TestItemRules checks each rule of the catalog against the regulation it
// cites: the answer, the variant, the reason shown, and the facts that
// would change an answer still open.
func TestItemRules(t *testing.T) {
	c := DefaultCatalog()
	tests := []struct {
		name        string
		facts       ProjectFacts
		item        string
		level       string
		variant     string
		reasonHas   string
		unknownWant []string
	}{
		// 节能审查: none below 1,000 tce and 5 million kWh a year.
		{"energy below both thresholds", industrialWith(Facts{EnergyTCEPerYear: ptr(800.0), ElectricityMWhPerYear: ptr(4000.0)}), "LX-02", RequirementNotRequired, "", "1000吨标准煤", nil},
		{"energy above the tce threshold", industrialWith(Facts{EnergyTCEPerYear: ptr(1000.0), ElectricityMWhPerYear: ptr(10.0)}), "LX-02", RequirementRequired, "", "", nil},
		{"electricity above its threshold", industrialWith(Facts{EnergyTCEPerYear: ptr(10.0), ElectricityMWhPerYear: ptr(6000.0)}), "LX-02", RequirementRequired, "", "", nil},
		{"energy unknown", industrialWith(Facts{EnergyTCEPerYear: ptr(10.0)}), "LX-02", RequirementRequired, "", "", []string{FactElectricity}},
		{"energy covered by a regional assessment", industrialWith(Facts{RegionalAssessment: []string{"energy"}}), "LX-02", RequirementNotRequired, "", "区域评估", nil},
		// 环评 by category.
		{"EIA report", civilWith(Facts{EIACategory: ptr("report")}), "LX-03", RequirementRequired, "", "", nil},
		{"EIA report form is lighter", civilWith(Facts{EIACategory: ptr("report_form")}), "LX-03", RequirementLighter, "环境影响报告表", "", nil},
		{"EIA registration needs no approval", civilWith(Facts{EIACategory: ptr("registration")}), "LX-03", RequirementNotRequired, "", "登记表", nil},
		{"no EIA", civilWith(Facts{EIACategory: ptr("none")}), "LX-03", RequirementNotRequired, "", "名录", nil},
		{"EIA unknown", civil, "LX-03", RequirementRequired, "", "", []string{FactEIACategory}},
		// 水土保持 by site area and earthwork; the report form by commitment.
		{"small site, little earthwork", civilWith(Facts{SiteAreaHa: ptr(0.3), EarthworkM3: ptr(800.0)}), "LX-05", RequirementNotRequired, "", "0.5公顷", nil},
		{"middle site: report form by commitment", civilWith(Facts{SiteAreaHa: ptr(2.0), EarthworkM3: ptr(20000.0)}), "LX-05", RequirementCommitment, "水土保持方案报告表（承诺制）", "", nil},
		{"small site, much earthwork: report form", civilWith(Facts{SiteAreaHa: ptr(0.3), EarthworkM3: ptr(3000.0)}), "LX-05", RequirementCommitment, "水土保持方案报告表（承诺制）", "", nil},
		{"large site: full report", civilWith(Facts{SiteAreaHa: ptr(6.0), EarthworkM3: ptr(20000.0)}), "LX-05", RequirementRequired, "", "", nil},
		{"site known, earthwork not", civilWith(Facts{SiteAreaHa: ptr(2.0)}), "LX-05", RequirementRequired, "", "", []string{FactEarthwork}},
		{"soil and water covered regionally", civilWith(Facts{RegionalAssessment: []string{"soil_water"}}), "LX-05", RequirementNotRequired, "", "区域评估", nil},
		// 地震安全性评价 only for major works.
		{"ordinary housing needs no seismic evaluation", civilWith(Facts{Use: ptr("residential"), HazardousChemicals: ptr(false)}), "LX-06", RequirementNotRequired, "", "区划图", nil},
		{"hazardous goods need it", industrialWith(Facts{Use: ptr("hazardous_goods")}), "LX-06", RequirementRequired, "", "", nil},
		{"chemicals unknown", civilWith(Facts{Use: ptr("residential")}), "LX-06", RequirementRequired, "", "", []string{FactHazardousChemicals}},
		{"the old boolean covers seismic", ProjectFacts{Type: ProjectCivil, RegionalAssessment: true}, "LX-06", RequirementNotRequired, "", "区域评估", nil},
		{"a listed regional assessment wins over the old boolean", ProjectFacts{Type: ProjectCivil, RegionalAssessment: true, Facts: Facts{RegionalAssessment: []string{"flood"}}}, "LX-06", RequirementRequired, "", "", []string{FactHazardousChemicals, FactUse}},
		// Zones.
		{"relics zone", civilWith(Facts{Zones: []string{"relics"}}), "LX-09", RequirementRequired, "", "", nil},
		{"no relics zone", civilWith(Facts{Zones: []string{"flood"}}), "LX-09", RequirementNotRequired, "", "文物埋藏区", nil},
		{"flood zone", civilWith(Facts{Zones: []string{"flood"}}), "LX-10", RequirementRequired, "", "", nil},
		{"zones unknown", civil, "LX-07", RequirementRequired, "", "", []string{FactZones}},
		{"minerals covered regionally despite the zone", civilWith(Facts{Zones: []string{"minerals"}, RegionalAssessment: []string{"minerals"}}), "LX-07", RequirementNotRequired, "", "区域评估", nil},
		// Water intake, hazardous chemicals.
		{"public water supply", industrialWith(Facts{OwnWaterSource: ptr(false)}), "LX-11", RequirementNotRequired, "", "公共供水", nil},
		{"own well", industrialWith(Facts{OwnWaterSource: ptr(true)}), "LX-11", RequirementRequired, "", "", nil},
		{"no hazardous chemicals: no safety review", industrialWith(Facts{HazardousChemicals: ptr(false)}), "LX-14", RequirementNotRequired, "", "危险化学品", nil},
		{"hazardous chemicals: safety review", industrialWith(Facts{HazardousChemicals: ptr(true)}), "LX-14", RequirementRequired, "", "", nil},
		// Land.
		{"transferred land: no siting", civilWith(Facts{LandSource: ptr("transfer")}), "YD-01", RequirementNotRequired, "", "出让", nil},
		{"allocated land: siting", civilWith(Facts{LandSource: ptr("allocation")}), "YD-01", RequirementRequired, "", "", nil},
		{"allocated land: no grant price", civilWith(Facts{LandSource: ptr("allocation")}), "YD-05", RequirementNotRequired, "", "划拨", nil},
		{"allocated land: no deed tax", civilWith(Facts{LandSource: ptr("allocation")}), "YD-06", RequirementNotRequired, "", "划拨", nil},
		{"owned land: no supply", industrialWith(Facts{LandSource: ptr("owned")}), "YD-03", RequirementNotRequired, "", "自有", nil},
		// 人防.
		{"basement", civilWith(Facts{CivilAirDefence: ptr("basement")}), "GH-04", RequirementRequired, "", "", nil},
		{"fee instead", civilWith(Facts{CivilAirDefence: ptr("fee")}), "GH-04", RequirementNotRequired, "", "易地建设费", nil},
		// Fire design review only for special construction projects.
		{"12,000 m² shopping centre is special", civilWith(Facts{Use: ptr("commercial"), FloorAreaM2: ptr(12000.0), HeightM: ptr(18.0)}), "ST-02", RequirementRequired, "", "", nil},
		{"8,000 m² shop, 20 m, is not", civilWith(Facts{Use: ptr("commercial"), FloorAreaM2: ptr(8000.0), HeightM: ptr(20.0)}), "ST-02", RequirementNotRequired, "", "特殊建设工程", nil},
		{"8,000 m² shop of unknown height", civilWith(Facts{Use: ptr("commercial"), FloorAreaM2: ptr(8000.0)}), "ST-02", RequirementRequired, "", "", []string{FactHeight}},
		{"residential tower over 54 m", civilWith(Facts{Use: ptr("residential"), HeightM: ptr(80.0)}), "ST-02", RequirementRequired, "", "", nil},
		{"residential block of 33 m", civilWith(Facts{Use: ptr("residential"), HeightM: ptr(33.0)}), "ST-02", RequirementNotRequired, "", "特殊建设工程", nil},
		{"school over 1,000 m²", civilWith(Facts{Use: ptr("school"), FloorAreaM2: ptr(1500.0)}), "ST-02", RequirementRequired, "", "", nil},
		{"office tower over 50 m", civilWith(Facts{Use: ptr("office"), FloorAreaM2: ptr(20000.0), HeightM: ptr(60.0)}), "ST-02", RequirementRequired, "", "", nil},
		{"plain plant", industrialWith(Facts{Use: ptr("industrial"), HazardousChemicals: ptr(false)}), "ST-02", RequirementNotRequired, "", "特殊建设工程", nil},
		{"chemical plant", industrialWith(Facts{Use: ptr("industrial"), HazardousChemicals: ptr(true)}), "ST-02", RequirementRequired, "", "", nil},
		{"use unknown", civil, "ST-02", RequirementRequired, "", "", []string{FactUse}},
		// Lightning-protection design folded into drawing review.
		{"housing: lightning design in the drawing review", civilWith(Facts{Use: ptr("residential"), HazardousChemicals: ptr(false)}), "ST-03", RequirementNotRequired, "", "施工图审查", nil},
		{"flammable goods: lightning design review", industrialWith(Facts{Use: ptr("hazardous_goods")}), "ST-03", RequirementRequired, "", "", nil},
		// Tendering.
		{"private housing: no compulsory tender", civilWith(Facts{Investment: ptr("private"), Use: ptr("residential")}), "KG-02", RequirementNotRequired, "", "必须招标", nil},
		{"government school: tender", civilWith(Facts{Investment: ptr("government"), Use: ptr("school")}), "KG-02", RequirementRequired, "", "", nil},
		{"state-owned housing: tender", civilWith(Facts{Investment: ptr("state_owned"), Use: ptr("residential")}), "KG-02", RequirementRequired, "", "", nil},
		// Items without facts stay required, with nothing to ask.
		{"the permit", civilWith(Facts{Use: ptr("residential")}), "KG-01", RequirementRequired, "", "", nil},
		// Type first.
		{"wrong type", civil, "LX-14", RequirementNotRequired, "", "不适用", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, ok := c.Item(tt.item)
			if !ok {
				t.Fatalf("no item %s", tt.item)
			}
			r := it.Decide(tt.facts)
			if r.Level != tt.level || r.Variant != tt.variant {
				t.Fatalf("%s = %s %q (%s), want %s %q", tt.item, r.Level, r.Variant, r.Reason, tt.level, tt.variant)
			}
			if tt.reasonHas != "" && !strings.Contains(r.Reason, tt.reasonHas) {
				t.Errorf("reason %q, want it to mention %q", r.Reason, tt.reasonHas)
			}
			if r.Level == RequirementNotRequired && r.Reason == "" {
				t.Error("not required without a reason")
			}
			if r.Source == "" {
				t.Error("no source")
			}
			if !slices.Equal(r.UnknownFacts, tt.unknownWant) {
				t.Errorf("unknown facts = %v, want %v", r.UnknownFacts, tt.unknownWant)
			}
		})
	}
}

func TestGuideFollowsFacts(t *testing.T) {
	c := DefaultCatalog()
	p := civilWith(Facts{Investment: ptr("private"), LandSource: ptr("transfer"), Use: ptr("residential"), HeightM: ptr(33.0),
		HazardousChemicals: ptr(false), EIACategory: ptr("report_form"), SiteAreaHa: ptr(2.0), EarthworkM3: ptr(20000.0),
		Zones: []string{}, CivilAirDefence: ptr("fee")})
	g := c.Guide(p, map[string]string{"LX-01": StatusApproved})
	codes := guideCodes(g)
	var notRequired []string
	for _, nr := range g.Form.NotRequired {
		notRequired = append(notRequired, nr.Code)
		if codes[nr.Code] {
			t.Errorf("%s is both in the form and not required", nr.Code)
		}
		if nr.Reason == "" || nr.Name == "" {
			t.Errorf("not_required %s without name or reason", nr.Code)
		}
	}
	for _, code := range []string{"YD-01", "LX-06", "LX-07", "LX-08", "LX-09", "LX-10", "GH-04", "ST-02", "ST-03", "KG-02"} {
		if !slices.Contains(notRequired, code) {
			t.Errorf("%s not in form.not_required %v", code, notRequired)
		}
	}
	for _, n := range g.Map.Nodes {
		if slices.Contains(notRequired, n.ID) {
			t.Errorf("map node %s is not required", n.ID)
		}
	}
	for _, e := range g.Map.Edges {
		if slices.Contains(notRequired, e.From) || slices.Contains(notRequired, e.To) {
			t.Errorf("map edge %s→%s touches an item not required", e.From, e.To)
		}
	}
	if eia := guideItem(t, g, "LX-03"); eia.Requirement != RequirementLighter || eia.Variant == nil || *eia.Variant != "环境影响报告表" {
		t.Errorf("LX-03 = %s %v", eia.Requirement, eia.Variant)
	}
	if swc := guideItem(t, g, "LX-05"); swc.Requirement != RequirementCommitment {
		t.Errorf("LX-05 = %s, want commitment", swc.Requirement)
	}
	permit := guideItem(t, g, "KG-01")
	if slices.Contains(permit.DependsOn, "KG-02") || slices.Contains(permit.DependsOn, "ST-02") {
		t.Errorf("KG-01 depends on items not required: %v", permit.DependsOn)
	}
	if slices.Contains(permit.Certificates, "人防工程质量监督登记证") || len(permit.Certificates) != 3 {
		t.Errorf("KG-01 certificates = %v; without a 人防 basement there is no 人防 quality supervision", permit.Certificates)
	}
	if m := guideMaterial(t, guideItem(t, g, "YD-04"), "site_selection_opinion"); !m.Waived || m.ProvidedByItem != nil {
		t.Errorf("YD-04 site_selection_opinion = %+v; transferred land needs none", m)
	}
	// Facts left unknown: what remains open is listed, with the items.
	if !slices.Equal(g.Form.UnknownFacts, []string{FactElectricity, FactEnergy}) {
		t.Errorf("unknown_facts = %v", g.Form.UnknownFacts)
	}
	if energy := guideItem(t, g, "LX-02"); energy.Requirement != RequirementRequired || !slices.Equal(energy.UnknownFacts, []string{FactElectricity, FactEnergy}) {
		t.Errorf("LX-02 = %s, unknown %v", energy.Requirement, energy.UnknownFacts)
	}
	// Next steps, percentage and stage ignore what is not required.
	for _, s := range c.NextSteps(p, map[string]string{"LX-01": StatusApproved}) {
		if slices.Contains(notRequired, s.Code) {
			t.Errorf("next step %s is not required", s.Code)
		}
	}
	all := map[string]string{}
	for _, th := range g.Form.Themes {
		for _, it := range th.Items {
			all[it.Code] = StatusApproved
		}
	}
	if pct := c.Percent(p, all); pct != 100 {
		t.Errorf("percent with every required item approved = %d, want 100", pct)
	}
	if st := c.CurrentStage(p, all); st.Code != "completion" {
		t.Errorf("stage = %s", st.Code)
	}
}

func TestPreview(t *testing.T) {
	c := DefaultCatalog()
	f := Facts{LandSource: ptr("transfer")}
	g, err := c.Preview(ProjectIndustrial, f)
	if err != nil {
		t.Fatal(err)
	}
	want := c.Guide(industrialWith(f), nil)
	if string(mustJSON(t, g)) != string(mustJSON(t, want)) {
		t.Error("Preview differs from the guide of a project with those facts")
	}
	for _, n := range g.Map.Nodes {
		if n.Kind == NodeItem && n.Status != StatusNotStarted {
			t.Errorf("preview node %s is %s", n.ID, n.Status)
		}
	}
	if _, err := c.Preview("villa", f); ErrorCode(err) != CodeValidationFailed {
		t.Errorf("Preview(villa) error = %v, want validation_failed", err)
	}
}

// TestUnknownFactsAreTreatedAsRequired: with no facts, every item of the
// type is in the guide, as before facts existed.
func TestUnknownFactsAreTreatedAsRequired(t *testing.T) {
	c := DefaultCatalog()
	for _, typ := range ProjectTypes {
		g := c.Guide(ProjectFacts{Type: typ}, nil)
		n := 0
		for _, it := range c.Items {
			if it.Applies(typ) {
				n++
			}
		}
		if got := len(guideCodes(g)); got != n || len(g.Form.NotRequired) != 0 {
			t.Errorf("%s: %d items in the guide, %d not required; want all %d", typ, got, len(g.Form.NotRequired), n)
		}
		if typ != ProjectSmallLowRisk && len(g.Form.UnknownFacts) < 8 {
			t.Errorf("%s: unknown_facts = %v, want the facts that decide items", typ, g.Form.UnknownFacts)
		}
	}
}
