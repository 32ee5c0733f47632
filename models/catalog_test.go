package models

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestEmbeddedCatalogIsValid(t *testing.T) {
	c, err := LoadCatalog(bytes.NewReader(catalogJSON))
	if err != nil {
		t.Fatalf("embedded catalog.json: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if DefaultCatalog() != DefaultCatalog() {
		t.Error("DefaultCatalog parses the catalog more than once")
	}
}

func TestCatalogStagesAndThemes(t *testing.T) {
	c := DefaultCatalog()
	var stages []string
	for _, s := range c.Stages {
		stages = append(stages, s.Name)
	}
	if want := []string{"立项用地规划许可", "工程建设许可", "施工许可", "竣工验收"}; !slices.Equal(stages, want) {
		t.Errorf("stages = %v, want %v", stages, want)
	}
	if len(c.Themes) != 10 {
		t.Fatalf("%d themes, want 10", len(c.Themes))
	}
	var seed, modelled []string
	for _, th := range c.Themes {
		switch {
		case th.PreStart && !th.Modelled:
			seed = append(seed, th.Name)
		case th.Modelled && !th.PreStart:
			modelled = append(modelled, th.Name)
		default:
			t.Errorf("theme %s must be either a seed pre-start theme or modelled", th.Code)
		}
	}
	if want := []string{"我要立项", "我要用地", "我要规划图", "我要施工图", "我要开工"}; !slices.Equal(seed, want) {
		t.Errorf("seed themes = %v, want %v", seed, want)
	}
	if len(modelled) != 5 {
		t.Errorf("modelled themes = %v, want 5", modelled)
	}
}

// TestCatalogReproducesTheSeed pins each of the seed's numbers to the data
// (10 themes; 52 approval items in the 5 pre-start themes before merging;
// 35 of them merged into 8) and checks that Summary, which GET /v1/catalog
// serves, reports the same numbers, counted here independently.
func TestCatalogReproducesTheSeed(t *testing.T) {
	c := DefaultCatalog()
	preStartThemes, beforeMerge, mergedFrom, mergedInto := 0, 0, 0, 0
	for _, th := range c.Themes {
		if th.PreStart {
			preStartThemes++
		}
	}
	for _, it := range c.Items {
		th, _ := c.Theme(it.Theme)
		if !th.PreStart || it.Kind == KindService {
			continue
		}
		if len(it.MergedFrom) == 0 {
			beforeMerge++
			continue
		}
		beforeMerge += len(it.MergedFrom)
		mergedFrom += len(it.MergedFrom)
		mergedInto++
	}
	got := c.Summary()
	want := CatalogCounts{Themes: 10, PreStartThemes: 5, PreStartItemsBeforeMerge: 52, MergedFrom: 35, MergedInto: 8}
	counted := CatalogCounts{Themes: len(c.Themes), PreStartThemes: preStartThemes, PreStartItemsBeforeMerge: beforeMerge, MergedFrom: mergedFrom, MergedInto: mergedInto}
	if counted != want {
		t.Errorf("the catalog data counts %+v, want the seed's %+v", counted, want)
	}
	if got.Counts != counted {
		t.Errorf("Summary().Counts = %+v, counted %+v", got.Counts, counted)
	}
	if len(got.Themes) != 10 || got.Themes[0].Code != "LX" || got.Themes[0].Modelled || !got.Themes[9].Modelled {
		t.Errorf("Summary().Themes = %+v", got.Themes)
	}
	if len(got.Sources) == 0 || !strings.Contains(got.Sources[0].Title, "开工直通车") {
		t.Errorf("Summary().Sources = %+v, want the seed first", got.Sources)
	}
	for _, it := range c.Items {
		th, _ := c.Theme(it.Theme)
		if it.Kind == KindService && !th.PreStart {
			t.Errorf("service item %s outside the pre-start themes: kind only matters for the seed's count there", it.Code)
		}
	}
}

func TestSummaryJSONShape(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(mustJSON(t, DefaultCatalog().Summary()), &doc); err != nil {
		t.Fatal(err)
	}
	wantKeys(t, doc, "summary", "themes", "counts", "sources")
	wantKeys(t, asObject(t, doc["counts"], "counts"), "counts", "themes", "pre_start_themes", "pre_start_items_before_merge", "merged_from", "merged_into")
	wantKeys(t, asObject(t, asArray(t, doc["themes"], "themes")[0], "theme"), "theme", "code", "name", "stage", "modelled")
	wantKeys(t, asObject(t, asArray(t, doc["sources"], "sources")[0], "source"), "source", "title", "url")
}

// TestCriticalPathKeepsThePromise computes, for each project type with no
// facts given (every item of the type required: the longest case), the
// critical path of promised limits through the main flow; an edit of the
// catalog's limits or prerequisites that breaks 35 / 25 / 15 fails here.
func TestCriticalPathKeepsThePromise(t *testing.T) {
	c := DefaultCatalog()
	tests := []struct {
		typ   string
		limit int
	}{
		{ProjectCivil, 35},
		{ProjectIndustrial, 25},
		{ProjectSmallLowRisk, 15},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			cp := c.CriticalPath(ProjectFacts{Type: tt.typ})
			t.Logf("%s: %v, promised %d, statutory %d", tt.typ, cp.Items, cp.PromisedWorkingDays, cp.StatutoryWorkingDays)
			if cp.Limit != tt.limit {
				t.Errorf("limit = %d, want %d", cp.Limit, tt.limit)
			}
			if !cp.Fits() || cp.PromisedWorkingDays > tt.limit {
				t.Errorf("critical path %v takes %d promised working days, more than the promised %d", cp.Items, cp.PromisedWorkingDays, tt.limit)
			}
			// The path is a chain of prerequisites whose promised limits
			// add up to its length.
			sum := 0
			for i, code := range cp.Items {
				it, ok := c.Item(code)
				if !ok {
					t.Fatalf("unknown item %s on the path", code)
				}
				sum += it.PromisedWorkingDays
				if i > 0 && !slices.Contains(it.Prerequisites, cp.Items[i-1]) {
					t.Errorf("%s does not depend on %s", code, cp.Items[i-1])
				}
			}
			if sum != cp.PromisedWorkingDays || len(cp.Items) < 3 {
				t.Errorf("path %v sums to %d, reported %d", cp.Items, sum, cp.PromisedWorkingDays)
			}
		})
	}
}

