package notify

import (
	"testing"

	"github.com/weifang/kaigong-zsb/internal/workdays"
	"github.com/weifang/kaigong-zsb/models"
)

func TestCatalogApprovalsAdaptsTheCatalog(t *testing.T) {
	cat := models.DefaultCatalog()
	cal, err := workdays.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	a := CatalogApprovals{Catalog: cat, Calendar: cal}
	var Approvals Approvals = a
	it := cat.Items[0]
	if !Approvals.HasItem(it.Code) || Approvals.HasItem("NO-SUCH-ITEM") {
		t.Fatal("HasItem disagrees with the catalog")
	}
	if zh, _ := a.ItemNames(it.Code); zh != it.Name {
		t.Errorf("ItemNames = %q, want %q", zh, it.Name)
	}
	p := models.Project{ID: "WF-1", Type: models.ProjectCivil}
	if steps := a.NextSteps(p, map[string]string{}); len(steps) == 0 {
		t.Error("a fresh civil project has no next steps")
	}
	accepted := workdays.NewDate(2026, 3, 10).Midnight()
	p.StartedOn = &accepted
	states := []models.ItemState{{ItemCode: it.Code, Status: models.StatusAccepted, AcceptedOn: &accepted}}
	dl := a.Deadlines(p, states, workdays.NewDate(2026, 3, 11))
	if len(dl) != 2 || dl[0].ItemCode != it.Code || dl[1].ItemCode != "" || dl[0].Overdue {
		t.Errorf("Deadlines = %+v, want the item's clock and the main flow's", dl)
	}
}
