package models

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
)

// catalogJSON is the shipped approval catalog. It is data, not code, so the
// approval office's changes are reviewed as a data diff and an operator can
// point LoadCatalogFile at a newer file without a release.
//
//go:embed catalog.json
var catalogJSON []byte

// Catalog is the themed-approval model of Weifang's 开工直通车: the national
// stages, the 10 themes, every approval item with its materials,
// intermediary services and prerequisites. A Catalog is read-only once
// loaded and safe to share between goroutines; callers must not modify the
// slices it exposes. Build one with LoadCatalog, which also indexes it.
type Catalog struct {
	Version        string         `json:"version"`
	Note           string         `json:"note"`
	Sources        []Source       `json:"sources"`
	Stages         []Stage        `json:"stages"`
	Themes         []Theme        `json:"themes"`
	Materials      []Material     `json:"materials"`
	Intermediaries []Intermediary `json:"intermediaries"`
	Items          []Item         `json:"items"`

	stages         map[string]*Stage
	stageOrder     map[string]int
	themes         map[string]*Theme
	materials      map[string]*Material
	intermediaries map[string]*Intermediary
	items          map[string]*Item
	// providers lists, per material code, the items whose output supplies
	// it, in catalog order.
	providers map[string][]*Item
}

// Stage is one of the four stages of the national reform of construction
// approvals (立项用地规划许可, 工程建设许可, 施工许可, 竣工验收); the
// order of Catalog.Stages is the order a project goes through them.
type Stage struct {
	Code string `json:"code"`
	Name string `json:"name"`
	EN   string `json:"en"`
}

// Theme groups items accepted once by one lead department (一次受理).
// PreStart marks the five themes the seed names for the pre-start phase,
// whose items make up the main-flow clock; Modelled marks themes built from
// the national reform rather than quoted from the seed.
type Theme struct {
	Code           string `json:"code"`
	Name           string `json:"name"`
	EN             string `json:"en"`
	Stage          string `json:"stage"`
	LeadDepartment string `json:"lead_department"`
	PreStart       bool   `json:"pre_start"`
	Modelled       bool   `json:"modelled"`
}

// Material is an application document an item may ask for.
type Material struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Intermediary is an intermediary service (中介服务) an item relies on, such
// as an EIA report writer or a drawing-review agency.
type Intermediary struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Item is one approval item (审批事项), possibly the merger of several
// original items (MergedFrom) issuing several certificates at once.
//
// Prerequisites must be approved before the item can be applied for, except
// those listed in AcceptsPreApproval, whose pre-approval document (预审批) is
// valid application material for this item. Provides names the materials
// this item's output supplies, so later items do not ask the enterprise for
// them again.
type Item struct {
	Code                 string   `json:"code"`
	Name                 string   `json:"name"`
	EN                   string   `json:"en"`
	Theme                string   `json:"theme"`
	LeadDepartment       string   `json:"lead_department"`
	TimeLimitWorkingDays int      `json:"time_limit_working_days"`
	Materials            []string `json:"materials"`
	OptionalMaterials    []string `json:"optional_materials"`
	Intermediaries       []string `json:"intermediaries"`
	Prerequisites        []string `json:"prerequisites"`
	PreApproval          bool     `json:"pre_approval"`
	AcceptsPreApproval   []string `json:"accepts_pre_approval"`
	Certificates         []string `json:"certificates"`
	Provides             []string `json:"provides"`
	MergedFrom           []string `json:"merged_from"`
	AppliesTo            []string `json:"applies_to"`
	Waivable             []Waiver `json:"waivable"`
	// PromisedWorkingDays is the promised time limit (承诺时限) Weifang
	// commits to, at most the statutory TimeLimitWorkingDays; the main
	// flow's promise (35 / 25 / 15) is a sum of these along the critical
	// path.
	PromisedWorkingDays int `json:"promised_working_days"`
	// LimitSource says where TimeLimitWorkingDays (法定时限) and
	// PromisedWorkingDays (承诺时限) come from: the regulation and article
	// where one sets the figure, or that the figure is modelled and which
	// published rule bounds it. A rule's name, not an invented URL.
	LimitSource string `json:"limit_source"`
	// Kind is "approval" (审批事项, counted in the seed's 52) or "service"
	// (a payment, deposit, filing, technical review or utility application
	// handled in the same theme but not one of the seed's approval items).
	Kind string `json:"kind"`
	// Rule decides from the project's facts whether the item is required,
	// lighter, by commitment or not required, citing its regulation.
	Rule             Rule              `json:"rule"`
	CertificateRules []CertificateRule `json:"certificate_rules"`
}

// Item kinds.
const (
	KindApproval = "approval"
	KindService  = "service"
)

