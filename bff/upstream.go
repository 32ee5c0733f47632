package bff

import (
	"github.com/gofiber/fiber/v2"

	"github.com/weifang/kaigong-zsb/models"
)

// upstreamEvent is the signed webhook of the approval management system.
// The intake verifies the signature over the raw body before reading it.
func (s *Server) upstreamEvent(c *fiber.Ctx) error {
	body := c.Body()
	if len(body) > MaxBodyBytes {
		return &models.Error{Code: models.CodePayloadTooLarge, Message: "events are at most 1 MiB"}
	}
	res, err := s.deps.Intake.Receive(c.UserContext(),
		c.Get("X-Upstream-Timestamp"), c.Get("X-Upstream-Signature"), body)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(res)
}
