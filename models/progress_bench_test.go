package models_test

import (
	"encoding/json"
	"testing"

	"github.com/weifang/kaigong-zsb/internal/workdays"
	mobilecontract "github.com/weifang/kaigong-zsb/mobile-contract"
	"github.com/weifang/kaigong-zsb/models"
)

// demoProgressInput rebuilds the state the development seed gives the
// largest demo project (WF-DEMO-CIVIL: a civil project, every civil item
// applicable), walking the catalog the way app.SeedDemo does, so the
// benchmarks measure what GET /v1/projects/{id}/progress serves.
func demoProgressInput(tb testing.TB, cat *models.Catalog) (models.ProgressInput, workdays.Date) {
	tb.Helper()
	fx, err := mobilecontract.LoadDemoFixtures()
	if err != nil {
		tb.Fatal(err)
	}
	var p *mobilecontract.DemoProject
	for i := range fx.Projects {
		if fx.Projects[i].ID == "WF-DEMO-CIVIL" {
			p = &fx.Projects[i]
		}
	}
	if p == nil {
		tb.Fatal("demo fixtures have no WF-DEMO-CIVIL")
	}
	today := workdays.NewDate(2026, 11, 22)
	given, err := models.ParseFacts(p.Facts)
	if err != nil {
		tb.Fatal(err)
	}
	facts := models.ProjectFacts{Type: p.Type, KeyProject: p.KeyProject, RegionalAssessment: p.RegionalAssessment,
		StandardLand: p.StandardLand, Facts: given}
	started, walk := cat.WalkUntil(facts, today, p.Items.Approved, p.Items.PreApproved, p.Items.Accepted)
	in := models.ProgressInput{ProjectID: p.ID, Version: 1, Facts: facts, StartedOn: &started}
	for _, w := range walk {
		ip := models.ItemProgressInput{Code: w.Code, Status: w.Status, AcceptedOn: &w.AcceptedOn, DecidedOn: w.DecidedOn}
		in.Items = append(in.Items, ip)
	}
	return in, today
}

func newBenchCalendar(tb testing.TB) *workdays.Calendar {
	tb.Helper()
	cal, err := workdays.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return cal
}

// BenchmarkBuildProgress computes the largest demo project's progress with
// its working-day deadlines: the rule the progress view is built from.
func BenchmarkBuildProgress(b *testing.B) {
	cat := models.DefaultCatalog()
	cal := newBenchCalendar(b)
	in, today := demoProgressInput(b, cat)
	b.ReportAllocs()
	for b.Loop() {
		if p := models.BuildProgress(cat, cal, in, today); len(p.Themes) == 0 {
			b.Fatal("no themes")
		}
	}
}

// BenchmarkMarshalProgress serializes that progress: the bytes the progress
// read answers with (about 10 KB).
func BenchmarkMarshalProgress(b *testing.B) {
	cat := models.DefaultCatalog()
	in, today := demoProgressInput(b, cat)
	p := models.BuildProgress(cat, newBenchCalendar(b), in, today)
	body, err := json.Marshal(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProjectViews is the pure part of rebuilding a project's views,
// which the webhook intake does for every applied event before answering
// 202: progress, next steps and guide for the largest demo project, each
// serialized.
func BenchmarkProjectViews(b *testing.B) {
	cat := models.DefaultCatalog()
	cal := newBenchCalendar(b)
	in, today := demoProgressInput(b, cat)
	statuses := map[string]string{}
	for _, it := range in.Items {
		statuses[it.Code] = it.Status
	}
	b.ReportAllocs()
	for b.Loop() {
		progress := models.BuildProgress(cat, cal, in, today)
		next := cat.NextSteps(in.Facts, statuses)
		guide := cat.Guide(in.Facts, statuses)
		for _, v := range []any{progress, map[string]any{"items": next}, guide} {
			if _, err := json.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	}
}
