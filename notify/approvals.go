package notify

import (
	"github.com/weifang/kaigong-zsb/internal/workdays"
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/outbox"
)

// Approvals is what the pipeline reads from the approval catalog: whether an
// item exists, its names, the next steps a change unlocks and the time
// limits deadlines are computed from. main adapts the domain core
// (models.Catalog) to it; tests use a small fixed catalog.
type Approvals interface {
	// HasItem reports whether code names an item of the catalog.
	HasItem(code string) bool
	// ItemNames returns an item's Chinese and English names; English may be
	// empty, in which case the Chinese name is shown.
	ItemNames(code string) (zh, en string)
	// NextSteps lists the items p can start now, given every item's status
	// (absent items are not started), with the materials to prepare.
	NextSteps(p models.Project, statuses map[string]string) []outbox.Step
	// ItemLimit is the item's statutory time limit in working days for p,
	// 0 when it has none.
	ItemLimit(p models.Project, code string) int
	// ProjectLimit is p's main-flow time limit in working days (35 civil,
	// 25 industrial), 0 when none applies.
	ProjectLimit(p models.Project) int
}

// deadliner is what an Approvals offers when it computes running clocks
// itself, exactly as the progress screen shows them (CatalogApprovals does,
// through models.BuildProgress). Without it the scheduler computes them
// from ItemLimit and ProjectLimit.
type deadliner interface {
	// Deadlines lists p's running clocks as of today: each item the
	// administration still owes an answer on, and the main flow while any
	// is.
	Deadlines(p models.Project, states []models.ItemState, today workdays.Date) []Deadline
}

// Deadline is one running clock of a project: an item's, or the main
// flow's when ItemCode is empty.
type Deadline struct {
	ItemCode        string
	DueOn           workdays.Date
	WorkingDaysLeft int // negative once overdue
	Overdue         bool
}
