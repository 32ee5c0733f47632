package models_test

import (
	"testing"

	"github.com/weifang/kaigong-zsb/internal/workdays"
	"github.com/weifang/kaigong-zsb/models"
)

func TestWalkReachesOnlyReachableStates(t *testing.T) {
	cat := models.DefaultCatalog()
	facts := models.ProjectFacts{Type: models.ProjectCivil}
	start := workdays.NewDate(2026, 11, 2)
	steps := cat.Walk(facts, start, 4, 1, 1)
	if len(steps) != 6 {
		t.Fatalf("walked %d items, want 6", len(steps))
	}
	statuses := map[string]string{}
	for i, s := range steps {
		// Each step must have been a next step given the steps before it.
		ready := false
		for _, ns := range cat.NextSteps(facts, statuses) {
			if ns.Code == s.Code {
				ready = true
			}
		}
		if !ready {
			t.Fatalf("step %d (%s) was not a next step at that point", i, s.Code)
		}
		statuses[s.Code] = s.Status
		if (s.Status == models.StatusAccepted) != (s.DecidedOn == nil) || s.AcceptedOn.Before(start) {
			t.Fatalf("step %d dates: %+v", i, s)
		}
	}
	want := []string{models.StatusApproved, models.StatusApproved, models.StatusApproved, models.StatusApproved, models.StatusPreApproved, models.StatusAccepted}
	for i, s := range steps {
		if s.Status != want[i] {
			t.Fatalf("step %d status %s, want %s", i, s.Status, want[i])
		}
	}
	if got := cat.Walk(facts, start, 10000, 0, 0); len(got) == 0 || len(got) >= 10000 {
		t.Fatalf("an over-long walk must stop when nothing is next, got %d steps", len(got))
	}
}
