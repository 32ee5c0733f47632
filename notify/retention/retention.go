// Package retention keeps the database from growing with every event: a background
// pruner removes, in small batches and on one instance at a time, what is past its window.
package retention

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/weifang/kaigong-zsb/internal/redislock"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/internal/workdays"
	"github.com/weifang/kaigong-zsb/models"
)

// Windows say how long each kind of row is kept; 0 keeps it forever. What
// the pipeline still needs is never removed, however old: an unprocessed
// outbox entry (dead letters included), a pending push job, a pending
// delivery, a deadline warning whose clock still runs.
type Windows struct {
	// EventBodies clears an upstream event's raw body (events.payload) this
	// long after it was received. The row stays: it is the project's
	// timeline and the event's idempotency key, and holds no body.
	EventBodies time.Duration
	// Outbox removes processed outbox entries this long after processing.
	Outbox time.Duration
	// Push removes push attempts, finished deliveries (sent, failed,
	// deactivated) and finished push jobs (done, merged) this long after
	// they were due.
	Push time.Duration
	// Inbox removes notices, read or not, this long after their change
	// arrived; an unread one removed takes one off its user's unread count
	// in the same transaction. Everything younger stays in the inbox.
	Inbox time.Duration
	// Warnings removes deadline warnings this long after the due day they
	// warned of, once they can never be issued again: a due-soon warning
	// (its day is past), or an overdue warning whose clock has stopped (no
	// item it covers still awaits the administration's answer).
	Warnings time.Duration
}

// DefaultWindows are the windows the BFF runs with unless configured.
func DefaultWindows() Windows {
	return Windows{
		EventBodies: 30 * 24 * time.Hour,
		Outbox:      7 * 24 * time.Hour,
		Push:        30 * 24 * time.Hour,
		Inbox:       180 * 24 * time.Hour,
		Warnings:    90 * 24 * time.Hour,
	}
}

// Config is what the pruner needs; zero values take the documented defaults.
type Config struct {
	DB *store.DB
	// Redis holds the lock that lets one instance prune at a time; nil
	// prunes without it (a single process, e.g. tests).
	Redis       redis.UniversalClient
	RedisPrefix string
	Log         *slog.Logger
	// Now is the clock; nil means time.Now.
	Now     func() time.Time
	Windows Windows
	// Interval between passes. Default 10m.
	Interval time.Duration
	// Batch bounds the rows one statement touches. Default 500.
	Batch int
	// Pause between two statements of a pass, so a large backlog is worked
	// off without holding the database. Default 0.
	Pause time.Duration
	// Registerer, when set, receives zsb_retention_removed_total.
	Registerer prometheus.Registerer
}

// Table names in Counts and in the metric's "table" label.
const (
	TableOutbox        = "outbox_entries"
	TableEventBodies   = "events.payload" // bodies cleared, rows kept
	TablePushAttempts  = "push_attempts"
	TablePushDeliver   = "push_deliveries"
	TablePushJobs      = "push_jobs"
	TableNotifications = "notifications"
	TableWarnings      = "deadline_warnings"
)

// Counts are the rows one pass removed (or, for event bodies, cleared), by
// table.
type Counts map[string]int64

// ErrLocked says another instance holds the pruner's lock.
var ErrLocked = errors.New("retention: another instance is pruning")

// Pruner removes rows past their window.
type Pruner struct {
	c       Config
	lock    *redislock.Lock
	removed *prometheus.CounterVec
}

