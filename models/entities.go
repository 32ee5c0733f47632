package models

import "time"

// Roles a user can hold.
const (
	RoleEnterprise = "enterprise"
	RoleAgent      = "agent"
)

// Agent levels, lowest first: an unclaimed task escalates along this order.
const (
	LevelTown   = "town"
	LevelCounty = "county"
	LevelCity   = "city"
)

// AgentLevels lists the agent levels in escalation order.
var AgentLevels = []string{LevelTown, LevelCounty, LevelCity}

// Project types of the contract.
const (
	ProjectCivil        = "civil"
	ProjectIndustrial   = "industrial"
	ProjectSmallLowRisk = "small_low_risk"
)

// Item statuses of the contract, plus "not_started" for items the upstream
// system has not mentioned yet.
const (
	StatusNotStarted         = "not_started"
	StatusSubmitted          = "submitted"
	StatusAccepted           = "accepted"
	StatusCorrectionRequired = "correction_required"
	StatusPreApproved        = "pre_approved"
	StatusApproved           = "approved"
	StatusRejected           = "rejected"
	StatusWithdrawn          = "withdrawn"
)

// Enterprise is a company that owns construction projects, keyed by its
// 18-character unified social credit code.
type Enterprise struct {
	CreditCode string `gorm:"primaryKey;size:18"`
	Name       string `gorm:"size:200;not null"`
	CreatedAt  time.Time
}

