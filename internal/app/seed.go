package app

import (
	"context"
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

// SeedDemo loads the development demo data. It is idempotent: accounts and
// projects that exist are left as they are, so a second start (or a project
// the upstream system has moved on since) keeps its state.
func SeedDemo(ctx context.Context, db *store.DB, cat *models.Catalog, password string) error {
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
		if err := seedProject(ctx, gdb, cat, p, userIDs); err != nil {
			return fmt.Errorf("demo project %s: %w", p.ID, err)
		}
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }

func seedProject(ctx context.Context, db *gorm.DB, cat *models.Catalog, p mobilecontract.DemoProject, userIDs map[string]int64) error {
	var n int64
	if err := db.Model(&models.Project{}).Where("id = ?", p.ID).Count(&n).Error; err != nil || n > 0 {
		return err
	}
	started, err := workdays.ParseDate(p.StartedOn)
	if err != nil {
		return err
	}
	given, err := models.ParseFactsAt("projects."+p.ID+".facts", p.Facts)
	if err != nil {
		return err
	}
	facts := models.ProjectFacts{Type: p.Type, KeyProject: p.KeyProject, RegionalAssessment: p.RegionalAssessment,
		StandardLand: p.StandardLand, Facts: given}
	var states []models.ItemState
	for _, w := range cat.Walk(facts, started, p.Items.Approved, p.Items.PreApproved, p.Items.Accepted) {
		accepted := w.AcceptedOn.Midnight()
		st := models.ItemState{ProjectID: p.ID, ItemCode: w.Code, Status: w.Status, AcceptedOn: &accepted}
		if w.DecidedOn != nil {
			decided := w.DecidedOn.Midnight()
			st.DecidedOn = &decided
		}
		states = append(states, st)
	}

	startedAt := started.Midnight()
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
			states[i].UpdatedAt = time.Now().UTC()
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
