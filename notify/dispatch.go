package notify

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/weifang/kaigong-zsb/models"
)

// Batch bounds of the dispatcher.
const (
	jobBatch      = 200
	deliveryBatch = 500 // the most one Send call is given
	deliveryLease = 2 * time.Minute
)

// dispatcher turns due push jobs into per-device deliveries (merging a
// burst for one project into one digest push) and sends due deliveries.
type dispatcher struct {
	d    Deps
	keys keys
}

// pushPayload is a rendered push without its token, stored with the
// delivery so every attempt sends the same thing.
type pushPayload struct {
	NotificationID string   `json:"notification_id"`
	Category       string   `json:"category"`
	ProjectID      string   `json:"project_id"`
	ItemCodes      []string `json:"item_codes,omitempty"`
	Route          string   `json:"route"`
	UnreadCount    int      `json:"unread_count"`
	Title          string   `json:"title"`
	Body           string   `json:"body"`
	Critical       bool     `json:"critical,omitempty"`
}

// lockRows adds FOR UPDATE SKIP LOCKED on PostgreSQL, so concurrent
// instances take disjoint rows; SQLite serialises writers anyway.
func lockRows(db *gorm.DB, dialect string) *gorm.DB {
	if dialect == "postgres" {
		return db.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
	}
	return db
}

// planDue turns the push jobs due now into deliveries. It returns how many
// jobs it handled.
func (ds *dispatcher) planDue(ctx context.Context) (int, error) {
	now := ds.d.Now()
	handled := 0
	err := ds.d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var due []models.PushJob
		if err := lockRows(tx, ds.d.DB.Dialect).Where("state = ? AND due_at <= ?", models.PushJobPending, now.UTC()).
			Order("due_at").Limit(jobBatch).Find(&due).Error; err != nil {
			return err
		}
		handled = len(due)
		taken := map[string]bool{}
		for _, j := range due {
			if taken[j.NotificationID] {
				continue
			}
			group := []models.PushJob{j}
			taken[j.NotificationID] = true
			if !j.Critical && ds.d.Settings.DigestWindow > 0 {
				// The rest of the burst: this user's other ordinary jobs for
				// the project due within the window join this push.
				var more []models.PushJob
				if err := lockRows(tx, ds.d.DB.Dialect).Where("state = ? AND user_id = ? AND project_id = ? AND critical = ? AND due_at <= ? AND notification_id <> ?",
					models.PushJobPending, j.UserID, j.ProjectID, false, now.Add(ds.d.Settings.DigestWindow).UTC(), j.NotificationID).
					Order("due_at").Find(&more).Error; err != nil {
					return err
				}
				for _, m := range more {
					if !taken[m.NotificationID] {
						taken[m.NotificationID] = true
						group = append(group, m)
					}
				}
			}
			if err := ds.plan(tx, group, now); err != nil {
				return err
			}
		}
		return nil
	})
	return handled, err
}

// plan writes the deliveries of one push (a single notice or a digest of
// several) to each of the user's active, deliverable devices.
func (ds *dispatcher) plan(tx *gorm.DB, group []models.PushJob, now time.Time) error {
	lead := group[len(group)-1] // the newest notice stands for a digest
	ids := make([]string, 0, len(group))
	for _, j := range group {
		ids = append(ids, j.NotificationID)
	}
	var notes []models.Notification
	if err := tx.Where("id IN ?", ids).Order("created_at").Find(&notes).Error; err != nil {
		return err
	}
	if len(notes) == 0 {
		return tx.Model(&models.PushJob{}).Where("notification_id IN ?", ids).Update("state", models.PushJobDone).Error
	}
	last := notes[len(notes)-1]
	var unread int64
	if err := tx.Model(&models.Notification{}).Where("user_id = ? AND read_at IS NULL", lead.UserID).Count(&unread).Error; err != nil {
		return err
	}
	msg := pushPayload{NotificationID: last.ID, Category: last.Category, ProjectID: last.ProjectID,
		Route: routeOf(last), UnreadCount: int(unread), Title: last.Title, Body: last.Body, Critical: last.Critical}
	var codes []string
	seen := map[string]bool{}
	for _, n := range notes {
		for _, c := range strings.Split(n.ItemCodes, ",") {
			if c != "" && !seen[c] {
				seen[c] = true
				codes = append(codes, c)
			}
		}
	}
	msg.ItemCodes = codes
	if len(notes) > 1 {
		var p models.Project
		_ = tx.Select("name").Where("id = ?", last.ProjectID).Take(&p).Error
		prefs, err := loadPrefs(tx, []models.User{{ID: lead.UserID}})
		if err != nil {
			return err
		}
		msg.Title, msg.Body = textsFor(prefs[lead.UserID].Locale).digest(len(notes), p.Name)
		msg.Route = "zsb://projects/" + last.ProjectID + "/progress"
	}
	payload, _ := json.Marshal(msg)
	var devices []models.Device
	if err := tx.Where("user_id = ? AND active = ?", lead.UserID, true).Find(&devices).Error; err != nil {
		return err
	}
	for _, dev := range devices {
		if !ProviderSupported(dev.Provider) {
			continue
		}
		del := models.PushDelivery{NotificationID: msg.NotificationID, InstallationID: dev.InstallationID,
			State: models.DeliveryPending, NextAt: now.UTC(), Payload: string(payload), ReceivedAt: earliest(group)}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&del).Error; err != nil {
			return err
		}
	}
	if err := tx.Model(&models.PushJob{}).Where("notification_id IN ?", ids).
		Updates(map[string]any{"state": models.PushJobMerged, "updated_at": now.UTC()}).Error; err != nil {
		return err
	}
	return tx.Model(&models.PushJob{}).Where("notification_id = ?", msg.NotificationID).
		Update("state", models.PushJobDone).Error
}