// New builds a pruner.
func New(c Config) (*Pruner, error) {
	if c.DB == nil {
		return nil, errors.New("retention: DB is required")
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Interval <= 0 {
		c.Interval = 10 * time.Minute
	}
	if c.Batch <= 0 {
		c.Batch = 500
	}
	p := &Pruner{c: c}
	if c.Redis != nil {
		p.lock = redislock.New(c.Redis, c.RedisPrefix+"{retention}:lock", 2*time.Minute)
	}
	p.removed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "zsb_retention_removed_total",
		Help: "Rows the retention pruner removed past their window, by table (events.payload: raw bodies cleared).",
	}, []string{"table"})
	if c.Registerer != nil {
		if err := c.Registerer.Register(p.removed); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Run prunes every Interval until ctx ends, on whichever instance holds the
// lock; the others skip the pass.
func (p *Pruner) Run(ctx context.Context) {
	t := time.NewTicker(p.c.Interval)
	defer t.Stop()
	for {
		counts, err := p.Prune(ctx)
		switch {
		case errors.Is(err, ErrLocked):
		case err != nil && ctx.Err() == nil:
			p.c.Log.WarnContext(ctx, "retention: prune", "err", err, "removed", counts)
		case total(counts) > 0:
			p.c.Log.InfoContext(ctx, "retention: pruned", "removed", counts)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func total(c Counts) int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// Prune runs one pass under the lock (ErrLocked when another instance
// holds it): each table in turn, one bounded statement at a time until
// nothing past its window is left. The lock is renewed after every
// statement; a pass that loses it stops.
func (p *Pruner) Prune(ctx context.Context) (Counts, error) {
	counts := Counts{}
	if p.lock != nil {
		held, err := p.lock.Acquire(ctx)
		if err != nil {
			return counts, err
		}
		if !held {
			return counts, ErrLocked
		}
		defer func() { _ = p.lock.Release(context.WithoutCancel(ctx)) }()
	}
	now := p.c.Now().UTC()
	w := p.c.Windows
	steps := []struct {
		table  string
		window time.Duration
		batch  func(ctx context.Context, cutoff time.Time) (int64, error)
	}{
		{TableOutbox, w.Outbox, p.outbox},
		{TableEventBodies, w.EventBodies, p.eventBodies},
		{TablePushAttempts, w.Push, p.pushAttempts},
		{TablePushDeliver, w.Push, p.pushDeliveries},
		{TablePushJobs, w.Push, p.pushJobs},
		{TableNotifications, w.Inbox, p.notifications},
		{TableWarnings, w.Warnings, p.warnings},
	}
	for _, s := range steps {
		if s.window <= 0 {
			continue // kept forever
		}
		cutoff := now.Add(-s.window)
		for {
			if err := ctx.Err(); err != nil {
				return counts, err
			}
			n, err := s.batch(ctx, cutoff)
			counts[s.table] += n
			p.removed.WithLabelValues(s.table).Add(float64(n))
			if err != nil {
				return counts, err
			}
			if n < int64(p.c.Batch) {
				break
			}
			if p.lock != nil {
				if held, err := p.lock.Acquire(ctx); err != nil || !held {
					return counts, errors.Join(ErrLocked, err)
				}
			}
			if p.c.Pause > 0 {
				sleep(ctx, p.c.Pause)
			}
		}
	}
	return counts, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// pick is the condition that selects at most Batch rows of table matching
// where (in order, when set), for an UPDATE or DELETE of that table; the
// caller's arguments are where's, then the batch size. It is the only
// difference between the PostgreSQL and the SQLite form of the statements
// below. PostgreSQL takes the rows by their physical address from an
// array, so it looks up just those rows (an IN over a subquery may be
// planned as a join that scans the whole table for every batch), and
// skips rows the pipeline has locked instead of waiting for them; the
// lock also keeps each row where it is until the statement ends. SQLite
// has one writer at a time and its rowid is the table's own key.
func (p *Pruner) pick(table, where, order string) string {
	if order != "" {
		order = " ORDER BY " + order
	}
	if p.c.DB.Dialect == "postgres" {
		return "ctid = ANY(ARRAY(SELECT ctid FROM " + table + " WHERE " + where + order + " LIMIT ? FOR UPDATE SKIP LOCKED))"
	}
	return "rowid IN (SELECT rowid FROM " + table + " WHERE " + where + order + " LIMIT ?)"
}

func (p *Pruner) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	res := p.c.DB.WithContext(ctx).Exec(sql, args...)
	return res.RowsAffected, res.Error
}

// outbox removes processed entries; an unprocessed one (a dead letter
// too) is never touched.
func (p *Pruner) outbox(ctx context.Context, cutoff time.Time) (int64, error) {
	return p.exec(ctx, `DELETE FROM outbox_entries WHERE `+p.pick("outbox_entries", "processed_at < ?", "")+`
		AND processed_at IS NOT NULL`, cutoff, p.c.Batch)
}

// eventBodies clears raw bodies; the partial index on received_at holds
// only events whose body is still there.
func (p *Pruner) eventBodies(ctx context.Context, cutoff time.Time) (int64, error) {
	return p.exec(ctx, `UPDATE events SET payload = '' WHERE `+p.pick("events", "payload <> '' AND received_at < ?", ""),
		cutoff, p.c.Batch)
}

// pushAttempts removes attempts from the oldest ids on: attempts only
// ever arrive, so reading the oldest batch by primary key and keeping what
// is younger than the cutoff finds the old ones without an index, and a
// batch that removes less than a full one means none are left.
func (p *Pruner) pushAttempts(ctx context.Context, cutoff time.Time) (int64, error) {
	return p.exec(ctx, `DELETE FROM push_attempts WHERE `+p.pick("push_attempts", "1 = 1", "id")+` AND created_at < ?`,
		p.c.Batch, cutoff)
}

// finishedDeliveries are the delivery states nothing sends again.
var finishedDeliveries = []string{models.DeliverySent, models.DeliveryFailed, models.DeliveryDeactivated}

// pushDeliveries removes finished deliveries whose last send was due
// before the cutoff (the state and next_at index); pending ones stay
// whatever their age.
func (p *Pruner) pushDeliveries(ctx context.Context, cutoff time.Time) (int64, error) {
	return p.exec(ctx, `DELETE FROM push_deliveries WHERE `+p.pick("push_deliveries", "state IN ? AND next_at < ?", "")+`
		AND state IN ?`, finishedDeliveries, cutoff, p.c.Batch, finishedDeliveries)
}

// finishedJobs are the push job states the dispatcher never plans again.
var finishedJobs = []string{models.PushJobDone, models.PushJobMerged}

// pushJobs removes finished jobs due before the cutoff (the state and
// due_at index); pending ones stay.
func (p *Pruner) pushJobs(ctx context.Context, cutoff time.Time) (int64, error) {
	return p.exec(ctx, `DELETE FROM push_jobs WHERE `+p.pick("push_jobs", "state IN ? AND due_at < ?", "")+`
		AND state IN ?`, finishedJobs, cutoff, p.c.Batch, finishedJobs)
}

// notifications removes notices older than the inbox window and, in the
// same transaction, takes the unread ones off their users' counts (users
// in ascending order, as a fixed order keeps two such transactions from
// deadlocking each other). A notice being marked read meanwhile is either
// skipped (its row is locked) or taken first, and the marking then finds
// it gone and counts nothing: the count moves once either way.
func (p *Pruner) notifications(ctx context.Context, cutoff time.Time) (int64, error) {
	var removed int64
	err := p.c.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []struct {
			UserID int64
			Unread bool
		}
		if err := tx.Raw(`DELETE FROM notifications WHERE `+p.pick("notifications", "created_at < ?", "")+`
			RETURNING user_id, read_at IS NULL AS unread`, cutoff, p.c.Batch).Scan(&rows).Error; err != nil {
			return err
		}
		removed = int64(len(rows))
		unread := map[int64]int64{}
		for _, r := range rows {
			if r.Unread {
				unread[r.UserID]++
			}
		}
		users := make([]int64, 0, len(unread))
		for u := range unread {
			users = append(users, u)
		}
		slices.Sort(users)
		for _, u := range users {
			if _, err := store.AddUnread(tx, u, -unread[u]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return removed, nil
}

// Deadline warning kinds, as notify/tasks writes them.
const (
	warningDueSoon = "due_soon"
	warningOverdue = "overdue"
)

// clockRunning are the item statuses whose clock runs (the administration
// owes an answer), as models.BuildProgress counts them: an overdue warning
// for an item in one of them, or for a project's main flow while any of its
// items is, may be issued again and is kept.
var clockRunning = []string{models.StatusSubmitted, models.StatusAccepted, models.StatusCorrectionRequired}

// warnings removes deadline warnings whose due day is before the cutoff
// and which can never be issued again (see Windows.Warnings).
func (p *Pruner) warnings(ctx context.Context, cutoff time.Time) (int64, error) {
	day := workdays.DateOf(cutoff).String()
	return p.exec(ctx, `DELETE FROM deadline_warnings WHERE `+p.pick("deadline_warnings AS w",
		`w.day < ? AND (w.kind = ? OR (w.kind = ? AND NOT EXISTS (
			SELECT 1 FROM item_states AS s WHERE s.project_id = w.project_id
			AND (w.item_code = '' OR s.item_code = w.item_code) AND s.status IN ?)))`, ""),
		day, warningDueSoon, warningOverdue, clockRunning, p.c.Batch)
}
