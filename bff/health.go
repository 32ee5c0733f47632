package bff

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz checks the database and Redis with a short deadline each, and
// answers 503 naming what is down so a load balancer stops routing here.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	r := readiness{Status: "ok", Checks: map[string]string{"database": "ok", "redis": "ok"}}
	if err := s.deps.DB.Ping(ctx); err != nil {
		r.Status, r.Checks["database"] = "unavailable", "unreachable: "+err.Error()
	}
	if err := s.deps.Redis.Ping(ctx).Err(); err != nil {
		r.Status, r.Checks["redis"] = "unavailable", "unreachable: "+err.Error()
	}
	if r.Status != "ok" {
		c.Status(fiber.StatusServiceUnavailable)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(r)
}

// MetricsHandler serves the Prometheus registry, for the main listener or a
// separate ops address.
func (s *Server) MetricsHandler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(s.deps.Registry, promhttp.HandlerOpts{}))
}