// TestCriticalPathFailsOnABrokenPromise shows the check can fail: moving
// the fire design review back behind the drawing review with its statutory
// 15 days, as the catalog once had it, breaks the industrial promise.
func TestCriticalPathFailsOnABrokenPromise(t *testing.T) {
	var raw Catalog
	if err := json.Unmarshal(catalogJSON, &raw); err != nil {
		t.Fatal(err)
	}
	for i := range raw.Items {
		it := &raw.Items[i]
		switch it.Code {
		case "ST-02":
			it.Prerequisites, it.AcceptsPreApproval = []string{"ST-01"}, nil
			it.PromisedWorkingDays = it.TimeLimitWorkingDays
		}
	}
	c, err := LoadCatalog(bytes.NewReader(mustJSON(t, &raw)))
	if err != nil {
		t.Fatal(err)
	}
	cp := c.CriticalPath(ProjectFacts{Type: ProjectIndustrial})
	if cp.Fits() {
		t.Errorf("a serial 15-day fire review still fits: %v = %d days", cp.Items, cp.PromisedWorkingDays)
	}
	if !slices.Contains(cp.Items, "ST-02") {
		t.Errorf("path %v misses the fire review", cp.Items)
	}
}

func TestPromisedLimitsBesideStatutory(t *testing.T) {
	c := DefaultCatalog()
	shorter := 0
	for _, it := range c.Items {
		if it.PromisedWorkingDays < 1 || it.PromisedWorkingDays > it.TimeLimitWorkingDays {
			t.Errorf("%s promises %d of statutory %d", it.Code, it.PromisedWorkingDays, it.TimeLimitWorkingDays)
		}
		if it.PromisedWorkingDays < it.TimeLimitWorkingDays {
			shorter++
		}
	}
	if shorter == 0 {
		t.Error("no promised limit is shorter than the statutory one")
	}
	fire, _ := c.Item("ST-02")
	if fire.TimeLimitWorkingDays != 15 || slices.Contains(fire.Prerequisites, "ST-01") {
		t.Errorf("ST-02 = %d days after %v; want 15 working days in parallel with the joint drawing review (住建部令第51号)", fire.TimeLimitWorkingDays, fire.Prerequisites)
	}
}

