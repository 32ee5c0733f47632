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

// TestCatalogCounts pins the catalog's size so an edit that drops items is
// noticed, and logs the counts for the record.
func TestCatalogCounts(t *testing.T) {
	c := DefaultCatalog()
	preStart := func(typ string) (items, merged, originals int) {
		for _, it := range c.Items {
			th, _ := c.Theme(it.Theme)
			if !th.PreStart || !it.Applies(typ) {
				continue
			}
			items++
			if len(it.MergedFrom) > 0 {
				merged++
				originals += len(it.MergedFrom)
			}
		}
		return
	}
	civil, merged, originals := preStart(ProjectCivil)
	industrial, _, _ := preStart(ProjectIndustrial)
	small, _, _ := preStart(ProjectSmallLowRisk)
	t.Logf("items: %d in all; pre-start: civil %d, industrial %d, small_low_risk %d; %d merged items fold %d original items",
		len(c.Items), civil, industrial, small, merged, originals)
	if civil < 40 || civil > 52 {
		t.Errorf("civil pre-start items = %d, want 40-52", civil)
	}
	if merged != 8 {
		t.Errorf("merged pre-start items = %d, want 8 as in the seed", merged)
	}
	if small*2 > civil {
		t.Errorf("small_low_risk pre-start items = %d, want far fewer than civil's %d", small, civil)
	}
	for _, th := range c.Themes {
		n := 0
		for _, it := range c.Items {
			if it.Theme == th.Code {
				n++
			}
		}
		if th.Modelled && (n < 2 || n > 8) {
			t.Errorf("modelled theme %s has %d items, want a handful", th.Code, n)
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
				Provides: []string{"opinion"}, AppliesTo: all},
			{Code: "A-02", Name: "规划许可", EN: "Permit", Theme: "A", LeadDepartment: "局", TimeLimitWorkingDays: 5,
				Materials: []string{"opinion", "plan"}, Prerequisites: []string{"A-01"}, AcceptsPreApproval: []string{"A-01"},
				Waivable:  []Waiver{{Material: "plan", When: WaiveStandardLand, Reason: "标准地"}},
				AppliesTo: all},
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
