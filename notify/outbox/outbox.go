// Package outbox is the seam between the writers of notification work and
// the pipeline that delivers it: a writer (the upstream intake, help-agent
// tasks, the deadline scan) records a Note as an outbox entry in the same
// transaction as the change it describes, and only the pipeline consumes
// entries. The Note is everything a notice's texts need, snapshotted then.
package outbox

import (
	"encoding/json"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/weifang/kaigong-zsb/models"
)

// Entry kinds. An entry's (EventID, Kind) is unique, so writing the same
// work twice is a no-op.
const (
	KindChange   = "change"   // an item's status changed
	KindTask     = "task"     // an agent task to push to agents
	KindDeadline = "deadline" // a deadline warning
)

// Note kinds say which text a note renders to.
const (
	NoteItemStatus      = "item_status"
	NoteTask            = "task"
	NoteDeadlineSoon    = "deadline_soon"
	NoteDeadlineOverdue = "deadline_overdue"
)

// The notice categories a user can switch on and off (the contract's push
// preferences); every Note carries one.
const (
	CategoryProgress     = "progress"
	CategoryNextSteps    = "next_steps"
	CategoryCorrection   = "correction"
	CategoryDeadline     = "deadline"
	CategoryAgentTask    = "agent_task"
	CategoryAnnouncement = "announcement"
)

// Note is the snapshot of one notice written to the outbox with the change
// it describes: everything the texts need, so a re-delivery renders the
// same notice however the project has moved on since.
type Note struct {
	Kind        string    `json:"kind"`
	ChangeID    string    `json:"change_id"` // unique per notice; notification ids derive from it
	ReceivedAt  time.Time `json:"received_at"`
	ProjectID   string    `json:"project_id"`
	ProjectName string    `json:"project_name"`
	Enterprise  string    `json:"enterprise,omitempty"`
	Category    string    `json:"category"`
	Critical    bool      `json:"critical,omitempty"`

	ItemCode   string   `json:"item_code,omitempty"`
	ItemName   string   `json:"item_name,omitempty"`
	ItemNameEn string   `json:"item_name_en,omitempty"`
	Status     string   `json:"status,omitempty"`
	Reason     string   `json:"reason,omitempty"`
	Materials  []string `json:"materials,omitempty"`
	NextSteps  []Step   `json:"next_steps,omitempty"`

	TaskID    int64  `json:"task_id,omitempty"`
	TaskKind  string `json:"task_kind,omitempty"`
	TaskLevel string `json:"task_level,omitempty"`
	Region    string `json:"region,omitempty"` // open tasks go to the level's agents covering it
	DueOn     string `json:"due_on,omitempty"`
	DaysLeft  int    `json:"days_left,omitempty"`
	// DaysUsed and DaysLimit are the main flow's working days with the
	// departments and its limit (35 / 25 / 15), on a main-flow deadline
	// note (ItemCode empty).
	DaysUsed  int `json:"days_used,omitempty"`
	DaysLimit int `json:"days_limit,omitempty"`
	// Provisional is set when DueOn was counted on a calendar that knows
	// only the statutory holidays of its year (progress calendar
	// "statutory_only"): the texts then do not state the date as certain.
	Provisional bool `json:"provisional,omitempty"`

	// Recipients, when set, are the only users to tell; otherwise the
	// project's enterprise users and following agents are.
	Recipients []int64 `json:"recipients,omitempty"`
}

// ItemCodes lists the items a note is about, for the push data.
func (n Note) ItemCodes() []string {
	if n.ItemCode == "" {
		return nil
	}
	return []string{n.ItemCode}
}

// Route is the app deep link a note opens.
func (n Note) Route() string {
	base := "zsb://projects/" + n.ProjectID
	switch {
	case n.Kind == NoteTask:
		return "zsb://agent/tasks"
	case len(n.NextSteps) > 0:
		return base + "/next-steps"
	default:
		return base + "/progress"
	}
}

// Write stores a note as outbox work in tx, for the pipeline's relay to
// publish. A second write of the same (event, kind) is ignored, which keeps
// event-born work idempotent.
func Write(tx *gorm.DB, eventID, kind string, n Note) error {
	_, err := WriteEntry(tx, eventID, kind, n, nil)
	return err
}

// WriteEntry is Write for a writer that publishes the entry to
// the stream itself once tx has committed: handedAt, when set, records the
// entry as relayed then (the relay re-drives it only if it is still
// unprocessed RedriveAfter later). It returns the new entry's id, or 0 when
// the entry existed already.
func WriteEntry(tx *gorm.DB, eventID, kind string, n Note, handedAt *time.Time) (int64, error) {
	entry, err := NewEntry(eventID, kind, n, handedAt)
	if err != nil {
		return 0, err
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&entry)
	if res.Error != nil || res.RowsAffected == 0 {
		return 0, res.Error
	}
	return entry.ID, nil
}

// NewEntry is the outbox row of note n, recorded as relayed at
// handedAt when that is set.
func NewEntry(eventID, kind string, n Note, handedAt *time.Time) (models.OutboxEntry, error) {
	payload, err := json.Marshal(n)
	if err != nil {
		return models.OutboxEntry{}, err
	}
	entry := models.OutboxEntry{EventID: eventID, Kind: kind, ProjectID: n.ProjectID, Payload: string(payload)}
	if handedAt != nil {
		entry.RelayedAt, entry.Attempts = handedAt, 1
	}
	return entry, nil
}

// Step is one next step of a project as snapshotted into notification work,
// so that a re-delivered notice reads exactly as the first one.
type Step struct {
	Code      string         `json:"code"`
	Name      string         `json:"name"`
	NameEn    string         `json:"name_en,omitempty"`
	Materials []StepMaterial `json:"materials,omitempty"`
}

// StepMaterial is one material to prepare for a next step.
type StepMaterial struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	NameEn string `json:"name_en,omitempty"`
}
