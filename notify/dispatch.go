package notify

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/push"
)

// Batch bounds of the dispatcher.
const (
	jobBatch      = 200
	deliveryBatch = 500 // the most one Send call is given
	deliveryLease = 2 * time.Minute
	// planBudget bounds the deliveries one planning transaction writes, so
	// a burst of large fan-outs is sent notice by notice instead of only
	// after all of it is planned.
	planBudget = 2 * deliveryBatch
	// senders bounds the batches being sent and recorded at once, so HTTP
	// to the provider overlaps with the database work of the next batch
	// without taking the whole connection pool.
	senders = 4
)

// dispatcher turns due push jobs into per-device deliveries (merging a
// burst for one project into one digest push) and sends due deliveries.
type dispatcher struct {
	d         Deps
	keys      keys
	providers []string // deliverable(d.Sender)
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

// planDue turns the push jobs due now into deliveries, stopping after the
// notice that takes the transaction past planBudget deliveries. It returns
// how many jobs it handled; the jobs it left stay pending for the next call.
func (ds *dispatcher) planDue(ctx context.Context) (int, error) {
	now := ds.d.Now()
	handled := 0
	err := ds.d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		handled = 0
		var due []models.PushJob
		if err := ds.d.DB.SkipLocked(tx).Where("state = ? AND due_at <= ?", models.PushJobPending, now.UTC()).
			Order("due_at").Limit(jobBatch).Find(&due).Error; err != nil {
			return err
		}
		taken := map[string]bool{}
		var planned int64
		for _, j := range due {
			if planned >= planBudget {
				break
			}
			handled++
			if taken[j.NotificationID] {
				continue
			}
			group := []models.PushJob{j}
			taken[j.NotificationID] = true
			if !j.Critical && ds.d.Settings.DigestWindow > 0 {
				// The rest of the burst: this user's other ordinary jobs for
				// the project due within the window join this push.
				var more []models.PushJob
				if err := ds.d.DB.SkipLocked(tx).Where("state = ? AND user_id = ? AND project_id = ? AND critical = ? AND due_at <= ? AND notification_id <> ?",
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
			n, err := ds.plan(tx, group, now)
			if err != nil {
				return err
			}
			planned += n
		}
		return nil
	})
	return handled, err
}

// plan writes the deliveries of one push (a single notice or a digest of
// several) to each of the user's active, deliverable devices, and returns
// how many it wrote (see deliveriesInsert), and moves the group's jobs on.
func (ds *dispatcher) plan(tx *gorm.DB, group []models.PushJob, now time.Time) (int64, error) {
	lead := group[len(group)-1] // the newest notice stands for a digest
	ids := make([]string, 0, len(group))
	for _, j := range group {
		ids = append(ids, j.NotificationID)
	}
	var notes []models.Notification
	if err := tx.Where("id IN ?", ids).Order("created_at").Find(&notes).Error; err != nil {
		return 0, err
	}
	if len(notes) == 0 {
		return 0, tx.Model(&models.PushJob{}).Where("notification_id IN ?", ids).Update("state", models.PushJobDone).Error
	}
	unread, err := store.Unread(tx, lead.UserID)
	if err != nil {
		return 0, err
	}
	planned, err := ds.planNotes(tx, group, notes, unread, now)
	if err != nil {
		return 0, err
	}
	// The newest notice is the push; the others of a digest are folded in.
	return planned, tx.Model(&models.PushJob{}).Where("notification_id IN ?", ids).
		Updates(map[string]any{"state": gorm.Expr("CASE WHEN notification_id = ? THEN ? ELSE ? END",
			notes[len(notes)-1].ID, models.PushJobDone, models.PushJobMerged), "updated_at": now.UTC()}).Error
}

// planNotes writes the deliveries of plan once the group's notices (oldest
// first) and the user's unread count are known; the caller moves the jobs
// on.
func (ds *dispatcher) planNotes(tx *gorm.DB, group []models.PushJob, notes []models.Notification, unread int64, now time.Time) (int64, error) {
	id, payload, err := ds.render(tx, group, notes, unread)
	if err != nil {
		return 0, err
	}
	q, args := ds.deliveriesInsert(id, payload, group[len(group)-1].UserID, earliest(group), now, false)
	res := tx.Exec(q, args...)
	return res.RowsAffected, res.Error
}

// planLeased is planNotes for one fresh notice due now whose push this
// instance sends itself as soon as tx commits: the deliveries are written
// leased to it (their first attempt counted, as lease does) and returned
// with their devices, so no lease statement runs before the send. If the
// instance dies before sending, the lease runs out and any instance's
// dispatcher takes them. PostgreSQL only (it needs an INSERT in a WITH).
func (ds *dispatcher) planLeased(tx *gorm.DB, job models.PushJob, note models.Notification, unread int64, now time.Time) ([]leasedDelivery, error) {
	id, payload, err := ds.render(tx, []models.PushJob{job}, []models.Notification{note}, unread)
	if err != nil {
		return nil, err
	}
	q, args := ds.deliveriesInsert(id, payload, job.UserID, job.ReceivedAt, now, true)
	var batch []leasedDelivery
	err = tx.Raw(`WITH planned AS (`+q+` RETURNING `+leasedColumns+`)
		SELECT planned.*, dev.provider, dev.push_token, dev.active, true AS device_found
		FROM planned JOIN devices AS dev ON dev.installation_id = planned.installation_id`, args...).Scan(&batch).Error
	return batch, err
}

// deliveriesInsert is the statement that plans push id to each of the
// user's active, deliverable devices, copied from the devices table in one
// statement (a user with thousands of devices costs one round trip); the
// primary key drops a delivery planned before. leased writes them leased to
// this instance with their first attempt counted.
func (ds *dispatcher) deliveriesInsert(id, payload string, userID int64, received, now time.Time, leased bool) (string, []any) {
	// PostgreSQL types the parameters of a SELECT list as text, which does
	// not convert to a timestamp column by itself; SQLite keeps times as
	// text and must not see the cast (it would make them numbers).
	ts := "?"
	if ds.d.DB.Dialect == "postgres" {
		ts = "CAST(? AS timestamptz)"
	}
	attempts, leaseUntil := 0, (*time.Time)(nil)
	if leased {
		until := now.Add(deliveryLease).UTC()
		attempts, leaseUntil = 1, &until
	}
	return `INSERT INTO push_deliveries
		(notification_id, installation_id, state, next_at, attempts, lease_until, payload, received_at, created_at, updated_at)
		SELECT ?, installation_id, ?, ` + ts + `, ?, ` + ts + `, ?, ` + ts + `, ` + ts + `, ` + ts + ` FROM devices
		WHERE user_id = ? AND active = ? AND provider IN ?
		ON CONFLICT DO NOTHING`,
		[]any{id, models.DeliveryPending, now.UTC(), attempts, leaseUntil, payload, received.UTC(), now.UTC(), now.UTC(),
			userID, true, ds.providers}
}

// deliverable lists the device providers pushes are planned for: those the
// sender has (a push.Router says which; any other sender is FCM's), and
// "", the contract's default, FCM.
func deliverable(s push.Sender) []string {
	if r, ok := s.(interface{ Providers() []string }); ok {
		return append(r.Providers(), "")
	}
	return []string{push.ProviderFCM, ""}
}

// render builds the push of a group (a single notice or a digest of
// several, oldest first): its notification id and stored payload.
func (ds *dispatcher) render(tx *gorm.DB, group []models.PushJob, notes []models.Notification, unread int64) (string, string, error) {
	lead := group[len(group)-1]
	last := notes[len(notes)-1]
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
			return "", "", err
		}
		msg.Title, msg.Body = textsFor(prefs[lead.UserID].Locale).digest(len(notes), p.Name)
		msg.Route = "zsb://projects/" + last.ProjectID + "/progress"
	}
	payload, err := json.Marshal(msg)
	return msg.NotificationID, string(payload), err
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

