package models

// CurrentStage returns the stage the project is in: the earliest stage that
// still has an item the project needs not approved (items its facts rule
// out do not hold it back). A project with every item
// approved is in the last stage (its percent is 100); a project with no
// applicable items (an unknown type) is in the first.
func (c *Catalog) CurrentStage(p ProjectFacts, statuses map[string]string) Stage {
	return c.currentStage(c.applicableItems(c.plan(p)), statuses)
}

func (c *Catalog) currentStage(items []*Item, statuses map[string]string) Stage {
	if len(c.Stages) == 0 {
		return Stage{}
	}
	best := -1
	for _, it := range items {
		if statusOf(statuses, it.Code) == StatusApproved {
			continue
		}
		t, ok := c.themes[it.Theme]
		if !ok {
			continue
		}
		if order := c.stageOrder[t.Stage]; best < 0 || order < best {
			best = order
		}
	}
	switch {
	case best >= 0:
		return c.Stages[best]
	case len(items) == 0:
		return c.Stages[0]
	default:
		return c.Stages[len(c.Stages)-1]
	}
}

// Percent returns the share of the items the project needs that are
// approved, 0–100, rounded down so that 100 means every item is done.
func (c *Catalog) Percent(p ProjectFacts, statuses map[string]string) int {
	return percent(c.applicableItems(c.plan(p)), statuses)
}

func percent(items []*Item, statuses map[string]string) int {
	if len(items) == 0 {
		return 0
	}
	approved := 0
	for _, it := range items {
		if statusOf(statuses, it.Code) == StatusApproved {
			approved++
		}
	}
	return approved * 100 / len(items)
}
