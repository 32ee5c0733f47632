package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weifang/kaigong-zsb/models"
)

// Upstream event types.
const (
	EventProjectUpserted   = "project.upserted"
	EventItemStatusChanged = "item.status_changed"
	EventAgentAssigned     = "agent.assigned"
)

var (
	projectIDPattern  = regexp.MustCompile(`^WF-[A-Za-z0-9-]{1,61}$`)
	creditCodePattern = regexp.MustCompile(`^[0-9A-Z]{18}$`)
	regionCodePattern = regexp.MustCompile(`^([0-9]{6}|[0-9]{9})$`)
)

// upstreamEvent is a decoded, validated webhook body.
type upstreamEvent struct {
	EventID            string           `json:"event_id"`
	Type               string           `json:"type"`
	OccurredAt         time.Time        `json:"occurred_at"`
	ProjectID          string           `json:"project_id"`
	Sequence           int64            `json:"sequence"`
	Project            *upstreamProject `json:"project,omitempty"`
	ItemCode           string           `json:"item_code,omitempty"`
	Status             string           `json:"status,omitempty"`
	Reason             string           `json:"reason,omitempty"`
	MaterialsRequested []string         `json:"materials_requested,omitempty"`
	AgentUsername      string           `json:"agent_username,omitempty"`
}

// upstreamProject is the project block of project.upserted.
type upstreamProject struct {
	Name                 string `json:"name"`
	Type                 string `json:"type"`
	EnterpriseCreditCode string `json:"enterprise_credit_code"`
	RegionCode           string `json:"region_code"`
	KeyProject           bool   `json:"key_project"`
	RegionalAssessment   bool   `json:"regional_assessment"`
	StandardLand         bool   `json:"standard_land"`
	// Facts are what decides the project's own items (nil: not given).
	Facts *models.Facts `json:"facts,omitempty"`
}

var (
	eventFields = map[string]bool{"event_id": true, "type": true, "occurred_at": true, "project_id": true,
		"sequence": true, "project": true, "item_code": true, "status": true, "reason": true,
		"materials_requested": true, "agent_username": true}
	projectFields = map[string]bool{"name": true, "type": true, "enterprise_credit_code": true,
		"region_code": true, "key_project": true, "regional_assessment": true, "standard_land": true, "facts": true}
	// typeFields lists, per event type, the fields only that type may carry.
	typeFields = map[string][]string{
		EventProjectUpserted:   {"project"},
		EventItemStatusChanged: {"item_code", "status", "reason", "materials_requested"},
		EventAgentAssigned:     {"agent_username"},
	}
	itemStatuses = map[string]bool{models.StatusSubmitted: true, models.StatusAccepted: true,
		models.StatusCorrectionRequired: true, models.StatusPreApproved: true, models.StatusApproved: true,
		models.StatusRejected: true, models.StatusWithdrawn: true, models.StatusSuspended: true}
	projectTypes = map[string]bool{models.ProjectCivil: true, models.ProjectIndustrial: true, models.ProjectSmallLowRisk: true}
)

