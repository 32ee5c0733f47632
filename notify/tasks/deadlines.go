package tasks

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

// deadline is one running clock of a project: an item's, or the main
// flow's when itemCode is empty.
type deadline struct {
	itemCode string
	dueOn    workdays.Date
	daysLeft int // working days; negative once overdue
	overdue  bool
	// daysUsed and daysLimit are the main flow's working days with the
	// departments and its limit; zero for an item.
	daysUsed, daysLimit int
	// provisional: the dates were counted on a year whose holiday
	// schedule is not published (calendar "statutory_only").
	provisional bool
}

// mainFlowSubject names the main flow's clock in an agent task's title:
// the departments' working days on the main flow (design/domain.md §2),
// not the project's total time.
const mainFlowSubject = "主流程审批时限"

// scanPage bounds how many projects one query loads.
const scanPage = 200

// ScanDeadlines warns WarnDays working days before an item's or a project's
// due date (category deadline) and again once it is overdue (critical), and
// opens a deadline task for the region's agents. It checks every started
// project and returns how many warnings it wrote. The DeadlineWarning key
// makes each warning go out once, even if two scans ever overlap; Run lets
// only the holder of the scheduler lock scan.
func (s *Service) ScanDeadlines(ctx context.Context) (int, error) {
	now := s.c.Now()
	today := workdays.DateOf(now)
	warned := 0
	after := ""
	for {
		var projects []models.Project
		if err := s.c.DB.WithContext(ctx).Where("started_on IS NOT NULL AND id > ?", after).
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

func (s *Service) project(ctx context.Context, p models.Project, today workdays.Date, now time.Time) (int, error) {
	var states []models.ItemState
	if err := s.c.DB.WithContext(ctx).Where("project_id = ?", p.ID).Find(&states).Error; err != nil {
		return 0, err
	}
	warned := 0
	for _, c := range s.deadlines(p, states, today) {
		kind := ""
		switch {
		case c.overdue:
			kind = warnOverdue
		case c.daysLeft <= s.c.WarnDays:
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
func (s *Service) warn(ctx context.Context, p models.Project, c deadline, kind string, now time.Time) (bool, error) {
	wrote := false
	err := s.c.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		w := models.DeadlineWarning{ProjectID: p.ID, ItemCode: c.itemCode, Kind: kind, Day: c.dueOn.String(), CreatedAt: now.UTC()}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&w)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		wrote = true
		id := fmt.Sprintf("deadline:%s:%s:%s:%s", p.ID, c.itemCode, kind, c.dueOn)
		n := outbox.Note{Kind: outbox.NoteDeadlineSoon, ChangeID: id, ReceivedAt: now.UTC(), ProjectID: p.ID, ProjectName: p.Name,
			Enterprise: p.EnterpriseCode, Category: outbox.CategoryDeadline, ItemCode: c.itemCode, DueOn: c.dueOn.String(), DaysLeft: c.daysLeft,
			DaysUsed: c.daysUsed, DaysLimit: c.daysLimit, Provisional: c.provisional}
		subject := mainFlowSubject
		if c.itemCode != "" {
			n.ItemName, n.ItemNameEn = s.itemNames(c.itemCode)
			subject = n.ItemName
		}
		if kind == warnOverdue {
			n.Kind, n.Critical = outbox.NoteDeadlineOverdue, true
		}
		if err := outbox.Write(tx, id, outbox.KindDeadline, n); err != nil {
			return err
		}
		key := fmt.Sprintf("deadline:%s:%s:%s", p.ID, c.itemCode, c.dueOn)
		escalate := now.Add(s.c.EscalateAfter).UTC()
		t := models.AgentTask{ProjectID: p.ID, Kind: models.TaskDeadline, Level: models.LevelTown, RegionCode: p.RegionCode,
			Status: models.TaskOpen, Title: "时限预警：" + p.Name + " " + subject, DedupKey: &key, EscalateAt: &escalate}
		return Create(tx, &t, NoteFor(p, t, now, nil))
	})
	return wrote, err
}

// deadlines lists p's clocks that may be warned about as of today, exactly
// as the progress screen shows them (models.BuildProgress over the stored
// item states, with their correction waits and suspensions): each item the
// administration owes an answer on now (not one waiting on the
// enterprise's correction, not a suspended one; items the project's facts
// rule out are not in the progress at all), and the main flow while it is
// not finished and, for a due-soon warning, while an item keeps its clock
// running. A finished project is never overdue.
func (s *Service) deadlines(p models.Project, states []models.ItemState, today workdays.Date) []deadline {
	in := models.ProgressInput{ProjectID: p.ID, Version: p.Version, Facts: models.FactsOf(&p), StartedOn: datePtr(p.StartedOn)}
	for i := range states {
		in.Items = append(in.Items, states[i].ProgressInput())
	}
	prog := models.BuildProgress(s.c.Catalog, s.c.Calendar, in, today)
	provisional := prog.Overall.Calendar == models.CalendarStatutoryOnly
	var out []deadline
	mainFlowRunning := false
	for _, th := range prog.Themes {
		theme, _ := s.c.Catalog.Theme(th.Code)
		for _, it := range th.Items {
			if it.DeadlineWarnable() && it.DueOn != nil {
				out = append(out, deadline{itemCode: it.Code, dueOn: *it.DueOn, daysLeft: *it.WorkingDaysLeft, overdue: it.Overdue, provisional: provisional})
				mainFlowRunning = mainFlowRunning || (theme != nil && theme.PreStart)
			}
		}
	}
	// The main flow's due date moves while its clock is stopped (no
	// main-flow item with a department: corrections, suspensions, the
	// enterprise preparing): a due-soon warning then would go out again for
	// every new date, so it waits for a running clock; an overdue main flow
	// stays overdue.
	if o := prog.Overall; o.DeadlineWarnable() && o.DueOn != nil && (o.Overdue || mainFlowRunning) {
		out = append(out, deadline{dueOn: *o.DueOn, daysLeft: o.WorkingDaysLeft, overdue: o.Overdue,
			daysUsed: o.WorkingDaysUsed, daysLimit: o.WorkingDaysLimit, provisional: provisional})
	}
	return out
}

// itemNames returns an item's Chinese and English names.
func (s *Service) itemNames(code string) (zh, en string) {
	it, ok := s.c.Catalog.Item(code)
	if !ok {
		return code, ""
	}
	return it.Name, it.EN
}

func datePtr(t *time.Time) *workdays.Date {
	if t == nil {
		return nil
	}
	d := workdays.DateOf(*t)
	return &d
}
