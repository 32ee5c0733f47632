package notify

import (
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/outbox"
)

// CatalogApprovals adapts the domain core (catalog, next steps) to
// Approvals.
type CatalogApprovals struct {
	Catalog *models.Catalog
}

// HasItem reports whether code is a catalog item.
func (a CatalogApprovals) HasItem(code string) bool {
	_, ok := a.Catalog.Item(code)
	return ok
}

// ItemNames returns the item's Chinese and English names.
func (a CatalogApprovals) ItemNames(code string) (zh, en string) {
	it, ok := a.Catalog.Item(code)
	if !ok {
		return code, ""
	}
	return it.Name, it.EN
}

// NextSteps returns the catalog's next steps for p over statuses.
func (a CatalogApprovals) NextSteps(p models.Project, statuses map[string]string) []outbox.Step {
	steps := a.Catalog.NextSteps(models.FactsOf(&p), statuses)
	out := make([]outbox.Step, 0, len(steps))
	for _, s := range steps {
		step := outbox.Step{Code: s.Code, Name: s.Name}
		if it, ok := a.Catalog.Item(s.Code); ok {
			step.NameEn = it.EN
		}
		for _, m := range s.MaterialsToPrepare {
			step.Materials = append(step.Materials, outbox.StepMaterial{Code: m.Code, Name: m.Name})
		}
		out = append(out, step)
	}
	return out
}
