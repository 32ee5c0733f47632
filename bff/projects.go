package bff

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/weifang/kaigong-zsb/auth"
	"github.com/weifang/kaigong-zsb/internal/projectview"
	"github.com/weifang/kaigong-zsb/internal/workdays"
	"github.com/weifang/kaigong-zsb/models"
)

// validProjectID is the contract's project id shape, ^[A-Za-z0-9-]{1,64}$,
// checked by hand: a regular expression was 3% of a progress read's CPU.
func validProjectID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch b := id[i]; {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', b == '-':
		default:
			return false
		}
	}
	return true
}

// mayView is the object-level rule for cached views: an enterprise user
// sees its enterprise's projects, an agent the projects it follows.
func mayView(u models.User, v projectview.View) bool {
	switch u.Role {
	case models.RoleEnterprise:
		return u.EnterpriseCode != "" && v.Enterprise == u.EnterpriseCode
	case models.RoleAgent:
		return slices.Contains(v.AgentIDs, u.ID)
	}
	return false
}

// cachedView loads one cached view of a project the caller may see and sets
// its validators. notModified is true when the request's If-None-Match
// matches. A current cache answers in one Redis read, the view's body
// included, so a conditional request costs no more round trips than a plain
// one and never rebuilds anything. Projects the caller may not see answer
// 404, exactly like ones that do not exist.
func (s *Server) cachedView(c *fiber.Ctx, kind projectview.Kind) (v projectview.View, notModified bool, err error) {
	id := c.Params("project_id")
	if !validProjectID(id) {
		return v, false, errNotFound
	}
	if v, err = s.deps.Views.Get(c.UserContext(), id, kind); err != nil {
		return v, false, err
	}
	if !mayView(currentUser(c), v) {
		return projectview.View{}, false, errNotFound
	}
	etag := v.ETag()
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderCacheControl, "private, no-cache")
	return v, etagMatches(c.Get(fiber.HeaderIfNoneMatch), etag), nil
}

// projectView answers one cached view as it is stored.
func (s *Server) projectView(kind projectview.Kind) fiber.Handler {
	return func(c *fiber.Ctx) error {
		v, notModified, err := s.cachedView(c, kind)
		switch {
		case err != nil:
			return err
		case notModified:
			return c.SendStatus(fiber.StatusNotModified)
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(v.Body)
	}
}

// etagMatches implements If-None-Match's weak comparison over a
// comma-separated list, without allocating.
func etagMatches(header, etag string) bool {
	if strings.TrimSpace(header) == "*" {
		return true
	}
	for header != "" {
		part := header
		if i := strings.IndexByte(header, ','); i >= 0 {
			part, header = header[:i], header[i+1:]
		} else {
			header = ""
		}
		part = strings.Trim(part, " \t")
		part = strings.TrimPrefix(part, "W/")
		if part != "" && part == etag {
			return true
		}
	}
	return false
}

type projectAgentView struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Level       string `json:"level"`
}

type projectDetailView struct {
	ID                 string         `json:"id"`
	Name               string         `json:"name"`
	Type               string         `json:"type"`
	Stage              string         `json:"stage"`
	Percent            int            `json:"percent"`
	RegionCode         string         `json:"region_code"`
	KeyProject         bool           `json:"key_project"`
	RegionalAssessment bool           `json:"regional_assessment"`
	StandardLand       bool           `json:"standard_land"`
	Enterprise         enterpriseView `json:"enterprise"`
	// Facts are the project's facts (project.facts) as the upstream gave
	// them; UnknownFacts the facts not given that would change an item,
	// Requirements how many of the type's items the facts make required,
	// lighter, by commitment or not required.
	Facts        models.Facts      `json:"facts"`
	UnknownFacts []string          `json:"unknown_facts"`
	Requirements requirementCounts `json:"requirements"`
	// The main-flow clock's headline, as the progress screen shows it: the
	// working days the departments used of WorkingDaysLimit, not the
	// project's total time.
	StartedOn        *workdays.Date     `json:"started_on"`
	DueOn            *workdays.Date     `json:"due_on"`
	WorkingDaysLimit int                `json:"working_days_limit"`
	WorkingDaysUsed  int                `json:"working_days_used"`
	Overdue          bool               `json:"overdue"`
	Finished         bool               `json:"finished"`
	Calendar         string             `json:"calendar"`
	Version          int64              `json:"version"`
	Agents           []projectAgentView `json:"agents"`
	UpdatedAt        time.Time          `json:"updated_at"`
}

// requirementCounts counts a project's items by what its facts make of
// them (models.Requirement levels).
type requirementCounts struct {
	Required    int `json:"required"`
	Lighter     int `json:"lighter"`
	Commitment  int `json:"commitment"`
	NotRequired int `json:"not_required"`
}

// requirementsOf summarizes the requirements of the project's items and the
// facts that would change them.
func requirementsOf(cat *models.Catalog, pf models.ProjectFacts) (requirementCounts, []string) {
	var n requirementCounts
	unknown := []string{}
	for _, r := range cat.Requirements(pf) {
		switch r.Level {
		case models.RequirementLighter:
			n.Lighter++
		case models.RequirementCommitment:
			n.Commitment++
		case models.RequirementNotRequired:
			n.NotRequired++
		default:
			n.Required++
		}
		for _, f := range r.UnknownFacts {
			if !slices.Contains(unknown, f) {
				unknown = append(unknown, f)
			}
		}
	}
	slices.Sort(unknown)
	return n, unknown
}

