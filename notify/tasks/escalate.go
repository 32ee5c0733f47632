package tasks

import (
	"context"
	"slices"

	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/models"
)

// escalateBatch bounds one escalation pass.
const escalateBatch = 100

// nextLevel is the level above level, or "" at the top.
func nextLevel(level string) string {
	i := slices.Index(models.AgentLevels, level)
	if i < 0 || i+1 >= len(models.AgentLevels) {
		return ""
	}
	return models.AgentLevels[i+1]
}

// EscalateDue moves open tasks nobody claimed within EscalateAfter up a
// level (town → county → city), pushes them to that level's agents and
// returns how many moved.
func (s *Service) EscalateDue(ctx context.Context) (int, error) {
	now := s.c.Now().UTC()
	moved := 0
	err := s.c.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var due []models.AgentTask
		if err := s.c.DB.SkipLocked(tx).Where("status = ? AND escalate_at IS NOT NULL AND escalate_at <= ?", models.TaskOpen, now).
			Order("escalate_at").Limit(escalateBatch).Find(&due).Error; err != nil {
			return err
		}
		for _, t := range due {
			up := nextLevel(t.Level)
			updates := map[string]any{"escalate_at": nil, "updated_at": now}
			if up != "" {
				updates["level"] = up
				if nextLevel(up) != "" {
					updates["escalate_at"] = now.Add(s.c.EscalateAfter)
				}
			}
			res := tx.Model(&models.AgentTask{}).Where("id = ? AND status = ? AND level = ?", t.ID, models.TaskOpen, t.Level).Updates(updates)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 || up == "" {
				continue
			}
			var p models.Project
			if err := tx.Where("id = ?", t.ProjectID).Take(&p).Error; err != nil {
				return err
			}
			t.Level = up
			if err := pushTask(tx, t, *NoteFor(p, t, now, nil)); err != nil {
				return err
			}
			moved++
		}
		return nil
	})
	return moved, err
}
