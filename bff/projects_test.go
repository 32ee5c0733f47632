package bff_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	mobilecontract "github.com/weifang/kaigong-zsb/mobile-contract"
)

type projectSummary struct {
	ID            string `json:"id"`
	Percent       int    `json:"percent"`
	NextStepCount int    `json:"next_step_count"`
	UnreadCount   int    `json:"unread_count"`
}

func TestProjectsOfEnterpriseAndAgent(t *testing.T) {
	e := start(t, nil)
	ent := e.login("ent-demo")
	var page struct {
		Items      []projectSummary `json:"items"`
		NextCursor *string          `json:"next_cursor"`
	}
	e.expect(e.do("GET", "/v1/projects", ent.AccessToken, nil), 200).json(t, &page)
	if len(page.Items) != 2 || page.Items[0].ID != "WF-DEMO-CIVIL" || page.Items[1].ID != "WF-DEMO-INDUSTRIAL" || page.NextCursor != nil {
		t.Fatalf("ent-demo projects: %+v", page)
	}
	// Paging: one per page, the cursor leads to the second, then the end.
	e.expect(e.do("GET", "/v1/projects?limit=1", ent.AccessToken, nil), 200).json(t, &page)
	if len(page.Items) != 1 || page.NextCursor == nil {
		t.Fatalf("page 1: %+v", page)
	}
	e.expect(e.do("GET", "/v1/projects?limit=1&cursor="+*page.NextCursor, ent.AccessToken, nil), 200).json(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != "WF-DEMO-INDUSTRIAL" {
		t.Fatalf("page 2: %+v", page)
	}
	for _, bad := range []string{"limit=0", "limit=101", "limit=x", "cursor=%21%21", "cursor=" + "e30"} {
		e.expect(e.do("GET", "/v1/projects?"+bad, ent.AccessToken, nil), 422)
	}

	agent := e.login("agent-county")
	e.expect(e.do("GET", "/v1/projects", agent.AccessToken, nil), 200).json(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != "WF-DEMO-INDUSTRIAL" {
		t.Fatalf("agent-county projects: %+v", page)
	}
	town := e.login("agent-town")
	e.expect(e.do("GET", "/v1/projects", town.AccessToken, nil), 200).json(t, &page)
	if len(page.Items) != 0 {
		t.Fatalf("agent-town follows nothing, got %+v", page)
	}
}

func TestProgressGuideNextStepsAndETag(t *testing.T) {
	e := start(t, nil)
	tok := e.login("ent-demo").AccessToken
	r := e.expect(e.do("GET", "/v1/projects/WF-DEMO-CIVIL/progress", tok, nil), 200)
	etag := r.Header.Get("ETag")
	var prog struct {
		ProjectID string `json:"project_id"`
		Version   int64  `json:"version"`
		Overall   struct {
			WorkingDaysLimit int `json:"working_days_limit"`
		} `json:"overall"`
		Themes []struct {
			Code string `json:"code"`
		} `json:"themes"`
	}
	r.json(t, &prog)
	if etag == "" || prog.ProjectID != "WF-DEMO-CIVIL" || prog.Overall.WorkingDaysLimit != 35 || len(prog.Themes) == 0 {
		t.Fatalf("progress %s (etag %q)", truncate(r.Body), etag)
	}
	e.expect(e.do("GET", "/v1/projects/WF-DEMO-CIVIL/progress", tok, nil, "If-None-Match", etag), 304)
	e.expect(e.do("GET", "/v1/projects/WF-DEMO-CIVIL/progress", tok, nil, "If-None-Match", `"0.19700101"`), 200)
	// A list, with a weak form of the current tag among stale ones.
	e.expect(e.do("GET", "/v1/projects/WF-DEMO-CIVIL/progress", tok, nil, "If-None-Match", `"0.19700101", W/`+etag+` ,"1.2"`), 304)

	var ind struct {
		Overall struct {
			WorkingDaysLimit int `json:"working_days_limit"`
		} `json:"overall"`
	}
	e.expect(e.do("GET", "/v1/projects/WF-DEMO-INDUSTRIAL/progress", tok, nil), 200).json(t, &ind)
	if ind.Overall.WorkingDaysLimit != 25 {
		t.Fatalf("industrial limit %d", ind.Overall.WorkingDaysLimit)
	}

	var guide struct {
		Form struct {
			Themes []struct {
				Items []struct {
					Code      string `json:"code"`
					Materials []struct {
						Waived       bool    `json:"waived"`
						WaivedReason *string `json:"waived_reason"`
					} `json:"materials"`
				} `json:"items"`
			} `json:"themes"`
		} `json:"form"`
		Map struct {
			Nodes []any `json:"nodes"`
			Edges []any `json:"edges"`
		} `json:"map"`
	}
	e.expect(e.do("GET", "/v1/projects/WF-DEMO-CIVIL/guide", tok, nil), 200).json(t, &guide)
	items, waived := 0, 0
	for _, th := range guide.Form.Themes {
		for _, it := range th.Items {
			items++
			for _, m := range it.Materials {
				if m.Waived {
					waived++
					if m.WaivedReason == nil || *m.WaivedReason == "" {
						t.Errorf("%s: waived material without a reason", it.Code)
					}
				}
			}
		}
	}
	// WF-DEMO-CIVIL lies in a regional-assessment zone, so some materials
	// are waived.
	if items < 30 || waived == 0 || len(guide.Map.Nodes) <= items || len(guide.Map.Edges) == 0 {
		t.Fatalf("guide: %d items, %d waived, %d nodes, %d edges", items, waived, len(guide.Map.Nodes), len(guide.Map.Edges))
	}

	var next struct {
		Items []struct {
			Code string `json:"code"`
		} `json:"items"`
	}
	e.expect(e.do("GET", "/v1/projects/WF-DEMO-CIVIL/next-steps", tok, nil), 200).json(t, &next)
	if len(next.Items) == 0 {
		t.Fatal("no next steps for the demo civil project")
	}
	e.expect(e.do("GET", "/v1/projects/WF-DEMO-CIVIL", tok, nil), 200)
	e.expect(e.do("GET", "/v1/projects/WF-DEMO-CIVIL/timeline", tok, nil), 200)
}

// TestObjectLevelAuthorization drives every project-scoped route with every
// kind of caller: the owner's users and following agents get answers,
// everyone else gets 404, exactly like a project that does not exist.
func TestObjectLevelAuthorization(t *testing.T) {
	e := start(t, nil)
	tokens := map[string]string{}
	for _, u := range []string{"ent-demo", "ent-other", "agent-town", "agent-county", "agent-city"} {
		tokens[u] = e.login(u).AccessToken
	}
	type route struct {
		method, path string
		body         any
		ok           int
	}
	routes := func(id string) []route {
		return []route{
			{"GET", "/v1/projects/" + id, nil, 200},
			{"GET", "/v1/projects/" + id + "/progress", nil, 200},
			{"GET", "/v1/projects/" + id + "/guide", nil, 200},
			{"GET", "/v1/projects/" + id + "/next-steps", nil, 200},
			{"GET", "/v1/projects/" + id + "/timeline", nil, 200},
			{"POST", "/v1/projects/" + id + "/help-requests", map[string]string{"topic": "施工许可", "message": "请协助"}, 201},
		}
	}
	// who may see which project; help requests are for enterprise users only.
	sees := map[string]map[string]bool{
		"WF-DEMO-CIVIL":      {"ent-demo": true},
		"WF-DEMO-INDUSTRIAL": {"ent-demo": true, "agent-county": true},
		"WF-OTHER-1":         {"ent-other": true},
		"WF-NOPE":            {},
	}
	for id, allowed := range sees {
		for user, tok := range tokens {
			for _, rt := range routes(id) {
				want := 404
				if allowed[user] && !(rt.method == "POST" && user[:5] == "agent") {
					want = rt.ok
				}
				t.Run(fmt.Sprintf("%s %s as %s", rt.method, rt.path, user), func(t *testing.T) {
					r := e.do(rt.method, rt.path, tok, rt.body)
					if r.Status != want {
						t.Fatalf("status %d, want %d: %s", r.Status, want, truncate(r.Body))
					}
					if want == 404 && r.problemCode(t) != "not_found" {
						t.Fatalf("404 without not_found: %s", r.Body)
					}
				})
			}
		}
	}
	// Conditional requests must not leak either: a 304 needs access too.
	r := e.expect(e.do("GET", "/v1/projects/WF-OTHER-1/progress", tokens["ent-other"], nil), 200)
	e.expect(e.do("GET", "/v1/projects/WF-OTHER-1/progress", tokens["ent-demo"], nil, "If-None-Match", r.Header.Get("ETag")), 404)
}

// projectDetail is the part of GET /v1/projects/{id} about the project's
// facts and its clock.
type projectDetail struct {
	Facts        map[string]any `json:"facts"`
	UnknownFacts []string       `json:"unknown_facts"`
	Requirements struct {
		Required    int `json:"required"`
		Lighter     int `json:"lighter"`
		Commitment  int `json:"commitment"`
		NotRequired int `json:"not_required"`
	} `json:"requirements"`
	WorkingDaysLimit int    `json:"working_days_limit"`
	WorkingDaysUsed  int    `json:"working_days_used"`
	Overdue          bool   `json:"overdue"`
	Finished         bool   `json:"finished"`
	Calendar         string `json:"calendar"`
}

type guideForm struct {
	Form struct {
		Themes []struct {
			Items []struct {
				Code string `json:"code"`
			} `json:"items"`
		} `json:"themes"`
		NotRequired  []struct{ Code string } `json:"not_required"`
		UnknownFacts []string                `json:"unknown_facts"`
	} `json:"form"`
}

// TestProjectCarriesItsFacts reads GET /v1/projects/{id} (validated against
// the OpenAPI like every answer here): the project's attributes include the
// facts the upstream gave, as given, and what they make of the items (the
// same as the guide says), for the seeded demo project and for a project
// the upstream creates with only some facts.
func TestProjectCarriesItsFacts(t *testing.T) {
	e := start(t, nil)
	tok := e.login("ent-demo").AccessToken
	fx, err := mobilecontract.LoadDemoFixtures()
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(fx.Projects[0].Facts, &want); err != nil || fx.Projects[0].ID != "WF-DEMO-CIVIL" {
		t.Fatalf("fixture %s: %v", fx.Projects[0].ID, err)
	}
	check := func(id string, wantFacts map[string]any) projectDetail {
		t.Helper()
		var p projectDetail
		e.expect(e.do("GET", "/v1/projects/"+id, tok, nil), 200).json(t, &p)
		var g guideForm
		e.expect(e.do("GET", "/v1/projects/"+id+"/guide", tok, nil), 200).json(t, &g)
		if !reflect.DeepEqual(p.Facts, wantFacts) {
			t.Errorf("%s facts = %v, want %v", id, p.Facts, wantFacts)
		}
		if !slices.Equal(p.UnknownFacts, g.Form.UnknownFacts) {
			t.Errorf("%s unknown_facts = %v, the guide says %v", id, p.UnknownFacts, g.Form.UnknownFacts)
		}
		needed := 0
		for _, th := range g.Form.Themes {
			needed += len(th.Items)
		}
		r := p.Requirements
		if r.NotRequired != len(g.Form.NotRequired) || r.Required+r.Lighter+r.Commitment != needed {
			t.Errorf("%s requirements %+v; the guide has %d items and %d not required", id, r, needed, len(g.Form.NotRequired))
		}
		return p
	}
	civil := check("WF-DEMO-CIVIL", want)
	if len(civil.UnknownFacts) != 0 || civil.Requirements.NotRequired == 0 || civil.WorkingDaysLimit != 35 ||
		civil.Overdue || civil.Finished || civil.Calendar == "" {
		t.Errorf("WF-DEMO-CIVIL = %+v", civil)
	}

	e.expect(e.send(event{"event_id": "ev-facts-1", "type": "project.upserted", "occurred_at": time.Now().Format(time.RFC3339),
		"project_id": "WF-FACTS-1", "sequence": 1, "project": map[string]any{
			"name": "事实不全的项目", "type": "industrial", "enterprise_credit_code": "91370700MA3DEMO001", "region_code": "370702",
			"key_project": false, "regional_assessment": false, "standard_land": false,
			"facts": map[string]any{"investment": "private", "use": "warehouse", "hazardous_chemicals": false}}}), 202)
	partial := check("WF-FACTS-1", map[string]any{"investment": "private", "use": "warehouse", "hazardous_chemicals": false})
	if !slices.Contains(partial.UnknownFacts, "land_source") || slices.Contains(partial.UnknownFacts, "hazardous_chemicals") ||
		partial.WorkingDaysLimit != 25 || partial.WorkingDaysUsed != 0 {
		t.Errorf("WF-FACTS-1 = %+v", partial)
	}
}
