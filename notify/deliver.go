package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/outbox"
)

// notificationID derives an inbox id from the change and the recipient, so
// a re-delivered change lands on the same row and the same push id.
func notificationID(changeID string, userID int64) string {
	sum := sha256.Sum256([]byte(changeID + "\x00" + strconv.FormatInt(userID, 10)))
	return "n_" + hex.EncodeToString(sum[:16])
}

// deliverer turns outbox work into inbox rows and push jobs.
type deliverer struct {
	d    Deps
	keys keys
	wake func() // due jobs were indexed: the dispatcher plans them
	send func() // deliveries were planned here: the dispatcher sends them
	// senders, when set, sends deliveries this deliverer wrote leased to
	// the instance once their transaction committed (PostgreSQL only). The
	// pipeline sets it.
	senders handing
	// disp, when set, plans a push that is due at once in the transaction
	// that writes its job, which saves the dispatcher a transaction and a
	// pass on the way to the device. Nil leaves every job to the dispatcher.
	disp *dispatcher
}

// process handles outbox entry id: in one transaction it claims the entry
// (a processed one is skipped), writes one inbox row per recipient and one
// push job per push the recipient's preferences allow (with its deliveries
// when it is due now), and marks the entry processed. It is safe to run any
// number of times, concurrently.
func (dv *deliverer) process(ctx context.Context, id int64) error {
	now := dv.d.Now()
	var (
		jobs    []models.PushJob // jobs left to the dispatcher to plan
		planned bool             // deliveries were planned here, for the dispatcher to send
		leased  []straight       // deliveries planned leased to a reserved sender
		later   []models.PushJob // jobs of those planned in part: indexed for the planner's lease end
	)
	// Pushes due now are written leased to this instance and sent at once
	// only when a sender is free to take them as soon as the transaction
	// commits: a reader never waits for one, and no lease runs down while
	// its deliveries queue. Otherwise they are left to the dispatcher.
	// (This is the pipeline's one shortcut; see Pipeline.sendStraight.)
	reserved := dv.senders != nil && dv.d.DB.Dialect == "postgres" && dv.senders.reserve()
	err := dv.d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		jobs, planned, leased, later = nil, false, nil, nil
		payload, ok, err := claim(tx, dv.d.DB.Dialect, id, now)
		if err != nil || !ok {
			return err
		}
		var n outbox.Note
		if err := json.Unmarshal([]byte(payload), &n); err != nil {
			// A payload we cannot read never will be; keep it processed so
			// it does not loop, and say so.
			dv.d.Log.ErrorContext(ctx, "notify: unreadable outbox payload", "outbox_id", id, "err", err)
			return nil
		}
		users, prefs, err := recipients(tx, n)
		if err != nil {
			return err
		}
		var counted []int64 // users whose notice is new: one more unread
		for _, u := range users {
			r, err := dv.inbox(tx, n, u, prefs[u.ID], now, reserved)
			if err != nil {
				return err
			}
			if r.fresh {
				counted = append(counted, u.ID)
			}
			switch {
			case len(r.leased) > 0:
				leased = append(leased, straight{first: r.leased, rest: r.rest})
				if r.rest != nil {
					later = append(later, *r.job)
				}
			case r.planned:
				planned = true
			case r.job != nil:
				jobs = append(jobs, *r.job)
			}
		}
		// Last, right before the commit: the counter row is locked from
		// here to the commit, and every delivery to the same user waits
		// for it. (Taken in the middle, it held one user's deliveries to
		// about 200 a second under load.)
		for _, uid := range counted {
			if _, err := store.AddUnread(tx, uid, 1); err != nil {
				return err
			}
		}
		return nil
	})
	if reserved {
		if err != nil {
			leased = nil // rolled back: nothing to send
		}
		dv.senders.hand(ctx, leased)
	}
	if err != nil {
		return err
	}
	// A reserved sender with nothing leased means no device to push to:
	// the dispatcher has nothing either, and it is not counted.
	switch {
	case len(leased) > 0:
		dv.d.Metrics.handoffs.WithLabelValues("sender").Inc()
	case planned && !reserved:
		dv.d.Metrics.handoffs.WithLabelValues("dispatcher").Inc()
	}
	if len(jobs) > 0 {
		dv.index(ctx, jobs, true)
	}
	if len(later) > 0 {
		// Only for a dead planner: the sender plans the rest now.
		dv.index(ctx, later, false)
	}
	if planned && dv.send != nil {
		dv.send()
	}
	return nil
}

