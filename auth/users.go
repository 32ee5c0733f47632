package auth

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/models"
)

// Account field bounds.
const (
	minUsernameLen   = 3
	maxUsernameLen   = 64
	minPasswordRunes = 8
	maxDisplayName   = 200
)

// NewUser is an account to create with AddUser.
type NewUser struct {
	// Username is 3–64 of [a-z0-9._-]; it is lower-cased first.
	Username string
	// DisplayName defaults to the username.
	DisplayName string
	// Password has at least 8 characters.
	Password string
	// Role is models.RoleEnterprise or models.RoleAgent.
	Role string
	// EnterpriseCode is the 18-character unified social credit code of an
	// enterprise user's company; EnterpriseName is needed only when that
	// company is not on file yet.
	EnterpriseCode string
	EnterpriseName string
	// AgentLevel (town, county or city) and RegionCode (6 or 9 digits) are
	// for agents.
	AgentLevel string
	RegionCode string
}

// AddUser validates nu and creates the account, and the enterprise when it is
// new. It answers validation_failed listing every bad field, and conflict
// when the username is taken.
func AddUser(ctx context.Context, db *gorm.DB, nu NewUser) (models.User, error) {
	nu.Username = strings.ToLower(strings.TrimSpace(nu.Username))
	nu.DisplayName = strings.TrimSpace(nu.DisplayName)
	nu.EnterpriseCode = strings.ToUpper(strings.TrimSpace(nu.EnterpriseCode))
	nu.EnterpriseName = strings.TrimSpace(nu.EnterpriseName)
	nu.RegionCode = strings.TrimSpace(nu.RegionCode)
	if nu.DisplayName == "" {
		nu.DisplayName = nu.Username
	}
	if err := validateNewUser(nu); err != nil {
		return models.User{}, err
	}
	hash, err := HashPassword(nu.Password)
	if err != nil {
		return models.User{}, err
	}
	u := models.User{
		Username:       nu.Username,
		DisplayName:    nu.DisplayName,
		PasswordHash:   hash,
		Role:           nu.Role,
		EnterpriseCode: nu.EnterpriseCode,
		AgentLevel:     nu.AgentLevel,
		RegionCode:     nu.RegionCode,
	}
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.User{}).Where("username = ?", u.Username).Count(&n).Error; err != nil {
			return internal("cannot check the username", err)
		}
		if n > 0 {
			return usernameTaken()
		}
		if u.Role == models.RoleEnterprise {
			if err := ensureEnterprise(tx, nu.EnterpriseCode, nu.EnterpriseName); err != nil {
				return err
			}
		}
		if err := tx.Create(&u).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return usernameTaken()
			}
			return internal("cannot create the user", err)
		}
		return nil
	})
	if err != nil {
		return models.User{}, err
	}
	return u, nil
}

// ensureEnterprise creates the enterprise when it is not on file; an existing
// one is left as it is.
func ensureEnterprise(tx *gorm.DB, code, name string) error {
	var n int64
	if err := tx.Model(&models.Enterprise{}).Where("credit_code = ?", code).Count(&n).Error; err != nil {
		return internal("cannot check the enterprise", err)
	}
	if n > 0 {
		return nil
	}
	if name == "" {
		return models.ValidationError(models.FieldError{Field: "enterprise_name", Message: "required for an enterprise not on file yet"})
	}
	if err := tx.Create(&models.Enterprise{CreditCode: code, Name: name}).Error; err != nil {
		return internal("cannot create the enterprise", err)
	}
	return nil
}

func usernameTaken() *models.Error {
	return &models.Error{Code: models.CodeConflict, Message: "the username is taken"}
}

func validateNewUser(nu NewUser) error {
	var bad []models.FieldError
	add := func(field, msg string) { bad = append(bad, models.FieldError{Field: field, Message: msg}) }
	if !validUsername(nu.Username) {
		add("username", "3-64 characters of a-z 0-9 . _ -")
	}
	if utf8.RuneCountInString(nu.DisplayName) > maxDisplayName {
		add("display_name", "at most 200 characters")
	}
	if msg := passwordProblem(nu.Password); msg != "" {
		add("password", msg)
	}
	switch nu.Role {
	case models.RoleEnterprise:
		if !validCreditCode(nu.EnterpriseCode) {
			add("enterprise_code", "an 18-character unified social credit code")
		}
		if utf8.RuneCountInString(nu.EnterpriseName) > 200 {
			add("enterprise_name", "at most 200 characters")
		}
		if nu.AgentLevel != "" || nu.RegionCode != "" {
			add("role", "an enterprise user has no agent level or region")
		}
	case models.RoleAgent:
		if nu.AgentLevel != models.LevelTown && nu.AgentLevel != models.LevelCounty && nu.AgentLevel != models.LevelCity {
			add("agent_level", "town, county or city")
		}
		if !validRegionCode(nu.RegionCode) {
			add("region_code", "6 or 9 digits")
		}
		if nu.EnterpriseCode != "" || nu.EnterpriseName != "" {
			add("role", "an agent has no enterprise")
		}
	default:
		add("role", "enterprise or agent")
	}
	if len(bad) > 0 {
		return models.ValidationError(bad...)
	}
	return nil
}

func passwordProblem(pw string) string {
	switch {
	case utf8.RuneCountInString(pw) < minPasswordRunes:
		return "at least 8 characters"
	case len(pw) > MaxPasswordBytes:
		return "at most 1024 bytes"
	}
	return ""
}

func validUsername(s string) bool {
	if len(s) < minUsernameLen || len(s) > maxUsernameLen {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validCreditCode checks the form of a unified social credit code: 18 of
// [0-9A-Z]. The GB 32100 check digit is not verified, since the demo codes do
// not carry one.
func validCreditCode(s string) bool {
	if len(s) != 18 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func validRegionCode(s string) bool {
	if len(s) != 6 && len(s) != 9 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// DisableUser disables the account and ends every token it holds. It answers
// not_found for an unknown username.
func DisableUser(ctx context.Context, db *gorm.DB, rev *Revocations, username string) (models.User, error) {
	u, err := userByName(ctx, db, username)
	if err != nil {
		return models.User{}, err
	}
	// The database first: a login racing with this either sees the account
	// disabled or gets tokens that RevokeUser then ends.
	if err := db.WithContext(ctx).Model(&models.User{}).Where("id = ?", u.ID).Update("disabled", true).Error; err != nil {
		return models.User{}, internal("cannot disable the user", err)
	}
	u.Disabled = true
	if err := rev.RevokeUser(ctx, u.ID); err != nil {
		return models.User{}, err
	}
	return u, nil
}

// ResetPassword sets a new password and ends every token the account holds.
// It answers not_found for an unknown username and validation_failed for a
// password that is too short or too long.
func ResetPassword(ctx context.Context, db *gorm.DB, rev *Revocations, username, password string) error {
	if msg := passwordProblem(password); msg != "" {
		return models.ValidationError(models.FieldError{Field: "password", Message: msg})
	}
	u, err := userByName(ctx, db, username)
	if err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	if err := db.WithContext(ctx).Model(&models.User{}).Where("id = ?", u.ID).Update("password_hash", hash).Error; err != nil {
		return internal("cannot reset the password", err)
	}
	return rev.RevokeUser(ctx, u.ID)
}

func userByName(ctx context.Context, db *gorm.DB, username string) (models.User, error) {
	var u models.User
	err := db.WithContext(ctx).Where("username = ?", strings.ToLower(strings.TrimSpace(username))).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.User{}, models.ErrNotFound
	}
	if err != nil {
		return models.User{}, internal("cannot load the user", err)
	}
	return u, nil
}
