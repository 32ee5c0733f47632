package app

import (
	"context"
	"testing"

	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/internal/workdays"
	"github.com/weifang/kaigong-zsb/models"
)

// TestDemoProjectsCarryTheirFacts seeds the demo data: each project keeps
// the facts of the fixture, every fact the rules ask for is given, only
// items that may be pre-approved are, and each project has next steps.
func TestDemoProjectsCarryTheirFacts(t *testing.T) {
	db := testenv.DB(t)
	cat := models.DefaultCatalog()
	if err := SeedDemo(context.Background(), db, cat, "demo12345-test", workdays.NewDate(2026, 12, 7)); err != nil {
		t.Fatal(err)
	}
	var projects []models.Project
	if err := db.Order("id").Find(&projects).Error; err != nil {
		t.Fatal(err)
	}
	if len(projects) != 3 {
		t.Fatalf("%d demo projects", len(projects))
	}
	for _, p := range projects {
		facts, err := p.Facts()
		if err != nil || facts.IsZero() {
			t.Fatalf("%s: facts %+v, %v", p.ID, facts, err)
		}
		var states []models.ItemState
		if err := db.Where("project_id = ?", p.ID).Find(&states).Error; err != nil {
			t.Fatal(err)
		}
		statuses := map[string]string{}
		for _, st := range states {
			statuses[st.ItemCode] = st.Status
			if it, ok := cat.Item(st.ItemCode); !ok || (st.Status == models.StatusPreApproved && !it.PreApproval) {
				t.Errorf("%s: %s is %s", p.ID, st.ItemCode, st.Status)
			}
		}
		pf := models.FactsOf(&p)
		if g := cat.Guide(pf, statuses); len(g.Form.UnknownFacts) != 0 || len(g.Form.NotRequired) == 0 {
			t.Errorf("%s: unknown facts %v, %d items not required", p.ID, g.Form.UnknownFacts, len(g.Form.NotRequired))
		}
		if len(cat.NextSteps(pf, statuses)) == 0 {
			t.Errorf("%s has no next steps", p.ID)
		}
	}
}
