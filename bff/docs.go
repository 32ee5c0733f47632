package bff

import (
	"github.com/gofiber/fiber/v2"

	apidocs "github.com/weifang/kaigong-zsb/api-docs"
)

var (
	specBytes = apidocs.Spec()
	docsPage  = apidocs.DocsHTML()
)

func (s *Server) openapiSpec(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/yaml; charset=utf-8")
	return c.Send(specBytes)
}

// docsHTML serves the API reference rendered from the spec; it loads
// nothing from elsewhere, so it works offline.
func (s *Server) docsHTML(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	return c.Send(docsPage)
}
