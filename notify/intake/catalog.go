package intake

import (
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/outbox"
)

// Catalog is what the intake reads from the approval catalog: whether an
// item exists, its names and the next steps a change unlocks. CatalogOf
// adapts the domain core's models.Catalog; tests may use a smaller one.
type Catalog interface {
	// HasItem reports whether code names an item of the catalog.
	HasItem(code string) bool
	// ItemNames returns an item's Chinese and English names; English may be
	// empty, in which case the Chinese name is shown.
	ItemNames(code string) (zh, en string)
	// NextSteps lists the items p can start now, given every item's status
	// (absent items are not started), with the materials to prepare.
	NextSteps(p models.Project, statuses map[string]string) []outbox.Step
}
