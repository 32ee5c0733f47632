package intake

import (
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/outbox"
)

// CatalogOf adapts the domain core's catalog (items, next steps) to
// Catalog.
func CatalogOf(c *models.Catalog) Catalog { return modelsCatalog{c} }

type modelsCatalog struct {
	cat *models.Catalog
}

// HasItem reports whether code is a catalog item.
func (a modelsCatalog) HasItem(code string) bool {
	_, ok := a.cat.Item(code)
	return ok
}

// ItemNames returns the item's Chinese and English names.
func (a modelsCatalog) ItemNames(code string) (zh, en string) {
	it, ok := a.cat.Item(code)
	if !ok {
		return code, ""
	}
	return it.Name, it.EN
}

// NextSteps returns the catalog's next steps for p over statuses.
func (a modelsCatalog) NextSteps(p models.Project, statuses map[string]string) []outbox.Step {
	steps := a.cat.NextSteps(models.FactsOf(&p), statuses)
	out := make([]outbox.Step, 0, len(steps))
	for _, s := range steps {
		step := outbox.Step{Code: s.Code, Name: s.Name}
		if it, ok := a.cat.Item(s.Code); ok {
			step.NameEn = it.EN
		}
		for _, m := range s.MaterialsToPrepare {
			step.Materials = append(step.Materials, outbox.StepMaterial{Code: m.Code, Name: m.Name})
		}
		out = append(out, step)
	}
	return out
}
