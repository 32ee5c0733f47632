package bff

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/weifang/kaigong-zsb/auth"
	"github.com/weifang/kaigong-zsb/models"
)

type taskView struct {
	ID          int64     `json:"id"`
	ProjectID   string    `json:"project_id"`
	ProjectName string    `json:"project_name"`
	Kind        string    `json:"kind"`
	Level       string    `json:"level"`
	RegionCode  string    `json:"region_code"`
	Status      string    `json:"status"`
	Title       string    `json:"title"`
	Topic       *string   `json:"topic"`
	Message     *string   `json:"message"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	ClaimedBy   *string   `json:"claimed_by"`
}

// taskViews renders tasks with their project names and claimants' usernames,
// loaded in two queries whatever the page size.
func (s *Server) taskViews(c *fiber.Ctx, tasks []models.AgentTask) ([]taskView, error) {
	projectIDs := map[string]bool{}
	userIDs := map[int64]bool{}
	for _, t := range tasks {
		projectIDs[t.ProjectID] = true
		if t.ClaimedBy != nil {
			userIDs[*t.ClaimedBy] = true
		}
	}
	db := s.deps.DB.WithContext(c.UserContext())
	names := map[string]string{}
	if len(projectIDs) > 0 {
		var ps []models.Project
		if err := db.Select("id", "name").Where("id IN ?", keys(projectIDs)).Find(&ps).Error; err != nil {
			return nil, unavailable(err)
		}
		for _, p := range ps {
			names[p.ID] = p.Name
		}
	}
	usernames := map[int64]string{}
	if len(userIDs) > 0 {
		var us []models.User
		if err := db.Select("id", "username").Where("id IN ?", keys(userIDs)).Find(&us).Error; err != nil {
			return nil, unavailable(err)
		}
		for _, u := range us {
			usernames[u.ID] = u.Username
		}
	}
	out := make([]taskView, len(tasks))
	for i, t := range tasks {
		out[i] = taskView{
			ID: t.ID, ProjectID: t.ProjectID, ProjectName: names[t.ProjectID], Kind: t.Kind, Level: t.Level,
			RegionCode: t.RegionCode, Status: t.Status, Title: t.Title, Topic: nonEmpty(t.Topic), Message: nonEmpty(t.Message),
			CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
		}
		if t.ClaimedBy != nil {
			name := usernames[*t.ClaimedBy]
			out[i].ClaimedBy = &name
		}
	}
	return out, nil
}

func keys[K comparable](m map[K]bool) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

type helpRequestInput struct {
	Topic   string `json:"topic"`
	Message string `json:"message"`
}

// createHelpRequest lets an enterprise user ask for a help-agent on one of
// its projects; the task goes to the town-level agents of the project's
// region.
func (s *Server) createHelpRequest(c *fiber.Ctx) error {
	id := c.Params("project_id")
	if !validProjectID(id) {
		return errNotFound
	}
	u := currentUser(c)
	if u.Role != models.RoleEnterprise {
		return errNotFound
	}
	p, err := auth.RequireProject(c.UserContext(), s.deps.DB.DB, u, id)
	if err != nil {
		return err
	}
	var in helpRequestInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	in.Topic, in.Message = strings.TrimSpace(in.Topic), strings.TrimSpace(in.Message)
	var bad fieldErrors
	if n := utf8.RuneCountInString(in.Topic); n < 1 || n > 100 {
		bad.add("topic", "must be 1 to 100 characters")
	}
	if n := utf8.RuneCountInString(in.Message); n < 1 || n > 2000 {
		bad.add("message", "must be 1 to 2000 characters")
	}
	if err := bad.err(); err != nil {
		return err
	}
	t, err := s.deps.Tasks.CreateHelpRequest(c.UserContext(), u, p, in.Topic, in.Message)
	if err != nil {
		return err
	}
	views, err := s.taskViews(c, []models.AgentTask{t})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderLocation, fmt.Sprintf("/v1/agent/tasks/%d", t.ID))
	return c.Status(fiber.StatusCreated).JSON(views[0])
}

func requireAgent(c *fiber.Ctx) (models.User, error) {
	u := currentUser(c)
	if u.Role != models.RoleAgent {
		return u, errNotFound
	}
	return u, nil
}

func (s *Server) listTasks(c *fiber.Ctx) error {
	u, err := requireAgent(c)
	if err != nil {
		return err
	}
	p, err := parsePage(c)
	if err != nil {
		return err
	}
	status := c.Query("status", models.TaskOpen)
	switch status {
	case models.TaskOpen, models.TaskClaimed, models.TaskDone:
	default:
		return models.ValidationError(models.FieldError{Field: "status", Message: "must be open, claimed or done"})
	}
	var after int64
	if p.after.ID != "" {
		if after, err = strconv.ParseInt(p.after.ID, 10, 64); err != nil || after <= 0 {
			return models.ValidationError(models.FieldError{Field: "cursor", Message: "is not a cursor this server gave out"})
		}
	}
	tasks, err := s.deps.Tasks.ListForAgent(c.UserContext(), u, status, p.limit+1, after)
	if err != nil {
		return err
	}
	views, err := s.taskViews(c, tasks)
	if err != nil {
		return err
	}
	return c.JSON(pageOf(views, p.limit, func(v taskView) cursor { return cursor{ID: strconv.FormatInt(v.ID, 10)} }))
}

func (s *Server) taskAction(claim bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u, err := requireAgent(c)
		if err != nil {
			return err
		}
		id, err := strconv.ParseInt(c.Params("task_id"), 10, 64)
		if err != nil || id <= 0 {
			return errNotFound
		}
		var t models.AgentTask
		if claim {
			t, err = s.deps.Tasks.Claim(c.UserContext(), u, id)
		} else {
			t, err = s.deps.Tasks.Complete(c.UserContext(), u, id)
		}
		if err != nil {
			return err
		}
		views, err := s.taskViews(c, []models.AgentTask{t})
		if err != nil {
			return err
		}
		return c.JSON(views[0])
	}
}
