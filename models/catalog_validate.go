package models

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Validate checks the catalog's integrity: unique codes; every theme in a
// known stage and every item in a known theme; prerequisites, materials and
// intermediaries that exist; pre-approval acceptance only of prerequisites
// that support pre-approval; no cycles among prerequisites; and, per project
// type, that a material an item needs from another item's output comes from
// exactly one item that is a (transitive) prerequisite, so next steps never
// ask for something the project cannot have yet. It reports every problem
// found, not just the first.
func (c *Catalog) Validate() error {
	if c.items == nil {
		c.index()
	}
	v := &validation{}
	c.validateReferenceData(v)
	c.validateItems(v)
	if !v.failed() {
		// The per-type checks walk the prerequisite graph and only make
		// sense on a catalog whose references resolve and which has no
		// cycles.
		if c.validateAcyclic(v); !v.failed() {
			c.validateProvidedMaterials(v)
		}
	}
	if v.failed() {
		return fmt.Errorf("catalog: invalid: %w", errors.Join(v.errs...))
	}
	return nil
}

type validation struct{ errs []error }

func (v *validation) addf(format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf(format, args...))
}

func (v *validation) failed() bool { return len(v.errs) > 0 }

// validCode reports whether s is a code clients and database columns can
// carry: 1–64 ASCII letters, digits, '-' or '_'.
func validCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
		if !ok {
			return false
		}
	}
	return true
}

// uniqueCodes reports invalid and duplicate codes of one kind of entry.
func uniqueCodes(v *validation, kind string, codes []string) {
	seen := map[string]bool{}
	for _, code := range codes {
		if !validCode(code) {
			v.addf("%s code %q is not 1-64 ASCII letters, digits, '-' or '_'", kind, code)
		}
		if seen[code] {
			v.addf("%s code %q is used twice", kind, code)
		}
		seen[code] = true
	}
}

func (c *Catalog) validateReferenceData(v *validation) {
	if len(c.Stages) == 0 {
		v.addf("no stages")
	}
	uniqueCodes(v, "stage", codesOf(c.Stages, func(s Stage) string { return s.Code }))
	for _, s := range c.Stages {
		if s.Name == "" || s.EN == "" {
			v.addf("stage %s needs a name and an en name", s.Code)
		}
	}
	uniqueCodes(v, "theme", codesOf(c.Themes, func(t Theme) string { return t.Code }))
	for _, t := range c.Themes {
		if t.Name == "" || t.EN == "" || t.LeadDepartment == "" {
			v.addf("theme %s needs a name, an en name and a lead department", t.Code)
		}
		if _, ok := c.stages[t.Stage]; !ok {
			v.addf("theme %s is in unknown stage %q", t.Code, t.Stage)
		}
	}
	uniqueCodes(v, "material", codesOf(c.Materials, func(m Material) string { return m.Code }))
	for _, m := range c.Materials {
		if m.Name == "" {
			v.addf("material %s has no name", m.Code)
		}
	}
	uniqueCodes(v, "intermediary", codesOf(c.Intermediaries, func(m Intermediary) string { return m.Code }))
	for _, m := range c.Intermediaries {
		if m.Name == "" {
			v.addf("intermediary %s has no name", m.Code)
		}
	}
}

func (c *Catalog) validateItems(v *validation) {
	uniqueCodes(v, "item", codesOf(c.Items, func(it Item) string { return it.Code }))
	used := map[string]bool{}
	for i := range c.Items {
		it := &c.Items[i]
		used[it.Theme] = true
		if _, clash := c.themes[it.Code]; clash {
			v.addf("item code %s is also a theme code; map node ids would collide", it.Code)
		}
		if it.Name == "" || it.EN == "" || it.LeadDepartment == "" {
			v.addf("item %s needs a name, an en name and a lead department", it.Code)
		}
		if _, ok := c.themes[it.Theme]; !ok {
			v.addf("item %s is in unknown theme %q", it.Code, it.Theme)
		}
		if it.TimeLimitWorkingDays <= 0 {
			v.addf("item %s has no positive time limit", it.Code)
		}
		if it.PromisedWorkingDays <= 0 || it.PromisedWorkingDays > it.TimeLimitWorkingDays {
			v.addf("item %s has promised time limit %d; it must be 1 to the statutory %d", it.Code, it.PromisedWorkingDays, it.TimeLimitWorkingDays)
		}
		if !strings.Contains(it.LimitSource, "法定时限") || !strings.Contains(it.LimitSource, "承诺时限") {
			v.addf("item %s must say where its statutory (法定时限) and promised (承诺时限) limits come from in limit_source", it.Code)
		}
		switch it.Kind {
		case KindApproval:
		case KindService:
			if len(it.MergedFrom) > 0 {
				v.addf("item %s merges approval items, so it is an approval, not a service", it.Code)
			}
		default:
			v.addf("item %s has kind %q; want %q or %q", it.Code, it.Kind, KindApproval, KindService)
		}
		validateRule(v, it)
		if len(it.AppliesTo) == 0 {
			v.addf("item %s applies to no project type", it.Code)
		}
		for _, t := range it.AppliesTo {
			if !IsProjectType(t) {
				v.addf("item %s applies to unknown project type %q", it.Code, t)
			}
		}
		c.validateItemRefs(v, it)
	}
	for _, t := range c.Themes {
		if !used[t.Code] {
			v.addf("theme %s has no items", t.Code)
		}
	}
}

