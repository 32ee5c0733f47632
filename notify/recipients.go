package notify

import (
	"strings"

	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/models"
)

// recipients lists the users a note goes to: its explicit recipients, the
// agents of a task's level covering its region, or the project's enterprise
// users and the agents following the project.
func recipients(tx *gorm.DB, n note) ([]models.User, error) {
	var users []models.User
	q := tx.Where("disabled = ?", false)
	switch {
	case len(n.Recipients) > 0:
		err := q.Where("id IN ?", n.Recipients).Order("id").Find(&users).Error
		return users, err
	case n.Kind == noteTask:
		var agents []models.User
		if err := q.Where("role = ? AND agent_level = ?", models.RoleAgent, n.TaskLevel).Order("id").Find(&agents).Error; err != nil {
			return nil, err
		}
		for _, a := range agents {
			if regionCovers(a.RegionCode, n.Region) {
				users = append(users, a)
			}
		}
		return users, nil
	default:
		err := q.Where("(role = ? AND enterprise_code = ?) OR id IN (?)", models.RoleEnterprise, n.Enterprise,
			tx.Model(&models.ProjectAgent{}).Select("user_id").Where("project_id = ?", n.ProjectID)).
			Order("id").Find(&users).Error
		return users, err
	}
}

// regionScope trims the zero pairs that pad an administrative division
// code: a city agent's 370700 covers every 3707…, a district's 370702 its
// towns 370702xxx.
func regionScope(region string) string {
	s := region
	for len(s) > 2 && strings.HasSuffix(s, "00") {
		s = s[:len(s)-2]
	}
	return s
}

// regionCovers reports whether an agent of agentRegion serves taskRegion.
func regionCovers(agentRegion, taskRegion string) bool {
	return agentRegion != "" && strings.HasPrefix(taskRegion, regionScope(agentRegion))
}
