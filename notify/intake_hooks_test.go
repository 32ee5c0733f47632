package notify

import (
	"context"
	"errors"
	"testing"

	"github.com/weifang/kaigong-zsb/models"
)

func TestOnAppliedRunsAfterAppliedEventsOnly(t *testing.T) {
	w := newWorld(t, 0)
	var calls []string
	in, err := NewIntake(w.d, func(_ context.Context, projectID string) error {
		calls = append(calls, projectID)
		return errors.New("cache down") // logged, never fails the event
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.intake = in
	w.upsert(false)
	w.seq--
	w.mustSend(map[string]any{"event_id": "ev-old", "type": EventItemStatusChanged, "item_code": "GH01", "status": "accepted"}, ResultStale)
	if len(calls) != 1 || calls[0] != "WF-DEMO-CIVIL" {
		t.Fatalf("OnApplied calls = %v, want one for the applied upsert", calls)
	}
}

func TestDatabaseOutageIsRetryable(t *testing.T) {
	w := newWorld(t, 0)
	broken := w.d
	broken.DB = w.pipe.d.DB
	in, err := NewIntake(broken, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.intake = in
	_ = broken.DB.Close()
	_, err = w.send(map[string]any{"type": EventItemStatusChanged, "item_code": "GH01", "status": "accepted"})
	var me *models.Error
	if !errors.As(err, &me) || me.Code != models.CodeUnavailable || me.RetryAfter < 1 || me.RetryAfter > 5 {
		t.Fatalf("err = %v, want unavailable with Retry-After 1..5", err)
	}
}