func earliest(group []models.PushJob) time.Time {
	t := group[0].ReceivedAt
	for _, j := range group[1:] {
		if j.ReceivedAt.Before(t) {
			t = j.ReceivedAt
		}
	}
	return t
}

// routeOf reads the deep link stored with an inbox row.
func routeOf(n models.Notification) string {
	var data map[string]string
	_ = json.Unmarshal([]byte(n.Data), &data)
	return data["route"]
}

// sendDue sends the deliveries due now, at most deliveryBatch per call, and
// records every outcome. It returns how many it sent.
func (ds *dispatcher) sendDue(ctx context.Context) (int, error) {
	now := ds.d.Now()
	var batch []models.PushDelivery
	err := ds.d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockRows(tx, ds.d.DB.Dialect).
			Where("state = ? AND next_at <= ? AND (lease_until IS NULL OR lease_until < ?)", models.DeliveryPending, now.UTC(), now.UTC()).
			Order("next_at").Limit(deliveryBatch).Find(&batch).Error; err != nil {
			return err
		}
		for i := range batch {
			batch[i].Attempts++
			lease := now.Add(deliveryLease).UTC()
			if err := tx.Model(&models.PushDelivery{}).
				Where("notification_id = ? AND installation_id = ?", batch[i].NotificationID, batch[i].InstallationID).
				Updates(map[string]any{"attempts": batch[i].Attempts, "lease_until": lease}).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	ids := make([]string, 0, len(batch))
	for _, b := range batch {
		ids = append(ids, b.InstallationID)
	}
	var devices []models.Device
	if err := ds.d.DB.WithContext(ctx).Where("installation_id IN ?", ids).Find(&devices).Error; err != nil {
		return 0, err
	}
	byID := make(map[string]models.Device, len(devices))
	for _, dev := range devices {
		byID[dev.InstallationID] = dev
	}
	var (
		msgs  []PushMessage
		index []int
	)
	results := make([]PushResult, len(batch))
	for i, b := range batch {
		dev, ok := byID[b.InstallationID]
		if !ok || !dev.Active {
			results[i] = PushResult{Outcome: OutcomeFailed, ErrorCode: "device_inactive"}
			continue
		}
		var p pushPayload
		_ = json.Unmarshal([]byte(b.Payload), &p)
		msgs = append(msgs, PushMessage{Token: dev.PushToken, Provider: dev.Provider, NotificationID: p.NotificationID,
			Category: p.Category, ProjectID: p.ProjectID, ItemCodes: p.ItemCodes, Route: p.Route,
			UnreadCount: p.UnreadCount, Title: p.Title, Body: p.Body, Critical: p.Critical})
		index = append(index, i)
	}
	if len(msgs) > 0 {
		for j, r := range ds.d.Sender.Send(ctx, msgs) {
			results[index[j]] = r
		}
	}
	done := ds.d.Now()
	for i, b := range batch {
		if err := ds.record(ctx, b, results[i], done); err != nil {
			return i, err
		}
	}
	return len(batch), nil
}

// record stores one attempt's outcome and moves the delivery on: sent,
// deactivated, failed, or pending again after a backoff.
func (ds *dispatcher) record(ctx context.Context, b models.PushDelivery, r PushResult, now time.Time) error {
	outcome := r.Outcome
	state := models.DeliveryFailed
	next := b.NextAt
	switch r.Outcome {
	case OutcomeSent:
		state = models.DeliverySent
		ds.d.Metrics.pushLatency.Observe(now.Sub(b.ReceivedAt).Seconds())
	case OutcomeDeactivate:
		state = models.DeliveryDeactivated
	case OutcomeRetry:
		if b.Attempts < ds.d.Settings.MaxPushAttempts {
			state = models.DeliveryPending
			next = now.Add(Backoff(b.Attempts, r.RetryAfter))
		}
	default:
		outcome = OutcomeFailed
	}
	ds.d.Metrics.pushes.WithLabelValues(outcome).Inc()
	err := ds.d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		attempt := models.PushAttempt{NotificationID: b.NotificationID, InstallationID: b.InstallationID,
			Attempt: b.Attempts, Outcome: outcomeName(outcome), ErrorCode: r.ErrorCode, CreatedAt: now.UTC()}
		if err := tx.Create(&attempt).Error; err != nil {
			return err
		}
		if state == models.DeliveryDeactivated {
			if err := tx.Model(&models.Device{}).Where("installation_id = ?", b.InstallationID).
				Updates(map[string]any{"active": false, "updated_at": now.UTC()}).Error; err != nil {
				return err
			}
		}
		return tx.Model(&models.PushDelivery{}).
			Where("notification_id = ? AND installation_id = ?", b.NotificationID, b.InstallationID).
			Updates(map[string]any{"state": state, "next_at": next.UTC(), "lease_until": nil, "updated_at": now.UTC()}).Error
	})
	if err == nil && state == models.DeliveryPending && ds.d.Redis != nil {
		_ = ds.d.Redis.ZAdd(ctx, ds.keys.wake, redis.Z{Score: float64(next.UnixMilli()),
			Member: "delivery:" + b.NotificationID + ":" + b.InstallationID}).Err()
	}
	return err
}

// outcomeName is the PushAttempt spelling of an outcome.
func outcomeName(outcome string) string {
	if outcome == OutcomeDeactivate {
		return "deactivated"
	}
	return outcome
}
