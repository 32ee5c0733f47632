package models

import "fmt"

// Guide is a project's customized guide (定制式告知): "one form" listing, by
// theme, every item with its materials, intermediaries and dependencies, and
// "one map", the same as a graph for drawing. Its JSON is the contract's
// GET /v1/projects/{id}/guide body; every list is an array, never null.
type Guide struct {
	Form GuideForm `json:"form"`
	Map  GuideMap  `json:"map"`
}

// GuideForm is the "one form" (一张表) of a guide. NotRequired lists, in
// catalog order, the items of the project's type its facts rule out, with
// the reason shown to the enterprise; UnknownFacts lists the facts not
// given that would change an item (each item says which of them concern
// it), sorted.
type GuideForm struct {
	Themes       []GuideTheme      `json:"themes"`
	NotRequired  []NotRequiredItem `json:"not_required"`
	UnknownFacts []string          `json:"unknown_facts"`
}

// NotRequiredItem is an item the project does not need, and why.
type NotRequiredItem struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// GuideTheme is one theme of the form with the items that apply to the
// project.
type GuideTheme struct {
	Code           string      `json:"code"`
	Name           string      `json:"name"`
	Stage          string      `json:"stage"`
	LeadDepartment string      `json:"lead_department"`
	Items          []GuideItem `json:"items"`
}

// GuideItem is one item of the form. Requirement is required, lighter
// (Variant names the lighter form) or commitment (告知承诺);
// TimeLimitWorkingDays is the statutory limit, PromisedWorkingDays the
// promised one (承诺时限), LimitSource where both come from; UnknownFacts
// are the facts not given that would
// change the requirement (the item is treated as required until then).
type GuideItem struct {
	Code                 string          `json:"code"`
	Name                 string          `json:"name"`
	Requirement          string          `json:"requirement"`
	Variant              *string         `json:"variant"`
	UnknownFacts         []string        `json:"unknown_facts"`
	LeadDepartment       string          `json:"lead_department"`
	TimeLimitWorkingDays int             `json:"time_limit_working_days"`
	PromisedWorkingDays  int             `json:"promised_working_days"`
	LimitSource          string          `json:"limit_source"`
	PreApproval          bool            `json:"pre_approval"`
	Certificates         []string        `json:"certificates"`
	MergedFrom           []string        `json:"merged_from"`
	Materials            []GuideMaterial `json:"materials"`
	Intermediaries       []Intermediary  `json:"intermediaries"`
	DependsOn            []string        `json:"depends_on"`
}

// GuideMaterial is one material of an item. A waived material stays listed,
// with the reason, so the enterprise sees why it need not bring it;
// ProvidedByItem names the item whose output supplies it (nil when the
// enterprise prepares it).
type GuideMaterial struct {
	Code           string  `json:"code"`
	Name           string  `json:"name"`
	Required       bool    `json:"required"`
	Waived         bool    `json:"waived"`
	WaivedReason   *string `json:"waived_reason"`
	ProvidedByItem *string `json:"provided_by_item"`
}

// GuideMap is the "one map" (一张图): themes and items as nodes, and edges
// that all point downstream, from a theme to its items and from a
// prerequisite to the item that needs it.
type GuideMap struct {
	Nodes []MapNode `json:"nodes"`
	Edges []MapEdge `json:"edges"`
}

// Map node kinds and edge kinds of the contract.
const (
	NodeTheme = "theme"
	NodeItem  = "item"

	// EdgeContains goes from a theme to one of its items.
	EdgeContains = "contains"
	// EdgeRequires goes from a prerequisite to an item that needs it
	// approved.
	EdgeRequires = "requires"
	// EdgePreApprovalOK goes from a prerequisite to an item that also
	// accepts its pre-approval; it replaces the requires edge.
	EdgePreApprovalOK = "pre_approval_ok"
)

// MapNode is a theme or an item of the map, with its current status (an
// item status, or a theme status for themes).
type MapNode struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Label  string `json:"label"`
	Status string `json:"status"`
}

// MapEdge links two nodes of the map.
type MapEdge struct {
	From string `json:"from"`
	To   string `json:"to"`
	Kind string `json:"kind"`
}