func (c *Catalog) validateItemRefs(v *validation, it *Item) {
	all := slices.Concat(it.Materials, it.OptionalMaterials)
	seen := map[string]bool{}
	for _, m := range all {
		if _, ok := c.materials[m]; !ok {
			v.addf("item %s asks for unknown material %q", it.Code, m)
		}
		if seen[m] {
			v.addf("item %s lists material %s twice", it.Code, m)
		}
		seen[m] = true
	}
	for _, m := range it.Provides {
		if _, ok := c.materials[m]; !ok {
			v.addf("item %s provides unknown material %q", it.Code, m)
		}
	}
	for _, m := range it.Intermediaries {
		if _, ok := c.intermediaries[m]; !ok {
			v.addf("item %s uses unknown intermediary %q", it.Code, m)
		}
	}
	prereqs := map[string]bool{}
	for _, p := range it.Prerequisites {
		if p == it.Code {
			v.addf("item %s is its own prerequisite", it.Code)
		}
		if _, ok := c.items[p]; !ok {
			v.addf("item %s has unknown prerequisite %q", it.Code, p)
		}
		if prereqs[p] {
			v.addf("item %s lists prerequisite %s twice", it.Code, p)
		}
		prereqs[p] = true
	}
	for _, p := range it.AcceptsPreApproval {
		if !prereqs[p] {
			v.addf("item %s accepts the pre-approval of %s, which is not its prerequisite", it.Code, p)
			continue
		}
		if pre, ok := c.items[p]; ok && !pre.PreApproval {
			v.addf("item %s accepts the pre-approval of %s, which does not support pre-approval", it.Code, p)
		}
	}
	for _, w := range it.Waivable {
		if !seen[w.Material] {
			v.addf("item %s waives material %q it does not ask for", it.Code, w.Material)
		}
		switch {
		case w.WhenNotRequired != "":
			if w.When != "" {
				v.addf("item %s waives %s under both when and when_not_required", it.Code, w.Material)
			}
			if _, ok := c.items[w.WhenNotRequired]; !ok {
				v.addf("item %s waives %s when unknown item %q is not required", it.Code, w.Material, w.WhenNotRequired)
			}
		case w.When != WaiveRegionalAssessment && w.When != WaiveStandardLand && !IsProjectType(w.When):
			v.addf("item %s waives %s under unknown condition %q", it.Code, w.Material, w.When)
		}
		if w.Reason == "" {
			v.addf("item %s waives %s without a reason", it.Code, w.Material)
		}
	}
}

// validateAcyclic reports a cycle among prerequisites, naming its path.
func (c *Catalog) validateAcyclic(v *validation) {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(code string) bool
	visit = func(code string) bool {
		switch state[code] {
		case visiting:
			v.addf("prerequisites form a cycle: %v", append(slices.Clone(path), code))
			return false
		case done:
			return true
		}
		state[code] = visiting
		path = append(path, code)
		for _, p := range c.items[code].Prerequisites {
			if !visit(p) {
				return false
			}
		}
		path = path[:len(path)-1]
		state[code] = done
		return true
	}
	for _, it := range c.Items {
		if !visit(it.Code) {
			return
		}
	}
}

// validateProvidedMaterials checks, for each project type, where each
// required material comes from.
func (c *Catalog) validateProvidedMaterials(v *validation) {
	for _, typ := range ProjectTypes {
		// With no facts given every rule answers required, so this plan
		// holds every item of the type.
		pl := c.plan(ProjectFacts{Type: typ})
		for m, providers := range c.providers {
			n := 0
			for _, p := range providers {
				if pl.includes(p) {
					n++
				}
			}
			if n > 1 {
				v.addf("material %s is provided by %d items for %s projects; the guide needs one", m, n, typ)
			}
		}
		for i := range c.Items {
			it := &c.Items[i]
			if !pl.includes(it) {
				continue
			}
			ancestors := c.ancestors(it, pl)
			for _, m := range it.Materials {
				if len(c.providers[m]) == 0 || it.waiverFor(m, pl) != nil {
					continue
				}
				p := c.provider(m, pl)
				switch {
				case p == nil:
					v.addf("item %s needs %s for %s projects, but no item providing it applies to them; waive it for %s", it.Code, m, typ, typ)
				case !ancestors[p.Code]:
					v.addf("item %s needs %s from %s for %s projects, but %s is not among its prerequisites", it.Code, m, p.Code, typ, p.Code)
				}
			}
		}
	}
}

