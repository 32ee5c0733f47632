package intake

import (
	"testing"

	"github.com/weifang/kaigong-zsb/models"
)

func TestCatalogOfAdaptsTheCatalog(t *testing.T) {
	cat := models.DefaultCatalog()
	a := CatalogOf(cat)
	it := cat.Items[0]
	if !a.HasItem(it.Code) || a.HasItem("NO-SUCH-ITEM") {
		t.Fatal("HasItem disagrees with the catalog")
	}
	if zh, _ := a.ItemNames(it.Code); zh != it.Name {
		t.Errorf("ItemNames = %q, want %q", zh, it.Name)
	}
	p := models.Project{ID: "WF-1", Type: models.ProjectCivil}
	if steps := a.NextSteps(p, map[string]string{}); len(steps) == 0 {
		t.Error("a fresh civil project has no next steps")
	}
}
