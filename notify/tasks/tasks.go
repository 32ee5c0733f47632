// Package tasks is the help-agent (帮代办) work: help requests, the agent's
// task list, claiming and completing, escalation of unclaimed tasks and the
// deadline scan that warns before an approval runs out of time.
//
// Every change that must reach a phone is written as an outbox entry in the
// same transaction as the task (see notify/outbox); the notify pipeline
// delivers it. The package never sends a push itself.
package tasks

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weifang/kaigong-zsb/internal/redislock"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/internal/workdays"
	"github.com/weifang/kaigong-zsb/models"
)

// Config is what the task service needs; zero durations take the
// documented defaults.
type Config struct {
	DB          *store.DB
	Redis       redis.UniversalClient // for the deadline scan's lock
	RedisPrefix string                // every key lives under it, e.g. "zsb:"
	Catalog     *models.Catalog       // names, limits and the progress rules deadlines come from
	Calendar    *workdays.Calendar
	Log         *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// EscalateAfter moves an unclaimed task up a level. Default 4h.
	EscalateAfter time.Duration
	// WarnDays warns this many working days before a due date.
	WarnDays int
	// ScanInterval is how often escalation and the deadline scan run.
	// Default 1m.
	ScanInterval time.Duration
}

// Service is the help-agent work the HTTP handlers drive and the background
// scans that keep it moving (Run).
type Service struct {
	c     Config
	nudge func()
	lock  *redislock.Lock
}

// New builds the task service; nudge (the pipeline's Nudge, may be nil)
// wakes the outbox relay after a task was written.
func New(c Config, nudge func()) (*Service, error) {
	if c.DB == nil || c.Catalog == nil || c.Calendar == nil {
		return nil, errors.New("tasks: DB, Catalog and Calendar are required")
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.EscalateAfter <= 0 {
		c.EscalateAfter = 4 * time.Hour
	}
	if c.ScanInterval <= 0 {
		c.ScanInterval = time.Minute
	}
	s := &Service{c: c, nudge: nudge}
	if c.Redis != nil {
		s.lock = redislock.New(c.Redis, c.RedisPrefix+"{notify}:deadline-lock", max(2*c.ScanInterval, 30*time.Second))
	}
	return s, nil
}

// EscalateAfter is how long an open task waits before it moves up a level.
func (s *Service) EscalateAfter() time.Duration { return s.c.EscalateAfter }

func (s *Service) wake() {
	if s.nudge != nil {
		s.nudge()
	}
}

// Run escalates unclaimed tasks and scans deadlines every ScanInterval until
// ctx ends. Every instance escalates (rows are taken with SKIP LOCKED); the
// deadline scan runs on the one instance holding the scheduler lock.
func (s *Service) Run(ctx context.Context) {
	work := context.WithoutCancel(ctx)
	t := time.NewTicker(s.c.ScanInterval)
	defer t.Stop()
	for {
		if n, err := s.EscalateDue(work); err != nil {
			s.c.Log.WarnContext(work, "tasks: escalation", "err", err)
		} else if n > 0 {
			s.wake()
		}
		if s.lock != nil {
			if held, err := s.lock.Acquire(work); err == nil && held {
				if n, err := s.ScanDeadlines(work); err != nil {
					s.c.Log.WarnContext(work, "tasks: deadline scan", "err", err)
				} else if n > 0 {
					s.wake()
				}
			}
		}
		select {
		case <-ctx.Done():
			if s.lock != nil {
				_ = s.lock.Release(work)
			}
			return
		case <-t.C:
		}
	}
}

// CreateHelpRequest opens a town-level help request for p, raised by the
// enterprise user by, and pushes "新任务：XX项目申请帮代办" to the town agents
// of p's region through the outbox, in the same transaction. The caller has
// already checked that by may see p.
func (s *Service) CreateHelpRequest(ctx context.Context, by models.User, p models.Project, topic, message string) (models.AgentTask, error) {
	topic, message = strings.TrimSpace(topic), strings.TrimSpace(message)
	var fe []models.FieldError
	if n := utf8.RuneCountInString(topic); n < 1 || n > 200 {
		fe = append(fe, models.FieldError{Field: "topic", Message: "must be 1 to 200 characters"})
	}
	if utf8.RuneCountInString(message) > 2000 {
		fe = append(fe, models.FieldError{Field: "message", Message: "at most 2000 characters"})
	}
	if len(fe) > 0 {
		return models.AgentTask{}, models.ValidationError(fe...)
	}
	now := s.c.Now().UTC()
	escalate := now.Add(s.c.EscalateAfter)
	t := models.AgentTask{ProjectID: p.ID, Kind: models.TaskHelpRequest, Level: models.LevelTown,
		RegionCode: p.RegionCode, Status: models.TaskOpen, Title: "新任务：" + p.Name + "项目申请帮代办",
		Topic: topic, Message: message, CreatedBy: &by.ID, EscalateAt: &escalate}
	err := s.c.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return Create(tx, &t, NoteFor(p, t, now, nil))
	})
	if err != nil {
		return models.AgentTask{}, unavailable(err)
	}
	s.wake()
	return t, nil
}

