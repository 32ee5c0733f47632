package notify

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/models"
)

// Relay bounds.
const (
	relayBatch = 100
	// maxRelays stops re-driving an entry that keeps failing; by then it has
	// been dead-lettered several times and an operator must look. Once its
	// last relay has had RedriveAfter to be processed, it is an outbox dead
	// letter (deadSweep): logged, counted, listed and re-driven by
	// `bff outbox`.
	maxRelays = 10
	// deadBatch bounds the entries one statement marks dead or re-drives.
	deadBatch = 500
)

// relay copies outbox rows to the notification stream. Rows not processed
// RedriveAfter after their last relay are relayed again, so entries lost
// with Redis (even its whole data set) are delivered anyway.
type relay struct {
	d    Deps
	keys keys
}

// relayOnce relays one batch and returns how many rows it relayed.
func (r *relay) relayOnce(ctx context.Context) (int, error) {
	now := r.d.Now()
	var rows []models.OutboxEntry
	err := r.d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := r.d.DB.SkipLocked(tx).Select("id", "attempts").
			Where("processed_at IS NULL AND attempts < ? AND (relayed_at IS NULL OR relayed_at < ?)",
				maxRelays, now.Add(-r.d.Settings.RedriveAfter).UTC()).
			Order("id").Limit(relayBatch).Find(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		ids := make([]int64, 0, len(rows))
		for _, row := range rows {
			ids = append(ids, row.ID)
		}
		if err := publish(ctx, r.d, r.keys, ids); err != nil {
			return err
		}
		return tx.Model(&models.OutboxEntry{}).Where("id IN ?", ids).
			Updates(map[string]any{"relayed_at": now.UTC(), "attempts": gorm.Expr("attempts + 1")}).Error
	})
	return len(rows), err
}

// publish adds outbox entries to the notification stream, in one round
// trip.
func publish(ctx context.Context, d Deps, k keys, ids []int64) error {
	pipe := d.Redis.Pipeline()
	for _, id := range ids {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: k.stream, MaxLen: d.Settings.StreamMaxLen, Approx: true,
			Values: map[string]any{"outbox_id": strconv.FormatInt(id, 10)}})
	}
	_, err := pipe.Exec(ctx)
	return err
}

// backlog reports unprocessed outbox rows for the metrics, after marking
// the entries that have become dead letters since the last pass.
func (r *relay) backlog(ctx context.Context) {
	var n int64
	if r.d.DB.WithContext(ctx).Model(&models.OutboxEntry{}).Where("processed_at IS NULL").Count(&n).Error == nil {
		r.d.Metrics.outboxBacklog.Set(float64(n))
	}
	if _, err := r.deadSweep(ctx); err != nil {
		r.d.Log.WarnContext(ctx, "notify: outbox dead-letter sweep", "err", err)
	}
	if dead, err := CountDeadLetters(ctx, r.d.DB); err == nil {
		r.d.Metrics.outboxDead.Set(float64(dead))
	}
}

// deadSweep marks the unprocessed entries whose last relay was RedriveAfter
// ago or more and which may not be relayed again (maxRelays): they are dead
// letters from now until an operator re-drives them. Each is logged once,
// by the instance whose statement marked it. It returns how many it marked.
func (r *relay) deadSweep(ctx context.Context) (int, error) {
	now := r.d.Now().UTC()
	marked := 0
	for {
		var rows []models.OutboxEntry
		err := r.d.DB.WithContext(ctx).Raw(`UPDATE outbox_entries SET dead_at = ?
			WHERE processed_at IS NULL AND dead_at IS NULL AND id IN (
				SELECT id FROM outbox_entries
				WHERE processed_at IS NULL AND dead_at IS NULL AND attempts >= ? AND relayed_at < ?
				ORDER BY id LIMIT ?)
			RETURNING id, event_id, kind, project_id, attempts`,
			now, maxRelays, now.Add(-r.d.Settings.RedriveAfter), deadBatch).Scan(&rows).Error
		if err != nil {
			return marked, err
		}
		for _, e := range rows {
			r.d.Log.ErrorContext(ctx, "notify: outbox entry is a dead letter (re-drive it with: bff outbox redrive -id N)",
				"outbox_id", e.ID, "event_id", e.EventID, "kind", e.Kind, "project_id", e.ProjectID, "relays", e.Attempts)
		}
		marked += len(rows)
		if len(rows) < deadBatch {
			return marked, nil
		}
	}
}

// DeadLetter is an outbox entry that used up its relays without being
// processed: its notices are in nobody's inbox until it is re-driven.
type DeadLetter struct {
	ID        int64
	EventID   string
	Kind      string
	ProjectID string
	Attempts  int // relays
	CreatedAt time.Time
	RelayedAt *time.Time
	DeadAt    *time.Time
}

// deadWhere selects the dead letters: marked by a pipeline's sweep and
// still unprocessed.
const deadWhere = "processed_at IS NULL AND dead_at IS NOT NULL"

// CountDeadLetters counts the outbox's dead letters.
func CountDeadLetters(ctx context.Context, db *store.DB) (int64, error) {
	var n int64
	err := db.WithContext(ctx).Model(&models.OutboxEntry{}).Where(deadWhere).Count(&n).Error
	return n, err
}

// ListDeadLetters lists up to limit dead letters with ids above afterID,
// oldest first.
func ListDeadLetters(ctx context.Context, db *store.DB, afterID int64, limit int) ([]DeadLetter, error) {
	var out []DeadLetter
	err := db.WithContext(ctx).Table("outbox_entries").
		Select("id", "event_id", "kind", "project_id", "attempts", "created_at", "relayed_at", "dead_at").
		Where(deadWhere+" AND id > ?", afterID).Order("id").Limit(limit).Scan(&out).Error
	return out, err
}

// Redrive gives dead letters back to the relay with a fresh budget of
// relays: every instance's relay publishes them at its next pass (within
// a second). ids names the entries; empty means every dead letter. Entries
// that are not dead letters (processed meanwhile, unknown, still being
// relayed) are left as they are. It returns how many it re-drove.
func Redrive(ctx context.Context, db *store.DB, ids []int64) (int64, error) {
	if len(ids) == 0 {
		var total int64
		for {
			n, err := redrive(ctx, db, nil)
			total += n
			if err != nil || n < deadBatch {
				return total, err
			}
		}
	}
	var total int64
	for len(ids) > 0 {
		k := min(len(ids), deadBatch)
		n, err := redrive(ctx, db, ids[:k])
		total += n
		if err != nil {
			return total, err
		}
		ids = ids[k:]
	}
	return total, nil
}

func redrive(ctx context.Context, db *store.DB, ids []int64) (int64, error) {
	q := db.WithContext(ctx).Table("outbox_entries").Where(deadWhere)
	if ids != nil {
		q = q.Where("id IN ?", ids)
	} else {
		// One bounded statement at a time.
		q = q.Where("id IN (?)", db.Table("outbox_entries").Select("id").Where(deadWhere).Order("id").Limit(deadBatch))
	}
	res := q.Updates(map[string]any{"attempts": 0, "relayed_at": nil, "dead_at": nil})
	if res.Error != nil {
		return 0, res.Error
	}
	return res.RowsAffected, nil
}
