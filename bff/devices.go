package bff

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/push"
)

var installationIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

type deviceInput struct {
	Platform   string  `json:"platform"`
	Provider   *string `json:"provider"`
	PushToken  string  `json:"push_token"`
	AppVersion *string `json:"app_version"`
	Locale     *string `json:"locale"`
}

type deviceView struct {
	InstallationID string    `json:"installation_id"`
	Platform       string    `json:"platform"`
	Provider       string    `json:"provider"`
	AppVersion     *string   `json:"app_version"`
	Locale         *string   `json:"locale"`
	Active         bool      `json:"active"`
	LastSeenAt     time.Time `json:"last_seen_at"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

func newDeviceView(d models.Device) deviceView {
	return deviceView{
		InstallationID: d.InstallationID, Platform: d.Platform, Provider: d.Provider,
		AppVersion: nonEmpty(d.AppVersion), Locale: nonEmpty(d.Locale), Active: d.Active,
		LastSeenAt: d.LastSeenAt, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// validate checks a registration; supports says whether the server can
// deliver through a provider.
func (in deviceInput) validate(supports func(string) bool) (provider string, err error) {
	var bad fieldErrors
	switch in.Platform {
	case "android", "ios", "harmony":
	default:
		bad.add("platform", "must be android, ios or harmony")
	}
	provider = "fcm"
	if in.Provider != nil {
		provider = *in.Provider
		if !push.KnownProvider(provider) {
			bad.add("provider", "must be one of "+strings.Join(push.AllProviders(), ", "))
		}
	}
	if n := len(in.PushToken); n < 1 || n > 4096 {
		bad.add("push_token", "must be 1 to 4096 characters")
	}
	if in.AppVersion != nil && len(*in.AppVersion) > 32 {
		bad.add("app_version", "at most 32 characters")
	}
	if in.Locale != nil && *in.Locale != "zh-CN" && *in.Locale != "en" {
		bad.add("locale", "must be zh-CN or en")
	}
	if err := bad.err(); err != nil {
		return "", err
	}
	if !supports(provider) {
		return "", &models.Error{Code: models.CodeProviderUnsupported, Message: "this server has no credentials for " + provider,
			Fields: []models.FieldError{{Field: "provider", Message: "not configured on this server"}}}
	}
	return provider, nil
}

// putDevice registers or refreshes one installation. A push token lives on
// one installation of one user: registering it moves it here.
func (s *Server) putDevice(c *fiber.Ctx) error {
	id := c.Params("installation_id")
	if !installationIDPattern.MatchString(id) {
		return models.ValidationError(models.FieldError{Field: "installation_id", Message: "1 to 128 of A-Z a-z 0-9 . _ : -"})
	}
	id = string([]byte(id))
	var in deviceInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	provider, err := in.validate(s.supportsProvider)
	if err != nil {
		return err
	}
	u := currentUser(c)
	sum := sha256.Sum256([]byte(in.PushToken))
	now := time.Now().UTC()
	d := models.Device{
		InstallationID: id, UserID: u.ID, Platform: in.Platform, Provider: provider,
		PushToken: in.PushToken, PushTokenHash: hex.EncodeToString(sum[:]), Active: true, LastSeenAt: now,
	}
	if in.AppVersion != nil {
		d.AppVersion = *in.AppVersion
	}
	if in.Locale != nil {
		d.Locale = *in.Locale
	}
	err = s.deps.DB.WithContext(c.UserContext()).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("push_token_hash = ? AND installation_id <> ?", d.PushTokenHash, id).Delete(&models.Device{}).Error; err != nil {
			return err
		}
		var existing models.Device
		switch err := tx.Take(&existing, "installation_id = ?", id).Error; {
		case isNotFound(err):
			d.CreatedAt = now
			return tx.Create(&d).Error
		case err != nil:
			return err
		}
		d.CreatedAt = existing.CreatedAt
		return tx.Model(&models.Device{}).Where("installation_id = ?", id).Updates(map[string]any{
			"user_id": d.UserID, "platform": d.Platform, "provider": d.Provider, "push_token": d.PushToken,
			"push_token_hash": d.PushTokenHash, "app_version": d.AppVersion, "locale": d.Locale,
			"active": true, "last_seen_at": now, "updated_at": now,
		}).Error
	})
	if err != nil {
		return unavailable(err)
	}
	if err := s.deps.DB.WithContext(c.UserContext()).Take(&d, "installation_id = ?", id).Error; err != nil {
		return unavailable(err)
	}
	return c.JSON(newDeviceView(d))
}

func (s *Server) deleteDevice(c *fiber.Ctx) error {
	id := c.Params("installation_id")
	if !installationIDPattern.MatchString(id) {
		return errNotFound
	}
	res := s.deps.DB.WithContext(c.UserContext()).Where("installation_id = ? AND user_id = ?", id, currentUser(c).ID).Delete(&models.Device{})
	if res.Error != nil {
		return unavailable(res.Error)
	}
	if res.RowsAffected == 0 {
		return errNotFound
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// supportsProvider says whether pushes can go out through provider.
func (s *Server) supportsProvider(provider string) bool {
	if s.deps.Push == nil {
		return provider == push.ProviderFCM
	}
	return s.deps.Push.Supports(provider)
}