// getProject answers the project's attributes with its progress headline.
func (s *Server) getProject(c *fiber.Ctx) error {
	v, notModified, err := s.cachedView(c, projectview.Progress)
	switch {
	case err != nil:
		return err
	case notModified:
		return c.SendStatus(fiber.StatusNotModified)
	}
	id := v.ProjectID
	ctx := c.UserContext()
	var progress models.Progress
	if err := json.Unmarshal(v.Body, &progress); err != nil {
		return err
	}
	db := s.deps.DB.WithContext(ctx)
	var p models.Project
	if err := db.Take(&p, "id = ?", id).Error; err != nil {
		if isNotFound(err) {
			return errNotFound
		}
		return unavailable(err)
	}
	var ent models.Enterprise
	if err := db.Take(&ent, "credit_code = ?", p.EnterpriseCode).Error; err != nil && !isNotFound(err) {
		return unavailable(err)
	}
	var agents []models.User
	if err := db.Joins("JOIN project_agents ON project_agents.user_id = users.id").
		Where("project_agents.project_id = ?", id).Order("users.id").Find(&agents).Error; err != nil {
		return unavailable(err)
	}
	pf := models.FactsOf(&p)
	counts, unknown := requirementsOf(s.deps.Views.Catalog(), pf)
	o := progress.Overall
	out := projectDetailView{
		ID: p.ID, Name: p.Name, Type: p.Type, Stage: progress.Stage, Percent: progress.Percent,
		RegionCode: p.RegionCode, KeyProject: p.KeyProject, RegionalAssessment: p.RegionalAssessment, StandardLand: p.StandardLand,
		Enterprise: enterpriseView{CreditCode: p.EnterpriseCode, Name: ent.Name},
		Facts:      pf.Facts, UnknownFacts: unknown, Requirements: counts,
		StartedOn: o.StartedOn, DueOn: o.DueOn, WorkingDaysLimit: o.WorkingDaysLimit, WorkingDaysUsed: o.WorkingDaysUsed,
		Overdue: o.Overdue, Finished: o.Finished, Calendar: o.Calendar,
		Version: p.Version, Agents: []projectAgentView{}, UpdatedAt: p.UpdatedAt,
	}
	for _, a := range agents {
		out.Agents = append(out.Agents, projectAgentView{Username: a.Username, DisplayName: a.DisplayName, Level: a.AgentLevel})
	}
	return c.JSON(out)
}

// listProjects lists the projects the caller sees, by id, with each one's
// summary from the view cache and its unread count for the caller.
func (s *Server) listProjects(c *fiber.Ctx) error {
	p, err := parsePage(c)
	if err != nil {
		return err
	}
	u := currentUser(c)
	ctx := c.UserContext()
	q := auth.ScopeProjects(s.deps.DB.WithContext(ctx).Model(&models.Project{}), u)
	if p.after.ID != "" {
		q = q.Where("projects.id > ?", p.after.ID)
	}
	var ids []string
	if err := q.Order("projects.id").Limit(p.limit+1).Pluck("projects.id", &ids).Error; err != nil {
		return unavailable(err)
	}
	type unreadRow struct {
		ProjectID string
		N         int64
	}
	var unread []unreadRow
	if len(ids) > 0 {
		if err := s.deps.DB.WithContext(ctx).Model(&models.Notification{}).
			Select("project_id, COUNT(*) AS n").Where("user_id = ? AND read_at IS NULL AND project_id IN ?", u.ID, ids).
			Group("project_id").Scan(&unread).Error; err != nil {
			return unavailable(err)
		}
	}
	unreadBy := map[string]int64{}
	for _, r := range unread {
		unreadBy[r.ProjectID] = r.N
	}
	views, err := s.deps.Views.GetMany(ctx, ids, projectview.Summary)
	if err != nil {
		return err
	}
	items := make([]projectview.SummaryView, 0, len(ids))
	for i, id := range ids {
		v := views[i]
		var sv projectview.SummaryView
		if err := json.Unmarshal(v.Body, &sv); err != nil {
			return err
		}
		sv.UnreadCount = unreadBy[id]
		items = append(items, sv)
	}
	return c.JSON(pageOf(items, p.limit, func(v projectview.SummaryView) cursor { return cursor{ID: v.ID} }))
}

type timelineView struct {
	EventID    string    `json:"event_id"`
	Type       string    `json:"type"`
	ItemCode   *string   `json:"item_code"`
	Status     *string   `json:"status"`
	Result     string    `json:"result"`
	OccurredAt time.Time `json:"occurred_at"`
}

// timeline lists the project's upstream events, newest first, including
// stale ones (kept for the record, applied to nothing).
func (s *Server) timeline(c *fiber.Ctx) error {
	id := c.Params("project_id")
	if !validProjectID(id) {
		return errNotFound
	}
	pg, err := parsePage(c)
	if err != nil {
		return err
	}
	u := currentUser(c)
	ctx := c.UserContext()
	if _, err := auth.RequireProject(ctx, s.deps.DB.DB, u, id); err != nil {
		return err
	}
	q := s.deps.DB.WithContext(ctx).Where("project_id = ?", id)
	if !pg.after.empty() {
		t := time.Unix(0, pg.after.Time).UTC()
		q = q.Where("occurred_at < ? OR (occurred_at = ? AND event_id < ?)", t, t, pg.after.ID)
	}
	var rows []models.Event
	if err := q.Order("occurred_at DESC, event_id DESC").Limit(pg.limit + 1).Find(&rows).Error; err != nil {
		return unavailable(err)
	}
	views := make([]timelineView, len(rows))
	for i, e := range rows {
		views[i] = timelineView{EventID: e.EventID, Type: e.Type, ItemCode: nonEmpty(e.ItemCode), Status: nonEmpty(e.Status), Result: e.Result, OccurredAt: e.OccurredAt}
	}
	return c.JSON(pageOf(views, pg.limit, func(v timelineView) cursor {
		return cursor{Time: v.OccurredAt.UnixNano(), ID: v.EventID}
	}))
}