// claim marks outbox entry id processed in tx and returns its payload, in
// one statement; ok is false when it was processed already.
//
// On PostgreSQL the same statement lets tx commit without waiting for its
// log to reach the disk (synchronous_commit off for this transaction only,
// set_config being SET LOCAL). Everything the transaction writes derives
// from the entry, which the intake committed durably: if a database crash
// loses this commit, the entry is unprocessed again and its re-drive writes
// the same rows (their ids are derived). A push sent from them is recorded
// by a synchronous commit, which flushes the log up to itself, this
// transaction included.
func claim(tx *gorm.DB, dialect string, id int64, now time.Time) (payload string, ok bool, err error) {
	var rows []models.OutboxEntry
	if dialect == "postgres" {
		err = tx.Raw(`WITH relax AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true))
			UPDATE outbox_entries SET processed_at = ? FROM relax
			WHERE outbox_entries.id = ? AND outbox_entries.processed_at IS NULL
			RETURNING outbox_entries.id, outbox_entries.payload`, now.UTC(), id).Scan(&rows).Error
	} else {
		err = tx.Model(&rows).Clauses(clause.Returning{Columns: []clause.Column{{Name: "id"}, {Name: "payload"}}}).
			Where("id = ? AND processed_at IS NULL", id).Update("processed_at", now.UTC()).Error
	}
	if err != nil || len(rows) == 0 {
		return "", false, err
	}
	return rows[0].Payload, true, nil
}

// inboxResult is what writing one recipient's notice did.
type inboxResult struct {
	job     *models.PushJob  // the push job written, if any
	fresh   bool             // the notice is new: the caller counts it unread
	planned bool             // its deliveries were planned (the job is done)
	leased  []leasedDelivery // planned leased to this instance, to hand off
	rest    *fanout          // the rest of leased's push, planned by the sender
}

// inbox writes u's notification of n and, when u's preferences allow a push,
// its push job, and plans the push's deliveries at once when it is due now:
// leased to this instance when lease is set (a sender is reserved for
// them), otherwise for the dispatcher to lease.
func (dv *deliverer) inbox(tx *gorm.DB, n outbox.Note, u models.User, p Preferences, now time.Time, lease bool) (inboxResult, error) {
	id := notificationID(n.ChangeID, u.ID)
	title, body := textsFor(p.Locale).render(n)
	data, _ := json.Marshal(map[string]string{
		"notification_id": id, "category": n.Category, "project_id": n.ProjectID,
		"item_codes": strings.Join(n.ItemCodes(), ","), "route": n.Route(),
	})
	row := models.Notification{ID: id, UserID: u.ID, Category: n.Category, Title: title, Body: body,
		ProjectID: n.ProjectID, ItemCodes: strings.Join(n.ItemCodes(), ","), Data: string(data),
		Critical: n.Critical, CreatedAt: n.ReceivedAt}
	dec := Decide(p, Notice{Category: n.Category, Critical: n.Critical, ProjectID: n.ProjectID}, now)
	if !dec.Push {
		ins := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if ins.Error != nil {
			return inboxResult{}, ins.Error
		}
		return inboxResult{fresh: ins.RowsAffected == 1}, nil
	}
	due := now
	switch {
	case !dec.At.IsZero():
		due = dec.At
	case !n.Critical && n.Category != outbox.CategoryCorrection:
		due = now.Add(dv.d.Settings.DigestWindow)
	}
	job := models.PushJob{NotificationID: id, UserID: u.ID, ProjectID: n.ProjectID,
		Critical: n.Critical || n.Category == outbox.CategoryCorrection, State: models.PushJobPending,
		DueAt: due.UTC(), ReceivedAt: n.ReceivedAt}
	// A job due now is never part of a digest (digested jobs wait for the
	// window), so planning it alone here is what the dispatcher would do. A
	// job written before (a re-delivered entry) is left to the dispatcher,
	// which may hold it for quiet hours or a digest. A job planned below is
	// planned in this transaction or not at all: it is written done, which
	// saves updating it.
	planNow := dv.disp != nil && !job.DueAt.After(now)
	w, err := writeNotice(tx, dv.d.DB.Dialect, row, job, planNow)
	if err != nil {
		return inboxResult{}, err
	}
	fresh := w.fresh
	if !planNow || !w.jobNew {
		return inboxResult{job: &job, fresh: fresh}, nil // written pending
	}
	if !fresh {
		_, err := dv.disp.plan(tx, []models.PushJob{job}, now, nil)
		return inboxResult{job: &job, planned: true}, err
	}
	job.State = models.PushJobDone
	// The notice was written just now: no need to read it back. Its user's
	// count goes up at the end of the transaction; the badge counts it
	// already. (Like any count read in a transaction, it does not see
	// notices other transactions have not committed.)
	unread := w.unread + 1
	r := inboxResult{job: &job, fresh: true, planned: true}
	if lease {
		r.leased, r.rest, err = dv.disp.planLeased(tx, job, row, unread, now)
		if r.rest != nil {
			job.State, job.DueAt = models.PushJobPending, now.Add(deliveryLease).UTC()
		}
	} else {
		_, err = dv.disp.planNotes(tx, []models.PushJob{job}, []models.Notification{row}, unread, now)
	}
	return r, err
}

// noticeWrite is what writing a notice and its push job found.
type noticeWrite struct {
	fresh  bool  // the notice is new
	jobNew bool  // the push job is new
	unread int64 // the user's unread count before this transaction's notices
}

