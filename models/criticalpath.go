package models

// CriticalPath is the longest chain of prerequisites through the project's
// required main-flow items (the pre-start themes; themes and independent
// items run in parallel), weighed by their promised time limits (承诺时限).
// It is what the main-flow promise (MainFlowLimit: 35 civil, 25
// industrial, 15 small low-risk) has to hold: a catalog edit that makes it
// longer than the promise is a data error.
type CriticalPath struct {
	ProjectType string `json:"project_type"`
	// Items is the chain, first item first.
	Items []string `json:"items"`
	// PromisedWorkingDays sums the promised limits along the chain,
	// StatutoryWorkingDays the statutory limits of the same items.
	PromisedWorkingDays  int `json:"promised_working_days"`
	StatutoryWorkingDays int `json:"statutory_working_days"`
	// Limit is the promise the path has to fit.
	Limit int `json:"limit"`
}

// Fits reports whether the path keeps the main-flow promise.
func (cp CriticalPath) Fits() bool { return cp.PromisedWorkingDays <= cp.Limit }

// CriticalPath computes the project's critical path from the catalog data
// and its facts (no facts: every item of the type, the longest case).
// Ties go to the item first in catalog order.
func (c *Catalog) CriticalPath(p ProjectFacts) CriticalPath {
	pl := c.plan(p)
	main := map[string]bool{}
	for _, it := range c.applicableItems(pl) {
		if t, ok := c.themes[it.Theme]; ok && t.PreStart {
			main[it.Code] = true
		}
	}
	// finish[code] is the promised working days from the start of the
	// main flow to the item's decision; via[code] the prerequisite on the
	// longest way there.
	finish := map[string]int{}
	via := map[string]string{}
	var visit func(code string) int
	visit = func(code string) int {
		if d, ok := finish[code]; ok {
			return d
		}
		it := c.items[code]
		best, from := 0, ""
		for _, pre := range c.dependsOn(it, pl) {
			if !main[pre] {
				continue
			}
			if d := visit(pre); d > best {
				best, from = d, pre
			}
		}
		finish[code], via[code] = best+it.PromisedWorkingDays, from
		return finish[code]
	}
	cp := CriticalPath{ProjectType: p.Type, Items: []string{}, Limit: MainFlowLimit(p.Type)}
	last := ""
	for i := range c.Items {
		code := c.Items[i].Code
		if !main[code] {
			continue
		}
		if d := visit(code); d > cp.PromisedWorkingDays {
			cp.PromisedWorkingDays, last = d, code
		}
	}
	for code := last; code != ""; code = via[code] {
		cp.Items = append([]string{code}, cp.Items...)
		cp.StatutoryWorkingDays += c.items[code].TimeLimitWorkingDays
	}
	return cp
}
