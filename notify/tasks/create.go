package tasks

import (
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/outbox"
)

// Create inserts t (idempotently when it has a DedupKey) and, when n is not
// nil and the task is new, the outbox entry that pushes it, in tx. The
// upstream intake calls it inside the transaction that applies a change.
func Create(tx *gorm.DB, t *models.AgentTask, n *outbox.Note) error {
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(t)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 || n == nil {
		return nil
	}
	return pushTask(tx, *t, *n)
}

// pushTask writes the outbox work telling agents about t at its current
// level; the (task, level) pair keeps an escalation's push unique.
func pushTask(tx *gorm.DB, t models.AgentTask, n outbox.Note) error {
	n.TaskID = t.ID
	n.TaskLevel = t.Level
	n.ChangeID = fmt.Sprintf("task:%d:%s", t.ID, t.Level)
	return outbox.Write(tx, n.ChangeID, outbox.KindTask, n)
}

// NoteFor is the notice of task t on project p; recipients nil means the
// agents of the task's level covering its region.
func NoteFor(p models.Project, t models.AgentTask, now time.Time, recipients []int64) *outbox.Note {
	return &outbox.Note{Kind: outbox.NoteTask, ReceivedAt: now.UTC(), ProjectID: p.ID, ProjectName: p.Name,
		Category: outbox.CategoryAgentTask, TaskKind: t.Kind, TaskLevel: t.Level, Region: t.RegionCode,
		Recipients: recipients}
}