// TestLimitsCiteTheirSources: every item says where its statutory and
// promised limits come from, by the rule's name (no URL is made up), and
// the limits a rule fixes are the rule's: the fire design review's 15
// working days (住建部令第51号, design/domain.md §1), the drawing review's 10
// for a mid-sized building (住建部令第13号), the construction permit's
// seven days (住建部令第18号 as amended by 第42号).
func TestLimitsCiteTheirSources(t *testing.T) {
	c := DefaultCatalog()
	for _, it := range c.Items {
		if !strings.Contains(it.LimitSource, "法定时限") || !strings.Contains(it.LimitSource, "承诺时限") {
			t.Errorf("%s: limit_source %q does not give both limits' sources", it.Code, it.LimitSource)
		}
		for _, src := range []string{it.LimitSource, it.Rule.Source} {
			if strings.Contains(src, "http") || strings.Contains(src, "www.") {
				t.Errorf("%s cites a URL: %q", it.Code, src)
			}
		}
	}
	for _, tt := range []struct {
		code  string
		days  int
		cites []string
	}{
		{"ST-02", 15, []string{"第51号", "十五个工作日"}},
		{"ST-01", 10, []string{"第13号", "10个工作日"}},
		{"KG-01", 7, []string{"第18号", "第42号", "七日"}},
	} {
		it, ok := c.Item(tt.code)
		if !ok {
			t.Fatalf("no %s", tt.code)
		}
		if it.TimeLimitWorkingDays != tt.days {
			t.Errorf("%s: statutory limit %d, the rule says %d", tt.code, it.TimeLimitWorkingDays, tt.days)
		}
		for _, want := range tt.cites {
			if !strings.Contains(it.LimitSource, want) {
				t.Errorf("%s: limit_source %q does not cite %s", tt.code, it.LimitSource, want)
			}
		}
	}
}

func TestConstructionPermitIssuesFourCertificates(t *testing.T) {
	c := DefaultCatalog()
	var four []string
	for _, it := range c.Items {
		if len(it.Certificates) >= 4 {
			four = append(four, it.Code)
		}
	}
	if len(four) != 1 {
		t.Fatalf("items issuing four certificates = %v, want exactly one", four)
	}
	it, _ := c.Item(four[0])
	if !strings.Contains(it.Name, "施工许可") || it.Theme != "KG" {
		t.Errorf("the four-certificate item is %s %s, want the construction permit in 我要开工", it.Code, it.Name)
	}
	want := []string{"建筑工程施工许可证", "工程质量监督登记证", "工程安全施工措施备案证", "人防工程质量监督登记证"}
	if !slices.Equal(it.Certificates, want) {
		t.Errorf("certificates = %v, want %v", it.Certificates, want)
	}
	if len(it.MergedFrom) != 4 {
		t.Errorf("merged_from = %v, want the four original items", it.MergedFrom)
	}
}

