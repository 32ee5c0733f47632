package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/outbox"
	"github.com/weifang/kaigong-zsb/notify/tasks"
)

// apply records ev and, unless it is stale, applies it, all in one
// transaction with the project row locked. changed says whether anything
// changed (for the cache write-through and the relay nudge): an event that
// repeats its item's current state is answered applied but changes nothing.
//
// Ordering is per record (contract, "Additions"): an item event is stale
// when its sequence is not above the last one applied to that item, a
// project event (project.upserted, agent.assigned) when it is not above the
// project's own. The project's version still moves on with every change of
// any of its records, since the cached views are keyed by it.
func (in *Intake) apply(ctx context.Context, ev upstreamEvent, payload string, now time.Time, change *Applied) (result string, changed bool, err error) {
	var agent models.User
	if ev.Type == EventAgentAssigned {
		err := in.c.DB.WithContext(ctx).Where("username = ? AND role = ? AND disabled = ?", ev.AgentUsername, models.RoleAgent, false).Take(&agent).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return "", false, models.ValidationError(models.FieldError{Field: "agent_username", Message: "no such agent"})
		}
		if err != nil {
			return "", false, err
		}
	}
	err = in.c.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		changed = false
		var p models.Project
		q := tx
		if in.c.DB.Dialect == "postgres" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		err := q.Where("id = ?", ev.ProjectID).Take(&p).Error
		found := err == nil
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		if !found && ev.Type != EventProjectUpserted {
			// A replay is answered duplicate as always, even if its
			// project is gone since.
			var seen int64
			if err := tx.Model(&models.Event{}).Where("event_id = ?", ev.EventID).Count(&seen).Error; err != nil {
				return err
			}
			if seen > 0 {
				result = ResultDuplicate
				return nil
			}
			return &models.Error{Code: models.CodeUnknownProject, Message: "the project was never announced by project.upserted",
				Fields: []models.FieldError{{Field: "project_id", Message: "unknown project"}}}
		}
		// The record the event is about, and the last sequence applied to it.
		var (
			states []models.ItemState
			cur    *models.ItemState // the item's state, nil if it has none yet
		)
		last := p.LastSequence
		if ev.Type == EventItemStatusChanged && found {
			if err := tx.Where("project_id = ?", p.ID).Find(&states).Error; err != nil {
				return err
			}
			last = 0
			for i := range states {
				if states[i].ItemCode == ev.ItemCode {
					cur = &states[i]
				}
			}
			if cur != nil {
				// A state written before items kept their own sequence
				// (0) is held to the project's, the rule of that time.
				if last = cur.LastSequence; last == 0 {
					last = p.LastSequence
				}
			}
		}
		result = ResultApplied
		if found && ev.Sequence <= last {
			result = ResultStale
		}
		row := models.Event{EventID: ev.EventID, ProjectID: ev.ProjectID, Sequence: ev.Sequence, Type: ev.Type,
			ItemCode: ev.ItemCode, Status: ev.Status, Result: result, OccurredAt: ev.OccurredAt.UTC(),
			ReceivedAt: now.UTC(), Payload: payload}
		// The event id is the primary key: a delivery seen before (or
		// committed concurrently, which this insert waits for) writes
		// nothing.
		ins := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if ins.Error != nil {
			return ins.Error
		}
		if ins.RowsAffected == 0 {
			result = ResultDuplicate
			return nil
		}
		if result == ResultStale {
			return nil
		}
		if cur != nil && restates(*cur, ev) {
			// Nothing changes but the item's place in the order: an
			// older event for it stays stale.
			return tx.Model(&models.ItemState{}).Where("project_id = ? AND item_code = ?", p.ID, ev.ItemCode).
				Update("last_sequence", ev.Sequence).Error
		}
		changed = true
		*change = Applied{ProjectID: ev.ProjectID}
		a := applier{in: in, tx: tx, ev: ev, now: now, change: change}
		switch ev.Type {
		case EventProjectUpserted:
			return a.upsertProject(&p, found)
		case EventItemStatusChanged:
			return a.changeItem(&p, states, cur)
		default:
			return a.assignAgent(&p, agent)
		}
	})
	if err != nil {
		return "", false, err
	}
	return result, changed, nil
}

