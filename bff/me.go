package bff

import (
	"errors"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/models"
)

type enterpriseView struct {
	CreditCode string `json:"credit_code"`
	Name       string `json:"name"`
}

type agentView struct {
	Level      string `json:"level"`
	RegionCode string `json:"region_code"`
}

// meView shows a user to themself: never the password hash or flags.
type meView struct {
	ID          int64           `json:"id"`
	Username    string          `json:"username"`
	DisplayName string          `json:"display_name"`
	Role        string          `json:"role"`
	Enterprise  *enterpriseView `json:"enterprise,omitempty"`
	Agent       *agentView      `json:"agent,omitempty"`
}

func newMeView(u models.User, ent *models.Enterprise) meView {
	v := meView{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: u.Role}
	switch u.Role {
	case models.RoleEnterprise:
		v.Enterprise = &enterpriseView{CreditCode: u.EnterpriseCode}
		if ent != nil {
			v.Enterprise.Name = ent.Name
		}
	case models.RoleAgent:
		v.Agent = &agentView{Level: u.AgentLevel, RegionCode: u.RegionCode}
	}
	return v
}

func (s *Server) enterpriseOf(c *fiber.Ctx, u models.User) (*models.Enterprise, error) {
	if u.Role != models.RoleEnterprise {
		return nil, nil
	}
	var e models.Enterprise
	err := s.deps.DB.WithContext(c.UserContext()).Take(&e, "credit_code = ?", u.EnterpriseCode).Error
	switch {
	case isNotFound(err):
		return nil, nil
	case err != nil:
		return nil, unavailable(err)
	}
	return &e, nil
}

func (s *Server) me(c *fiber.Ctx) error {
	u := currentUser(c)
	ent, err := s.enterpriseOf(c, u)
	if err != nil {
		return err
	}
	return c.JSON(newMeView(u, ent))
}

func isNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }

// unavailable wraps a backend failure as a retryable 503.
func unavailable(err error) error {
	var de *models.Error
	if errors.As(err, &de) {
		return err
	}
	return &models.Error{Code: models.CodeUnavailable, Message: "a backing service is unavailable; retry shortly", RetryAfter: 2, Err: err}
}
