package notify

import (
	"context"
	"errors"
	"time"

	"github.com/weifang/kaigong-zsb/internal/workdays"
	"github.com/weifang/kaigong-zsb/models"
)

// maxEventBody is the largest webhook body accepted (the HTTP layer answers
// 413 before this; the check here keeps Intake safe on its own).
const maxEventBody = 1 << 20

// Results of an accepted upstream event.
const (
	ResultApplied   = "applied"
	ResultDuplicate = "duplicate"
	ResultStale     = "stale"
)

// IntakeResult is the 202 answer to an accepted event.
type IntakeResult struct {
	EventID string `json:"event_id"`
	Result  string `json:"result"`
}

// Intake verifies, validates and applies upstream webhook events.
type Intake struct {
	d         Deps
	keys      keys
	secrets   [][]byte
	onApplied func(ctx context.Context, c Applied) error
	nudge     func()
}

// Applied is what an applied event changed, for the cache write-through.
// For an item change it carries the project row and every item state as
// the transaction committed them, so the views can be built without reading
// them back; otherwise Project is nil.
type Applied struct {
	ProjectID string
	Project   *models.Project
	States    []models.ItemState

	handoff []int64 // outbox entries the intake publishes to the stream itself
	relay   bool    // outbox work was left to the relay
}

// NewIntake builds the webhook intake. onApplied runs after an applied
// event has committed (the progress cache write-through; its error is only
// logged); nudge wakes the outbox relay (Pipeline.Nudge). Either may be nil.
func NewIntake(d Deps, onApplied func(ctx context.Context, c Applied) error, nudge func()) (*Intake, error) {
	if err := d.withDefaults(); err != nil {
		return nil, err
	}
	if len(d.Settings.WebhookSecrets) == 0 {
		return nil, errors.New("notify: at least one webhook secret is required")
	}
	in := &Intake{d: d, keys: newKeys(d.RedisPrefix), onApplied: onApplied, nudge: nudge}
	for _, s := range d.Settings.WebhookSecrets {
		in.secrets = append(in.secrets, []byte(s))
	}
	return in, nil
}

// Receive handles one webhook delivery: signature and timestamp, strict
// decoding, then the change in one transaction. It answers applied,
// duplicate (the event id was seen; nothing changes) or stale (the sequence
// is not above the project's last one; kept in the timeline only), or an
// *models.Error: signature_invalid, timestamp_out_of_range,
// payload_too_large, malformed_json, validation_failed, unknown_event_type,
// unknown_item, unknown_project, or unavailable (retryable) when the
// database failed, in which case nothing was applied.
func (in *Intake) Receive(ctx context.Context, timestampHeader, signatureHeader string, body []byte) (IntakeResult, error) {
	res, err := in.receive(ctx, timestampHeader, signatureHeader, body)
	label := res.Result
	if err != nil {
		label = string(models.ErrorCode(err))
	}
	in.d.Metrics.events.WithLabelValues(label).Inc()
	return res, err
}

func (in *Intake) receive(ctx context.Context, ts, sig string, body []byte) (IntakeResult, error) {
	if len(body) > maxEventBody {
		return IntakeResult{}, models.Errorf(models.CodePayloadTooLarge, "the event is larger than 1 MiB")
	}
	now := in.d.Now()
	if err := verifySignature(in.secrets, ts, sig, body, now); err != nil {
		return IntakeResult{}, err
	}
	ev, err := decodeEvent(body)
	if err != nil {
		return IntakeResult{}, err
	}
	if ev.Type == EventItemStatusChanged && !in.d.Approvals.HasItem(ev.ItemCode) {
		return IntakeResult{}, &models.Error{Code: models.CodeUnknownItem, Message: "item_code is not in the catalog",
			Fields: []models.FieldError{{Field: "item_code", Message: "unknown item"}}}
	}
	change := Applied{ProjectID: ev.ProjectID}
	result, applied, err := in.apply(ctx, ev, string(body), now, &change)
	if err != nil {
		var me *models.Error
		if !errors.As(err, &me) {
			in.d.Log.ErrorContext(ctx, "notify: event not applied", "event_id", ev.EventID, "err", err)
			err = &models.Error{Code: models.CodeUnavailable, Message: "the event could not be stored; retry", RetryAfter: 2, Err: err}
		}
		return IntakeResult{}, err
	}
	if applied {
		if in.onApplied != nil {
			if err := in.onApplied(ctx, change); err != nil {
				in.d.Log.WarnContext(ctx, "notify: progress write-through failed", "project_id", ev.ProjectID, "err", err)
			}
		}
		if len(change.handoff) > 0 {
			in.handOff(ctx, change.handoff)
		}
		if change.relay && in.nudge != nil {
			in.nudge()
		}
	}
	return IntakeResult{EventID: ev.EventID, Result: result}, nil
}

// handOff publishes committed outbox entries to the notification stream.
// If Redis fails them, they are given back to the relay, which publishes
// them at its next pass; if even that fails, the relay's re-drive takes
// them RedriveAfter later. The event is committed either way.
func (in *Intake) handOff(ctx context.Context, ids []int64) {
	// The event is committed: its publishing does not depend on the
	// client's connection.
	ctx = context.WithoutCancel(ctx)
	err := publish(ctx, in.d, in.keys, ids)
	if err == nil {
		return
	}
	in.d.Log.WarnContext(ctx, "notify: stream publish failed; left to the relay", "outbox_ids", ids, "err", err)
	if err := in.d.DB.WithContext(ctx).Model(&models.OutboxEntry{}).Where("id IN ? AND processed_at IS NULL", ids).
		Updates(map[string]any{"relayed_at": nil, "attempts": 0}).Error; err != nil {
		in.d.Log.WarnContext(ctx, "notify: outbox handback failed; re-driven later", "outbox_ids", ids, "err", err)
	}
	if in.nudge != nil {
		in.nudge()
	}
}

// civilDay is the Asia/Shanghai date of t as stored in date columns.
func civilDay(t time.Time) *time.Time {
	d := workdays.DateOf(t).Midnight()
	return &d
}
