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
// guide (定制式告知): its type picks the items, its Facts (情形) decide
// which of them it needs and how (see Rule), and a regional-assessment
// zone (区域评估) or standard land (标准地) waives materials. KeyProject
// changes who helps (a full-process help-agent), not what is needed; it is
// here so one value describes the project to every rule.
//
// RegionalAssessment is the old boolean project.regional_assessment: true
// means every assessment type is covered unless Facts.RegionalAssessment
// lists the covered ones.
type ProjectFacts struct {
	Type               string
	KeyProject         bool
	RegionalAssessment bool
	StandardLand       bool
	Facts              Facts
}

// FactsOf returns the facts of a stored project. Facts that cannot be read
// back (the webhook stores only parsed ones) count as not given, so every
// item they would decide is treated as required.
func FactsOf(p *Project) ProjectFacts {
	f, err := p.Facts()
	if err != nil {
		f = Facts{}
	}
	return ProjectFacts{
		Type:               p.Type,
		KeyProject:         p.KeyProject,
		RegionalAssessment: p.RegionalAssessment,
		StandardLand:       p.StandardLand,
		Facts:              f,
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

// Matches reports whether the waiver's When condition holds for the
// project. A WhenNotRequired waiver depends on the other item's rule and is
// decided where the project's items are (the guide, the next steps); Matches
// reports false for it.
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
func (it *Item) waiverFor(material string, pl *plan) *Waiver {
	for i := range it.Waivable {
		w := &it.Waivable[i]
		if w.Material != material {
			continue
		}
		if w.WhenNotRequired != "" {
			if r, ok := pl.req[w.WhenNotRequired]; ok && !r.Needed() {
				return w
			}
			continue
		}
		if w.Matches(pl.p) {
			return w
		}
	}
	return nil
}

// applicableItems returns the items the project needs, in catalog order:
// those of its type that its facts do not rule out.
func (c *Catalog) applicableItems(pl *plan) []*Item {
	out := make([]*Item, 0, len(c.Items))
	for i := range c.Items {
		if pl.includes(&c.Items[i]) {
			out = append(out, &c.Items[i])
		}
	}
	return out
}

// dependsOn returns the item's prerequisites that the project needs. A
// prerequisite the project does not need imposes nothing: a small low-risk
// project that needs no tender does not wait for one, nor does a project
// on transferred land wait for a siting opinion.
func (c *Catalog) dependsOn(it *Item, pl *plan) []string {
	out := make([]string, 0, len(it.Prerequisites))
	for _, code := range it.Prerequisites {
		if pre, ok := c.items[code]; ok && pl.includes(pre) {
			out = append(out, code)
		}
	}
	return out
}