// Guide builds the project's guide from its facts and its items' statuses
// (item code → status; a missing item is not started). Only the items the
// project needs appear in the form and the map, and themes without any are
// left out; the items of its type that its facts rule out are listed in
// form.not_required with the reason.
func (c *Catalog) Guide(p ProjectFacts, statuses map[string]string) Guide {
	pl := c.plan(p)
	g := Guide{
		Form: GuideForm{Themes: []GuideTheme{}, NotRequired: []NotRequiredItem{}, UnknownFacts: []string{}},
		Map:  GuideMap{Nodes: []MapNode{}, Edges: []MapEdge{}},
	}
	unknown := factSet{}
	for i := range c.Items {
		it := &c.Items[i]
		if !it.Applies(p.Type) {
			continue
		}
		r := pl.req[it.Code]
		if !r.Needed() {
			g.Form.NotRequired = append(g.Form.NotRequired, NotRequiredItem{Code: it.Code, Name: it.Name, Reason: r.Reason})
		}
		unknown.add(r.UnknownFacts...)
	}
	g.Form.UnknownFacts = unknown.sorted()
	byTheme := c.itemsByTheme(pl)
	for i := range c.Themes {
		t := &c.Themes[i]
		items := byTheme[t.Code]
		if len(items) == 0 {
			continue
		}
		gt := GuideTheme{Code: t.Code, Name: t.Name, Stage: t.Stage, LeadDepartment: t.LeadDepartment, Items: make([]GuideItem, 0, len(items))}
		g.Map.Nodes = append(g.Map.Nodes, MapNode{ID: t.Code, Kind: NodeTheme, Label: t.Name, Status: themeStatus(items, statuses)})
		for _, it := range items {
			gi := c.guideItem(it, pl)
			gt.Items = append(gt.Items, gi)
			g.Map.Nodes = append(g.Map.Nodes, MapNode{ID: it.Code, Kind: NodeItem, Label: it.Name, Status: statusOf(statuses, it.Code)})
			g.Map.Edges = append(g.Map.Edges, MapEdge{From: t.Code, To: it.Code, Kind: EdgeContains})
			for _, pre := range gi.DependsOn {
				kind := EdgeRequires
				if it.AcceptsPreApprovalOf(pre) {
					kind = EdgePreApprovalOK
				}
				g.Map.Edges = append(g.Map.Edges, MapEdge{From: pre, To: it.Code, Kind: kind})
			}
		}
		g.Form.Themes = append(g.Form.Themes, gt)
	}
	return g
}

// Preview answers the guide a project of this type with these facts would
// get before it exists (情形引导, POST /v1/guide/preview): every item not
// started. An unknown type is a validation error on field "type".
func (c *Catalog) Preview(projectType string, facts Facts) (Guide, error) {
	if !IsProjectType(projectType) {
		return Guide{}, ValidationError(FieldError{Field: "type", Message: fmt.Sprintf("must be one of %v", ProjectTypes)})
	}
	return c.Guide(ProjectFacts{Type: projectType, Facts: facts}, nil), nil
}

// itemsByTheme groups the items the project needs by theme code, each
// group in catalog order.
func (c *Catalog) itemsByTheme(pl *plan) map[string][]*Item {
	out := map[string][]*Item{}
	for _, it := range c.applicableItems(pl) {
		out[it.Theme] = append(out[it.Theme], it)
	}
	return out
}

func (c *Catalog) guideItem(it *Item, pl *plan) GuideItem {
	r := pl.req[it.Code]
	gi := GuideItem{
		Code:                 it.Code,
		Name:                 it.Name,
		Requirement:          r.Level,
		UnknownFacts:         nonNil(r.UnknownFacts),
		LeadDepartment:       it.LeadDepartment,
		TimeLimitWorkingDays: it.TimeLimitWorkingDays,
		PromisedWorkingDays:  it.PromisedWorkingDays,
		LimitSource:          it.LimitSource,
		PreApproval:          it.PreApproval,
		Certificates:         it.certificatesFor(pl.p),
		MergedFrom:           nonNil(it.MergedFrom),
		Materials:            make([]GuideMaterial, 0, len(it.Materials)+len(it.OptionalMaterials)),
		Intermediaries:       make([]Intermediary, 0, len(it.Intermediaries)),
		DependsOn:            c.dependsOn(it, pl),
	}
	if r.Variant != "" {
		v := r.Variant
		gi.Variant = &v
	}
	add := func(code string, required bool) {
		ref := c.materialRef(code)
		gm := GuideMaterial{Code: code, Name: ref.Name, Required: required}
		if w := it.waiverFor(code, pl); w != nil {
			reason := w.Reason
			gm.Waived, gm.WaivedReason = true, &reason
		}
		if prov := c.provider(code, pl); prov != nil {
			by := prov.Code
			gm.ProvidedByItem = &by
		}
		gi.Materials = append(gi.Materials, gm)
	}
	for _, m := range it.Materials {
		add(m, true)
	}
	for _, m := range it.OptionalMaterials {
		add(m, false)
	}
	for _, code := range it.Intermediaries {
		if im, ok := c.intermediaries[code]; ok {
			gi.Intermediaries = append(gi.Intermediaries, *im)
		}
	}
	return gi
}

// nonNil returns s, or an empty slice for nil, so JSON shows [] not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
