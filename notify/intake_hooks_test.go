package notify

import (
	"context"
	"errors"
	"testing"

	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/intake"
)

func TestOnAppliedRunsAfterAppliedEventsOnly(t *testing.T) {
	w := newWorld(t, 0)
	var calls []string
	in, err := intake.New(w.in, w.pipe, func(_ context.Context, c intake.Applied) error {
		calls = append(calls, c.ProjectID)
		return errors.New("cache down") // logged, never fails the event
	})
	if err != nil {
		t.Fatal(err)
	}
	w.intake = in
	w.upsert(false)
	w.item("GH-02", models.StatusAccepted, nil)
	w.seq--
	w.mustSend(map[string]any{"event_id": "ev-old", "type": intake.EventItemStatusChanged, "item_code": "GH-02", "status": "rejected"}, intake.ResultStale)
	// A repeat of the current status is answered applied but changes nothing.
	w.item("GH-02", models.StatusAccepted, nil)
	if len(calls) != 2 || calls[0] != "WF-DEMO-CIVIL" || calls[1] != "WF-DEMO-CIVIL" {
		t.Fatalf("OnApplied calls = %v, want two, for the upsert and the acceptance", calls)
	}
}

func TestDatabaseOutageIsRetryable(t *testing.T) {
	w := newWorld(t, 0)
	broken := w.in
	in, err := intake.New(broken, w.pipe, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.intake = in
	_ = broken.DB.Close()
	_, err = w.send(map[string]any{"type": intake.EventItemStatusChanged, "item_code": "GH-02", "status": "accepted"})
	var me *models.Error
	if !errors.As(err, &me) || me.Code != models.CodeUnavailable || me.RetryAfter < 1 || me.RetryAfter > 5 {
		t.Fatalf("err = %v, want unavailable with Retry-After 1..5", err)
	}
}

// An item change hands the write-through the project row and every item
// state exactly as committed, so the views built from them equal views built
// from the database.
func TestAppliedCarriesTheCommittedState(t *testing.T) {
	w := newWorld(t, 0)
	var last intake.Applied
	in, err := intake.New(w.in, w.pipe, func(_ context.Context, c intake.Applied) error {
		last = c
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w.intake = in
	w.upsert(false)
	if last.Project != nil {
		t.Fatal("a project upsert carried a snapshot; only item changes read every state")
	}
	w.item("GH-02", models.StatusAccepted, nil)                                        // a new state
	w.item("GH-02", models.StatusCorrectionRequired, map[string]any{"reason": "缺少附件"}) // changed in place
	w.item("ST-01", models.StatusSubmitted, nil)                                       // another new one
	if last.Project == nil {
		t.Fatal("an item change carried no snapshot")
	}
	var p models.Project
	if err := w.d.DB.Take(&p, "id = ?", last.ProjectID).Error; err != nil {
		t.Fatal(err)
	}
	if last.Project.Version != p.Version || last.Project.LastSequence != p.LastSequence ||
		(last.Project.StartedOn == nil) != (p.StartedOn == nil) {
		t.Fatalf("snapshot project %+v, committed %+v", *last.Project, p)
	}
	var states []models.ItemState
	if err := w.d.DB.Where("project_id = ?", p.ID).Find(&states).Error; err != nil {
		t.Fatal(err)
	}
	type key struct{ code, status, reason string }
	committed := map[key]bool{}
	for _, s := range states {
		committed[key{s.ItemCode, s.Status, s.Reason}] = true
	}
	if len(last.States) != len(states) {
		t.Fatalf("snapshot has %d states, the database %d", len(last.States), len(states))
	}
	for _, s := range last.States {
		if !committed[key{s.ItemCode, s.Status, s.Reason}] {
			t.Fatalf("snapshot state %s %s %q is not what was committed (%v)", s.ItemCode, s.Status, s.Reason, committed)
		}
		if s.ItemCode == "GH-02" && (s.AcceptedOn == nil || s.CorrectionSince == nil) {
			t.Fatalf("GH-02 lost its dates in the snapshot: %+v", s)
		}
	}
}