// Source is a document the catalog's numbers and rules come from.
type Source struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Waiver says that a material of an item is not needed when a condition of
// the project holds, and why; the guide shows the reason to the enterprise.
type Waiver struct {
	Material string `json:"material"`
	// When is a project fact (WaiveRegionalAssessment, WaiveStandardLand)
	// or a project type such as ProjectSmallLowRisk.
	When string `json:"when,omitempty"`
	// WhenNotRequired names an item: the waiver holds when the project
	// does not need that item (no tender, no award notice). Exactly one of
	// When and WhenNotRequired is set.
	WhenNotRequired string `json:"when_not_required,omitempty"`
	Reason          string `json:"reason"`
}

// maxCatalogBytes bounds a catalog file; the shipped one is under 60 KiB.
const maxCatalogBytes = 4 << 20

// LoadCatalog reads a catalog in the format of models/catalog.json and
// validates it, so a catalog that loads is one the rules can trust.
func LoadCatalog(r io.Reader) (*Catalog, error) {
	var c Catalog
	dec := json.NewDecoder(io.LimitReader(r, maxCatalogBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("catalog: decode: %w", err)
	}
	c.index()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// LoadCatalogFile is LoadCatalog for the file at path, for operators who
// ship a newer catalog beside the binary.
func LoadCatalogFile(path string) (*Catalog, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return LoadCatalog(bytes.NewReader(b))
}

// defaultCatalog parses the embedded catalog once. The embedded file is
// checked by the package's tests, so failing here is a build defect.
var defaultCatalog = sync.OnceValue(func() *Catalog {
	c, err := LoadCatalog(bytes.NewReader(catalogJSON))
	if err != nil {
		panic(fmt.Sprintf("models: embedded catalog.json is invalid: %v", err))
	}
	return c
})

// DefaultCatalog returns the catalog embedded in the binary, parsed once and
// shared.
func DefaultCatalog() *Catalog { return defaultCatalog() }

// index builds the lookup maps. Duplicate codes keep the first entry;
// Validate reports them.
func (c *Catalog) index() {
	c.stages = map[string]*Stage{}
	c.stageOrder = map[string]int{}
	for i := range c.Stages {
		s := &c.Stages[i]
		if _, dup := c.stages[s.Code]; !dup {
			c.stages[s.Code] = s
			c.stageOrder[s.Code] = i
		}
	}
	c.themes = map[string]*Theme{}
	for i := range c.Themes {
		if _, dup := c.themes[c.Themes[i].Code]; !dup {
			c.themes[c.Themes[i].Code] = &c.Themes[i]
		}
	}
	c.materials = map[string]*Material{}
	for i := range c.Materials {
		if _, dup := c.materials[c.Materials[i].Code]; !dup {
			c.materials[c.Materials[i].Code] = &c.Materials[i]
		}
	}
	c.intermediaries = map[string]*Intermediary{}
	for i := range c.Intermediaries {
		if _, dup := c.intermediaries[c.Intermediaries[i].Code]; !dup {
			c.intermediaries[c.Intermediaries[i].Code] = &c.Intermediaries[i]
		}
	}
	c.items = map[string]*Item{}
	c.providers = map[string][]*Item{}
	for i := range c.Items {
		it := &c.Items[i]
		if _, dup := c.items[it.Code]; !dup {
			c.items[it.Code] = it
		}
		for _, m := range it.Provides {
			c.providers[m] = append(c.providers[m], it)
		}
	}
}

// Item returns the item with the given code, for the webhook (unknown items
// are refused) and for push texts (names in both languages).
func (c *Catalog) Item(code string) (*Item, bool) {
	it, ok := c.items[code]
	return it, ok
}

// Theme returns the theme with the given code.
func (c *Catalog) Theme(code string) (*Theme, bool) {
	t, ok := c.themes[code]
	return t, ok
}

// Stage returns the stage with the given code.
func (c *Catalog) Stage(code string) (*Stage, bool) {
	s, ok := c.stages[code]
	return s, ok
}

// Material returns the material with the given code.
func (c *Catalog) Material(code string) (*Material, bool) {
	m, ok := c.materials[code]
	return m, ok
}

// provider returns the item the project needs whose output supplies
// material, or nil when the enterprise must bring the material itself.
// Validate guarantees there is at most one per type.
func (c *Catalog) provider(material string, pl *plan) *Item {
	for _, it := range c.providers[material] {
		if pl.includes(it) {
			return it
		}
	}
	return nil
}

// materialRef returns the code and name of a material.
func (c *Catalog) materialRef(code string) MaterialRef {
	ref := MaterialRef{Code: code}
	if m, ok := c.materials[code]; ok {
		ref.Name = m.Name
	}
	return ref
}

// MaterialRef is a material as the contract names it in next steps:
// {code, name}.
type MaterialRef struct {
	Code string `json:"code"`
	Name string `json:"name"`
}
