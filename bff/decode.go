package bff

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/weifang/kaigong-zsb/models"
)

// decodeJSON binds the request body into an explicit input type: at most
// maxAppJSONBytes, exactly one JSON value, no unknown fields. A body that is
// not JSON answers 400 malformed_json; JSON of the wrong shape answers 422.
func decodeJSON(c *fiber.Ctx, dst any) error {
	body := c.Body()
	if len(body) > maxAppJSONBytes {
		return &models.Error{Code: models.CodePayloadTooLarge, Message: "the request body is too large"}
	}
	if ct := c.Get(fiber.HeaderContentType); ct != "" && !strings.HasPrefix(strings.ToLower(ct), fiber.MIMEApplicationJSON) {
		return models.ValidationError(models.FieldError{Field: "Content-Type", Message: "must be application/json"})
	}
	if !json.Valid(body) {
		return &models.Error{Code: models.CodeMalformedJSON, Message: "the request body is not valid JSON"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonShapeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &models.Error{Code: models.CodeMalformedJSON, Message: "the request body holds more than one JSON value"}
	}
	return nil
}

func jsonShapeError(err error) error {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return models.ValidationError(models.FieldError{Field: field, Message: "must be of type " + te.Type.String()})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return models.ValidationError(models.FieldError{Field: name, Message: "unknown field"})
	default:
		return models.ValidationError(models.FieldError{Field: "body", Message: "does not match the expected shape"})
	}
}

// fieldErrors collects validation failures of one input.
type fieldErrors []models.FieldError

func (f *fieldErrors) add(field, msg string) {
	*f = append(*f, models.FieldError{Field: field, Message: msg})
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return models.ValidationError(f...)
}
