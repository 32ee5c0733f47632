package models

import (
	"fmt"
	"slices"
	"sort"
)

// Requirement levels: what a project's facts make of an item.
const (
	// RequirementRequired: the item must be handled as catalogued.
	RequirementRequired = "required"
	// RequirementLighter: a lighter variant is enough (报告书 → 报告表 →
	// 登记表); Variant names it.
	RequirementLighter = "lighter"
	// RequirementCommitment: a written commitment (告知承诺) replaces the
	// approval's materials; the item stays in the guide.
	RequirementCommitment = "commitment"
	// RequirementNotRequired: the project does not need the item; Reason
	// says why. It leaves the guide, next steps, percentage, stage and clock.
	RequirementNotRequired = "not_required"
)

var requirementLevels = []string{RequirementRequired, RequirementLighter, RequirementCommitment, RequirementNotRequired}

// Rule decides an item's requirement from the project's facts. It is kept in
// the catalog data with the regulation it comes from (Source). Cases are
// tried in order; the first whose condition holds decides; none holding
// means required.
//
// A fact the project has not given makes a condition unknown. When the
// cases a known answer could select disagree, the item is treated as
// required and the unknown facts that would decide it are listed, so the
// guide can ask for them (情形引导) instead of guessing in the enterprise's
// disfavour.
type Rule struct {
	Source string     `json:"source"`
	Cases  []RuleCase `json:"cases"`
}

// RuleCase is one case of a Rule.
type RuleCase struct {
	If      Condition `json:"if"`
	Then    string    `json:"then"`
	Variant string    `json:"variant,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	// Source cites the regulation of this case when it is not the rule's.
	Source string `json:"source,omitempty"`
}

// Condition is a test on the project's facts, written in the catalog data.
// Exactly one form is used:
//
//	{"fact": "land_source", "in": ["transfer", "owned"]}   an enum fact is one of
//	{"fact": "hazardous_chemicals", "is": true}            a boolean fact
//	{"fact": "floor_area_m2", "lt": 500} / "le" "gt" "ge"  a number fact
//	{"fact": "zones", "has": "relics"}                     a list fact contains
//	{"derived": "special_construction", "is": true}        a fact derived by a rule in code
//	{"regional": "seismic"}                                a regional assessment covers the type
//	{"all": [...]}, {"any": [...]}, {"not": {...}}         combinations (three-valued)
type Condition struct {
	Fact     string      `json:"fact,omitempty"`
	In       []string    `json:"in,omitempty"`
	Is       *bool       `json:"is,omitempty"`
	LT       *float64    `json:"lt,omitempty"`
	LE       *float64    `json:"le,omitempty"`
	GT       *float64    `json:"gt,omitempty"`
	GE       *float64    `json:"ge,omitempty"`
	Has      string      `json:"has,omitempty"`
	Derived  string      `json:"derived,omitempty"`
	Regional string      `json:"regional,omitempty"`
	All      []Condition `json:"all,omitempty"`
	Any      []Condition `json:"any,omitempty"`
	Not      *Condition  `json:"not,omitempty"`
}

// CertificateRule drops a certificate of an item when its condition holds
// for the project (the 人防 quality-supervision certificate of the
// four-in-one permit without a 人防 basement).
type CertificateRule struct {
	Certificate string    `json:"certificate"`
	Unless      Condition `json:"unless"`
	Reason      string    `json:"reason"`
}

// Requirement is what a project's facts make of one item.
type Requirement struct {
	Level   string `json:"requirement"`
	Variant string `json:"variant,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Source  string `json:"source,omitempty"`
	// UnknownFacts are the facts not given that would change the answer;
	// the item is treated as required until they are.
	UnknownFacts []string `json:"unknown_facts,omitempty"`
}

// Needed reports whether the project must handle the item at all.
func (r Requirement) Needed() bool { return r.Level != RequirementNotRequired }

// tri is a three-valued truth: a condition on a fact not given is unknown.
type tri int8

const (
	triFalse tri = iota
	triTrue
	triUnknown
)

