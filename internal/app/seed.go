package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/weifang/kaigong-zsb/auth"
	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/internal/workdays"
	mobilecontract "github.com/weifang/kaigong-zsb/mobile-contract"
	"github.com/weifang/kaigong-zsb/models"
)

// SeedDemo loads the development demo data as of today (the civil date in
// Asia/Shanghai). Accounts that exist are left as they are. The demo
// projects' dates are not fixed in the fixture: each project's walk through
// the catalog ends today (models.Catalog.WalkUntil), so a fresh demo is
// never overdue because real time has passed the day someone wrote the
// file. A demo project the upstream system has not touched since (no event
// recorded for it) is walked again to end today on a later start, so a
// development database kept for months stays truthful too; one the
// upstream has moved on keeps its state.
func SeedDemo(ctx context.Context, db *store.DB, cat *models.Catalog, password string, today workdays.Date) error {
	fx, err := mobilecontract.LoadDemoFixtures()
	if err != nil {
		return err
	}
	gdb := db.WithContext(ctx)
	for _, e := range fx.Enterprises {
		if err := gdb.Clauses(clause.OnConflict{DoNothing: true}).Create(&models.Enterprise{CreditCode: e.CreditCode, Name: e.Name}).Error; err != nil {
			return err
		}
	}
	userIDs := map[string]int64{}
	for _, u := range fx.Users {
		var existing models.User
		err := gdb.Take(&existing, "username = ?", u.Username).Error
		if err == nil {
			userIDs[u.Username] = existing.ID
			continue
		}
		if !isNotFound(err) {
			return err
		}
		created, err := auth.AddUser(ctx, db.DB, auth.NewUser{
			Username: u.Username, DisplayName: u.DisplayName, Password: password, Role: u.Role,
			EnterpriseCode: u.EnterpriseCreditCode, AgentLevel: u.AgentLevel, RegionCode: u.RegionCode,
		})
		if err != nil {
			return fmt.Errorf("demo user %s: %w", u.Username, err)
		}
		userIDs[u.Username] = created.ID
	}
	for _, p := range fx.Projects {
		if err := seedProject(gdb, cat, p, userIDs, today); err != nil {
			return fmt.Errorf("demo project %s: %w", p.ID, err)
		}
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }

// demoPlan is what the seed writes for a demo project seeded today: its
// facts, the day its walk starts and its item states, the walk ending today.
type demoPlan struct {
	given   models.Facts
	facts   models.ProjectFacts
	started workdays.Date
	states  []models.ItemState
}

func planDemoProject(cat *models.Catalog, p mobilecontract.DemoProject, today workdays.Date, now time.Time) (demoPlan, error) {
	given, err := models.ParseFactsAt("projects."+p.ID+".facts", p.Facts)
	if err != nil {
		return demoPlan{}, err
	}
	pl := demoPlan{given: given, facts: models.ProjectFacts{Type: p.Type, KeyProject: p.KeyProject,
		RegionalAssessment: p.RegionalAssessment, StandardLand: p.StandardLand, Facts: given}}
	var walk []models.WalkStep
	pl.started, walk = cat.WalkUntil(pl.facts, today, p.Items.Approved, p.Items.PreApproved, p.Items.Accepted)
	for _, w := range walk {
		accepted := w.AcceptedOn.Midnight()
		st := models.ItemState{ProjectID: p.ID, ItemCode: w.Code, Status: w.Status, AcceptedOn: &accepted, UpdatedAt: now.UTC()}
		if w.DecidedOn != nil {
			decided := w.DecidedOn.Midnight()
			st.DecidedOn = &decided
		}
		pl.states = append(pl.states, st)
	}
	return pl, nil
}

func seedProject(db *gorm.DB, cat *models.Catalog, p mobilecontract.DemoProject, userIDs map[string]int64, today workdays.Date) error {
	var existing []models.Project
	if err := db.Where("id = ?", p.ID).Limit(1).Find(&existing).Error; err != nil {
		return err
	}
	pl, err := planDemoProject(cat, p, today, time.Now())
	if err != nil {
		return err
	}
	given, states := pl.given, pl.states
	startedAt := pl.started.Midnight()

	if len(existing) > 0 {
		factsJSON, err := json.Marshal(given)
		if err != nil {
			return err
		}
		return reanchorProject(db, existing[0], states, startedAt, string(factsJSON))
	}
	return db.Transaction(func(tx *gorm.DB) error {
		proj := models.Project{
			ID: p.ID, Name: p.Name, Type: p.Type, EnterpriseCode: p.EnterpriseCreditCode, RegionCode: p.RegionCode,
			KeyProject: p.KeyProject, RegionalAssessment: p.RegionalAssessment, StandardLand: p.StandardLand,
			StartedOn: &startedAt, Version: 1,
		}
		if err := proj.SetFacts(given); err != nil {
			return err
		}
		if err := tx.Create(&proj).Error; err != nil {
			return err
		}
		for i := range states {
			if err := tx.Create(&states[i]).Error; err != nil {
				return err
			}
		}
		for _, name := range p.Agents {
			id, ok := userIDs[name]
			if !ok {
				return fmt.Errorf("unknown demo agent %s", name)
			}
			if err := tx.Create(&models.ProjectAgent{ProjectID: p.ID, UserID: id}).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// reanchorProject walks an existing demo project again to end today, unless
// the upstream system has sent an event about it (its state is then the
// upstream's, not the seed's) or it already ends today. The version grows,
// so no cached view of the old dates is served again; the facts are the
// fixture's, as the walk's.
func reanchorProject(db *gorm.DB, proj models.Project, states []models.ItemState, startedAt time.Time, facts string) error {
	if proj.StartedOn != nil && proj.StartedOn.Equal(startedAt) {
		return nil
	}
	var events int64
	if err := db.Model(&models.Event{}).Where("project_id = ?", proj.ID).Count(&events).Error; err != nil || events > 0 {
		return err
	}
	return db.Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.Project{}).Where("id = ? AND version = ?", proj.ID, proj.Version).
			Updates(map[string]any{"started_on": startedAt, "facts": facts, "version": proj.Version + 1, "updated_at": time.Now().UTC()})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error // moved on meanwhile: leave it
		}
		if err := tx.Where("project_id = ?", proj.ID).Delete(&models.ItemState{}).Error; err != nil {
			return err
		}
		for i := range states {
			if err := tx.Create(&states[i]).Error; err != nil {
				return err
			}
		}
		return nil
	})
}