// leasedColumns are the columns of a leased delivery that sending and
// recording it read; the rest are left zero.
const leasedColumns = "notification_id, installation_id, attempts, payload, next_at, received_at"

// leasedDelivery is a leased delivery with what sending it needs of its
// device. DeviceFound is false when the device row is gone.
type leasedDelivery struct {
	models.PushDelivery
	Provider    string
	PushToken   string
	Active      bool
	DeviceFound bool
}

// lease takes up to deliveryBatch due deliveries for this instance until
// deliveryLease from now and returns them with their attempt counted (only
// leasedColumns are read back) and their devices' provider, token and
// state.
//
// On PostgreSQL that is one statement: the due rows are locked once in a
// materialized CTE (SKIP LOCKED, so instances take disjoint batches),
// updated through the primary key and returned joined to their devices.
// With the LIMIT subquery inside the UPDATE's own WHERE instead, a row
// changed concurrently makes PostgreSQL re-run that subquery per row, which
// under load ran for minutes. SQLite has one writer at a time, so there the
// subquery form is safe, and the devices are read after it.
func (ds *dispatcher) lease(ctx context.Context) ([]leasedDelivery, error) {
	now := ds.d.Now().UTC()
	db := ds.d.DB.WithContext(ctx)
	var batch []leasedDelivery
	if ds.d.DB.Dialect == "postgres" {
		err := db.Raw(`WITH due AS MATERIALIZED (
			SELECT notification_id, installation_id FROM push_deliveries
			WHERE state = ? AND next_at <= ? AND (lease_until IS NULL OR lease_until < ?)
			ORDER BY next_at LIMIT ? FOR UPDATE SKIP LOCKED)
		UPDATE push_deliveries AS d
		SET attempts = d.attempts + 1, lease_until = ?, updated_at = ?
		FROM due LEFT JOIN devices AS dev ON dev.installation_id = due.installation_id
		WHERE d.notification_id = due.notification_id AND d.installation_id = due.installation_id
		RETURNING d.`+strings.ReplaceAll(leasedColumns, ", ", ", d.")+`,
			COALESCE(dev.provider, '') AS provider, COALESCE(dev.push_token, '') AS push_token,
			COALESCE(dev.active, false) AS active, dev.installation_id IS NOT NULL AS device_found`,
			models.DeliveryPending, now, now, deliveryBatch, now.Add(deliveryLease), now).Scan(&batch).Error
		return batch, err
	}
	err := db.Raw(`UPDATE push_deliveries
		SET attempts = attempts + 1, lease_until = ?, updated_at = ?
		WHERE (notification_id, installation_id) IN (
			SELECT notification_id, installation_id FROM push_deliveries
			WHERE state = ? AND next_at <= ? AND (lease_until IS NULL OR lease_until < ?)
			ORDER BY next_at LIMIT ?)
		RETURNING `+leasedColumns,
		now.Add(deliveryLease), now, models.DeliveryPending, now, now, deliveryBatch).Scan(&batch).Error
	if err != nil || len(batch) == 0 {
		return batch, err
	}
	ids := make([]string, 0, len(batch))
	for _, b := range batch {
		ids = append(ids, b.InstallationID)
	}
	var devices []models.Device
	if err := db.Select("installation_id", "provider", "push_token", "active").
		Where("installation_id IN ?", ids).Find(&devices).Error; err != nil {
		// The lease stands; the deliveries are taken again when it ends.
		return nil, err
	}
	byID := make(map[string]models.Device, len(devices))
	for _, dev := range devices {
		byID[dev.InstallationID] = dev
	}
	for i := range batch {
		if dev, ok := byID[batch[i].InstallationID]; ok {
			batch[i].Provider, batch[i].PushToken, batch[i].Active, batch[i].DeviceFound = dev.Provider, dev.PushToken, dev.Active, true
		}
	}
	return batch, nil
}

