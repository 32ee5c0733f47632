package bff_test

import (
	"slices"
	"strings"
	"testing"
)

type guideAnswer struct {
	Form struct {
		Themes []struct {
			Code  string `json:"code"`
			Items []struct {
				Code         string   `json:"code"`
				Requirement  string   `json:"requirement"`
				Variant      *string  `json:"variant"`
				UnknownFacts []string `json:"unknown_facts"`
				TimeLimit    int      `json:"time_limit_working_days"`
				LimitSource  string   `json:"limit_source"`
			} `json:"items"`
		} `json:"themes"`
		NotRequired []struct {
			Code   string `json:"code"`
			Reason string `json:"reason"`
		} `json:"not_required"`
		UnknownFacts []string `json:"unknown_facts"`
	} `json:"form"`
}

func (g guideAnswer) item(code string) (requirement string, found bool) {
	for _, th := range g.Form.Themes {
		for _, it := range th.Items {
			if it.Code == code {
				return it.Requirement, true
			}
		}
	}
	return "", false
}

func (g guideAnswer) notRequired(code string) string {
	for _, nr := range g.Form.NotRequired {
		if nr.Code == code {
			return nr.Reason
		}
	}
	return ""
}

// TestGuidePreview asks for the guide of projects that do not exist yet:
// any signed-in user may, facts are checked strictly, and the answer
// follows the facts.
func TestGuidePreview(t *testing.T) {
	e := start(t, nil)
	e.expect(e.do("POST", "/v1/guide/preview", "", map[string]any{"type": "civil"}), 401)
	for _, user := range []string{"ent-demo", "agent-town"} {
		tok := e.login(user).AccessToken
		// No facts: every item of the type that a fact would decide is
		// required, and the guide asks for those facts.
		var g guideAnswer
		e.expect(e.do("POST", "/v1/guide/preview", tok, map[string]any{"type": "civil"}), 200).json(t, &g)
		if len(g.Form.NotRequired) != 0 || !slices.Contains(g.Form.UnknownFacts, "land_source") || !slices.Contains(g.Form.UnknownFacts, "use") {
			t.Fatalf("%s: preview without facts: not required %v, unknown %v", user, g.Form.NotRequired, g.Form.UnknownFacts)
		}
		if r, ok := g.item("YD-01"); !ok || r != "required" {
			t.Fatalf("%s: YD-01 without facts = %q, %v", user, r, ok)
		}
	}
	tok := e.login("ent-demo").AccessToken
	// A privately funded shopping centre on transferred land: no siting
	// opinion, no compulsory tender; a fire design review (over 10,000 m²);
	// the EIA as a report form.
	body := map[string]any{"type": "civil", "facts": map[string]any{
		"investment": "private", "land_source": "transfer", "use": "commercial", "floor_area_m2": 12000, "height_m": 24,
		"energy_tce_per_year": 1200, "electricity_mwh_per_year": 6000, "eia_category": "report_form",
		"site_area_ha": 1.5, "earthwork_m3": 30000, "zones": []string{"relics"}, "own_water_source": false,
		"hazardous_chemicals": false, "civil_air_defence": "basement", "regional_assessment": []string{}, "new_construction_land": nil}}
	var g guideAnswer
	e.expect(e.do("POST", "/v1/guide/preview", tok, body), 200).json(t, &g)
	if len(g.Form.UnknownFacts) != 0 {
		t.Errorf("unknown facts %v", g.Form.UnknownFacts)
	}
	if !strings.Contains(g.notRequired("YD-01"), "出让") || g.notRequired("KG-02") == "" {
		t.Errorf("not required: %+v", g.Form.NotRequired)
	}
	if r, _ := g.item("ST-02"); r != "required" {
		t.Errorf("ST-02 = %q, want required", r)
	}
	// Each item says where its limits come from; the fire design review's
	// 15 working days are the rule's (住建部令第51号第十五条).
	for _, th := range g.Form.Themes {
		for _, it := range th.Items {
			if !strings.Contains(it.LimitSource, "法定时限") || !strings.Contains(it.LimitSource, "承诺时限") {
				t.Errorf("%s: limit_source %q", it.Code, it.LimitSource)
			}
			if it.Code == "ST-02" && (it.TimeLimit != 15 || !strings.Contains(it.LimitSource, "第51号")) {
				t.Errorf("ST-02: %d working days, limit_source %q", it.TimeLimit, it.LimitSource)
			}
		}
	}
	if r, _ := g.item("LX-03"); r != "lighter" {
		t.Errorf("LX-03 = %q, want lighter", r)
	}
	if _, ok := g.item("YD-01"); ok {
		t.Error("YD-01 is not required but is in the form")
	}

	for _, tc := range []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"unknown type", map[string]any{"type": "villa"}, 422, "type"},
		{"no type", map[string]any{"facts": map[string]any{}}, 422, "type"},
		{"unknown fact", map[string]any{"type": "civil", "facts": map[string]any{"floors": 3}}, 422, "facts.floors"},
		{"bad value", map[string]any{"type": "civil", "facts": map[string]any{"use": "castle"}}, 422, "facts.use"},
		{"bad list entry", map[string]any{"type": "civil", "facts": map[string]any{"zones": []string{"flood", "volcano"}}}, 422, "facts.zones[1]"},
		{"negative number", map[string]any{"type": "civil", "facts": map[string]any{"height_m": -3}}, 422, "facts.height_m"},
		{"facts not an object", map[string]any{"type": "civil", "facts": []int{1}}, 422, "facts"},
		{"unknown field", map[string]any{"type": "civil", "project_id": "WF-1"}, 422, "project_id"},
		{"not JSON", "{", 400, ""},
		{"too large", `{"type":"civil","facts":{"use":"` + strings.Repeat("x", 70<<10) + `"}}`, 413, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.expect(e.do("POST", "/v1/guide/preview", tok, tc.body), tc.status)
			if tc.field == "" {
				return
			}
			var p struct {
				Code   string `json:"code"`
				Errors []struct {
					Field string `json:"field"`
				} `json:"errors"`
			}
			r.json(t, &p)
			if p.Code != "validation_failed" || !slices.ContainsFunc(p.Errors, func(f struct {
				Field string `json:"field"`
			}) bool {
				return f.Field == tc.field
			}) {
				t.Fatalf("problem %+v, want validation_failed on %s", p, tc.field)
			}
		})
	}
}

