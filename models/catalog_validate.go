package models

import (
	"errors"
	"fmt"
	"slices"
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
		if w.When != WaiveRegionalAssessment && w.When != WaiveStandardLand && !IsProjectType(w.When) {
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
		for m, providers := range c.providers {
			n := 0
			for _, p := range providers {
				if p.Applies(typ) {
					n++
				}
			}
			if n > 1 {
				v.addf("material %s is provided by %d items for %s projects; the guide needs one", m, n, typ)
			}
		}
		for i := range c.Items {
			it := &c.Items[i]
			if !it.Applies(typ) {
				continue
			}
			ancestors := c.ancestors(it, typ)
			for _, m := range it.Materials {
				if len(c.providers[m]) == 0 || it.waiverFor(m, ProjectFacts{Type: typ}) != nil {
					continue
				}
				p := c.provider(m, typ)
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

// ancestors returns the transitive prerequisites of it that apply to typ.
func (c *Catalog) ancestors(it *Item, typ string) map[string]bool {
	seen := map[string]bool{}
	stack := c.dependsOn(it, typ)
	for len(stack) > 0 {
		code := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[code] {
			continue
		}
		seen[code] = true
		stack = append(stack, c.dependsOn(c.items[code], typ)...)
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
