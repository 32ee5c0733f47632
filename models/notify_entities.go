package models

import "time"

// Push job states.
const (
	PushJobPending = "pending" // waiting for its due time
	PushJobDone    = "done"    // handed to the sender (alone or in a digest)
	PushJobMerged  = "merged"  // folded into another job's digest push
)

// PushJob is the decision to push one inbox notification to its user, kept
// in the database (the truth) until it is sent. DueAt is now for critical
// notices, the end of the digest window for ordinary ones, or the end of
// the user's quiet hours; a Redis sorted set only indexes DueAt so the
// dispatcher knows when to wake.
type PushJob struct {
	NotificationID string    `gorm:"primaryKey;size:64"`
	UserID         int64     `gorm:"index:idx_push_jobs_user_project,priority:1;not null"`
	ProjectID      string    `gorm:"size:64;index:idx_push_jobs_user_project,priority:2"`
	Critical       bool      `gorm:"not null;default:false"`
	State          string    `gorm:"size:16;index:idx_push_jobs_state_due,priority:1;not null"`
	DueAt          time.Time `gorm:"index:idx_push_jobs_state_due,priority:2;not null"`
	// ReceivedAt is when the upstream event behind the notice arrived, for
	// the event-to-push latency histogram.
	ReceivedAt time.Time `gorm:"not null"`
	// PlanProvider and PlanAfter are where planning a large fan-out got
	// to: its deliveries are planned in chunks, in (provider,
	// installation id) order, each sent as soon as it is planned, and the
	// job stays pending (DueAt is the planner's lease) until the last
	// chunk. Empty PlanAfter: nothing planned yet.
	PlanProvider string `gorm:"size:16;not null;default:''"`
	PlanAfter    string `gorm:"size:128;not null;default:''"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Push delivery states.
const (
	DeliveryPending     = "pending"     // to be sent (again) at NextAt
	DeliverySent        = "sent"        // the provider accepted it
	DeliveryFailed      = "failed"      // permanent failure or attempts exhausted
	DeliveryDeactivated = "deactivated" // the token is dead; the device was deactivated
)

// PushDelivery is one push of one notification to one device. The primary
// key makes sure a device gets a notification at most once, however many
// instances race; Payload is the rendered message (without the token), so a
// retry sends exactly what the first attempt did.
type PushDelivery struct {
	NotificationID string    `gorm:"primaryKey;size:64"`
	InstallationID string    `gorm:"primaryKey;size:128"`
	State          string    `gorm:"size:16;index:idx_push_deliveries_state_next,priority:1;not null"`
	NextAt         time.Time `gorm:"index:idx_push_deliveries_state_next,priority:2;not null"`
	Attempts       int       `gorm:"not null;default:0"`
	Payload        string    `gorm:"type:text;not null"`
	ReceivedAt     time.Time `gorm:"not null"`
	// LeaseUntil is set while an instance is sending; another instance may
	// take the delivery over only after it passes.
	LeaseUntil *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// DeadlineWarning records that a deadline warning went out, so the
// scheduler never sends the same warning twice for one item and day.
type DeadlineWarning struct {
	ProjectID string `gorm:"primaryKey;size:64"`
	ItemCode  string `gorm:"primaryKey;size:64"` // "" for the project's overall deadline
	Kind      string `gorm:"primaryKey;size:16"` // due_soon or overdue
	Day       string `gorm:"primaryKey;size:10"` // YYYY-MM-DD, Asia/Shanghai
	CreatedAt time.Time
}

// OutboxDeadLetter is the dead-letter marker of outbox_entries, migrated
// onto that table beside OutboxEntry's own columns. DeadAt is set once an
// unprocessed entry has used up its relays (the pipeline logs it then and
// counts it in zsb_outbox_dead_letters); a re-drive clears it. Retention
// never removes an unprocessed entry, dead or not.
type OutboxDeadLetter struct {
	DeadAt *time.Time `gorm:"index:idx_outbox_entries_dead_at"`
}

// TableName puts the marker on outbox_entries.
func (OutboxDeadLetter) TableName() string { return "outbox_entries" }
