package bff

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/weifang/kaigong-zsb/models"
)

// Problem is an RFC 9457 problem document with our stable machine code.
type Problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail"`
	Code      models.Code         `json:"code"`
	Instance  string              `json:"instance,omitempty"`
	RequestID string              `json:"request_id,omitempty"`
	Errors    []models.FieldError `json:"errors,omitempty"`
}

// statusOf is the one table from domain codes to HTTP statuses.
var statusOf = map[models.Code]int{
	models.CodeInvalidCredentials:  http.StatusUnauthorized,
	models.CodeTokenExpired:        http.StatusUnauthorized,
	models.CodeTokenInvalid:        http.StatusUnauthorized,
	models.CodeUnauthorized:        http.StatusUnauthorized,
	models.CodeAccountDisabled:     http.StatusUnauthorized,
	models.CodeSignatureInvalid:    http.StatusUnauthorized,
	models.CodeTimestampOutOfRange: http.StatusUnauthorized,
	models.CodeForbidden:           http.StatusForbidden,
	models.CodeNotFound:            http.StatusNotFound,
	models.CodeMalformedJSON:       http.StatusBadRequest,
	models.CodeValidationFailed:    http.StatusUnprocessableEntity,
	models.CodeProviderUnsupported: http.StatusUnprocessableEntity,
	models.CodeUnknownEventType:    http.StatusUnprocessableEntity,
	models.CodeUnknownProject:      http.StatusUnprocessableEntity,
	models.CodeUnknownItem:         http.StatusUnprocessableEntity,
	models.CodeConflict:            http.StatusConflict,
	models.CodeTaskTaken:           http.StatusConflict,
	models.CodePayloadTooLarge:     http.StatusRequestEntityTooLarge,
	models.CodeRateLimited:         http.StatusTooManyRequests,
	models.CodeUnavailable:         http.StatusServiceUnavailable,
	models.CodeInternal:            http.StatusInternalServerError,
}

// fiberCodes maps the framework's own errors (routing, body limits) onto our
// codes so that every error, whoever raised it, has the same shape.
func fromFiber(fe *fiber.Error) *models.Error {
	switch fe.Code {
	case fiber.StatusNotFound, fiber.StatusMethodNotAllowed:
		return &models.Error{Code: models.CodeNotFound, Message: "no such route"}
	case fiber.StatusRequestEntityTooLarge:
		return &models.Error{Code: models.CodePayloadTooLarge, Message: "the request body is too large"}
	case fiber.StatusRequestHeaderFieldsTooLarge:
		return &models.Error{Code: models.CodeValidationFailed, Message: "request headers are too large"}
	case fiber.StatusRequestTimeout:
		return &models.Error{Code: models.CodeUnavailable, Message: "the request took too long to arrive", RetryAfter: 1}
	default:
		return &models.Error{Code: models.CodeMalformedJSON, Message: fe.Message}
	}
}

// errorHandler is the single place where errors become HTTP answers. Only
// server-side failures are logged; client mistakes are counted by metrics.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	var de *models.Error
	var fe *fiber.Error
	switch {
	case errors.As(err, &de):
	case errors.As(err, &fe):
		de = fromFiber(fe)
	case errors.Is(err, context.DeadlineExceeded):
		de = &models.Error{Code: models.CodeUnavailable, Message: "a backing service did not answer in time", RetryAfter: 1, Err: err}
	default:
		de = &models.Error{Code: models.CodeInternal, Message: "internal error", Err: err}
	}
	status, ok := statusOf[de.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	p := Problem{
		Type:      "urn:zsb:problem:" + string(de.Code),
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    de.Message,
		Code:      de.Code,
		Instance:  c.Path(),
		RequestID: requestID(c),
		Errors:    de.Fields,
	}
	if status >= 500 {
		s.log.ErrorContext(c.UserContext(), "request failed", "status", status, "code", de.Code, "err", err, "route", routePath(c))
		if de.Code == models.CodeInternal {
			p.Detail = "internal error; quote the request id when reporting it"
		}
	}
	if de.RetryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(de.RetryAfter))
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Status(status)
	return c.JSON(p, "application/problem+json")
}