// decodeEvent parses body strictly: malformed JSON, unknown or mistyped
// fields, fields of another event type and out-of-range values are refused
// with the contract's codes. It does not look anything up (items, agents,
// projects); the caller does.
func decodeEvent(body []byte) (upstreamEvent, error) {
	var ev upstreamEvent
	raw, err := decodeObject(body)
	if err != nil {
		return ev, err
	}
	var fe []models.FieldError
	bad := func(field, msg string) { fe = append(fe, models.FieldError{Field: field, Message: msg}) }
	for k := range raw {
		if !eventFields[k] {
			bad(k, "unknown field")
		}
	}
	str := func(field string, dst *string) {
		if v, ok := raw[field]; ok && json.Unmarshal(v, dst) != nil {
			bad(field, "must be a string")
		}
	}
	str("event_id", &ev.EventID)
	str("type", &ev.Type)
	str("project_id", &ev.ProjectID)
	str("item_code", &ev.ItemCode)
	str("status", &ev.Status)
	str("reason", &ev.Reason)
	str("agent_username", &ev.AgentUsername)
	if v, ok := raw["sequence"]; ok && json.Unmarshal(v, &ev.Sequence) != nil {
		bad("sequence", "must be an integer")
	}
	if v, ok := raw["materials_requested"]; ok && json.Unmarshal(v, &ev.MaterialsRequested) != nil {
		bad("materials_requested", "must be an array of strings")
	}
	var occurred string
	str("occurred_at", &occurred)
	if len(fe) > 0 {
		return ev, models.ValidationError(fe...)
	}

	if _, known := typeFields[ev.Type]; !known {
		if ev.Type == "" {
			return ev, models.ValidationError(models.FieldError{Field: "type", Message: "is required"})
		}
		return ev, models.Errorf(models.CodeUnknownEventType, "unknown event type %q", ev.Type)
	}
	for t, fields := range typeFields {
		if t == ev.Type {
			continue
		}
		for _, f := range fields {
			if _, ok := raw[f]; ok {
				bad(f, "not allowed for "+ev.Type)
			}
		}
	}
	if n := utf8.RuneCountInString(ev.EventID); n < 1 || n > 128 {
		bad("event_id", "must be 1 to 128 characters")
	}
	if !projectIDPattern.MatchString(ev.ProjectID) {
		bad("project_id", "must look like WF-… (letters, digits, hyphens; at most 64 characters)")
	}
	if ev.Sequence < 1 {
		bad("sequence", "must be at least 1")
	}
	if t, err := time.Parse(time.RFC3339, occurred); err != nil {
		bad("occurred_at", "must be an RFC 3339 timestamp")
	} else {
		ev.OccurredAt = t
	}

	switch ev.Type {
	case EventProjectUpserted:
		p, pfe := decodeProject(raw["project"])
		fe = append(fe, pfe...)
		ev.Project = p
	case EventItemStatusChanged:
		if ev.ItemCode == "" || utf8.RuneCountInString(ev.ItemCode) > 64 {
			bad("item_code", "is required (at most 64 characters)")
		}
		if !itemStatuses[ev.Status] {
			bad("status", "must be one of submitted, accepted, correction_required, suspended, pre_approved, approved, rejected, withdrawn")
		}
		if ev.Status == models.StatusSuspended && !models.IsSuspendReason(ev.Reason) {
			bad("reason", "a suspension needs its reason: one of "+strings.Join(models.SuspendReasons, ", "))
		}
		if utf8.RuneCountInString(ev.Reason) > 1000 {
			bad("reason", "at most 1000 characters")
		}
		if len(ev.MaterialsRequested) > 50 {
			bad("materials_requested", "at most 50 entries")
		}
		for i, m := range ev.MaterialsRequested {
			if n := utf8.RuneCountInString(m); n < 1 || n > 200 {
				bad(fmt.Sprintf("materials_requested[%d]", i), "must be 1 to 200 characters")
			}
		}
	case EventAgentAssigned:
		if n := utf8.RuneCountInString(ev.AgentUsername); n < 1 || n > 64 {
			bad("agent_username", "is required (at most 64 characters)")
		}
	}
	if len(fe) > 0 {
		return ev, models.ValidationError(fe...)
	}
	return ev, nil
}

// decodeProject validates the project block of project.upserted.
func decodeProject(v json.RawMessage) (*upstreamProject, []models.FieldError) {
	if len(v) == 0 || string(v) == "null" {
		return nil, []models.FieldError{{Field: "project", Message: "is required for project.upserted"}}
	}
	raw, err := decodeObject(v)
	if err != nil {
		return nil, []models.FieldError{{Field: "project", Message: "must be an object"}}
	}
	var (
		p  upstreamProject
		fe []models.FieldError
	)
	bad := func(field, msg string) { fe = append(fe, models.FieldError{Field: "project." + field, Message: msg}) }
	for k := range raw {
		if !projectFields[k] {
			bad(k, "unknown field")
		}
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"name", &p.Name}, {"type", &p.Type}, {"enterprise_credit_code", &p.EnterpriseCreditCode}, {"region_code", &p.RegionCode}} {
		v, ok := raw[f.name]
		switch {
		case !ok:
			bad(f.name, "is required")
		case json.Unmarshal(v, f.dst) != nil:
			bad(f.name, "must be a string")
		}
	}
	for _, f := range []struct {
		name string
		dst  *bool
	}{{"key_project", &p.KeyProject}, {"regional_assessment", &p.RegionalAssessment}, {"standard_land", &p.StandardLand}} {
		// An absent flag is false: upstream may leave out defaults.
		if v, ok := raw[f.name]; ok && json.Unmarshal(v, f.dst) != nil {
			bad(f.name, "must be true or false")
		}
	}
	if v, ok := raw["facts"]; ok && string(v) != "null" {
		f, err := models.ParseFactsAt("project.facts", v)
		var me *models.Error
		switch {
		case errors.As(err, &me) && len(me.Fields) > 0:
			fe = append(fe, me.Fields...)
		case err != nil:
			bad("facts", err.Error())
		default:
			p.Facts = &f
		}
	}
	if len(fe) > 0 {
		return nil, fe
	}
	if n := utf8.RuneCountInString(p.Name); n < 1 || n > 200 {
		bad("name", "must be 1 to 200 characters")
	}
	if !projectTypes[p.Type] {
		bad("type", "must be civil, industrial or small_low_risk")
	}
	if !creditCodePattern.MatchString(p.EnterpriseCreditCode) {
		bad("enterprise_credit_code", "must be 18 digits or capital letters")
	}
	if !regionCodePattern.MatchString(p.RegionCode) {
		bad("region_code", "must be 6 or 9 digits")
	}
	return &p, fe
}

// decodeObject reads exactly one JSON object; anything else is malformed.
func decodeObject(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, models.Errorf(models.CodeMalformedJSON, "the body is not a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, models.Errorf(models.CodeMalformedJSON, "unexpected data after the JSON object")
	}
	return raw, nil
}