// ancestors returns the transitive prerequisites of it that the plan holds.
func (c *Catalog) ancestors(it *Item, pl *plan) map[string]bool {
	seen := map[string]bool{}
	stack := c.dependsOn(it, pl)
	for len(stack) > 0 {
		code := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[code] {
			continue
		}
		seen[code] = true
		stack = append(stack, c.dependsOn(c.items[code], pl)...)
	}
	return seen
}

func codesOf[T any](xs []T, code func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = code(x)
	}
	return out
}

// validateRule checks an item's rule: a source; each case a known outcome
// with what it needs (a variant for lighter, a reason for not required) and
// a well-formed condition; certificate rules about the item's own
// certificates.
func validateRule(v *validation, it *Item) {
	if it.Rule.Source == "" {
		v.addf("item %s has no rule source (the regulation its requirement comes from)", it.Code)
	}
	for i, rc := range it.Rule.Cases {
		where := fmt.Sprintf("item %s rule case %d", it.Code, i)
		if !slices.Contains(requirementLevels, rc.Then) {
			v.addf("%s: then %q is not one of %v", where, rc.Then, requirementLevels)
		}
		if rc.Then == RequirementLighter && rc.Variant == "" {
			v.addf("%s: a lighter requirement needs its variant", where)
		}
		if rc.Then == RequirementNotRequired && rc.Reason == "" {
			v.addf("%s: not required needs the reason shown to the enterprise", where)
		}
		validateCondition(v, where, rc.If)
	}
	for _, cr := range it.CertificateRules {
		where := fmt.Sprintf("item %s certificate rule", it.Code)
		if !slices.Contains(it.Certificates, cr.Certificate) {
			v.addf("%s: %q is not a certificate of the item", where, cr.Certificate)
		}
		if cr.Reason == "" {
			v.addf("%s: %q needs a reason", where, cr.Certificate)
		}
		validateCondition(v, where, cr.Unless)
	}
}

// validateCondition checks that a condition uses exactly one form and only
// facts and values of the contract.
func validateCondition(v *validation, where string, c Condition) {
	forms := 0
	for _, set := range []bool{c.Fact != "", c.Derived != "", c.Regional != "", c.All != nil, c.Any != nil, c.Not != nil} {
		if set {
			forms++
		}
	}
	if forms != 1 {
		v.addf("%s: a condition needs exactly one of fact, derived, regional, all, any, not", where)
		return
	}
	switch {
	case c.All != nil || c.Any != nil:
		if len(c.All)+len(c.Any) == 0 {
			v.addf("%s: an empty all/any", where)
		}
		for _, x := range slices.Concat(c.All, c.Any) {
			validateCondition(v, where, x)
		}
	case c.Not != nil:
		validateCondition(v, where, *c.Not)
	case c.Regional != "":
		if !slices.Contains(RegionalAssessmentTypes, c.Regional) {
			v.addf("%s: regional %q is not one of %v", where, c.Regional, RegionalAssessmentTypes)
		}
	case c.Derived != "":
		if _, ok := derivedFacts[c.Derived]; !ok {
			v.addf("%s: unknown derived fact %q", where, c.Derived)
		}
	default:
		spec, ok := factSpecs[c.Fact]
		if !ok {
			v.addf("%s: unknown fact %q", where, c.Fact)
			return
		}
		numeric := c.LT != nil || c.LE != nil || c.GT != nil || c.GE != nil
		switch spec.kind {
		case kindEnum:
			if len(c.In) == 0 || c.Is != nil || numeric || c.Has != "" {
				v.addf("%s: enum fact %s takes only \"in\"", where, c.Fact)
			}
			for _, x := range c.In {
				if !slices.Contains(spec.values, x) {
					v.addf("%s: %s has no value %q", where, c.Fact, x)
				}
			}
		case kindBool:
			if c.Is == nil || c.In != nil || numeric || c.Has != "" {
				v.addf("%s: boolean fact %s takes only \"is\"", where, c.Fact)
			}
		case kindNumber:
			if !numeric || c.In != nil || c.Is != nil || c.Has != "" {
				v.addf("%s: number fact %s takes only lt, le, gt, ge", where, c.Fact)
			}
		case kindList:
			if !slices.Contains(spec.values, c.Has) || c.In != nil || c.Is != nil || numeric {
				v.addf("%s: list fact %s takes only \"has\" with one of %v", where, c.Fact, spec.values)
			}
		}
	}
}
