package models_test

import (
	"slices"
	"testing"

	"github.com/weifang/kaigong-zsb/internal/workdays"
	"github.com/weifang/kaigong-zsb/models"
)

func TestWalkReachesOnlyReachableStates(t *testing.T) {
	cat := models.DefaultCatalog()
	// WF-DEMO-CIVIL's facts (mobile-contract/demo-fixtures.json).
	residential, err := models.ParseFacts([]byte(`{"investment":"private","land_source":"transfer","new_construction_land":false,
		"use":"residential","floor_area_m2":36000,"height_m":79,"energy_tce_per_year":900,"electricity_mwh_per_year":4200,
		"eia_category":"none","site_area_ha":2.1,"earthwork_m3":35000,"zones":[],"own_water_source":false,
		"hazardous_chemicals":false,"civil_air_defence":"basement",
		"regional_assessment":["soil_water","seismic","geohazard","minerals","relics","flood"]}`))
	if err != nil {
		t.Fatal(err)
	}
	start := workdays.NewDate(2026, 11, 2)
	for _, tc := range []struct {
		name                         string
		facts                        models.ProjectFacts
		approved, preApproved, accep int
		want                         []string // statuses in walk order
	}{
		// Nothing that may be pre-approved is next after four approvals:
		// the pre-approval leg passes, the acceptance leg goes on.
		{"no facts", models.ProjectFacts{Type: models.ProjectCivil}, 4, 1, 1,
			[]string{models.StatusApproved, models.StatusApproved, models.StatusApproved, models.StatusApproved, models.StatusAccepted}},
		// The land stage done, the design scheme review (GH-01) is
		// pre-approved, the first land registration accepted.
		{"residential on transferred land", models.ProjectFacts{Type: models.ProjectCivil, Facts: residential}, 10, 1, 1,
			append(slices.Repeat([]string{models.StatusApproved}, 10), models.StatusPreApproved, models.StatusAccepted)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := cat.Walk(tc.facts, start, tc.approved, tc.preApproved, tc.accep)
			statuses := map[string]string{}
			got := []string{}
			for i, s := range steps {
				// Each step must have been a next step given the steps before it.
				ready := false
				for _, ns := range cat.NextSteps(tc.facts, statuses) {
					if ns.Code == s.Code {
						ready = true
					}
				}
				if !ready {
					t.Fatalf("step %d (%s) was not a next step at that point", i, s.Code)
				}
				if it, _ := cat.Item(s.Code); s.Status == models.StatusPreApproved && !it.PreApproval {
					t.Fatalf("step %d pre-approves %s, which cannot be pre-approved", i, s.Code)
				}
				statuses[s.Code] = s.Status
				got = append(got, s.Status)
				if (s.Status == models.StatusAccepted) != (s.DecidedOn == nil) || s.AcceptedOn.Before(start) {
					t.Fatalf("step %d dates: %+v", i, s)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("statuses %v, want %v", got, tc.want)
			}
			if len(cat.NextSteps(tc.facts, statuses)) == 0 {
				t.Fatal("the walk left nothing next")
			}
		})
	}
	if got := cat.Walk(models.ProjectFacts{Type: models.ProjectCivil}, start, 10000, 0, 0); len(got) == 0 || len(got) >= 10000 {
		t.Fatalf("an over-long walk must stop when nothing is next, got %d steps", len(got))
	}
}
