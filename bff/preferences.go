package bff

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm/clause"

	"github.com/weifang/kaigong-zsb/auth"
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify"
	"github.com/weifang/kaigong-zsb/notify/outbox"
)

// notSwitchable lists the categories a user cannot switch off: correction
// requests (补正) always reach the user.
var notSwitchable = []string{outbox.CategoryCorrection}

type preferencesView struct {
	notify.Preferences
	NotSwitchable []string `json:"not_switchable"`
}

// MarshalJSON flattens the embedded preferences (which marshal themselves)
// and adds not_switchable.
func (v preferencesView) MarshalJSON() ([]byte, error) {
	base, err := json.Marshal(v.Preferences)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(base, &m); err != nil {
		return nil, err
	}
	m["not_switchable"], _ = json.Marshal(v.NotSwitchable)
	return json.Marshal(m)
}

// preferencesInput is the PUT body: every field required, not_switchable
// accepted (the app sends back what it got) and ignored.
type preferencesInput struct {
	PushEnabled   *bool              `json:"push_enabled"`
	Categories    *map[string]bool   `json:"categories"`
	QuietHours    *notify.QuietHours `json:"quiet_hours"`
	Timezone      *string            `json:"timezone"`
	MutedProjects *[]string          `json:"muted_projects"`
	Locale        *string            `json:"locale"`
	NotSwitchable []string           `json:"not_switchable"`
}

func (s *Server) loadPreferences(c *fiber.Ctx, userID int64) (notify.Preferences, error) {
	var row models.PushPreferenceRow
	err := s.deps.DB.WithContext(c.UserContext()).Take(&row, "user_id = ?", userID).Error
	switch {
	case isNotFound(err):
		return notify.DefaultPreferences(), nil
	case err != nil:
		return notify.Preferences{}, unavailable(err)
	}
	p := notify.DefaultPreferences()
	if err := json.Unmarshal([]byte(row.Data), &p); err != nil {
		return notify.Preferences{}, fmt.Errorf("stored preferences of user %d: %w", userID, err)
	}
	return p, nil
}

func (s *Server) getPreferences(c *fiber.Ctx) error {
	p, err := s.loadPreferences(c, currentUser(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(preferencesView{Preferences: p, NotSwitchable: notSwitchable})
}

func (s *Server) putPreferences(c *fiber.Ctx) error {
	var in preferencesInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	var bad fieldErrors
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"push_enabled", in.PushEnabled != nil}, {"categories", in.Categories != nil}, {"quiet_hours", in.QuietHours != nil},
		{"timezone", in.Timezone != nil}, {"muted_projects", in.MutedProjects != nil}, {"locale", in.Locale != nil},
	} {
		if !f.set {
			bad.add(f.name, "is required")
		}
	}
	if err := bad.err(); err != nil {
		return err
	}
	p := notify.DefaultPreferences()
	p.PushEnabled = *in.PushEnabled
	for k, on := range *in.Categories {
		p.Categories[k] = on
	}
	p.QuietHours, p.Timezone, p.MutedProjects, p.Locale = *in.QuietHours, *in.Timezone, *in.MutedProjects, *in.Locale
	if errs := p.Validate(); len(errs) > 0 {
		return models.ValidationError(errs...)
	}
	u := currentUser(c)
	if err := s.checkMutedProjects(c, u, p.MutedProjects); err != nil {
		return err
	}
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	row := models.PushPreferenceRow{UserID: u.ID, Data: string(data), UpdatedAt: time.Now().UTC()}
	if err := s.deps.DB.WithContext(c.UserContext()).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "user_id"}}, DoUpdates: clause.AssignmentColumns([]string{"data", "updated_at"}),
	}).Create(&row).Error; err != nil {
		return unavailable(err)
	}
	return c.JSON(preferencesView{Preferences: p, NotSwitchable: notSwitchable})
}

// checkMutedProjects accepts only projects the user can see: muting an id
// that is not theirs is a mistake worth telling, and must not reveal
// whether the id exists.
func (s *Server) checkMutedProjects(c *fiber.Ctx, u models.User, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	var known []string
	if err := auth.ScopeProjects(s.deps.DB.WithContext(c.UserContext()).Model(&models.Project{}), u).
		Where("projects.id IN ?", ids).Pluck("projects.id", &known).Error; err != nil {
		return unavailable(err)
	}
	seen := map[string]bool{}
	for _, id := range known {
		seen[id] = true
	}
	var bad fieldErrors
	for i, id := range ids {
		if !seen[id] {
			bad.add(fmt.Sprintf("muted_projects[%d]", i), "is not one of your projects")
		}
	}
	return bad.err()
}