// writeNotice inserts row and its push job, each unless it exists already.
// When planNow is set, a job whose notice is new is written done (it is
// planned in the same transaction); otherwise it is written pending. The
// user's unread count is read only for a new notice of a job planned now,
// the one case that needs it for the badge.
//
// On PostgreSQL the three are one statement: a round trip costs the BFF and
// the database more CPU than any of these statements' own work.
func writeNotice(tx *gorm.DB, dialect string, row models.Notification, job models.PushJob, planNow bool) (noticeWrite, error) {
	if dialect == "postgres" {
		var out []struct {
			Fresh  bool
			JobNew bool
			Unread int64
		}
		now := tx.NowFunc()
		err := tx.Raw(`WITH n AS (
				INSERT INTO notifications (id, user_id, category, title, body, project_id, item_codes, data, critical, created_at, read_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
				ON CONFLICT DO NOTHING RETURNING 1),
			j AS (
				INSERT INTO push_jobs (notification_id, user_id, project_id, critical, state, due_at, received_at, created_at, updated_at)
				SELECT ?, ?, ?, ?, CASE WHEN ? AND EXISTS (SELECT 1 FROM n) THEN ? ELSE ? END, ?, ?, ?, ?
				ON CONFLICT DO NOTHING RETURNING 1)
			SELECT EXISTS (SELECT 1 FROM n) AS fresh, EXISTS (SELECT 1 FROM j) AS job_new,
				COALESCE((SELECT unread FROM inbox_counters WHERE user_id = ?), 0) AS unread`,
			row.ID, row.UserID, row.Category, row.Title, row.Body, row.ProjectID, row.ItemCodes, row.Data, row.Critical, row.CreatedAt,
			job.NotificationID, job.UserID, job.ProjectID, job.Critical, planNow, models.PushJobDone, models.PushJobPending,
			job.DueAt, job.ReceivedAt, now, now,
			row.UserID).Scan(&out).Error
		if err != nil || len(out) != 1 {
			return noticeWrite{}, errors.Join(err, errNoRow(len(out)))
		}
		return noticeWrite{fresh: out[0].Fresh, jobNew: out[0].JobNew, unread: max(out[0].Unread, 0)}, nil
	}
	ins := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if ins.Error != nil {
		return noticeWrite{}, ins.Error
	}
	w := noticeWrite{fresh: ins.RowsAffected == 1}
	if planNow && w.fresh {
		job.State = models.PushJobDone
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&job)
	if res.Error != nil {
		return noticeWrite{}, res.Error
	}
	w.jobNew = res.RowsAffected == 1
	if planNow && w.fresh && w.jobNew {
		unread, err := store.Unread(tx, row.UserID)
		if err != nil {
			return noticeWrite{}, err
		}
		w.unread = unread
	}
	return w, nil
}

// errNoRow is nil for the one row a statement must answer, an error else.
func errNoRow(n int) error {
	if n == 1 {
		return nil
	}
	return fmt.Errorf("notify: the notice statement answered %d rows, want 1", n)
}

// index tells the dispatcher, through the wake-up sorted set, when the jobs
// fall due, and with wake set wakes this instance's dispatcher at once (it
// runs as soon as the transaction committed, not at its next poll). The
// database stays the truth: a lost index only delays work until the
// dispatcher's periodic scan.
func (dv *deliverer) index(ctx context.Context, jobs []models.PushJob, wake bool) {
	if dv.d.Redis == nil {
		return
	}
	zs := make([]redis.Z, 0, len(jobs))
	for _, j := range jobs {
		zs = append(zs, redis.Z{Score: float64(j.DueAt.UnixMilli()), Member: "job:" + j.NotificationID})
	}
	if err := dv.d.Redis.ZAdd(ctx, dv.keys.wake, zs...).Err(); err != nil {
		dv.d.Log.WarnContext(ctx, "notify: wake index", "err", err)
	}
	if wake && dv.wake != nil {
		dv.wake()
	}
}

// loadPrefs reads the users' stored preferences over the defaults.
func loadPrefs(tx *gorm.DB, users []models.User) (map[int64]Preferences, error) {
	out := make(map[int64]Preferences, len(users))
	ids := make([]int64, 0, len(users))
	for _, u := range users {
		out[u.ID] = DefaultPreferences()
		ids = append(ids, u.ID)
	}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []models.PushPreferenceRow
	if err := tx.Where("user_id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.UserID] = storedPreferences(&r.Data)
	}
	return out, nil
}

// storedPreferences decodes stored preferences over the defaults; nil means
// none are stored.
func storedPreferences(data *string) Preferences {
	p := DefaultPreferences()
	if data == nil {
		return p
	}
	if err := json.Unmarshal([]byte(*data), &p); err != nil {
		return DefaultPreferences() // stored preferences were validated; defaults beat a crash
	}
	return p
}
