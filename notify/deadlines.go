package notify

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/weifang/kaigong-zsb/internal/workdays"
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/outbox"
)

// Deadline warning kinds (models.DeadlineWarning.Kind).
const (
	warnDueSoon = "due_soon"
	warnOverdue = "overdue"
)

// deadlines warns DeadlineWarnDays working days before an item's or a
// project's due date (category deadline) and again once it is overdue
// (critical), and opens a deadline task for the region's agents. Only the
// instance holding the scheduler lock runs it; the DeadlineWarning key makes
// each warning go out once even if two ever overlap.
type deadlines struct {
	d Deps
}

// scanPage bounds how many projects one query loads.
const scanPage = 200

// scanOnce checks every started project and returns how many warnings it
// wrote.
func (s *deadlines) scanOnce(ctx context.Context) (int, error) {
	now := s.d.Now()
	today := workdays.DateOf(now)
	warned := 0
	after := ""
	for {
		var projects []models.Project
		if err := s.d.DB.WithContext(ctx).Where("started_on IS NOT NULL AND id > ?", after).
			Order("id").Limit(scanPage).Find(&projects).Error; err != nil {
			return warned, err
		}
		for _, p := range projects {
			n, err := s.project(ctx, p, today, now)
			warned += n
			if err != nil {
				return warned, err
			}
		}
		if len(projects) < scanPage {
			return warned, nil
		}
		after = projects[len(projects)-1].ID
	}
}

func (s *deadlines) project(ctx context.Context, p models.Project, today workdays.Date, now time.Time) (int, error) {
	var states []models.ItemState
	if err := s.d.DB.WithContext(ctx).Where("project_id = ?", p.ID).Find(&states).Error; err != nil {
		return 0, err
	}
	var clocks []Deadline
	if dl, ok := s.d.Approvals.(deadliner); ok {
		clocks = dl.Deadlines(p, states, today)
	} else {
		clocks = s.limitDeadlines(p, states, today)
	}
	warned := 0
	for _, c := range clocks {
		kind := ""
		switch {
		case c.Overdue:
			kind = warnOverdue
		case c.WorkingDaysLeft <= s.d.Settings.DeadlineWarnDays:
			kind = warnDueSoon
		default:
			continue
		}
		ok, err := s.warn(ctx, p, c, kind, now)
		if err != nil {
			return warned, err
		}
		if ok {
			warned++
		}
	}
	return warned, nil
}

// warn writes one warning, its outbox work and its agent task in one
// transaction, unless the same warning for the same due date went out.
func (s *deadlines) warn(ctx context.Context, p models.Project, c Deadline, kind string, now time.Time) (bool, error) {
	wrote := false
	err := s.d.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		w := models.DeadlineWarning{ProjectID: p.ID, ItemCode: c.ItemCode, Kind: kind, Day: c.DueOn.String(), CreatedAt: now.UTC()}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&w)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		wrote = true
		id := fmt.Sprintf("deadline:%s:%s:%s:%s", p.ID, c.ItemCode, kind, c.DueOn)
		n := outbox.Note{Kind: outbox.NoteDeadlineSoon, ChangeID: id, ReceivedAt: now.UTC(), ProjectID: p.ID, ProjectName: p.Name,
			Enterprise: p.EnterpriseCode, Category: outbox.CategoryDeadline, ItemCode: c.ItemCode, DueOn: c.DueOn.String(), DaysLeft: c.WorkingDaysLeft}
		if c.ItemCode != "" {
			n.ItemName, n.ItemNameEn = s.d.Approvals.ItemNames(c.ItemCode)
		}
		if kind == warnOverdue {
			n.Kind, n.Critical = outbox.NoteDeadlineOverdue, true
		}
		if err := outbox.Write(tx, id, outbox.KindDeadline, n); err != nil {
			return err
		}
		key := fmt.Sprintf("deadline:%s:%s:%s", p.ID, c.ItemCode, c.DueOn)
		escalate := now.Add(s.d.Settings.TaskEscalateAfter).UTC()
		t := models.AgentTask{ProjectID: p.ID, Kind: models.TaskDeadline, Level: models.LevelTown, RegionCode: p.RegionCode,
			Status: models.TaskOpen, Title: "时限预警：" + p.Name + " " + n.ItemName, DedupKey: &key, EscalateAt: &escalate}
		return createTask(tx, &t, taskNote(p, t, now, nil))
	})
	return wrote, err
}

// limitDeadlines computes running clocks from the item and main-flow limits
// for an Approvals without Deadlines: an item's clock runs from acceptance,
// pushed out by its closed correction waits, and stands still while a
// correction is open; the main flow runs from the project's start while any
// item awaits an answer.
func (s *deadlines) limitDeadlines(p models.Project, states []models.ItemState, today workdays.Date) []Deadline {
	var out []Deadline
	pausedDays, running := 0, false
	clock := func(code string, start workdays.Date, days int) {
		due, _ := s.d.Calendar.AddWorkingDays(start, days)
		left, _ := s.d.Calendar.WorkingDaysBetween(today, due)
		if today.After(due) {
			n, _ := s.d.Calendar.WorkingDaysBetween(due, today)
			left = -n
		}
		out = append(out, Deadline{ItemCode: code, DueOn: due, WorkingDaysLeft: left, Overdue: today.After(due)})
	}
	for _, st := range states {
		pausedDays += st.CorrectionWorkingDays
		switch st.Status {
		case models.StatusAccepted, models.StatusSubmitted, models.StatusCorrectionRequired:
			running = true
		}
		if st.Status != models.StatusAccepted || st.AcceptedOn == nil {
			continue
		}
		if limit := s.d.Approvals.ItemLimit(p, st.ItemCode); limit > 0 {
			clock(st.ItemCode, workdays.DateOf(*st.AcceptedOn), limit+st.CorrectionWorkingDays)
		}
	}
	if limit := s.d.Approvals.ProjectLimit(p); running && limit > 0 && p.StartedOn != nil {
		clock("", workdays.DateOf(*p.StartedOn), limit+pausedDays)
	}
	return out
}
