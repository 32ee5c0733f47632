package notify

import (
	"context"
	"strconv"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/models"
)

// Relay bounds.
const (
	relayBatch = 100
	// maxRelays stops re-driving an entry that keeps failing; by then it has
	// been dead-lettered several times and an operator must look.
	maxRelays = 10
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

// backlog reports unprocessed outbox rows for the metrics.
func (r *relay) backlog(ctx context.Context) {
	var n int64
	if r.d.DB.WithContext(ctx).Model(&models.OutboxEntry{}).Where("processed_at IS NULL").Count(&n).Error == nil {
		r.d.Metrics.outboxBacklog.Set(float64(n))
	}
}
