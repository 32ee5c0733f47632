package app

import (
	"context"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/internal/workdays"
	mobilecontract "github.com/weifang/kaigong-zsb/mobile-contract"
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/tasks"
)

// demoWarnDays is the configuration's default BFF_DEADLINE_WARN_DAYS.
const demoWarnDays = 3

// demoRunway is how many working days after seeding every demo project
// stays clear of an overdue reading with nothing decided meanwhile: a
// development server left running for a working week is still truthful.
const demoRunway = 5

// demoProgress is the progress the seed's plan for p gives as of day.
func demoProgress(t *testing.T, cat *models.Catalog, cal *workdays.Calendar, p mobilecontract.DemoProject, seeded, day workdays.Date) models.Progress {
	t.Helper()
	pl, err := planDemoProject(cat, p, seeded, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	in := models.ProgressInput{ProjectID: p.ID, Version: 1, Facts: pl.facts}
	for _, st := range pl.states {
		in.Items = append(in.Items, st.ProgressInput())
	}
	return models.BuildProgress(cat, cal, in, day)
}

// TestDemoIsTruthfulWhateverTheSeedingDay seeds (as a plan) the demo
// projects on every day of three years, holidays, weekends and a year
// without a published holiday schedule included: on its seeding day no
// demo project has an overdue item or main flow or anything close enough
// to warn about (so a fresh demo sends no deadline push), none has a date
// after the seeding day, and none reads overdue for demoRunway working
// days after it.
func TestDemoIsTruthfulWhateverTheSeedingDay(t *testing.T) {
	cat := models.DefaultCatalog()
	cal, err := workdays.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	fx, err := mobilecontract.LoadDemoFixtures()
	if err != nil {
		t.Fatal(err)
	}
	for seeded := workdays.NewDate(2026, 1, 1); seeded.Before(workdays.NewDate(2029, 1, 1)); seeded = seeded.AddDays(1) {
		for _, p := range fx.Projects {
			pr := demoProgress(t, cat, cal, p, seeded, seeded)
			o := pr.Overall
			if o.StartedOn == nil || o.Overdue || o.Finished || o.WorkingDaysLeft <= demoWarnDays {
				t.Fatalf("%s seeded %s: main flow %+v", p.ID, seeded, o)
			}
			accepted := 0
			for _, th := range pr.Themes {
				for _, it := range th.Items {
					if it.AcceptedOn != nil && it.AcceptedOn.After(seeded) {
						t.Fatalf("%s seeded %s: %s accepted on %s, in the future", p.ID, seeded, it.Code, it.AcceptedOn)
					}
					if it.Status == models.StatusAccepted {
						accepted++
					}
					if it.Overdue || (it.DeadlineWarnable() && *it.WorkingDaysLeft <= demoWarnDays) {
						t.Fatalf("%s seeded %s: %s %+v", p.ID, seeded, it.Code, it)
					}
				}
			}
			if accepted == 0 {
				t.Fatalf("%s seeded %s: no item with a department, the demo shows no running clock", p.ID, seeded)
			}
			later, _ := cal.AddWorkingDays(seeded, demoRunway)
			pr = demoProgress(t, cat, cal, p, seeded, later)
			for _, th := range pr.Themes {
				for _, it := range th.Items {
					if it.Overdue {
						t.Fatalf("%s seeded %s: %s overdue on %s", p.ID, seeded, it.Code, later)
					}
				}
			}
			if pr.Overall.Overdue {
				t.Fatalf("%s seeded %s: main flow overdue on %s", p.ID, seeded, later)
			}
		}
	}
}

// TestDemoStaysTruthfulAsTimePasses seeds the demo, scans deadlines as the
// scheduler does, and starts again four months later: the demo projects
// the upstream has not touched are walked to end on the new day (started
// later, version up so no cached view of the old dates is served), and
// neither day brings a deadline warning. A demo project the upstream has
// sent an event about keeps its state.
func TestDemoStaysTruthfulAsTimePasses(t *testing.T) {
	db := testenv.DB(t)
	rdb, prefix := testenv.Redis(t)
	cat := models.DefaultCatalog()
	cal, err := workdays.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := testenv.NewClock(time.Date(2026, 11, 2, 10, 0, 0, 0, workdays.Location))
	svc, err := tasks.New(tasks.Config{DB: db, Redis: rdb, RedisPrefix: prefix, Catalog: cat, Calendar: cal,
		Now: clock.Now, WarnDays: demoWarnDays}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	projects := func() map[string]models.Project {
		t.Helper()
		var ps []models.Project
		if err := db.Find(&ps).Error; err != nil {
			t.Fatal(err)
		}
		out := map[string]models.Project{}
		for _, p := range ps {
			out[p.ID] = p
		}
		return out
	}
	if err := SeedDemo(ctx, db, cat, "demo12345-test", workdays.DateOf(clock.Now())); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.ScanDeadlines(ctx); err != nil || n != 0 {
		t.Fatalf("seeding day: %d deadline warnings (%v)", n, err)
	}
	before := projects()
	// The upstream has spoken about WF-OTHER-1: it is the upstream's now.
	if err := db.Create(&models.Event{EventID: "ev-other", ProjectID: "WF-OTHER-1", Sequence: 1, Type: "agent.assigned",
		Result: "applied", OccurredAt: clock.Now(), ReceivedAt: clock.Now(), Payload: "{}"}).Error; err != nil {
		t.Fatal(err)
	}

	clock.Set(time.Date(2027, 3, 1, 10, 0, 0, 0, workdays.Location))
	if err := SeedDemo(ctx, db, cat, "demo12345-test", workdays.DateOf(clock.Now())); err != nil {
		t.Fatal(err)
	}
	after := projects()
	for _, id := range []string{"WF-DEMO-CIVIL", "WF-DEMO-INDUSTRIAL"} {
		b, a := before[id], after[id]
		if a.StartedOn == nil || !a.StartedOn.After(*b.StartedOn) || a.Version != b.Version+1 {
			t.Errorf("%s not walked again: started %v → %v, version %d → %d", id, b.StartedOn, a.StartedOn, b.Version, a.Version)
		}
		var states []models.ItemState
		if err := db.Where("project_id = ?", id).Find(&states).Error; err != nil {
			t.Fatal(err)
		}
		in := models.ProgressInput{ProjectID: id, Facts: models.FactsOf(&a)}
		for _, st := range states {
			in.Items = append(in.Items, st.ProgressInput())
		}
		if pr := models.BuildProgress(cat, cal, in, workdays.DateOf(clock.Now())); pr.Overall.Overdue || pr.Overall.WorkingDaysUsed == 0 {
			t.Errorf("%s four months on: %+v", id, pr.Overall)
		}
	}
	if b, a := before["WF-OTHER-1"], after["WF-OTHER-1"]; !a.StartedOn.Equal(*b.StartedOn) || a.Version != b.Version {
		t.Errorf("WF-OTHER-1, which the upstream spoke about, was seeded again: %v/%d → %v/%d", b.StartedOn, b.Version, a.StartedOn, a.Version)
	}
	// Only the project the upstream owns may be warned about now.
	if _, err := svc.ScanDeadlines(ctx); err != nil {
		t.Fatal(err)
	}
	var warned []string
	if err := db.Model(&models.DeadlineWarning{}).Distinct().Pluck("project_id", &warned).Error; err != nil {
		t.Fatal(err)
	}
	for _, id := range warned {
		if id != "WF-OTHER-1" {
			t.Errorf("deadline warning for the demo project %s four months on", id)
		}
	}
	// A second start the same day changes nothing.
	if err := SeedDemo(ctx, db, cat, "demo12345-test", workdays.DateOf(clock.Now())); err != nil {
		t.Fatal(err)
	}
	for id, p := range projects() {
		if p.Version != after[id].Version {
			t.Errorf("%s: version %d → %d on a second start the same day", id, after[id].Version, p.Version)
		}
	}
}
