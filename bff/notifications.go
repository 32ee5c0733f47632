package bff

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/internal/store"
	"github.com/weifang/kaigong-zsb/models"
)

type notificationView struct {
	ID        string            `json:"id"`
	Category  string            `json:"category"`
	Title     string            `json:"title"`
	Body      string            `json:"body"`
	ProjectID *string           `json:"project_id"`
	ItemCodes []string          `json:"item_codes"`
	Data      map[string]string `json:"data"`
	CreatedAt time.Time         `json:"created_at"`
	ReadAt    *time.Time        `json:"read_at"`
}

func newNotificationView(n models.Notification) notificationView {
	v := notificationView{
		ID: n.ID, Category: n.Category, Title: n.Title, Body: n.Body, ProjectID: nonEmpty(n.ProjectID),
		ItemCodes: []string{}, Data: map[string]string{}, CreatedAt: n.CreatedAt, ReadAt: n.ReadAt,
	}
	if n.ItemCodes != "" {
		v.ItemCodes = strings.Split(n.ItemCodes, ",")
	}
	if n.Data != "" {
		_ = json.Unmarshal([]byte(n.Data), &v.Data)
	}
	return v
}

type notificationList struct {
	list[notificationView]
	UnreadCount int64 `json:"unread_count"`
}

func (s *Server) listNotifications(c *fiber.Ctx) error {
	p, err := parsePage(c)
	if err != nil {
		return err
	}
	unreadOnly := false
	switch c.Query("unread") {
	case "", "false":
	case "true":
		unreadOnly = true
	default:
		return models.ValidationError(models.FieldError{Field: "unread", Message: "must be true or false"})
	}
	u := currentUser(c)
	db := s.deps.DB.WithContext(c.UserContext())
	q := db.Where("user_id = ?", u.ID)
	if unreadOnly {
		q = q.Where("read_at IS NULL")
	}
	if !p.after.empty() {
		t := time.Unix(0, p.after.Time).UTC()
		q = q.Where("created_at < ? OR (created_at = ? AND id < ?)", t, t, p.after.ID)
	}
	var rows []models.Notification
	if err := q.Order("created_at DESC, id DESC").Limit(p.limit + 1).Find(&rows).Error; err != nil {
		return unavailable(err)
	}
	views := make([]notificationView, len(rows))
	for i, r := range rows {
		views[i] = newNotificationView(r)
	}
	unread, err := store.Unread(db, u.ID)
	if err != nil {
		return unavailable(err)
	}
	return c.JSON(notificationList{
		list: pageOf(views, p.limit, func(v notificationView) cursor {
			return cursor{Time: v.CreatedAt.UnixNano(), ID: v.ID}
		}),
		UnreadCount: unread,
	})
}

func (s *Server) readNotification(c *fiber.Ctx) error {
	id := c.Params("id")
	if len(id) == 0 || len(id) > 64 {
		return errNotFound
	}
	u := currentUser(c)
	db := s.deps.DB.WithContext(c.UserContext())
	var n models.Notification
	if err := db.Take(&n, "id = ? AND user_id = ?", id, u.ID).Error; err != nil {
		if isNotFound(err) {
			return errNotFound
		}
		return unavailable(err)
	}
	if n.ReadAt == nil {
		if err := markRead(db, u.ID, id); err != nil {
			return unavailable(err)
		}
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) readAllNotifications(c *fiber.Ctx) error {
	u := currentUser(c)
	if err := markRead(s.deps.DB.WithContext(c.UserContext()), u.ID, ""); err != nil {
		return unavailable(err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// markRead marks the user's unread notices as read — the one with id, or
// all of them when id is empty — and takes exactly those off the unread
// count, in one transaction.
func markRead(db *gorm.DB, userID int64, id string) error {
	return db.Transaction(func(tx *gorm.DB) error {
		q := tx.Model(&models.Notification{}).Where("user_id = ? AND read_at IS NULL", userID)
		if id != "" {
			q = q.Where("id = ?", id)
		}
		res := q.Update("read_at", time.Now().UTC())
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		_, err := store.AddUnread(tx, userID, -res.RowsAffected)
		return err
	})
}
