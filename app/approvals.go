package app

import (
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify"
)

// approvals adapts the domain catalog to what the notify pipeline reads.
type approvals struct{ cat *models.Catalog }

func (a approvals) HasItem(code string) bool {
	_, ok := a.cat.Item(code)
	return ok
}

func (a approvals) ItemNames(code string) (zh, en string) {
	if it, ok := a.cat.Item(code); ok {
		return it.Name, it.EN
	}
	return code, ""
}

func (a approvals) NextSteps(p models.Project, statuses map[string]string) []notify.Step {
	next := a.cat.NextSteps(models.FactsOf(&p), statuses)
	out := make([]notify.Step, len(next))
	for i, n := range next {
		_, en := a.ItemNames(n.Code)
		out[i] = notify.Step{Code: n.Code, Name: n.Name, NameEn: en}
		for _, m := range n.MaterialsToPrepare {
			out[i].Materials = append(out[i].Materials, notify.StepMaterial{Code: m.Code, Name: m.Name})
		}
	}
	return out
}

func (a approvals) ItemLimit(p models.Project, code string) int {
	if it, ok := a.cat.Item(code); ok && it.Applies(p.Type) {
		return it.TimeLimitWorkingDays
	}
	return 0
}

func (a approvals) ProjectLimit(p models.Project) int { return models.MainFlowLimit(p.Type) }