// User is an account of the mobile app: an enterprise user or a help-agent.
type User struct {
	ID             int64  `gorm:"primaryKey;autoIncrement"`
	Username       string `gorm:"size:64;uniqueIndex;not null"`
	DisplayName    string `gorm:"size:200;not null"`
	PasswordHash   string `gorm:"size:255;not null"`
	Role           string `gorm:"size:16;not null"`
	EnterpriseCode string `gorm:"size:18;index"` // enterprise users only
	AgentLevel     string `gorm:"size:16"`       // agents only
	RegionCode     string `gorm:"size:9;index"`  // agents only
	Disabled       bool   `gorm:"not null;default:false"`
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Project is a construction project as last told by the upstream approval
// system. Version grows with every applied change; it is the progress ETag.
type Project struct {
	ID                 string `gorm:"primaryKey;size:64"`
	Name               string `gorm:"size:200;not null"`
	Type               string `gorm:"size:32;not null"`
	EnterpriseCode     string `gorm:"size:18;index;not null"`
	RegionCode         string `gorm:"size:9;not null"`
	KeyProject         bool   `gorm:"not null;default:false"`
	RegionalAssessment bool   `gorm:"not null;default:false"`
	StandardLand       bool   `gorm:"not null;default:false"`
	// FactsJSON holds the project's facts (project.facts) as JSON text, so
	// one column type serves PostgreSQL and SQLite; read and write it with
	// Facts and SetFacts. "{}" (or empty) is no facts given.
	FactsJSON string `gorm:"column:facts;type:text;not null;default:'{}'"`
	// StartedOn is the day the main-flow clock started: the first acceptance
	// of any item. Nil until then.
	StartedOn    *time.Time
	LastSequence int64 `gorm:"not null;default:0"`
	Version      int64 `gorm:"not null;default:0"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// ItemState is the state of one approval item of one project.
type ItemState struct {
	ProjectID  string `gorm:"primaryKey;size:64"`
	ItemCode   string `gorm:"primaryKey;size:64"`
	Status     string `gorm:"size:32;not null"`
	AcceptedOn *time.Time
	DecidedOn  *time.Time // pre-approved, approved or rejected on
	// CorrectionSince is set while the item waits on the enterprise's
	// correction (补正); that time does not count against the administration.
	CorrectionSince *time.Time
	// CorrectionWorkingDays accumulates the working days of closed correction
	// waits.
	CorrectionWorkingDays int `gorm:"not null;default:0"`
	// SuspendedSince is set while the item is suspended (status
	// "suspended"), SuspendReason says why; the item's clock and the main
	// flow's stop meanwhile.
	SuspendedSince *time.Time
	SuspendReason  string `gorm:"size:32"`
	// ClockJSON is the item's clock history (ItemClock: closed pauses and
	// earlier applications) as JSON text, kept by ApplyItemStatus.
	ClockJSON          string `gorm:"column:clock;type:text;not null;default:''"`
	Reason             string `gorm:"size:1000"`
	MaterialsRequested string `gorm:"type:text"` // JSON array of strings
	// LastSequence is the upstream sequence of the last event applied to
	// this item: a later event for the item is stale unless above it (0 for
	// a state written before items kept their own).
	LastSequence int64 `gorm:"not null;default:0"`
	UpdatedAt    time.Time
}

// ProjectAgent records that a help-agent follows a project.
type ProjectAgent struct {
	ProjectID string `gorm:"primaryKey;size:64"`
	UserID    int64  `gorm:"primaryKey;index"`
	CreatedAt time.Time
}

// Event is an upstream webhook event as received. EventID is the idempotency
// key; Result says whether it was applied or stale.
type Event struct {
	EventID    string    `gorm:"primaryKey;size:128"`
	ProjectID  string    `gorm:"size:64;index:idx_events_project_seq,priority:1;not null"`
	Sequence   int64     `gorm:"index:idx_events_project_seq,priority:2;not null"`
	Type       string    `gorm:"size:32;not null"`
	ItemCode   string    `gorm:"size:64"`
	Status     string    `gorm:"size:32"`
	Result     string    `gorm:"size:16;not null"`
	OccurredAt time.Time `gorm:"not null"`
	ReceivedAt time.Time `gorm:"not null"`
	Payload    string    `gorm:"type:text;not null"`
}

// OutboxEntry is notification work written in the same transaction as the
// state change it describes. It is relayed to a Redis stream and marked
// processed only when every recipient's notice is in the inbox and its push
// has been handed over, so losing Redis loses nothing.
type OutboxEntry struct {
	ID          int64  `gorm:"primaryKey;autoIncrement"`
	EventID     string `gorm:"size:128;uniqueIndex:idx_outbox_event_kind,priority:1;not null"`
	Kind        string `gorm:"size:32;uniqueIndex:idx_outbox_event_kind,priority:2;not null"`
	ProjectID   string `gorm:"size:64;index;not null"`
	Payload     string `gorm:"type:text;not null"`
	CreatedAt   time.Time
	RelayedAt   *time.Time
	ProcessedAt *time.Time `gorm:"index"`
	Attempts    int        `gorm:"not null;default:0"`
}

// Notification is one inbox entry of one user. Its ID is derived from the
// change and the recipient, so a re-delivered change maps to the same row and
// the same push notification_id.
type Notification struct {
	ID string `gorm:"primaryKey;size:64"`
	// The partial index keeps the unread count (the badge, counted on every
	// push) from scanning every notice the user ever received.
	UserID    int64     `gorm:"index:idx_notifications_user_created,priority:1;index:idx_notifications_unread,where:read_at IS NULL;not null"`
	Category  string    `gorm:"size:32;not null"`
	Title     string    `gorm:"size:500;not null"`
	Body      string    `gorm:"type:text;not null"`
	ProjectID string    `gorm:"size:64;index"`
	ItemCodes string    `gorm:"size:1000"` // comma-separated
	Data      string    `gorm:"type:text"` // JSON object of strings
	Critical  bool      `gorm:"not null;default:false"`
	CreatedAt time.Time `gorm:"index:idx_notifications_user_created,priority:2"`
	ReadAt    *time.Time
}

// Device is one app installation that can receive pushes.
type Device struct {
	InstallationID string `gorm:"primaryKey;size:128;index:idx_devices_user_provider,priority:3"`
	// A user's devices are read in (provider, installation id) order when a
	// push to them is planned in chunks.
	UserID    int64  `gorm:"index:idx_devices_user_provider,priority:1;not null"`
	Platform  string `gorm:"size:16;not null"`
	Provider  string `gorm:"size:16;not null;index:idx_devices_user_provider,priority:2"`
	PushToken string `gorm:"size:4096;not null"`
	// PushTokenHash is the SHA-256 of PushToken, unique so that a token moves
	// to whichever user registered it last (tokens are too long to index).
	PushTokenHash string `gorm:"size:64;uniqueIndex;not null"`
	AppVersion    string `gorm:"size:32"`
	Locale        string `gorm:"size:16"`
	Active        bool   `gorm:"not null;default:true"`
	LastSeenAt    time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// PushPreferenceRow stores a user's push preferences as JSON.
type PushPreferenceRow struct {
	UserID    int64  `gorm:"primaryKey"`
	Data      string `gorm:"type:text;not null"`
	UpdatedAt time.Time
}

// Agent task kinds and statuses.
const (
	TaskHelpRequest = "help_request"
	TaskKeyProject  = "key_project"
	TaskCorrection  = "correction"
	TaskDeadline    = "deadline"

	TaskOpen    = "open"
	TaskClaimed = "claimed"
	TaskDone    = "done"
)

// AgentTask is work for a help-agent. An open task is visible to the agents of
// its level and region; an unclaimed one escalates to the next level.
type AgentTask struct {
	ID         int64  `gorm:"primaryKey;autoIncrement"`
	ProjectID  string `gorm:"size:64;index;not null"`
	Kind       string `gorm:"size:32;not null"`
	Level      string `gorm:"size:16;not null"`
	RegionCode string `gorm:"size:9;index;not null"`
	Status     string `gorm:"size:16;index;not null"`
	Title      string `gorm:"size:500;not null"`
	Topic      string `gorm:"size:200"`
	Message    string `gorm:"size:2000"`
	CreatedBy  *int64
	ClaimedBy  *int64
	ClaimedAt  *time.Time
	DoneAt     *time.Time
	// DedupKey makes task creation idempotent for tasks born from events.
	DedupKey   *string    `gorm:"size:200;uniqueIndex"`
	EscalateAt *time.Time `gorm:"index"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// PushAttempt records the outcome of one push of one notification to one
// device.
type PushAttempt struct {
	ID             int64  `gorm:"primaryKey;autoIncrement"`
	NotificationID string `gorm:"size:64;index;not null"`
	InstallationID string `gorm:"size:128;not null"`
	Attempt        int    `gorm:"not null"`
	Outcome        string `gorm:"size:32;not null"` // sent, retry, failed, deactivated
	ErrorCode      string `gorm:"size:64"`
	CreatedAt      time.Time
}

// InboxCounter is a user's unread inbox count, kept in step with the
// inbox in the same transactions (a notice stored unread adds one, marking
// read takes away what it marked), so the badge of every push costs one
// primary-key read instead of counting the user's unread notices, which
// grows with every notice never opened.
type InboxCounter struct {
	UserID int64 `gorm:"primaryKey;autoIncrement:false"`
	Unread int64 `gorm:"not null;default:0"`
}

// AllModels lists every table, in creation order, for migrations.
func AllModels() []any {
	return []any{
		&Enterprise{}, &User{}, &Project{}, &ItemState{}, &ProjectAgent{},
		&Event{}, &OutboxEntry{}, &Notification{}, &Device{}, &PushPreferenceRow{},
		&AgentTask{}, &PushAttempt{},
		&PushJob{}, &PushDelivery{}, &DeadlineWarning{}, &InboxCounter{},
	}
}
