// Package intake receives the upstream approval system's webhook: it checks
// the signature, decodes the event strictly and applies the change with its
// outbox entry in one transaction.
//
// What the change must tell users is written as a notify/outbox entry; the
// notify pipeline turns it into pushes. The intake hands committed entries
// to the pipeline at once (Publisher) so a push does not wait for the
// relay's poll, but nothing is lost if that hand-off fails.
package intake

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weifang/kaigong-zsb/internal/store"
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

// Result is the 202 answer to an accepted event.
type Result struct {
	EventID string `json:"event_id"`
	Result  string `json:"result"`
}

// Config is what the intake needs.
type Config struct {
	DB       *store.DB
	Catalog  Catalog // see CatalogOf
	Calendar *workdays.Calendar
	// Secrets are the upstream HMAC secrets (several during a rotation).
	Secrets []string
	Log     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Registerer takes the intake's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Publisher is the notification pipeline as the intake sees it.
type Publisher interface {
	// HandOff publishes committed outbox entries for delivery now. It
	// never fails the event: entries it cannot publish are left to the
	// relay.
	HandOff(ctx context.Context, ids []int64)
	// Nudge wakes the outbox relay; it never blocks.
	Nudge()
}

// Intake verifies, validates and applies upstream webhook events.
type Intake struct {
	c         Config
	secrets   [][]byte
	pub       Publisher
	onApplied func(ctx context.Context, c Applied) error
	events    *prometheus.CounterVec
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

// New builds the webhook intake. pub (the notification pipeline) takes the
// committed outbox entries; without it they wait for a relay elsewhere.
// onApplied runs after an applied event has committed (the progress cache
// write-through; its error is only logged). Either may be nil.
func New(c Config, pub Publisher, onApplied func(ctx context.Context, c Applied) error) (*Intake, error) {
	if c.DB == nil || c.Catalog == nil || c.Calendar == nil {
		return nil, errors.New("intake: DB, Catalog and Calendar are required")
	}
	if len(c.Secrets) == 0 {
		return nil, errors.New("intake: at least one webhook secret is required")
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	in := &Intake{c: c, pub: pub, onApplied: onApplied, events: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "zsb_upstream_events_total", Help: "Upstream webhook events by result (applied, duplicate, stale, or an error code).",
	}, []string{"result"})}
	if c.Registerer != nil {
		if err := c.Registerer.Register(in.events); err != nil {
			return nil, err
		}
	}
	for _, s := range c.Secrets {
		in.secrets = append(in.secrets, []byte(s))
	}
	return in, nil
}

// Receive handles one webhook delivery: signature and timestamp, strict
// decoding, then the change in one transaction. It answers applied (also
// for an event that repeats its item's current status: kept in the
// timeline, nothing changes, nothing is pushed), duplicate (the event id was
// seen; nothing changes) or stale (the sequence is not above the last one
// applied to the same record, the item or the project; kept in the timeline
// only), or an
// *models.Error: signature_invalid, timestamp_out_of_range,
// payload_too_large, malformed_json, validation_failed, unknown_event_type,
// unknown_item, unknown_project, or unavailable (retryable) when the
// database failed, in which case nothing was applied.
func (in *Intake) Receive(ctx context.Context, timestampHeader, signatureHeader string, body []byte) (Result, error) {
	res, err := in.receive(ctx, timestampHeader, signatureHeader, body)
	label := res.Result
	if err != nil {
		label = string(models.ErrorCode(err))
	}
	in.events.WithLabelValues(label).Inc()
	return res, err
}

func (in *Intake) receive(ctx context.Context, ts, sig string, body []byte) (Result, error) {
	if len(body) > maxEventBody {
		return Result{}, models.Errorf(models.CodePayloadTooLarge, "the event is larger than 1 MiB")
	}
	now := in.c.Now()
	if err := verifySignature(in.secrets, ts, sig, body, now); err != nil {
		return Result{}, err
	}
	ev, err := decodeEvent(body)
	if err != nil {
		return Result{}, err
	}
	if ev.Type == EventItemStatusChanged && !in.c.Catalog.HasItem(ev.ItemCode) {
		return Result{}, &models.Error{Code: models.CodeUnknownItem, Message: "item_code is not in the catalog",
			Fields: []models.FieldError{{Field: "item_code", Message: "unknown item"}}}
	}
	change := Applied{ProjectID: ev.ProjectID}
	result, applied, err := in.apply(ctx, ev, string(body), now, &change)
	if err != nil {
		var me *models.Error
		if !errors.As(err, &me) {
			in.c.Log.ErrorContext(ctx, "intake: event not applied", "event_id", ev.EventID, "err", err)
			err = &models.Error{Code: models.CodeUnavailable, Message: "the event could not be stored; retry", RetryAfter: 2, Err: err}
		}
		return Result{}, err
	}
	if applied {
		if in.onApplied != nil {
			if err := in.onApplied(ctx, change); err != nil {
				in.c.Log.WarnContext(ctx, "intake: progress write-through failed", "project_id", ev.ProjectID, "err", err)
			}
		}
		if len(change.handoff) > 0 {
			// The event is committed: its publishing does not depend on
			// the client's connection.
			in.pub.HandOff(context.WithoutCancel(ctx), change.handoff)
		}
		if change.relay && in.pub != nil {
			in.pub.Nudge()
		}
	}
	return Result{EventID: ev.EventID, Result: result}, nil
}

// civilDay is the Asia/Shanghai date of t as stored in date columns.
func civilDay(t time.Time) *time.Time {
	d := workdays.DateOf(t).Midnight()
	return &d
}
