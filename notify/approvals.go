package notify

import (
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/outbox"
)

// Approvals is what the intake reads from the approval catalog: whether an
// item exists, its names and the next steps a change unlocks. main adapts the domain core
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
}
