package models

// Guide is a project's customized guide (定制式告知): "one form" listing, by
// theme, every item with its materials, intermediaries and dependencies, and
// "one map", the same as a graph for drawing. Its JSON is the contract's
// GET /v1/projects/{id}/guide body; every list is an array, never null.
type Guide struct {
	Form GuideForm `json:"form"`
	Map  GuideMap  `json:"map"`
}

// GuideForm is the "one form" (一张表) of a guide.
type GuideForm struct {
	Themes []GuideTheme `json:"themes"`
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

// GuideItem is one item of the form.
type GuideItem struct {
	Code                 string          `json:"code"`
	Name                 string          `json:"name"`
	LeadDepartment       string          `json:"lead_department"`
	TimeLimitWorkingDays int             `json:"time_limit_working_days"`
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
// (item code → status; a missing item is not started). Only the items that
// apply to the project's type appear, and themes without any are left out.
func (c *Catalog) Guide(p ProjectFacts, statuses map[string]string) Guide {
	g := Guide{
		Form: GuideForm{Themes: []GuideTheme{}},
		Map:  GuideMap{Nodes: []MapNode{}, Edges: []MapEdge{}},
	}
	byTheme := c.itemsByTheme(p)
	for i := range c.Themes {
		t := &c.Themes[i]
		items := byTheme[t.Code]
		if len(items) == 0 {
			continue
		}
		gt := GuideTheme{Code: t.Code, Name: t.Name, Stage: t.Stage, LeadDepartment: t.LeadDepartment, Items: make([]GuideItem, 0, len(items))}
		g.Map.Nodes = append(g.Map.Nodes, MapNode{ID: t.Code, Kind: NodeTheme, Label: t.Name, Status: themeStatus(items, statuses)})
		for _, it := range items {
			gi := c.guideItem(it, p)
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

// itemsByTheme groups the project's applicable items by theme code, each
// group in catalog order.
func (c *Catalog) itemsByTheme(p ProjectFacts) map[string][]*Item {
	out := map[string][]*Item{}
	for _, it := range c.applicableItems(p) {
		out[it.Theme] = append(out[it.Theme], it)
	}
	return out
}

func (c *Catalog) guideItem(it *Item, p ProjectFacts) GuideItem {
	gi := GuideItem{
		Code:                 it.Code,
		Name:                 it.Name,
		LeadDepartment:       it.LeadDepartment,
		TimeLimitWorkingDays: it.TimeLimitWorkingDays,
		PreApproval:          it.PreApproval,
		Certificates:         nonNil(it.Certificates),
		MergedFrom:           nonNil(it.MergedFrom),
		Materials:            make([]GuideMaterial, 0, len(it.Materials)+len(it.OptionalMaterials)),
		Intermediaries:       make([]Intermediary, 0, len(it.Intermediaries)),
		DependsOn:            c.dependsOn(it, p.Type),
	}
	add := func(code string, required bool) {
		ref := c.materialRef(code)
		gm := GuideMaterial{Code: code, Name: ref.Name, Required: required}
		if w := it.waiverFor(code, p); w != nil {
			reason := w.Reason
			gm.Waived, gm.WaivedReason = true, &reason
		}
		if prov := c.provider(code, p.Type); prov != nil {
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
