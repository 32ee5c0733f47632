package notify

import (
	"reflect"

	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/outbox"
)

// recipients lists the users a note goes to (their ID and RegionCode only),
// with their push preferences (read in the same statement): its explicit recipients, the agents of a
// task's level covering its region, or the project's enterprise users and
// the agents following the project.
func recipients(tx *gorm.DB, n outbox.Note) ([]models.User, map[int64]Preferences, error) {
	var rows []recipientRow
	// Only what delivering reads: the id, and the region for tasks.
	q := tx.Model(&models.User{}).Select("users.id, users.region_code, prefs.data AS pref_data").
		Joins("LEFT JOIN "+tableOf(tx, &models.PushPreferenceRow{})+" AS prefs ON prefs.user_id = users.id").
		Where("users.disabled = ?", false).Order("users.id")
	var err error
	switch {
	case len(n.Recipients) > 0:
		err = q.Where("users.id IN ?", n.Recipients).Find(&rows).Error
	case n.Kind == outbox.NoteTask:
		var agents []recipientRow
		err = q.Where("users.role = ? AND users.agent_level = ?", models.RoleAgent, n.TaskLevel).Find(&agents).Error
		for _, a := range agents {
			if models.RegionCovers(a.RegionCode, n.Region) {
				rows = append(rows, a)
			}
		}
	default:
		err = q.Where("(users.role = ? AND users.enterprise_code = ?) OR users.id IN (?)", models.RoleEnterprise, n.Enterprise,
			tx.Model(&models.ProjectAgent{}).Select("user_id").Where("project_id = ?", n.ProjectID)).Find(&rows).Error
	}
	if err != nil {
		return nil, nil, err
	}
	users := make([]models.User, 0, len(rows))
	prefs := make(map[int64]Preferences, len(rows))
	for _, r := range rows {
		users = append(users, r.User)
		prefs[r.ID] = storedPreferences(r.PrefData)
	}
	return users, prefs, nil
}

// tableOf is model's table name from gorm's schema cache. Asking the naming
// strategy instead pluralizes the name with regular expressions on every
// call: 2.5% of the BFF's CPU at 200 events/s.
func tableOf(tx *gorm.DB, model any) string {
	stmt := &gorm.Statement{DB: tx}
	if err := stmt.Parse(model); err != nil {
		return tx.NamingStrategy.TableName(reflect.Indirect(reflect.ValueOf(model)).Type().Name())
	}
	return stmt.Schema.Table
}

// recipientRow is a user with their stored preferences, if any.
type recipientRow struct {
	models.User
	PrefData *string
}