// TestCatalogSummary reads the catalog's numbers without signing in: the
// seed's 10 themes, 52 pre-start items before merging, 35 of them merged
// into 8, with sources; the answer is cacheable and revalidates with 304.
func TestCatalogSummary(t *testing.T) {
	e := start(t, nil)
	r := e.expect(e.do("GET", "/v1/catalog", "", nil), 200)
	var cat struct {
		Themes []struct {
			Code string `json:"code"`
		} `json:"themes"`
		Counts struct {
			Themes                   int `json:"themes"`
			PreStartThemes           int `json:"pre_start_themes"`
			PreStartItemsBeforeMerge int `json:"pre_start_items_before_merge"`
			MergedFrom               int `json:"merged_from"`
			MergedInto               int `json:"merged_into"`
		} `json:"counts"`
		Sources []struct {
			Title string `json:"title"`
			URL   string `json:"url"`
		} `json:"sources"`
	}
	r.json(t, &cat)
	c := cat.Counts
	if len(cat.Themes) != 10 || c.Themes != 10 || c.PreStartThemes != 5 || c.PreStartItemsBeforeMerge != 52 || c.MergedFrom != 35 || c.MergedInto != 8 || len(cat.Sources) == 0 {
		t.Fatalf("catalog %+v", cat)
	}
	etag := r.Header.Get("ETag")
	if etag == "" || !strings.Contains(r.Header.Get("Cache-Control"), "public") {
		t.Fatalf("headers %v", r.Header)
	}
	e.expect(e.do("GET", "/v1/catalog", "", nil, "If-None-Match", etag), 304)
	// A token, even a bad one, changes nothing: the route is public.
	e.expect(e.do("GET", "/v1/catalog", "not-a-token", nil), 200)
}