// deliver sends a leased batch and records every outcome.
func (ds *dispatcher) deliver(ctx context.Context, batch []leasedDelivery) error {
	var (
		msgs  = make([]push.Message, 0, len(batch))
		index = make([]int, 0, len(batch))
		// A fan-out's deliveries share one payload: it is decoded once.
		payloads = map[string]*pushPayload{}
	)
	results := make([]push.Result, len(batch))
	for i, b := range batch {
		if !b.DeviceFound || !b.Active {
			results[i] = push.Result{Outcome: push.OutcomeFailed, ErrorCode: "device_inactive"}
			continue
		}
		p := payloads[b.Payload]
		if p == nil {
			p = new(pushPayload)
			_ = json.Unmarshal([]byte(b.Payload), p)
			payloads[b.Payload] = p
		}
		msgs = append(msgs, push.Message{Token: b.PushToken, Provider: b.Provider, NotificationID: p.NotificationID,
			Category: p.Category, ProjectID: p.ProjectID, ItemCodes: p.ItemCodes, Route: p.Route,
			UnreadCount: p.UnreadCount, Title: p.Title, Body: p.Body, Critical: p.Critical})
		index = append(index, i)
	}
	if len(msgs) > 0 {
		for j, r := range ds.d.Sender.Send(ctx, msgs) {
			results[index[j]] = r
		}
	}
	return ds.record(ctx, batch, results, ds.d.Now())
}