// miniCatalog is a small valid catalog whose mutations exercise Validate.
func miniCatalog() *Catalog {
	all := []string{ProjectCivil, ProjectIndustrial, ProjectSmallLowRisk}
	return &Catalog{
		Version: "test",
		Stages:  []Stage{{Code: "s1", Name: "阶段一", EN: "Stage one"}},
		Themes:  []Theme{{Code: "A", Name: "主题", EN: "Theme", Stage: "s1", LeadDepartment: "局"}},
		Materials: []Material{
			{Code: "lic", Name: "营业执照"}, {Code: "opinion", Name: "审查意见"}, {Code: "plan", Name: "图纸"},
		},
		Intermediaries: []Intermediary{{Code: "design", Name: "设计"}},
		Items: []Item{
			{Code: "A-01", Name: "方案审查", EN: "Scheme", Theme: "A", LeadDepartment: "局", TimeLimitWorkingDays: 5,
				Materials: []string{"lic"}, Intermediaries: []string{"design"}, PreApproval: true,
				Provides: []string{"opinion"}, AppliesTo: all,
				PromisedWorkingDays: 3, LimitSource: "法定时限：条例第五条。承诺时限：建模。", Kind: KindApproval, Rule: Rule{Source: "条例"}},
			{Code: "A-02", Name: "规划许可", EN: "Permit", Theme: "A", LeadDepartment: "局", TimeLimitWorkingDays: 5,
				Materials: []string{"opinion", "plan"}, Prerequisites: []string{"A-01"}, AcceptsPreApproval: []string{"A-01"},
				Waivable:            []Waiver{{Material: "plan", When: WaiveStandardLand, Reason: "标准地"}},
				AppliesTo:           all,
				PromisedWorkingDays: 5, LimitSource: "法定时限：条例第六条。承诺时限：同法定时限。", Kind: KindApproval,
				Rule: Rule{Source: "条例", Cases: []RuleCase{
					{If: Condition{Fact: FactLandSource, In: []string{"owned"}}, Then: RequirementNotRequired, Reason: "自有用地"},
				}}},
		},
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Catalog)
		want   string
	}{
		{"duplicate item code", func(c *Catalog) { c.Items[1].Code = "A-01" }, "used twice"},
		{"non-ASCII code", func(c *Catalog) {
			c.Items[0].Code = "立项-01"
			c.Items[1].Prerequisites = nil
			c.Items[1].AcceptsPreApproval = nil
		}, "ASCII"},
		{"unknown prerequisite", func(c *Catalog) { c.Items[1].Prerequisites = []string{"A-01", "Z-99"} }, "unknown prerequisite"},
		{"self prerequisite", func(c *Catalog) { c.Items[0].Prerequisites = []string{"A-01"} }, "its own prerequisite"},
		{"cycle", func(c *Catalog) { c.Items[0].Prerequisites = []string{"A-02"} }, "cycle"},
		{"unknown material", func(c *Catalog) { c.Items[0].Materials = []string{"lic", "nope"} }, "unknown material"},
		{"unknown intermediary", func(c *Catalog) { c.Items[0].Intermediaries = []string{"nope"} }, "unknown intermediary"},
		{"theme in unknown stage", func(c *Catalog) { c.Themes[0].Stage = "s9" }, "unknown stage"},
		{"item in unknown theme", func(c *Catalog) { c.Items[1].Theme = "Q" }, "unknown theme"},
		{"theme without items", func(c *Catalog) {
			c.Themes = append(c.Themes, Theme{Code: "B", Name: "空", EN: "Empty", Stage: "s1", LeadDepartment: "局"})
		}, "has no items"},
		{"accepts a non-prerequisite", func(c *Catalog) { c.Items[1].Prerequisites = nil }, "not its prerequisite"},
		{"accepts an item without pre-approval", func(c *Catalog) { c.Items[0].PreApproval = false }, "does not support pre-approval"},
		{"waives a material not asked for", func(c *Catalog) { c.Items[1].Waivable[0].Material = "lic" }, "does not ask for"},
		{"waiver condition unknown", func(c *Catalog) { c.Items[1].Waivable[0].When = "sunny" }, "unknown condition"},
		{"no time limit", func(c *Catalog) { c.Items[0].TimeLimitWorkingDays = 0 }, "time limit"},
		{"unknown project type", func(c *Catalog) { c.Items[0].AppliesTo = []string{"villa"} }, "unknown project type"},
		{"promise above the statutory limit", func(c *Catalog) { c.Items[0].PromisedWorkingDays = 6 }, "promised time limit"},
		{"no promise", func(c *Catalog) { c.Items[0].PromisedWorkingDays = 0 }, "promised time limit"},
		{"no limit source", func(c *Catalog) { c.Items[1].LimitSource = "" }, "limit_source"},
		{"limit source without the promise's", func(c *Catalog) { c.Items[0].LimitSource = "法定时限：条例第五条。" }, "limit_source"},
		{"unknown kind", func(c *Catalog) { c.Items[0].Kind = "misc" }, "has kind"},
		{"rule without source", func(c *Catalog) { c.Items[0].Rule.Source = "" }, "no rule source"},
		{"unknown outcome", func(c *Catalog) { c.Items[1].Rule.Cases[0].Then = "maybe" }, "is not one of"},
		{"not required without reason", func(c *Catalog) { c.Items[1].Rule.Cases[0].Reason = "" }, "needs the reason"},
		{"lighter without variant", func(c *Catalog) { c.Items[1].Rule.Cases[0].Then = RequirementLighter }, "needs its variant"},
		{"unknown fact", func(c *Catalog) { c.Items[1].Rule.Cases[0].If.Fact = "colour" }, "unknown fact"},
		{"unknown fact value", func(c *Catalog) { c.Items[1].Rule.Cases[0].If.In = []string{"rented"} }, "has no value"},
		{"wrong test for a boolean", func(c *Catalog) {
			c.Items[1].Rule.Cases[0].If = Condition{Fact: FactHazardousChemicals, In: []string{"yes"}}
		}, "takes only"},
		{"two forms in one condition", func(c *Catalog) { c.Items[1].Rule.Cases[0].If.Regional = "seismic" }, "exactly one"},
		{"unknown regional type", func(c *Catalog) {
			c.Items[1].Rule.Cases[0].If = Condition{Regional: "noise"}
		}, "regional"},
		{"unknown derived fact", func(c *Catalog) {
			c.Items[1].Rule.Cases[0].If = Condition{Derived: "tall"}
		}, "unknown derived"},
		{"waiver on an unknown item", func(c *Catalog) {
			c.Items[1].Waivable[0] = Waiver{Material: "plan", WhenNotRequired: "Z-99", Reason: "无"}
		}, "unknown item"},
		{"merged service", func(c *Catalog) {
			c.Items[0].Kind, c.Items[0].MergedFrom = KindService, []string{"甲", "乙"}
		}, "not a service"},
		{"provider is not a prerequisite", func(c *Catalog) {
			c.Items[1].Prerequisites, c.Items[1].AcceptsPreApproval = nil, nil
		}, "not among its prerequisites"},
		{"two providers of one material", func(c *Catalog) { c.Items[1].Provides = []string{"opinion"} }, "provided by 2 items"},
		{"provider missing for a type", func(c *Catalog) {
			c.Items[0].AppliesTo = []string{ProjectCivil}
		}, "no item providing it applies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := miniCatalog()
			tt.mutate(c)
			_, err := LoadCatalog(bytes.NewReader(mustJSON(t, c)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadCatalog error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestLoadCatalogFormats(t *testing.T) {
	good := mustJSON(t, miniCatalog())
	if _, err := LoadCatalog(bytes.NewReader(good)); err != nil {
		t.Fatalf("mini catalog: %v", err)
	}
	withTypo := bytes.Replace(good, []byte(`"prerequisites"`), []byte(`"prerequisite"`), 1)
	if _, err := LoadCatalog(bytes.NewReader(withTypo)); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("a misspelt field loaded: %v", err)
	}
	path := filepath.Join(t.TempDir(), "catalog.json")
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCatalogFile(path)
	if err != nil {
		t.Fatalf("LoadCatalogFile: %v", err)
	}
	if it, ok := c.Item("A-02"); !ok || it.Name != "规划许可" {
		t.Errorf("Item(A-02) = %v, %v", it, ok)
	}
	if _, err := LoadCatalogFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("LoadCatalogFile(missing) succeeded")
	}
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
