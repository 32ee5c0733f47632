package models

import (
	"slices"
	"testing"
)

// fuzzStatuses is what a fuzzer's byte picks for an item: every status, no
// status at all, and one the upstream system should never send.
var fuzzStatuses = []string{"", StatusNotStarted, StatusSubmitted, StatusAccepted, StatusCorrectionRequired,
	StatusPreApproved, StatusApproved, StatusRejected, StatusWithdrawn, "bogus"}

// FuzzNextSteps drives the next-step engine with random statuses over the
// embedded catalog and checks its invariants against an independent reading
// of the catalog: a next step applies to the project, has not been started
// (or was withdrawn), has every applicable prerequisite approved — or
// pre-approved where it accepts that pre-approval, which is exactly when
// ViaPreApproval is set — appears once, in catalog order; and every item
// meeting those conditions is listed. Progress figures stay in range.
func FuzzNextSteps(f *testing.F) {
	f.Add(byte(0), byte(0), []byte{})
	f.Add(byte(1), byte(3), []byte{6, 6, 6, 6, 5, 3})
	f.Add(byte(2), byte(1), []byte{6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6})
	f.Add(byte(0), byte(7), []byte{5, 5, 5, 5, 5, 5, 5, 5, 8, 7, 9, 2, 4})
	f.Add(byte(1), byte(0), []byte{6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6})
	cat := DefaultCatalog()
	f.Fuzz(func(t *testing.T, typ, flags byte, picks []byte) {
		p := ProjectFacts{Type: ProjectTypes[int(typ)%len(ProjectTypes)], KeyProject: flags&1 != 0,
			RegionalAssessment: flags&2 != 0, StandardLand: flags&4 != 0, Facts: fuzzFacts(flags >> 3)}
		statuses := map[string]string{}
		for i, b := range picks {
			if i >= len(cat.Items) {
				break
			}
			if s := fuzzStatuses[int(b)%len(fuzzStatuses)]; s != "" {
				statuses[cat.Items[i].Code] = s
			}
		}
		steps := cat.NextSteps(p, statuses)

		order := map[string]int{}
		for i, it := range cat.Items {
			order[it.Code] = i
		}
		want := map[string]bool{}
		for _, it := range cat.Items {
			if ok, _ := fuzzReady(cat, &it, p, statuses); ok {
				want[it.Code] = true
			}
		}
		last := -1
		for _, s := range steps {
			it, ok := cat.Item(s.Code)
			if !ok {
				t.Fatalf("next step %s is not in the catalog", s.Code)
			}
			if !it.Applies(p.Type) || !it.Decide(p).Needed() {
				t.Fatalf("next step %s is not needed by a %s project with facts %+v", s.Code, p.Type, p.Facts)
			}
			if st := statuses[s.Code]; st != "" && st != StatusNotStarted && st != StatusWithdrawn {
				t.Fatalf("next step %s is already %s", s.Code, st)
			}
			ready, via := fuzzReady(cat, it, p, statuses)
			if !ready {
				t.Fatalf("next step %s has a prerequisite not satisfied: %v", s.Code, statuses)
			}
			if via != s.ViaPreApproval {
				t.Fatalf("next step %s: via_pre_approval %v, want %v", s.Code, s.ViaPreApproval, via)
			}
			if order[s.Code] <= last {
				t.Fatalf("next steps out of catalog order or repeated: %v", steps)
			}
			last = order[s.Code]
			for _, m := range s.MaterialsToPrepare {
				if !slices.Contains(it.Materials, m.Code) {
					t.Fatalf("next step %s asks for %s, not one of its materials", s.Code, m.Code)
				}
			}
			if s.DueWithinWorkingDays != it.TimeLimitWorkingDays {
				t.Fatalf("next step %s: due within %d, catalog says %d", s.Code, s.DueWithinWorkingDays, it.TimeLimitWorkingDays)
			}
			delete(want, s.Code)
		}
		if len(want) > 0 {
			t.Fatalf("items ready but not listed as next steps: %v (statuses %v)", want, statuses)
		}
		if pct := cat.Percent(p, statuses); pct < 0 || pct > 100 {
			t.Fatalf("percent %d", pct)
		}
		_ = cat.CurrentStage(p, statuses)
	})
}

// fuzzFacts turns five bits into facts: land transferred or allocated,
// hazardous chemicals or none, a small or a large site, a basement or a
// fee, EIA by registration or report form.
func fuzzFacts(bits byte) Facts {
	pick := func(bit byte, yes, no string) *string {
		if bits&bit != 0 {
			return &yes
		}
		return &no
	}
	hc := bits&2 != 0
	area, earth := 0.3, 500.0
	if bits&4 != 0 {
		area, earth = 8, 90000
	}
	return Facts{
		LandSource:         pick(1, "transfer", "allocation"),
		HazardousChemicals: &hc,
		SiteAreaHa:         &area,
		EarthworkM3:        &earth,
		CivilAirDefence:    pick(8, "basement", "fee"),
		EIACategory:        pick(16, "registration", "report_form"),
	}
}

// fuzzReady is the oracle: it reads the catalog's published fields and
// Item.Decide only.
func fuzzReady(cat *Catalog, it *Item, p ProjectFacts, statuses map[string]string) (ready, viaPreApproval bool) {
	if !it.Applies(p.Type) || !it.Decide(p).Needed() {
		return false, false
	}
	switch statuses[it.Code] {
	case "", StatusNotStarted, StatusWithdrawn:
	default:
		return false, false
	}
	for _, code := range it.Prerequisites {
		pre, ok := cat.Item(code)
		if !ok || !pre.Applies(p.Type) || !pre.Decide(p).Needed() {
			continue
		}
		switch {
		case statuses[code] == StatusApproved:
		case statuses[code] == StatusPreApproved && slices.Contains(it.AcceptsPreApproval, code):
			viaPreApproval = true
		default:
			return false, false
		}
	}
	return true, viaPreApproval
}
