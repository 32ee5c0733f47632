package main

import (
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/notify/intake"

	"github.com/weifang/kaigong-zsb/models"
)

func TestSourceLeavesOutItemsTheDeadlineScanWouldWarnOf(t *testing.T) {
	cat := models.DefaultCatalog()
	src := newSource("r", "bench-r-p01", "WF-BENCH-r-01", models.ProjectCivil, "s", 1, 0, map[string]bool{"LX-03": true})
	if len(src.items) == 0 {
		t.Fatal("no item left")
	}
	for _, code := range src.items {
		it, ok := cat.Item(code)
		switch {
		case !ok:
			t.Errorf("item %s is not in the catalog", code)
		case it.TimeLimitWorkingDays <= deadlineWarnDays || code == "LX-03":
			t.Errorf("item %s (limit %d) should have been left out", code, it.TimeLimitWorkingDays)
		}
	}
	ev, _ := src.next()
	if ev.Sequence != 1 || ev.Project != "WF-BENCH-r-01" || ev.ID != "bench-r-p01-000000" {
		t.Errorf("first event: %+v", ev)
	}
}

func TestJoinByItemKeepsProjectsApart(t *testing.T) {
	events := []event{
		{ID: "a", Project: "WF-A", Item: "LX-02", Result: intake.ResultApplied},
		{ID: "b", Project: "WF-B", Item: "LX-02", Result: intake.ResultApplied},
	}
	now := time.Now()
	pushes := []push{
		{NotifID: "n2", Project: "WF-B", Items: "LX-02", Received: now},
		{NotifID: "n1", Project: "WF-A", Items: "LX-02", Received: now},
	}
	m := joiner{}.match(events, pushes)
	if len(m["a"]) != 1 || m["a"][0].NotifID != "n1" || len(m["b"]) != 1 || m["b"][0].NotifID != "n2" {
		t.Errorf("matched %+v", m)
	}
}