// outcome is where one attempt leaves its delivery.
type outcome struct {
	state string
	next  time.Time
}

// record stores a batch's outcomes and moves each delivery on: sent,
// deactivated, failed, or pending again after a backoff. Every attempt gets
// its push_attempts row. It is all one statement on PostgreSQL (data-
// modifying CTEs), so atomic without a transaction's extra round trips; one
// transaction on SQLite.
func (ds *dispatcher) record(ctx context.Context, batch []leasedDelivery, results []push.Result, now time.Time) error {
	attempts := make([]models.PushAttempt, len(batch))
	moves := make([]outcome, len(batch))
	var (
		dead    []string
		retries []redis.Z
	)
	for i, b := range batch {
		r := results[i]
		name := r.Outcome
		mv := outcome{state: models.DeliveryFailed, next: b.NextAt}
		switch r.Outcome {
		case push.OutcomeSent:
			mv.state = models.DeliverySent
			ds.d.Metrics.pushLatency.Observe(now.Sub(b.ReceivedAt).Seconds())
		case push.OutcomeDeactivate:
			mv.state = models.DeliveryDeactivated
			dead = append(dead, b.InstallationID)
		case push.OutcomePaused, push.OutcomeAuthFailed:
			// The provider takes no pushes now (its daily quota is spent,
			// or it refuses our credentials): the push waits, pending,
			// until the pause ends or the credentials are tried again.
			mv.state = models.DeliveryPending
			mv.next = r.PauseUntil
			if !mv.next.After(now) {
				mv.next = now.Add(push.DefaultAuthProbe)
			}
			retries = append(retries, redis.Z{Score: float64(mv.next.UnixMilli()),
				Member: "delivery:" + b.NotificationID + ":" + b.InstallationID})
		case push.OutcomeRetry:
			if b.Attempts >= ds.d.Settings.MaxPushAttempts {
				name = push.OutcomeFailed // the budget is spent: record it as the end
				break
			}
			mv.state = models.DeliveryPending
			mv.next = now.Add(push.Backoff(b.Attempts, r.RetryAfter))
			retries = append(retries, redis.Z{Score: float64(mv.next.UnixMilli()),
				Member: "delivery:" + b.NotificationID + ":" + b.InstallationID})
		default:
			name = push.OutcomeFailed
		}
		ds.d.Metrics.pushes.WithLabelValues(name).Inc()
		moves[i] = mv
		attempts[i] = models.PushAttempt{NotificationID: b.NotificationID, InstallationID: b.InstallationID,
			Attempt: b.Attempts, Outcome: outcomeName(name), ErrorCode: r.ErrorCode, CreatedAt: now.UTC()}
	}
	var err error
	if ds.d.DB.Dialect == "postgres" {
		err = ds.recordPostgres(ctx, batch, attempts, moves, dead, now)
	} else {
		err = ds.d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			ins := attemptsInsert(attempts)
			if err := tx.Exec(ins.SQL, ins.Vars...).Error; err != nil {
				return err
			}
			if len(dead) > 0 {
				if err := tx.Model(&models.Device{}).Where("installation_id IN ?", dead).
					Updates(map[string]any{"active": false, "updated_at": now.UTC()}).Error; err != nil {
					return err
				}
			}
			for i, b := range batch {
				if err := tx.Model(&models.PushDelivery{}).
					Where("notification_id = ? AND installation_id = ?", b.NotificationID, b.InstallationID).
					Updates(map[string]any{"state": moves[i].state, "next_at": moves[i].next.UTC(), "lease_until": nil, "updated_at": now.UTC()}).Error; err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err == nil && len(retries) > 0 && ds.d.Redis != nil {
		_ = ds.d.Redis.ZAdd(ctx, ds.keys.wake, retries...).Err()
	}
	return err
}

// recordPostgres writes the attempts, deactivates dead devices and moves
// the deliveries (freeing their leases) in one statement.
func (ds *dispatcher) recordPostgres(ctx context.Context, batch []leasedDelivery, attempts []models.PushAttempt, moves []outcome, dead []string, now time.Time) error {
	ins := attemptsInsert(attempts)
	var sql strings.Builder
	args := make([]any, 0, len(ins.Vars)+2+len(dead)+1+4*len(batch))
	sql.WriteString("WITH attempts AS (")
	sql.WriteString(ins.SQL)
	sql.WriteString(")")
	args = append(args, ins.Vars...)
	if len(dead) > 0 {
		sql.WriteString(", deactivated AS (UPDATE devices SET active = false, updated_at = ? WHERE installation_id IN ?)")
		args = append(args, now.UTC(), dead)
	}
	sql.WriteString(`
		UPDATE push_deliveries AS d SET state = v.state, next_at = v.next_at, lease_until = NULL, updated_at = ?
		FROM (VALUES `)
	args = append(args, now.UTC())
	for i, b := range batch {
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("(?, ?, ?, CAST(? AS timestamptz))")
		args = append(args, b.NotificationID, b.InstallationID, moves[i].state, moves[i].next.UTC())
	}
	sql.WriteString(`) AS v(notification_id, installation_id, state, next_at)
		WHERE d.notification_id = v.notification_id AND d.installation_id = v.installation_id`)
	return ds.d.DB.WithContext(ctx).Exec(sql.String(), args...).Error
}

// attemptsInsert is the INSERT of a batch's push_attempts rows, built by
// hand: gorm's CreateInBatches spent more on reflection than the statement
// cost, and read back ids nothing uses.
func attemptsInsert(attempts []models.PushAttempt) clause.Expr {
	var sql strings.Builder
	sql.WriteString(`INSERT INTO push_attempts (notification_id, installation_id, attempt, outcome, error_code, created_at) VALUES `)
	args := make([]any, 0, 6*len(attempts))
	for i, a := range attempts {
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("(?, ?, ?, ?, ?, ?)")
		args = append(args, a.NotificationID, a.InstallationID, a.Attempt, a.Outcome, a.ErrorCode, a.CreatedAt)
	}
	return clause.Expr{SQL: sql.String(), Vars: args}
}

// outcomeName is the PushAttempt spelling of an outcome.
func outcomeName(outcome string) string {
	if outcome == push.OutcomeDeactivate {
		return "deactivated"
	}
	return outcome
}
