package models

import "slices"

// ProjectTypes lists the project types of the contract. The type decides
// which items apply and the main-flow time limit.
var ProjectTypes = []string{ProjectCivil, ProjectIndustrial, ProjectSmallLowRisk}

// IsProjectType reports whether s is one of ProjectTypes, for validating
// upstream events before they reach the rules.
func IsProjectType(s string) bool { return slices.Contains(ProjectTypes, s) }

// Project facts a waiver may depend on (Waiver.When). A waiver may also name
// a project type.
const (
	WaiveRegionalAssessment = "regional_assessment"
	WaiveStandardLand       = "standard_land"
)

// ProjectFacts are the attributes of a project that shape its customized
// guide (定制式告知): its type picks the items, and a regional-assessment
// zone (区域评估) or standard land (标准地) waives materials. KeyProject
// changes who helps (a full-process help-agent), not what is needed; it is
// here so one value describes the project to every rule.
type ProjectFacts struct {
	Type               string
	KeyProject         bool
	RegionalAssessment bool
	StandardLand       bool
}

// FactsOf returns the facts of a stored project.
func FactsOf(p *Project) ProjectFacts {
	return ProjectFacts{
		Type:               p.Type,
		KeyProject:         p.KeyProject,
		RegionalAssessment: p.RegionalAssessment,
		StandardLand:       p.StandardLand,
	}
}

// Applies reports whether the item applies to projects of the given type.
func (it *Item) Applies(projectType string) bool {
	return slices.Contains(it.AppliesTo, projectType)
}

// AcceptsPreApprovalOf reports whether a pre-approval of the prerequisite
// code is enough for this item (the seed's chain: one step's pre-approval
// document is valid material for the next step).
func (it *Item) AcceptsPreApprovalOf(code string) bool {
	return slices.Contains(it.AcceptsPreApproval, code)
}

// Matches reports whether the waiver's condition holds for the project.
func (w Waiver) Matches(p ProjectFacts) bool {
	switch w.When {
	case WaiveRegionalAssessment:
		return p.RegionalAssessment
	case WaiveStandardLand:
		return p.StandardLand
	default:
		return w.When == p.Type
	}
}

// waiverFor returns the first waiver of material that holds for the
// project, or nil when the material is needed.
func (it *Item) waiverFor(material string, p ProjectFacts) *Waiver {
	for i := range it.Waivable {
		w := &it.Waivable[i]
		if w.Material == material && w.Matches(p) {
			return w
		}
	}
	return nil
}

// applicableItems returns the items that apply to the project, in catalog
// order.
func (c *Catalog) applicableItems(p ProjectFacts) []*Item {
	out := make([]*Item, 0, len(c.Items))
	for i := range c.Items {
		if c.Items[i].Applies(p.Type) {
			out = append(out, &c.Items[i])
		}
	}
	return out
}

// dependsOn returns the item's prerequisites that apply to the project. A
// prerequisite that does not apply to the project's type imposes nothing:
// a small low-risk project that needs no tender does not wait for one.
func (c *Catalog) dependsOn(it *Item, projectType string) []string {
	out := make([]string, 0, len(it.Prerequisites))
	for _, code := range it.Prerequisites {
		if pre, ok := c.items[code]; ok && pre.Applies(projectType) {
			out = append(out, code)
		}
	}
	return out
}
