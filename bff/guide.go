package bff

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/weifang/kaigong-zsb/models"
)

// previewInput is POST /v1/guide/preview's body: a project type and the
// facts as project.upserted carries them (情形引导 before a project exists).
type previewInput struct {
	Type  string          `json:"type"`
	Facts json.RawMessage `json:"facts"`
}

// guidePreview answers the guide a project of this type with these facts
// would get. The body is bounded like every app body (decodeJSON), the
// facts as the webhook's are (models.ParseFactsAt), and the work by the
// catalog's size: one guide, no database, no cache.
func (s *Server) guidePreview(c *fiber.Ctx) error {
	var in previewInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	var errs fieldErrors
	if !models.IsProjectType(in.Type) {
		errs.add("type", "must be one of civil, industrial, small_low_risk")
	}
	facts, err := models.ParseFactsAt("facts", in.Facts)
	if err != nil {
		var me *models.Error
		if !errors.As(err, &me) {
			return err
		}
		errs = append(errs, me.Fields...)
	}
	if err := errs.err(); err != nil {
		return err
	}
	g, err := s.deps.Views.Catalog().Preview(in.Type, facts)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(g)
}

// catalogAnswer is GET /v1/catalog's body and validator, computed once: the
// catalog does not change while the process runs.
type catalogAnswer struct {
	once sync.Once
	body []byte
	etag string
	err  error
}

// catalogSummary answers the catalog's themes, the seed's numbers computed
// from its data, and their sources, to anyone: it is public information
// (the app's "about this service" screen shows it before login).
func (s *Server) catalogSummary(c *fiber.Ctx) error {
	a := &s.catalog
	a.once.Do(func() {
		a.body, a.err = json.Marshal(s.deps.Views.Catalog().Summary())
		sum := sha256.Sum256(a.body)
		a.etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	})
	if a.err != nil {
		return a.err
	}
	c.Set(fiber.HeaderETag, a.etag)
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	if etagMatches(c.Get(fiber.HeaderIfNoneMatch), a.etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(a.body)
}
