package models

// NextStep is an item the enterprise can apply for now, with the materials
// it still has to prepare. Its JSON is one entry of the contract's
// GET /v1/projects/{id}/next-steps list, and the content of the "下一步" push.
type NextStep struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	ThemeCode string `json:"theme_code"`
	// ViaPreApproval is true when at least one prerequisite is only
	// pre-approved and the item accepts that pre-approval.
	ViaPreApproval       bool          `json:"via_pre_approval"`
	LeadDepartment       string        `json:"lead_department"`
	MaterialsToPrepare   []MaterialRef `json:"materials_to_prepare"`
	DueWithinWorkingDays int           `json:"due_within_working_days"`
}

// NextSteps returns, in catalog order, the items of the project that can be
// applied for now: items not started (or withdrawn) whose every applicable
// prerequisite is approved, or pre-approved where the item accepts that
// pre-approval. Rejected items are not listed: they need the enterprise and
// the department to settle the rejection first.
//
// MaterialsToPrepare lists the item's required materials except those
// waived for the project and those an earlier item already produced: its
// provider is approved, or pre-approved and the item accepts that
// pre-approval.
func (c *Catalog) NextSteps(p ProjectFacts, statuses map[string]string) []NextStep {
	return c.nextSteps(c.plan(p), statuses)
}

func (c *Catalog) nextSteps(pl *plan, statuses map[string]string) []NextStep {
	out := []NextStep{}
	for i := range c.Items {
		it := &c.Items[i]
		if !pl.includes(it) || !notStarted(statusOf(statuses, it.Code)) {
			continue
		}
		ready, via := c.ready(it, pl, statuses)
		if !ready {
			continue
		}
		out = append(out, NextStep{
			Code:                 it.Code,
			Name:                 it.Name,
			ThemeCode:            it.Theme,
			ViaPreApproval:       via,
			LeadDepartment:       it.LeadDepartment,
			MaterialsToPrepare:   c.materialsToPrepare(it, pl, statuses),
			DueWithinWorkingDays: it.TimeLimitWorkingDays,
		})
	}
	return out
}

// ready reports whether every applicable prerequisite of it is satisfied,
// and whether any only through an accepted pre-approval.
func (c *Catalog) ready(it *Item, pl *plan, statuses map[string]string) (ok, viaPreApproval bool) {
	for _, code := range it.Prerequisites {
		pre, known := c.items[code]
		if !known || !pl.includes(pre) {
			continue
		}
		sat, via := satisfies(it, code, statusOf(statuses, code))
		if !sat {
			return false, false
		}
		viaPreApproval = viaPreApproval || via
	}
	return true, viaPreApproval
}

func (c *Catalog) materialsToPrepare(it *Item, pl *plan, statuses map[string]string) []MaterialRef {
	out := make([]MaterialRef, 0, len(it.Materials))
	for _, m := range it.Materials {
		if it.waiverFor(m, pl) != nil {
			continue
		}
		if prov := c.provider(m, pl); prov != nil {
			if produced, _ := satisfies(it, prov.Code, statusOf(statuses, prov.Code)); produced {
				continue
			}
		}
		out = append(out, c.materialRef(m))
	}
	return out
}
