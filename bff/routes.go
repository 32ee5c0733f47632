package bff

import (
	"github.com/gofiber/fiber/v2"

	"github.com/weifang/kaigong-zsb/internal/projectview"
)

// routes is the whole HTTP surface; api-docs/openapi.yaml describes exactly
// these routes and a test keeps the two in step.
func (s *Server) routes() {
	a := s.app
	a.Get("/healthz", s.healthz)
	a.Get("/readyz", s.readyz)
	a.Get("/openapi.yaml", s.openapiSpec)
	a.Get("/docs", s.docsHTML)
	if s.deps.ServeMetrics {
		a.Get("/metrics", s.MetricsHandler())
	}

	v1 := a.Group("/v1")
	v1.Post("/auth/login", s.login)
	v1.Post("/auth/refresh", s.refresh)
	v1.Post("/upstream/events", s.upstreamEvent)
	v1.Get("/catalog", s.catalogSummary)

	// Every other /v1 route needs an access token. authenticate is listed on
	// each route rather than on a group so that metrics and logs name the
	// route even when authentication fails, and unknown paths answer 404.
	u := userRoutes{v1, s.authenticate}
	u.Post("/auth/logout", s.logout)
	u.Get("/me", s.me)
	u.Put("/me/devices/:installation_id", s.putDevice)
	u.Delete("/me/devices/:installation_id", s.deleteDevice)
	u.Get("/me/notifications", s.listNotifications)
	u.Post("/me/notifications/read-all", s.readAllNotifications)
	u.Post("/me/notifications/:id/read", s.readNotification)
	u.Get("/me/push-preferences", s.getPreferences)
	u.Put("/me/push-preferences", s.putPreferences)

	u.Post("/guide/preview", s.guidePreview)

	u.Get("/projects", s.listProjects)
	u.Get("/projects/:project_id", s.getProject)
	u.Get("/projects/:project_id/progress", s.projectView(projectview.Progress))
	u.Get("/projects/:project_id/guide", s.projectView(projectview.Guide))
	u.Get("/projects/:project_id/next-steps", s.projectView(projectview.NextSteps))
	u.Get("/projects/:project_id/timeline", s.timeline)
	u.Post("/projects/:project_id/help-requests", s.createHelpRequest)

	u.Get("/agent/tasks", s.listTasks)
	u.Post("/agent/tasks/:task_id/claim", s.taskAction(true))
	u.Post("/agent/tasks/:task_id/complete", s.taskAction(false))
}

// userRoutes registers routes behind authentication.
type userRoutes struct {
	r    fiber.Router
	auth fiber.Handler
}

func (u userRoutes) Get(path string, h fiber.Handler)    { u.r.Get(path, u.auth, h) }
func (u userRoutes) Post(path string, h fiber.Handler)   { u.r.Post(path, u.auth, h) }
func (u userRoutes) Put(path string, h fiber.Handler)    { u.r.Put(path, u.auth, h) }
func (u userRoutes) Delete(path string, h fiber.Handler) { u.r.Delete(path, u.auth, h) }