// ListForAgent lists tasks for agent, newest first, after the cursor
// afterID (0 for the first page). status "open" lists the open tasks of the
// agent's level and region; "claimed" and "done" its own; "" both the open
// ones and its own.
func (s *Service) ListForAgent(ctx context.Context, agent models.User, status string, limit int, afterID int64) ([]models.AgentTask, error) {
	// Callers ask for one more than a page (at most 100) to know whether
	// another page follows.
	if limit <= 0 || limit > 101 {
		limit = 20
	}
	q := s.c.DB.WithContext(ctx).Model(&models.AgentTask{})
	open := s.c.DB.Where("status = ? AND level = ? AND region_code LIKE ?", models.TaskOpen, agent.AgentLevel, models.RegionScope(agent.RegionCode)+"%")
	switch status {
	case models.TaskOpen:
		q = q.Where(open)
	case models.TaskClaimed, models.TaskDone:
		q = q.Where("status = ? AND claimed_by = ?", status, agent.ID)
	case "":
		q = q.Where(open).Or("claimed_by = ?", agent.ID)
	default:
		return nil, models.ValidationError(models.FieldError{Field: "status", Message: "must be open, claimed or done"})
	}
	if agent.Role != models.RoleAgent || agent.RegionCode == "" {
		return []models.AgentTask{}, nil
	}
	outer := s.c.DB.WithContext(ctx).Table("(?) AS t", q).Order("id DESC").Limit(limit)
	if afterID > 0 {
		outer = outer.Where("id < ?", afterID)
	}
	tasks := []models.AgentTask{}
	if err := outer.Find(&tasks).Error; err != nil {
		return nil, unavailable(err)
	}
	return tasks, nil
}

// Claim takes an open task the agent can see. It is one conditional UPDATE,
// so of two agents racing exactly one wins; the other gets task_taken (409).
// A task the agent cannot see is not_found; claiming one's own claimed task
// again answers it unchanged.
func (s *Service) Claim(ctx context.Context, agent models.User, taskID int64) (models.AgentTask, error) {
	now := s.c.Now().UTC()
	db := s.c.DB.WithContext(ctx)
	res := db.Model(&models.AgentTask{}).
		Where("id = ? AND status = ? AND level = ? AND region_code LIKE ?", taskID, models.TaskOpen, agent.AgentLevel, models.RegionScope(agent.RegionCode)+"%").
		Updates(map[string]any{"status": models.TaskClaimed, "claimed_by": agent.ID, "claimed_at": now, "escalate_at": nil, "updated_at": now})
	if res.Error != nil {
		return models.AgentTask{}, unavailable(res.Error)
	}
	t, err := s.visible(ctx, agent, taskID)
	if err != nil {
		return t, err
	}
	if res.RowsAffected == 1 || (t.ClaimedBy != nil && *t.ClaimedBy == agent.ID) {
		return t, nil
	}
	return t, models.Errorf(models.CodeTaskTaken, "another agent holds this task")
}

// Complete marks the agent's claimed task done (done again is a no-op).
func (s *Service) Complete(ctx context.Context, agent models.User, taskID int64) (models.AgentTask, error) {
	now := s.c.Now().UTC()
	res := s.c.DB.WithContext(ctx).Model(&models.AgentTask{}).
		Where("id = ? AND status = ? AND claimed_by = ?", taskID, models.TaskClaimed, agent.ID).
		Updates(map[string]any{"status": models.TaskDone, "done_at": now, "updated_at": now})
	if res.Error != nil {
		return models.AgentTask{}, unavailable(res.Error)
	}
	t, err := s.visible(ctx, agent, taskID)
	if err != nil {
		return t, err
	}
	switch {
	case t.ClaimedBy != nil && *t.ClaimedBy == agent.ID:
		return t, nil
	case t.ClaimedBy != nil:
		return t, models.Errorf(models.CodeTaskTaken, "another agent holds this task")
	default:
		return t, models.Errorf(models.CodeConflict, "claim the task before completing it")
	}
}

// visible loads a task the agent may see: its own, or one of its level and
// region.
func (s *Service) visible(ctx context.Context, agent models.User, taskID int64) (models.AgentTask, error) {
	var t models.AgentTask
	err := s.c.DB.WithContext(ctx).Where("id = ?", taskID).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.AgentTask{}, models.ErrNotFound
	}
	if err != nil {
		return models.AgentTask{}, unavailable(err)
	}
	own := t.ClaimedBy != nil && *t.ClaimedBy == agent.ID
	if agent.Role != models.RoleAgent || (!own && (t.Level != agent.AgentLevel || !models.RegionCovers(agent.RegionCode, t.RegionCode))) {
		return models.AgentTask{}, models.ErrNotFound
	}
	return t, nil
}

// unavailable wraps a database failure as the retryable 503 of the contract;
// domain errors pass through.
func unavailable(err error) error {
	var me *models.Error
	if err == nil || errors.As(err, &me) {
		return err
	}
	return &models.Error{Code: models.CodeUnavailable, Message: "the database is unavailable; retry", RetryAfter: 2, Err: err}
}