// restates reports whether ev repeats the item's current state st, so
// applying it would change nothing and tell nobody anything new: the same
// status. A correction request is the exception: asking for other materials,
// or for another reason, is a new request the enterprise must hear of. For
// any other status the reason only comments on the status, and a repeat
// keeps the reason stored first.
func restates(st models.ItemState, ev upstreamEvent) bool {
	if st.Status != ev.Status {
		return false
	}
	if ev.Status != models.StatusCorrectionRequired {
		return true
	}
	return st.Reason == ev.Reason && st.MaterialsRequested == materialsJSON(ev.MaterialsRequested)
}

// materialsJSON is the stored form of requested materials: a JSON array,
// or "" for none.
func materialsJSON(m []string) string {
	if len(m) == 0 {
		return ""
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// applier applies one fresh event inside its transaction.
type applier struct {
	in     *Intake
	tx     *gorm.DB
	ev     upstreamEvent
	now    time.Time
	change *Applied
}

// bump moves p one version on; for an event about the project's own record
// (own), its last sequence moves to the event's too.
func (a applier) bump(p *models.Project, own bool, extra map[string]any) error {
	updates := map[string]any{"version": gorm.Expr("version + 1"), "updated_at": a.now.UTC()}
	if own {
		updates["last_sequence"] = a.ev.Sequence
	}
	for k, v := range extra {
		updates[k] = v
	}
	if err := a.tx.Model(&models.Project{}).Where("id = ?", p.ID).Updates(updates).Error; err != nil {
		return err
	}
	p.Version++
	if own {
		p.LastSequence = a.ev.Sequence
	}
	return nil
}

// writeItemChange writes an item's new state (with its last sequence), moves
// the project one version on (setting started_on when started is set) and writes the change's
// outbox entry, in one statement on PostgreSQL: three round trips were a
// larger cost to the BFF and the database than the statements' own work.
// It returns the entry's id, 0 if the entry existed already.
func (a applier) writeItemChange(st models.ItemState, started *time.Time, n outbox.Note, handed *time.Time) (int64, error) {
	entry, err := outbox.NewEntry(a.ev.EventID, outbox.KindChange, n, handed)
	if err != nil {
		return 0, err
	}
	var ids []int64
	err = a.tx.Raw(`WITH s AS (
			INSERT INTO item_states (project_id, item_code, status, accepted_on, decided_on, correction_since,
				suspended_since, suspend_reason, clock,
				correction_working_days, reason, materials_requested, last_sequence, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (project_id, item_code) DO UPDATE SET status = excluded.status,
				accepted_on = excluded.accepted_on, decided_on = excluded.decided_on,
				correction_since = excluded.correction_since, correction_working_days = excluded.correction_working_days,
				suspended_since = excluded.suspended_since, suspend_reason = excluded.suspend_reason, clock = excluded.clock,
				reason = excluded.reason, materials_requested = excluded.materials_requested,
				last_sequence = excluded.last_sequence, updated_at = excluded.updated_at),
		p AS (
			UPDATE projects SET version = version + 1, updated_at = ?,
				started_on = COALESCE(CAST(? AS timestamptz), started_on)
			WHERE id = ?)
		INSERT INTO outbox_entries (event_id, kind, project_id, payload, created_at, relayed_at, processed_at, attempts)
		VALUES (?, ?, ?, ?, ?, ?, NULL, ?)
		ON CONFLICT DO NOTHING RETURNING id`,
		st.ProjectID, st.ItemCode, st.Status, st.AcceptedOn, st.DecidedOn, st.CorrectionSince,
		st.SuspendedSince, st.SuspendReason, st.ClockJSON,
		st.CorrectionWorkingDays, st.Reason, st.MaterialsRequested, st.LastSequence, st.UpdatedAt,
		a.now.UTC(), started, st.ProjectID,
		entry.EventID, entry.Kind, entry.ProjectID, entry.Payload, a.tx.NowFunc(), entry.RelayedAt, entry.Attempts).Scan(&ids).Error
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	return ids[0], nil
}

func (a applier) upsertProject(p *models.Project, found bool) error {
	u := a.ev.Project
	if !found {
		*p = models.Project{ID: a.ev.ProjectID, Name: u.Name, Type: u.Type, EnterpriseCode: u.EnterpriseCreditCode,
			RegionCode: u.RegionCode, KeyProject: u.KeyProject, RegionalAssessment: u.RegionalAssessment,
			StandardLand: u.StandardLand, LastSequence: a.ev.Sequence, Version: 1}
		if u.Facts != nil {
			if err := p.SetFacts(*u.Facts); err != nil {
				return err
			}
		}
		return a.tx.Create(p).Error
	}
	updates := map[string]any{"name": u.Name, "type": u.Type, "enterprise_code": u.EnterpriseCreditCode,
		"region_code": u.RegionCode, "key_project": u.KeyProject, "regional_assessment": u.RegionalAssessment,
		"standard_land": u.StandardLand}
	// Facts left out keep the ones given before; facts given replace them.
	if u.Facts != nil {
		if err := p.SetFacts(*u.Facts); err != nil {
			return err
		}
		updates["facts"] = p.FactsJSON
	}
	return a.bump(p, true, updates)
}

// changeItem applies an item's new status; states are the project's item
// states as read under the project's lock, st the item's among them (nil if
// it has none yet).
func (a applier) changeItem(p *models.Project, states []models.ItemState, st *models.ItemState) error {
	ev := a.ev
	before := make(map[string]string, len(states))
	for i := range states {
		before[states[i].ItemCode] = states[i].Status
	}
	isNew := st == nil
	if isNew {
		st = &models.ItemState{ProjectID: p.ID, ItemCode: ev.ItemCode, Status: models.StatusNotStarted}
	}
	// The item's clock (acceptance, decision, correction waits,
	// suspensions) is the domain core's bookkeeping. A correction asking
	// again with other reasons keeps its wait running.
	if _, err := models.ApplyItemStatus(a.in.c.Calendar, st, ev.Status, ev.Reason, ev.OccurredAt); err != nil {
		return err
	}
	extra := map[string]any{}
	if ev.Status == models.StatusAccepted && p.StartedOn == nil {
		p.StartedOn = civilDay(ev.OccurredAt)
		extra["started_on"] = p.StartedOn
	}
	st.Status = ev.Status
	st.Reason = ev.Reason
	st.MaterialsRequested = materialsJSON(ev.MaterialsRequested)
	st.LastSequence = ev.Sequence
	st.UpdatedAt = a.now.UTC()
	// What is committed, for the views and the note: the states as read,
	// this one changed in place or added, and the project one version on.
	if isNew {
		states = append(states, *st)
		st = &states[len(states)-1]
	}
	after := make(map[string]string, len(before)+1)
	for k, v := range before {
		after[k] = v
	}
	after[ev.ItemCode] = ev.Status
	// With Redis, the intake publishes the entry itself once committed:
	// the push does not wait for the relay's poll and transaction.
	var handed *time.Time
	if a.in.pub != nil {
		t := a.now.UTC()
		handed = &t
	}
	var (
		id  int64
		n   outbox.Note
		err error
	)
	if a.in.c.DB.Dialect == "postgres" {
		bumped := *p
		bumped.Version++
		n = a.in.itemNote(bumped, ev, before, after, a.now)
		started, _ := extra["started_on"].(*time.Time) // set only by this change
		if id, err = a.writeItemChange(*st, started, n, handed); err != nil {
			return err
		}
		*p = bumped
	} else {
		if isNew {
			err = a.tx.Create(st).Error
		} else {
			err = a.tx.Save(st).Error
		}
		if err != nil {
			return err
		}
		if err := a.bump(p, false, extra); err != nil {
			return err
		}
		n = a.in.itemNote(*p, ev, before, after, a.now)
		if id, err = outbox.WriteEntry(a.tx, ev.EventID, outbox.KindChange, n, handed); err != nil {
			return err
		}
	}
	snapshot := *p
	a.change.Project, a.change.States = &snapshot, states
	switch {
	case handed == nil:
		a.change.relay = true
	case id != 0:
		a.change.handoff = append(a.change.handoff, id)
	}
	if ev.Status == models.StatusCorrectionRequired {
		return a.correctionTasks(p, n)
	}
	return nil
}

// itemNote snapshots what an item change tells its readers: the change, and
// the next steps it unlocked with their materials.
func (in *Intake) itemNote(p models.Project, ev upstreamEvent, before, after map[string]string, now time.Time) outbox.Note {
	zh, en := in.c.Catalog.ItemNames(ev.ItemCode)
	n := outbox.Note{Kind: outbox.NoteItemStatus, ChangeID: ev.EventID, ReceivedAt: now.UTC(), ProjectID: p.ID, ProjectName: p.Name,
		Enterprise: p.EnterpriseCode, Category: outbox.CategoryProgress, ItemCode: ev.ItemCode, ItemName: zh, ItemNameEn: en,
		Status: ev.Status, Reason: ev.Reason, Materials: ev.MaterialsRequested}
	switch ev.Status {
	case models.StatusCorrectionRequired:
		n.Category, n.Critical = outbox.CategoryCorrection, true
	case models.StatusRejected:
		n.Critical = true
	default:
		had := map[string]bool{}
		for _, s := range in.c.Catalog.NextSteps(p, before) {
			had[s.Code] = true
		}
		for _, s := range in.c.Catalog.NextSteps(p, after) {
			if !had[s.Code] {
				n.NextSteps = append(n.NextSteps, s)
			}
		}
		if len(n.NextSteps) > 0 {
			n.Category = outbox.CategoryNextSteps
		}
	}
	return n
}

func (a applier) assignAgent(p *models.Project, agent models.User) error {
	link := models.ProjectAgent{ProjectID: p.ID, UserID: agent.ID, CreatedAt: a.now.UTC()}
	if err := a.tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&link).Error; err != nil {
		return err
	}
	if err := a.bump(p, true, nil); err != nil {
		return err
	}
	if !p.KeyProject {
		return nil
	}
	a.change.relay = true
	key := fmt.Sprintf("key_project:%s:%d", p.ID, agent.ID)
	t := models.AgentTask{ProjectID: p.ID, Kind: models.TaskKeyProject, Level: agent.AgentLevel,
		RegionCode: p.RegionCode, Status: models.TaskClaimed, Title: "重点项目全程帮代办：" + p.Name,
		ClaimedBy: &agent.ID, ClaimedAt: ptrTime(a.now.UTC()), DedupKey: &key}
	return tasks.Create(a.tx, &t, tasks.NoteFor(*p, t, a.now, []int64{agent.ID}))
}

// correctionTasks gives every agent following p a task to help with the
// correction. The agents already get the correction notice itself, so the
// tasks are not pushed again.
func (a applier) correctionTasks(p *models.Project, n outbox.Note) error {
	var links []models.ProjectAgent
	if err := a.tx.Where("project_id = ?", p.ID).Find(&links).Error; err != nil {
		return err
	}
	for _, l := range links {
		var agent models.User
		if err := a.tx.Where("id = ?", l.UserID).Take(&agent).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				continue
			}
			return err
		}
		key := fmt.Sprintf("correction:%s:%d", a.ev.EventID, agent.ID)
		t := models.AgentTask{ProjectID: p.ID, Kind: models.TaskCorrection, Level: agent.AgentLevel,
			RegionCode: p.RegionCode, Status: models.TaskClaimed, Title: "补正协助：" + p.Name + " " + n.ItemName,
			ClaimedBy: &agent.ID, ClaimedAt: ptrTime(a.now.UTC()), DedupKey: &key}
		if err := tasks.Create(a.tx, &t, nil); err != nil {
			return err
		}
	}
	return nil
}

func ptrTime(t time.Time) *time.Time { return &t }
