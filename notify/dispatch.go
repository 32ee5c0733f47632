package notify

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
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
	// recorders bounds the sent batches whose outcomes are being recorded
	// at once, apart from the senders: more record statements side by side
	// only contend for the same index pages.
	recorders = 2
	// sendTimeout bounds one provider call (a Send of up to deliveryBatch
	// pushes), well inside deliveryLease so that the outcome is recorded
	// while the lease is still held. The FCM client alone retries a 503 or
	// a network error four times, honouring Retry-After up to two minutes
	// each, and its HTTP client has no timeout; it does stop at the
	// context's deadline, and the pushes cut short are recorded as retries.
	sendTimeout = deliveryLease / 4
)

// States a push job or delivery ends in when the user's preferences no
// longer allow the push when it is due (muted, category switched off or
// push disabled since it was decided): the notice stays in the inbox. Not a
// failure.
const (
	pushJobWithheld  = "withheld"
	deliveryWithheld = "withheld"
	outcomeWithheld  = "withheld"
	// outcomeDeferred is a push due again inside the user's quiet hours:
	// not sent, pending until they end.
	outcomeDeferred = "deferred"
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
		// The preferences as they are now, read once for the batch: a job
		// held back (quiet hours, a digest window) is pushed only if they
		// still allow it.
		prefs, err := loadPrefs(tx, usersOfJobs(due))
		if err != nil {
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
			// A push planned in part (its planner stopped between chunks)
			// goes on alone, to the devices it has not reached.
			if !j.Critical && ds.d.Settings.DigestWindow > 0 && j.PlanAfter == "" {
				// The rest of the burst: this user's other ordinary jobs for
				// the project due within the window join this push.
				var more []models.PushJob
				if err := ds.d.DB.SkipLocked(tx).Where("state = ? AND user_id = ? AND project_id = ? AND critical = ? AND due_at <= ? AND notification_id <> ? AND plan_after = ''",
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
			n, err := ds.plan(tx, group, now, prefs)
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
// With prefs (the users' preferences read for this pass), a notice they no
// longer let push is left out and its job ends withheld; nil prefs means
// the push was decided in this transaction.
func (ds *dispatcher) plan(tx *gorm.DB, group []models.PushJob, now time.Time, prefs map[int64]Preferences) (int64, error) {
	ids := make([]string, 0, len(group))
	for _, j := range group {
		ids = append(ids, j.NotificationID)
	}
	var notes []models.Notification
	if err := tx.Where("id IN ?", ids).Order("created_at").Find(&notes).Error; err != nil {
		return 0, err
	}
	if prefs != nil && len(notes) > 0 {
		p := prefs[group[0].UserID]
		var kept []models.Notification
		var withheld []string
		for _, n := range notes {
			if dec := Decide(p, Notice{Category: n.Category, Critical: n.Critical, ProjectID: n.ProjectID}, now); !dec.Push {
				withheld = append(withheld, n.ID)
				ds.d.Metrics.withheld.WithLabelValues(dec.Reason).Inc()
				continue
			}
			kept = append(kept, n)
		}
		if len(withheld) > 0 {
			if err := tx.Model(&models.PushJob{}).Where("notification_id IN ?", withheld).
				Updates(map[string]any{"state": pushJobWithheld, "updated_at": now.UTC()}).Error; err != nil {
				return 0, err
			}
			if len(kept) == 0 {
				return 0, nil
			}
			keep := map[string]bool{}
			ids = ids[:0]
			for _, n := range kept {
				keep[n.ID] = true
				ids = append(ids, n.ID)
			}
			var g []models.PushJob
			for _, j := range group {
				if keep[j.NotificationID] {
					g = append(g, j)
				}
			}
			group, notes = g, kept
		}
	}
	lead := group[len(group)-1] // the newest notice stands for a digest
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
// on. A job planned in part before (its planner stopped between chunks)
// is planned from where it got to.
func (ds *dispatcher) planNotes(tx *gorm.DB, group []models.PushJob, notes []models.Notification, unread int64, now time.Time) (int64, error) {
	id, payload, err := ds.render(tx, group, notes, unread)
	if err != nil {
		return 0, err
	}
	lead := group[len(group)-1]
	q, args := ds.deliveriesInsert(planSpec{id: id, payload: payload, userID: lead.UserID, received: earliest(group),
		due: firstDue(group, now), now: now, after: cursorOf(lead)})
	res := tx.Exec(q, args...)
	return res.RowsAffected, res.Error
}

// Chunks of a fan-out planned by the instance that sends it.
const (
	// firstChunk is how many of a fresh push's deliveries the stream
	// reader plans in its own transaction: the first push leaves as soon
	// as it commits, however many devices follow.
	firstChunk = deliveryBatch
	// nextChunk is how many each further planning statement writes.
	nextChunk = 2 * deliveryBatch
)

// cursor is where chunked planning got to in a user's devices, in
// (provider, installation id) order; the zero cursor is the start.
type cursor struct{ provider, installationID string }

func cursorOf(j models.PushJob) cursor { return cursor{j.PlanProvider, j.PlanAfter} }

// fanout is the rest of a push whose first chunk was planned leased to this
// instance: the sender that took the first chunk reads, sends and records
// the rest chunk by chunk (dispatcher.planNext), writing each delivery
// once, after its send. Its job stays pending meanwhile with a cursor no
// unwritten delivery lies behind, due when the planner's lease ends, so
// any instance's dispatcher finishes it if this one dies.
type fanout struct {
	notificationID string
	userID         int64
	payload        string
	received, due  time.Time
	after          cursor
}

// planLeased is planNotes for one fresh notice due now whose push this
// instance sends itself as soon as tx commits: up to firstChunk deliveries
// are written leased to it (their first attempt counted, as lease does) and
// returned with their devices, so no lease statement runs before the send.
// When the user has more devices, the job stays pending with its cursor and
// the rest is returned for the sender to plan. If the instance dies before
// sending, the lease runs out and any instance's dispatcher takes them.
// PostgreSQL only (it needs an INSERT in a WITH).
func (ds *dispatcher) planLeased(tx *gorm.DB, job models.PushJob, note models.Notification, unread int64, now time.Time) ([]leasedDelivery, *fanout, error) {
	id, payload, err := ds.render(tx, []models.PushJob{job}, []models.Notification{note}, unread)
	if err != nil {
		return nil, nil, err
	}
	spec := planSpec{id: id, payload: payload, userID: job.UserID, received: job.ReceivedAt,
		due: firstDue([]models.PushJob{job}, now), now: now, leased: true, limit: firstChunk}
	q, args := ds.deliveriesInsert(spec)
	var batch []leasedDelivery
	err = tx.Raw(`WITH planned AS (`+q+` RETURNING `+leasedColumns+`)
		SELECT planned.*, dev.provider, dev.push_token, dev.active, dev.user_id, true AS device_found
		FROM planned JOIN devices AS dev ON dev.installation_id = planned.installation_id
		ORDER BY dev.provider, dev.installation_id`, args...).Scan(&batch).Error
	if err != nil || len(batch) < firstChunk {
		return batch, nil, err
	}
	last := batch[len(batch)-1]
	rest := &fanout{notificationID: id, userID: job.UserID, payload: payload, received: spec.received, due: spec.due,
		after: cursor{last.Provider, last.InstallationID}}
	err = tx.Model(&models.PushJob{}).Where("notification_id = ?", job.NotificationID).
		Updates(map[string]any{"state": models.PushJobPending, "plan_provider": rest.after.provider, "plan_after": rest.after.installationID,
			"due_at": now.Add(deliveryLease).UTC(), "updated_at": now.UTC()}).Error
	return batch, rest, err
}

// planNext reads the next chunk of f's devices, up to nextChunk after f's
// cursor, for this instance to send; nothing is written for them until
// they are sent: each delivery is written once, with the outcome of its
// first attempt (dispatcher.recordUnwritten). The same statement moves the
// job's cursor from where run last left it to run's recorded prefix (the
// end of the chunks whose deliveries are all written) and renews this
// planner's lease on the job, so that if this instance dies, the instance
// that takes the job over (when the lease ends) plans from a cursor no
// unwritten delivery lies behind: the chunks that were in flight are sent
// again (their devices may get the push twice, as any push in flight at a
// crash may), those written already are skipped.
//
// It returns the chunk and the rest of f, nil when this was the last chunk.
// Nothing is returned when the job is no longer where run left it (another
// instance's dispatcher took it over after this one's lease ran out): the
// other one plans the rest.
//
// The commit does not wait for the log's flush, as the stream reader's
// does not: a cursor lost with a database crash is an earlier one, from
// which planning again skips the deliveries written since (their records
// are synchronous commits).
func (ds *dispatcher) planNext(ctx context.Context, f *fanout, run *fanoutRun) ([]leasedDelivery, *fanout, error) {
	now := ds.d.Now().UTC()
	from, to := run.cursors()
	devs, devArgs := ds.firstDevices(f.userID, f.after, nextChunk)
	var batch []leasedDelivery
	err := ds.d.DB.WithContext(ctx).Raw(`WITH relax AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)),
		job AS (
			UPDATE push_jobs SET plan_provider = ?, plan_after = ?, due_at = ?, updated_at = ?
			FROM relax
			WHERE notification_id = ? AND state = ? AND plan_provider = ? AND plan_after = ?
			RETURNING 1)
		SELECT COALESCE(dev.installation_id, '') AS installation_id, COALESCE(dev.provider, '') AS provider,
			COALESCE(dev.push_token, '') AS push_token, COALESCE(dev.active, false) AS active,
			COALESCE(dev.user_id, 0) AS user_id, true AS device_found
		FROM job LEFT JOIN LATERAL `+devs+` AS dev ON true
		ORDER BY dev.provider, dev.installation_id`,
		append([]any{to.provider, to.installationID, now.Add(deliveryLease), now,
			f.notificationID, models.PushJobPending, from.provider, from.installationID}, devArgs...)...).Scan(&batch).Error
	if err != nil {
		return nil, nil, err
	}
	if len(batch) == 0 {
		run.lost = true // the job is no longer where this planner left it
		return nil, nil, nil
	}
	run.moved(to)
	if batch[0].InstallationID == "" {
		return nil, nil, nil // no device after the cursor: the plan is complete
	}
	for i := range batch {
		b := &batch[i]
		b.NotificationID, b.Attempts, b.Payload, b.NextAt, b.ReceivedAt = f.notificationID, 1, f.payload, f.due.UTC(), f.received.UTC()
	}
	last := batch[len(batch)-1]
	end := cursor{last.Provider, last.InstallationID}
	run.planned(batch, end)
	if len(batch) < nextChunk {
		return batch, nil, nil // the last chunk
	}
	next := *f
	next.after = end
	return batch, &next, nil
}

// finishFanout moves f's job on once every chunk this instance planned
// has been sent and recorded: done when planning reached the user's last
// device and every delivery was written; otherwise pending at run's
// recorded prefix, due at once, so a dispatcher plans the rest (a chunk
// whose record failed is sent again). Nothing happens when the job is no
// longer where run left it.
func (ds *dispatcher) finishFanout(ctx context.Context, f *fanout, run *fanoutRun, complete bool) error {
	if run.lost {
		return nil
	}
	now := ds.d.Now().UTC()
	from, to := run.cursors()
	state, due := models.PushJobPending, now
	if complete && run.allWritten() {
		state = models.PushJobDone
	}
	return ds.d.DB.WithContext(ctx).Model(&models.PushJob{}).
		Where("notification_id = ? AND state = ? AND plan_provider = ? AND plan_after = ?",
			f.notificationID, models.PushJobPending, from.provider, from.installationID).
		Updates(map[string]any{"state": state, "plan_provider": to.provider, "plan_after": to.installationID,
			"due_at": due, "updated_at": now}).Error
}

// fanoutRun follows the chunks of one fan-out this instance plans, from
// planning to their records, so that the job's cursor only ever passes
// chunks whose deliveries are all written.
type fanoutRun struct {
	mu     sync.Mutex
	jobAt  cursor      // the job's cursor as this planner last wrote it
	chunks []*runChunk // planned and not yet passed by the cursor, in order
	lost   bool        // the job was found elsewhere (set and read by the planner only)
}

type runChunk struct {
	end  cursor // its last device
	left int    // its deliveries not yet recorded
	bad  bool   // a record of its deliveries failed: the cursor stops before it
}

func newFanoutRun(jobAt cursor) *fanoutRun { return &fanoutRun{jobAt: jobAt} }

// planned adds a chunk ending at end, and marks its deliveries as r's.
func (r *fanoutRun) planned(chunk []leasedDelivery, end cursor) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := &runChunk{end: end, left: len(chunk)}
	r.chunks = append(r.chunks, c)
	for i := range chunk {
		chunk[i].run, chunk[i].chunk = r, c
	}
}

// recorded notes that n deliveries of chunk c were recorded (ok) or that
// their record failed.
func (r *fanoutRun) recorded(c *runChunk, n int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.left -= n
	c.bad = c.bad || !ok
}

// writtenLocked is how many of r.chunks, from the first, have all their
// deliveries written: the prefix the job's cursor may pass.
func (r *fanoutRun) writtenLocked() int {
	n := 0
	for _, c := range r.chunks {
		if c.left > 0 || c.bad {
			break
		}
		n++
	}
	return n
}

// cursors returns the job's cursor as last written and the end of the
// written prefix, to which it may move.
func (r *fanoutRun) cursors() (from, to cursor) {
	r.mu.Lock()
	defer r.mu.Unlock()
	to = r.jobAt
	if n := r.writtenLocked(); n > 0 {
		to = r.chunks[n-1].end
	}
	return r.jobAt, to
}

// moved records that the job's cursor was written as to: the chunks it
// passed are forgotten.
func (r *fanoutRun) moved(to cursor) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobAt = to
	for i := range r.writtenLocked() {
		if r.chunks[i].end == to {
			r.chunks = r.chunks[i+1:]
			break
		}
	}
}

// allWritten reports whether every planned chunk's deliveries were written.
func (r *fanoutRun) allWritten() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writtenLocked() == len(r.chunks)
}

// planSpec is what deliveriesInsert plans: push id to each of the user's
// deliverable devices after the cursor (all of them, or the first limit
// in (provider, installation id) order).
type planSpec struct {
	id, payload        string
	userID             int64
	received, due, now time.Time
	leased             bool
	after              cursor
	limit              int // 0: no limit
}

// firstDevices is a subquery of the first limit of a user's active,
// deliverable devices after a cursor, in (provider, installation id)
// order, with the columns sending needs (PostgreSQL). It reads each
// provider's devices from idx_devices_user_provider in index order and
// stops at limit, whatever PostgreSQL's statistics say. (With the provider
// list as one index condition, PostgreSQL read every device of the user and
// sorted them for the first rows whenever the devices table had no
// statistics yet, as right after a burst of registrations: 10 to 20 ms a
// chunk of a 20,000-device fan-out, its first push among them.)
func (ds *dispatcher) firstDevices(userID int64, after cursor, limit int) (string, []any) {
	// One typed parameter per provider: PostgreSQL cannot type an array
	// of bare parameters.
	names := make([]string, len(ds.providers))
	args := make([]any, 0, len(ds.providers)+6)
	for i, p := range ds.providers {
		names[i] = "CAST(? AS text)"
		args = append(args, p)
	}
	if len(names) == 0 {
		names = []string{"CAST(NULL AS text)"} // nothing to send to: no device
	}
	return `(SELECT d.* FROM unnest(ARRAY[` + strings.Join(names, ", ") + `]) AS p(provider) CROSS JOIN LATERAL (
			SELECT installation_id, provider, push_token, active, user_id FROM devices
			WHERE user_id = ? AND provider = p.provider AND active = ? AND (provider, installation_id) > (?, ?)
			ORDER BY installation_id LIMIT ?) AS d
		ORDER BY d.provider, d.installation_id LIMIT ?)`,
		append(args, userID, true, after.provider, after.installationID, limit, limit)
}

// deliveriesInsert is the statement that plans a push to the user's active,
// deliverable devices, copied from the devices table in one statement (a
// user with thousands of devices costs one round trip); the primary key
// drops a delivery planned before. leased writes them leased to this
// instance with their first attempt counted. due is when the push fell due
// (it is the deliveries' next_at, from which zsb_push_due_to_sent_seconds is
// measured).
func (ds *dispatcher) deliveriesInsert(s planSpec) (string, []any) {
	// PostgreSQL types the parameters of a SELECT list as text, which does
	// not convert to a timestamp column by itself; SQLite keeps times as
	// text and must not see the cast (it would make them numbers).
	ts := "?"
	if ds.d.DB.Dialect == "postgres" {
		ts = "CAST(? AS timestamptz)"
	}
	attempts, leaseUntil := 0, (*time.Time)(nil)
	if s.leased {
		until := s.now.Add(deliveryLease).UTC()
		attempts, leaseUntil = 1, &until
	}
	q := `INSERT INTO push_deliveries
		(notification_id, installation_id, state, next_at, attempts, lease_until, payload, received_at, created_at, updated_at)
		SELECT ?, installation_id, ?, ` + ts + `, ?, ` + ts + `, ?, ` + ts + `, ` + ts + `, ` + ts + ` FROM `
	args := []any{s.id, models.DeliveryPending, s.due.UTC(), attempts, leaseUntil, s.payload, s.received.UTC(), s.now.UTC(), s.now.UTC()}
	if s.limit > 0 { // PostgreSQL only (planLeased)
		sub, sargs := ds.firstDevices(s.userID, s.after, s.limit)
		return q + sub + ` AS dev
		ON CONFLICT DO NOTHING`, append(args, sargs...)
	}
	q += `devices WHERE user_id = ? AND active = ? AND provider IN ?`
	args = append(args, s.userID, true, ds.providers)
	if s.after.installationID != "" {
		q += ` AND (provider, installation_id) > (?, ?)`
		args = append(args, s.after.provider, s.after.installationID)
	}
	return q + `
		ON CONFLICT DO NOTHING`, args
}

// batchSize is the most deliveries to provider one Send call is given: the
// provider's own batch limit where the sender tells it (a push.Router
// does), at most deliveryBatch otherwise.
func (ds *dispatcher) batchSize(provider string) int {
	if n := push.MaxBatch(ds.d.Sender, provider); n > 0 {
		return n
	}
	return deliveryBatch
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

// firstDue is when the first of a group's jobs fell due, never after now.
func firstDue(group []models.PushJob, now time.Time) time.Time {
	t := now
	for _, j := range group {
		if !j.DueAt.IsZero() && j.DueAt.Before(t) {
			t = j.DueAt
		}
	}
	return t
}

// usersOfJobs lists the distinct users of jobs.
func usersOfJobs(jobs []models.PushJob) []models.User {
	seen := map[int64]bool{}
	var out []models.User
	for _, j := range jobs {
		if !seen[j.UserID] {
			seen[j.UserID] = true
			out = append(out, models.User{ID: j.UserID})
		}
	}
	return out
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
	UserID      int64 // the device's user, whose preferences decide
	DeviceFound bool
	// run and chunk are set on a delivery planNext read (the fan-out and
	// chunk it belongs to): it has no row yet, and its first attempt's
	// outcome is its first write.
	run   *fanoutRun
	chunk *runChunk
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
			COALESCE(dev.active, false) AS active, COALESCE(dev.user_id, 0) AS user_id,
			dev.installation_id IS NOT NULL AS device_found`,
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
	if err := db.Select("installation_id", "provider", "push_token", "active", "user_id").
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
			batch[i].UserID = dev.UserID
		}
	}
	return batch, nil
}

// deliver sends a leased batch and records every outcome. Unless decided
// (the batch was planned in the transaction that read the preferences, the
// straight shortcut), the users' preferences are read again, once for the
// batch, and a push they no longer allow is withheld instead of sent. The
// provider call runs under sendTimeout; sent, when set, is called exactly
// once: when the provider call returned (or was not needed), before the
// outcomes are recorded, or when deliver gives up before sending.
func (ds *dispatcher) deliver(ctx context.Context, batch []leasedDelivery, decided bool, sent func()) (err error) {
	if len(batch) > 0 && batch[0].run != nil {
		// A fan-out's chunk read by planNext (one chunk a batch): its
		// cursor may pass these deliveries once they are written.
		defer func() { batch[0].run.recorded(batch[0].chunk, len(batch), err == nil) }()
	}
	now := ds.d.Now()
	var prefs map[int64]Preferences
	if !decided {
		users := make([]models.User, 0, 1)
		seen := map[int64]bool{}
		for _, b := range batch {
			if b.DeviceFound && !seen[b.UserID] {
				seen[b.UserID] = true
				users = append(users, models.User{ID: b.UserID})
			}
		}
		if prefs, err = loadPrefs(ds.d.DB.WithContext(ctx), users); err != nil {
			if sent != nil {
				sent()
			}
			return err // the lease stands; the deliveries are taken again when it ends
		}
	}
	var (
		msgs  = make([]push.Message, 0, len(batch))
		index = make([]int, 0, len(batch))
		// A fan-out's deliveries share one payload: it is decoded once.
		payloads  = map[string]*pushPayload{}
		decisions = map[decisionKey]Decision{}
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
		if prefs != nil {
			// Decided once per user and push: a fan-out's deliveries share both.
			k := decisionKey{b.UserID, p}
			dec, ok := decisions[k]
			if !ok {
				dec = Decide(prefs[b.UserID], Notice{Category: p.Category, Critical: p.Critical, ProjectID: p.ProjectID}, now)
				decisions[k] = dec
			}
			if !dec.Push {
				results[i] = push.Result{Outcome: outcomeWithheld, ErrorCode: dec.Reason}
				continue
			}
			if dec.At.After(now) {
				// Due again inside the user's quiet hours (a retry, or a
				// push a provider's pause held until Beijing midnight):
				// it waits, pending, until they end.
				results[i] = push.Result{Outcome: outcomeDeferred, ErrorCode: dec.Reason, PauseUntil: dec.At}
				continue
			}
		}
		msgs = append(msgs, push.Message{Token: b.PushToken, Provider: b.Provider, NotificationID: p.NotificationID,
			Category: p.Category, ProjectID: p.ProjectID, ItemCodes: p.ItemCodes, Route: p.Route,
			UnreadCount: p.UnreadCount, Title: p.Title, Body: p.Body, Critical: p.Critical})
		index = append(index, i)
	}
	if len(msgs) > 0 {
		sendCtx, cancel := context.WithTimeout(ctx, sendTimeout)
		for j, r := range ds.d.Sender.Send(sendCtx, msgs) {
			results[index[j]] = r
		}
		cancel()
	}
	if sent != nil {
		sent()
	}
	return ds.record(ctx, batch, results, ds.d.Now())
}

// decisionKey is one user's push within a batch.
type decisionKey struct {
	userID  int64
	payload *pushPayload
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
		dead    []deadToken
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
			ds.d.Metrics.dueToSent.Observe(max(now.Sub(b.NextAt), 0).Seconds())
		case outcomeWithheld:
			mv.state = deliveryWithheld
			ds.d.Metrics.withheld.WithLabelValues(r.ErrorCode).Inc()
		case outcomeDeferred:
			mv.state, mv.next = models.DeliveryPending, r.PauseUntil
			retries = append(retries, redis.Z{Score: float64(mv.next.UnixMilli()),
				Member: "delivery:" + b.NotificationID + ":" + b.InstallationID})
		case push.OutcomeDeactivate:
			mv.state = models.DeliveryDeactivated
			dead = append(dead, deadToken{b.InstallationID, b.PushToken})
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
		if name != outcomeWithheld && name != outcomeDeferred { // nothing was sent
			ds.d.Metrics.pushes.WithLabelValues(name).Inc()
		}
		moves[i] = mv
		attempts[i] = models.PushAttempt{NotificationID: b.NotificationID, InstallationID: b.InstallationID,
			Attempt: b.Attempts, Outcome: outcomeName(name), ErrorCode: r.ErrorCode, CreatedAt: now.UTC()}
	}
	var (
		err   error
		moved int64
	)
	switch {
	case batch[0].run != nil: // read by planNext: no row yet
		moved, err = ds.recordUnwritten(ctx, batch, attempts, moves, dead, now)
	case ds.d.DB.Dialect == "postgres":
		moved, err = ds.recordPostgres(ctx, batch, attempts, moves, dead, now)
	default:
		err = ds.d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			moved = 0
			ins := attemptsInsert(attempts)
			if err := tx.Exec(ins.SQL, ins.Vars...).Error; err != nil {
				return err
			}
			if len(dead) > 0 {
				q, args := deactivateStatement(dead, now)
				if err := tx.Exec(q, args...).Error; err != nil {
					return err
				}
			}
			for i, b := range batch {
				res := tx.Model(&models.PushDelivery{}).
					Where("notification_id = ? AND installation_id = ? AND state = ? AND attempts = ? AND lease_until IS NOT NULL",
						b.NotificationID, b.InstallationID, models.DeliveryPending, b.Attempts).
					Updates(map[string]any{"state": moves[i].state, "next_at": moves[i].next.UTC(), "lease_until": nil, "updated_at": now.UTC()})
				if res.Error != nil {
					return res.Error
				}
				moved += res.RowsAffected
			}
			return nil
		})
	}
	if fenced := int64(len(batch)) - moved; err == nil && fenced > 0 {
		// Another lease took these deliveries over (this send outlived
		// ours): its outcome stands, this one only leaves its attempt row.
		ds.d.Metrics.fenced.Add(float64(fenced))
		ds.d.Log.WarnContext(ctx, "notify: push outcomes arrived after their lease was taken over; not recorded", "deliveries", fenced)
	}
	if err == nil && len(retries) > 0 && ds.d.Redis != nil {
		_ = ds.d.Redis.ZAdd(ctx, ds.keys.wake, retries...).Err()
	}
	return err
}

// recordUnwritten is recordPostgres for deliveries planNext read (one
// fan-out's, PostgreSQL only): it writes them, with their first attempt's
// outcome, instead of moving rows planned before, and returns how many it
// wrote. A delivery written already (by an instance that took the job over
// and sent it too) keeps its row. The deliveries and their push_attempts
// rows are written from one list of values: what differs per device is
// sent once, what the fan-out's deliveries share (the notice, payload and
// times) once for all.
func (ds *dispatcher) recordUnwritten(ctx context.Context, batch []leasedDelivery, attempts []models.PushAttempt, moves []outcome, dead []deadToken, now time.Time) (int64, error) {
	var sql strings.Builder
	args := make([]any, 0, 5*len(batch)+2*len(dead)+8)
	sql.WriteString("WITH v (installation_id, state, next_at, outcome, error_code) AS (VALUES ")
	for i, b := range batch {
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("(?, ?, CAST(? AS timestamptz), ?, ?)")
		args = append(args, b.InstallationID, moves[i].state, moves[i].next.UTC(), attempts[i].Outcome, attempts[i].ErrorCode)
	}
	first := batch[0]
	sql.WriteString(`),
		attempts AS (
			INSERT INTO push_attempts (notification_id, installation_id, attempt, outcome, error_code, created_at)
			SELECT ?, installation_id, 1, outcome, error_code, CAST(? AS timestamptz) FROM v)`)
	args = append(args, first.NotificationID, now.UTC())
	if len(dead) > 0 {
		q, dargs := deactivateStatement(dead, now)
		sql.WriteString(", deactivated AS (" + q + ")")
		args = append(args, dargs...)
	}
	// A top-level INSERT, run by Exec: gorm's Scan renders every statement
	// with its values inlined (for its trace), which for a batch's
	// thousands of values cost more CPU than the rest of recording it.
	sql.WriteString(`
		INSERT INTO push_deliveries
			(notification_id, installation_id, state, next_at, attempts, lease_until, payload, received_at, created_at, updated_at)
		SELECT ?, installation_id, state, next_at, 1, NULL, ?, CAST(? AS timestamptz), CAST(? AS timestamptz), CAST(? AS timestamptz)
		FROM v
		ON CONFLICT DO NOTHING`)
	args = append(args, first.NotificationID, first.Payload, first.ReceivedAt.UTC(), now.UTC(), now.UTC())
	res := ds.d.DB.WithContext(ctx).Exec(sql.String(), args...)
	return res.RowsAffected, res.Error
}

// deadToken is a device whose token a provider called dead, with the
// token it was sent to.
type deadToken struct{ installationID, token string }

// deactivateStatement deactivates the devices of dead whose token is still
// the one that failed: a device the app registered again with a new token
// meanwhile stays active.
func deactivateStatement(dead []deadToken, now time.Time) (string, []any) {
	var sql strings.Builder
	args := make([]any, 0, 1+2*len(dead))
	sql.WriteString("UPDATE devices SET active = false, updated_at = ? WHERE (installation_id, push_token) IN (")
	args = append(args, now.UTC())
	for i, d := range dead {
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("(?, ?)")
		args = append(args, d.installationID, d.token)
	}
	sql.WriteString(")")
	return sql.String(), args
}

// recordPostgres writes the attempts, deactivates dead devices and moves
// the deliveries (freeing their leases) in one statement, and returns how
// many deliveries it moved: only those still leased by this attempt
// (pending, leased, with this attempt's count; every lease counts one more
// attempt, so the count is the lease's token).
func (ds *dispatcher) recordPostgres(ctx context.Context, batch []leasedDelivery, attempts []models.PushAttempt, moves []outcome, dead []deadToken, now time.Time) (int64, error) {
	ins := attemptsInsert(attempts)
	var sql strings.Builder
	args := make([]any, 0, len(ins.Vars)+2+len(dead)+1+4*len(batch))
	sql.WriteString("WITH attempts AS (")
	sql.WriteString(ins.SQL)
	sql.WriteString(")")
	args = append(args, ins.Vars...)
	if len(dead) > 0 {
		q, dargs := deactivateStatement(dead, now)
		sql.WriteString(", deactivated AS (" + q + ")")
		args = append(args, dargs...)
	}
	sql.WriteString(`
		UPDATE push_deliveries AS d SET state = v.state, next_at = v.next_at, lease_until = NULL, updated_at = ?
		FROM (VALUES `)
	args = append(args, now.UTC())
	for i, b := range batch {
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("(?, ?, ?, CAST(? AS timestamptz), CAST(? AS integer))")
		args = append(args, b.NotificationID, b.InstallationID, moves[i].state, moves[i].next.UTC(), b.Attempts)
	}
	sql.WriteString(`) AS v(notification_id, installation_id, state, next_at, attempts)
		WHERE d.notification_id = v.notification_id AND d.installation_id = v.installation_id
			AND d.state = ? AND d.attempts = v.attempts AND d.lease_until IS NOT NULL`)
	args = append(args, models.DeliveryPending)
	res := ds.d.DB.WithContext(ctx).Exec(sql.String(), args...)
	return res.RowsAffected, res.Error
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
