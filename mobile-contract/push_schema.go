package mobilecontract

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed push-message.schema.json
var pushMessageSchema []byte

// pushSchemaURL names the embedded schema inside the compiler; it is never
// fetched.
const pushSchemaURL = "urn:kaigong-zsb:mobile-contract:push-message"

// PushMessageSchema returns the JSON Schema (2020-12) of the FCM message the
// BFF sends: the "message" object of an FCM HTTP v1 send request.
func PushMessageSchema() []byte {
	return bytes.Clone(pushMessageSchema)
}

// PushValidator checks push messages against the contract. Build one with
// NewPushValidator when validating many messages; it is safe for concurrent
// use.
type PushValidator struct {
	schema *jsonschema.Schema
}

// NewPushValidator compiles the embedded push message schema.
func NewPushValidator() (*PushValidator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(pushMessageSchema))
	if err != nil {
		return nil, fmt.Errorf("mobilecontract: push schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(pushSchemaURL, doc); err != nil {
		return nil, fmt.Errorf("mobilecontract: push schema: %w", err)
	}
	sch, err := c.Compile(pushSchemaURL)
	if err != nil {
		return nil, fmt.Errorf("mobilecontract: push schema: %w", err)
	}
	return &PushValidator{schema: sch}, nil
}

// Validate checks one FCM "message" object (as JSON) against the schema and
// against what a schema cannot say: the APNs badge equals
// data.unread_count, and the collapse key, APNs collapse id and thread id
// are all data.project_id (or all absent when it is empty).
func (v *PushValidator) Validate(raw []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("push message is not JSON: %w", err)
	}
	if err := v.schema.Validate(inst); err != nil {
		return fmt.Errorf("push message breaks the schema: %w", err)
	}
	return checkCrossFields(raw)
}

// ValidatePushMessage checks one FCM "message" object against the push
// contract. It compiles the schema on every call; tests that check many
// messages can keep a PushValidator instead.
func ValidatePushMessage(raw []byte) error {
	v, err := NewPushValidator()
	if err != nil {
		return err
	}
	return v.Validate(raw)
}

// checkCrossFields checks the rules that tie fields together.
func checkCrossFields(raw []byte) error {
	var m struct {
		Data struct {
			ProjectID   string `json:"project_id"`
			UnreadCount string `json:"unread_count"`
		} `json:"data"`
		Android struct {
			CollapseKey string `json:"collapse_key"`
		} `json:"android"`
		APNS struct {
			Headers map[string]string `json:"headers"`
			Payload struct {
				Aps struct {
					Badge    int    `json:"badge"`
					ThreadID string `json:"thread-id"`
				} `json:"aps"`
			} `json:"payload"`
		} `json:"apns"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("push message: %w", err)
	}
	var errs []error
	if strconv.Itoa(m.APNS.Payload.Aps.Badge) != m.Data.UnreadCount {
		errs = append(errs, fmt.Errorf("apns badge %d differs from data.unread_count %q", m.APNS.Payload.Aps.Badge, m.Data.UnreadCount))
	}
	project := m.Data.ProjectID
	for _, f := range []struct{ name, value string }{
		{"android.collapse_key", m.Android.CollapseKey},
		{"apns.headers.apns-collapse-id", m.APNS.Headers["apns-collapse-id"]},
		{"apns.payload.aps.thread-id", m.APNS.Payload.Aps.ThreadID},
	} {
		if f.value != project {
			errs = append(errs, fmt.Errorf("%s %q differs from data.project_id %q", f.name, f.value, project))
		}
	}
	return errors.Join(errs...)
}
