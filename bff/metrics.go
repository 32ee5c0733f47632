package bff

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics are the request counters and latency histograms, labelled by
// route pattern (bounded), method and status.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// degradedAuth counts requests admitted on the token signature alone
	// while Redis was unreachable.
	degradedAuth prometheus.Counter
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zsb_http_requests_total",
			Help: "HTTP requests by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zsb_http_request_duration_seconds",
			Help:    "HTTP request latency by method, route pattern and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method", "route", "status"}),
	}
	m.degradedAuth = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "zsb_auth_degraded_total",
		Help: "Requests admitted by token signature only because Redis was unreachable.",
	})
	reg.MustRegister(m.requests, m.latency, m.degradedAuth)
	return m
}

func (m *httpMetrics) observeRequest(method, route string, status int, d time.Duration) {
	s := strconv.Itoa(status)
	method = methodLabel(method)
	m.requests.WithLabelValues(method, route, s).Inc()
	m.latency.WithLabelValues(method, route, s).Observe(d.Seconds())
}

// methodLabel maps the request method onto a constant string. Fiber's
// c.Method() is a view of the connection's buffer, which the next request
// on the connection overwrites; Prometheus keeps label values, so they must
// not alias it. It also bounds the label set.
func methodLabel(m string) string {
	switch m {
	case fiber.MethodGet:
		return fiber.MethodGet
	case fiber.MethodPost:
		return fiber.MethodPost
	case fiber.MethodPut:
		return fiber.MethodPut
	case fiber.MethodDelete:
		return fiber.MethodDelete
	case fiber.MethodHead:
		return fiber.MethodHead
	case fiber.MethodOptions:
		return fiber.MethodOptions
	case fiber.MethodPatch:
		return fiber.MethodPatch
	}
	return "OTHER"
}
