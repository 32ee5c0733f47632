package notify

import (
	"time"

	"github.com/weifang/kaigong-zsb/internal/workdays"
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/outbox"
)

// CatalogApprovals adapts the domain core (catalog, next steps, progress)
// to Approvals.
type CatalogApprovals struct {
	Catalog  *models.Catalog
	Calendar *workdays.Calendar
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

// Deadlines runs the domain core's BuildProgress over the stored item
// states and keeps the clocks still running.
func (a CatalogApprovals) Deadlines(p models.Project, states []models.ItemState, today workdays.Date) []Deadline {
	in := models.ProgressInput{ProjectID: p.ID, Version: p.Version, Facts: models.FactsOf(&p), StartedOn: datePtr(p.StartedOn)}
	for _, st := range states {
		in.Items = append(in.Items, models.ItemProgressInput{Code: st.ItemCode, Status: st.Status,
			AcceptedOn: datePtr(st.AcceptedOn), DecidedOn: datePtr(st.DecidedOn),
			CorrectionSince: datePtr(st.CorrectionSince), CorrectionWorkingDays: st.CorrectionWorkingDays})
	}
	prog := models.BuildProgress(a.Catalog, a.Calendar, in, today)
	var out []Deadline
	for _, th := range prog.Themes {
		for _, it := range th.Items {
			if it.DueOn != nil && it.WorkingDaysLeft != nil {
				out = append(out, Deadline{ItemCode: it.Code, DueOn: *it.DueOn, WorkingDaysLeft: *it.WorkingDaysLeft, Overdue: it.Overdue})
			}
		}
	}
	if o := prog.Overall; len(out) > 0 && o.DueOn != nil {
		out = append(out, Deadline{DueOn: *o.DueOn, WorkingDaysLeft: o.WorkingDaysLeft, Overdue: o.Overdue})
	}
	return out
}

func datePtr(t *time.Time) *workdays.Date {
	if t == nil {
		return nil
	}
	d := workdays.DateOf(*t)
	return &d
}

// ItemLimit returns the item's statutory time limit in working days.
func (a CatalogApprovals) ItemLimit(_ models.Project, code string) int {
	if it, ok := a.Catalog.Item(code); ok {
		return it.TimeLimitWorkingDays
	}
	return 0
}

// ProjectLimit returns the main-flow limit of p's type.
func (a CatalogApprovals) ProjectLimit(p models.Project) int {
	return models.MainFlowLimit(p.Type)
}
