package models

import (
	"slices"

	"github.com/weifang/kaigong-zsb/internal/workdays"
)

// WalkStep is one item a Walk moved: its new status, the day it was
// accepted and, for a decision, the day it was decided.
type WalkStep struct {
	Code       string
	Status     string
	AcceptedOn workdays.Date
	DecidedOn  *workdays.Date
}

// Walk moves a project through the catalog the way projects move, so demo
// data and benchmarks start from states the rules can reach: from start, it
// takes the next steps in catalog order and approves the first `approved`
// items, then pre-approves the next `preApproved` of those that may be
// pre-approved (Item.PreApproval; others are passed over), then accepts
// the next `accepted`, a round of next steps every two days, decisions
// three days after acceptance. Each leg stops early when nothing (for the
// pre-approvals, nothing that may be pre-approved) is next.
func (c *Catalog) Walk(p ProjectFacts, start workdays.Date, approved, preApproved, accepted int) []WalkStep {
	statuses := map[string]string{}
	var out []WalkStep
	day := start
	for _, leg := range []struct {
		n      int
		status string
	}{{approved, StatusApproved}, {preApproved, StatusPreApproved}, {accepted, StatusAccepted}} {
		n := leg.n
		for n > 0 {
			next := c.NextSteps(p, statuses)
			if leg.status == StatusPreApproved {
				next = slices.DeleteFunc(next, func(ns NextStep) bool {
					it, ok := c.Item(ns.Code)
					return !ok || !it.PreApproval
				})
			}
			if len(next) == 0 {
				break
			}
			for _, ns := range next[:min(n, len(next))] {
				statuses[ns.Code] = leg.status
				st := WalkStep{Code: ns.Code, Status: leg.status, AcceptedOn: day}
				if leg.status != StatusAccepted {
					decided := day.AddDays(3)
					st.DecidedOn = &decided
				}
				out = append(out, st)
				n--
			}
			day = day.AddDays(2)
		}
	}
	return out
}

// WalkUntil is Walk moved in time so that its last day (the latest
// acceptance or decision) is end, and the day it starts. Demo data seeded
// with it reads the same on whatever day it is seeded: as far along, with
// the same working days left, never overdue because real time has passed
// a date fixed in a file.
func (c *Catalog) WalkUntil(p ProjectFacts, end workdays.Date, approved, preApproved, accepted int) (workdays.Date, []WalkStep) {
	steps := c.Walk(p, end, approved, preApproved, accepted)
	last := end
	for _, s := range steps {
		if s.AcceptedOn.After(last) {
			last = s.AcceptedOn
		}
		if s.DecidedOn != nil && s.DecidedOn.After(last) {
			last = *s.DecidedOn
		}
	}
	shift := 0
	for d := end; d.Before(last); d = d.AddDays(1) {
		shift++
	}
	for i := range steps {
		steps[i].AcceptedOn = steps[i].AcceptedOn.AddDays(-shift)
		if steps[i].DecidedOn != nil {
			decided := steps[i].DecidedOn.AddDays(-shift)
			steps[i].DecidedOn = &decided
		}
	}
	return end.AddDays(-shift), steps
}