func triOf(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

// factSet collects unknown fact keys.
type factSet map[string]bool

func (s factSet) add(keys ...string) {
	for _, k := range keys {
		s[k] = true
	}
}

func (s factSet) sorted() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// regionalCovers reports whether a regional assessment covers the type for
// the project. The old boolean project.regional_assessment means every
// type, unless the facts list the covered types.
func (p ProjectFacts) regionalCovers(typ string) bool {
	if p.Facts.RegionalAssessment != nil {
		return slices.Contains(p.Facts.RegionalAssessment, typ)
	}
	return p.RegionalAssessment
}

// eval evaluates the condition for the project, adding to unknown the facts
// not given that it depended on.
func (c Condition) eval(p ProjectFacts, unknown factSet) tri {
	f := p.Facts
	switch {
	case c.All != nil:
		out := triTrue
		sub := factSet{}
		for _, x := range c.All {
			switch x.eval(p, sub) {
			case triFalse:
				return triFalse
			case triUnknown:
				out = triUnknown
			}
		}
		unknown.add(sub.sorted()...)
		return out
	case c.Any != nil:
		out := triFalse
		sub := factSet{}
		for _, x := range c.Any {
			switch x.eval(p, sub) {
			case triTrue:
				return triTrue
			case triUnknown:
				out = triUnknown
			}
		}
		unknown.add(sub.sorted()...)
		return out
	case c.Not != nil:
		switch c.Not.eval(p, unknown) {
		case triTrue:
			return triFalse
		case triFalse:
			return triTrue
		default:
			return triUnknown
		}
	case c.Regional != "":
		return triOf(p.regionalCovers(c.Regional))
	case c.Derived != "":
		d, ok := derivedFacts[c.Derived]
		if !ok {
			return triUnknown
		}
		v, missing := d.eval(f)
		if v == triUnknown {
			unknown.add(missing...)
			return triUnknown
		}
		want := c.Is == nil || *c.Is
		return triOf((v == triTrue) == want)
	}
	if !f.Known(c.Fact) {
		unknown.add(c.Fact)
		return triUnknown
	}
	switch spec := factSpecs[c.Fact]; spec.kind {
	case kindEnum:
		return triOf(slices.Contains(c.In, **f.enumField(c.Fact)))
	case kindBool:
		return triOf(c.Is != nil && **f.boolField(c.Fact) == *c.Is)
	case kindNumber:
		n := **f.numberField(c.Fact)
		ok := true
		if c.LT != nil {
			ok = ok && n < *c.LT
		}
		if c.LE != nil {
			ok = ok && n <= *c.LE
		}
		if c.GT != nil {
			ok = ok && n > *c.GT
		}
		if c.GE != nil {
			ok = ok && n >= *c.GE
		}
		return triOf(ok)
	default:
		return triOf(slices.Contains(*f.listField(c.Fact), c.Has))
	}
}

// Decide returns what the project's facts make of the item. An item that
// does not apply to the project's type is not required.
func (it *Item) Decide(p ProjectFacts) Requirement {
	if !it.Applies(p.Type) {
		return Requirement{Level: RequirementNotRequired, Reason: "不适用于该类项目", Source: it.Rule.Source}
	}
	unknown := factSet{}
	var possible []Requirement
	decided := false
	for _, rc := range it.Rule.Cases {
		sub := factSet{}
		v := rc.If.eval(p, sub)
		if v == triFalse {
			continue
		}
		src := rc.Source
		if src == "" {
			src = it.Rule.Source
		}
		possible = append(possible, Requirement{Level: rc.Then, Variant: rc.Variant, Reason: rc.Reason, Source: src})
		if v == triTrue {
			decided = true
			break
		}
		unknown.add(sub.sorted()...)
	}
	if !decided {
		possible = append(possible, Requirement{Level: RequirementRequired, Source: it.Rule.Source})
	}
	last := possible[len(possible)-1]
	for _, r := range possible {
		if r.Level != last.Level || r.Variant != last.Variant {
			return Requirement{Level: RequirementRequired, Source: it.Rule.Source, UnknownFacts: unknown.sorted()}
		}
	}
	return last
}

// certificates returns the item's certificates for the project, without
// those a certificate rule drops.
func (it *Item) certificatesFor(p ProjectFacts) []string {
	if len(it.CertificateRules) == 0 {
		return nonNil(it.Certificates)
	}
	out := make([]string, 0, len(it.Certificates))
	for _, cert := range it.Certificates {
		drop := false
		for _, cr := range it.CertificateRules {
			if cr.Certificate == cert && cr.Unless.eval(p, factSet{}) == triTrue {
				drop = true
			}
		}
		if !drop {
			out = append(out, cert)
		}
	}
	return out
}

// plan is the project's items decided once per call: which apply, and how.
type plan struct {
	p   ProjectFacts
	req map[string]Requirement
}

// plan decides every item of the catalog for the project.
func (c *Catalog) plan(p ProjectFacts) *plan {
	pl := &plan{p: p, req: make(map[string]Requirement, len(c.Items))}
	for i := range c.Items {
		it := &c.Items[i]
		pl.req[it.Code] = it.Decide(p)
	}
	return pl
}

// includes reports whether the project needs the item.
func (pl *plan) includes(it *Item) bool { return pl.req[it.Code].Needed() }

// Requirements returns, in catalog order, every item of the project's type
// with what its facts make of it, for the guide and the preview.
func (c *Catalog) Requirements(p ProjectFacts) []ItemRequirement {
	pl := c.plan(p)
	out := []ItemRequirement{}
	for i := range c.Items {
		it := &c.Items[i]
		if it.Applies(p.Type) {
			out = append(out, ItemRequirement{Code: it.Code, Name: it.Name, Requirement: pl.req[it.Code]})
		}
	}
	return out
}

// ItemRequirement is an item's code and name with its Requirement.
type ItemRequirement struct {
	Code string `json:"code"`
	Name string `json:"name"`
	Requirement
}

// derivedFact is a fact computed from several given ones by a rule too
// long for the catalog's condition language, with its legal source.
type derivedFact struct {
	source string
	eval   func(Facts) (tri, []string)
}

// derivedFacts are the derived facts a catalog condition may name.
var derivedFacts = map[string]derivedFact{
	DerivedSpecialConstruction: {
		source: "《建设工程消防设计审查验收管理暂行规定》（住房和城乡建设部令第51号）第十四条",
		eval:   specialConstruction,
	},
}

// DerivedSpecialConstruction names the derived fact "the project is a
// special construction project (特殊建设工程)", which alone needs a fire
// design review.
const DerivedSpecialConstruction = "special_construction"

// Thresholds of 住建部令第51号 第十四条 by use: a building of the use whose
// total floor area is above the threshold is a special construction
// project. Where the article lists several buildings of one contract use,
// the lowest threshold is taken (public_assembly: 500 m² for dance halls and
// similar venues, the lowest of (一)(四)(六); school: 1,000 m² for primary
// and secondary teaching buildings, (五); hospital and elderly_care: 1,000
// m² for wards and care homes, (五); hotel and commercial: 10,000 m², (三)).
var specialFloorArea = map[string]float64{
	"public_assembly": 500,
	"school":          1000,
	"hospital":        1000,
	"elderly_care":    1000,
	"hotel":           10000,
	"commercial":      10000,
	"office":          40000,
}

// Other thresholds of 第十四条: (七) a class-one high-rise residential
// building (一类高层住宅, over 54 m per GB 50016); (十二) any public building
// over 40,000 m² or over 50 m.
const (
	specialResidentialHeight = 54
	specialPublicArea        = 40000
	specialPublicHeight      = 50
)

// specialConstruction derives 特殊建设工程 from use, floor area, height and
// hazardous chemicals (第十四条(九): plants and stores of flammable and
// explosive goods).
func specialConstruction(f Facts) (tri, []string) {
	if f.Use == nil {
		if f.HazardousChemicals != nil && *f.HazardousChemicals {
			return triTrue, nil
		}
		return triUnknown, []string{FactUse}
	}
	switch use := *f.Use; use {
	case "hazardous_goods":
		return triTrue, nil
	case "industrial", "warehouse":
		if f.HazardousChemicals == nil {
			return triUnknown, []string{FactHazardousChemicals}
		}
		return triOf(*f.HazardousChemicals), nil
	case "residential":
		if f.HeightM == nil {
			return triUnknown, []string{FactHeight}
		}
		return triOf(*f.HeightM > specialResidentialHeight), nil
	default:
		limit, ok := specialFloorArea[use]
		if !ok {
			panic(fmt.Sprintf("models: no special-construction threshold for use %q", use))
		}
		areaKnown, heightKnown := f.FloorAreaM2 != nil, f.HeightM != nil
		if areaKnown && (*f.FloorAreaM2 > limit || *f.FloorAreaM2 > specialPublicArea) {
			return triTrue, nil
		}
		if heightKnown && *f.HeightM > specialPublicHeight {
			return triTrue, nil
		}
		switch {
		case areaKnown && heightKnown:
			return triFalse, nil
		case areaKnown:
			return triUnknown, []string{FactHeight}
		case heightKnown:
			return triUnknown, []string{FactFloorArea}
		default:
			return triUnknown, []string{FactFloorArea, FactHeight}
		}
	}
}
