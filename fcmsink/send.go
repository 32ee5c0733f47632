package fcmsink

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"
)

type sendRequest struct {
	Message      json.RawMessage `json:"message"`
	ValidateOnly bool            `json:"validate_only"`
}

// messageTarget holds the fields the sink checks the way FCM would.
type messageTarget struct {
	Token     string                     `json:"token"`
	Topic     string                     `json:"topic"`
	Condition string                     `json:"condition"`
	Data      map[string]json.RawMessage `json:"data"`
}

// handleSend serves POST /v1/projects/{project}/messages:send.
func (s *Sink) handleSend(w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		writeFCMError(w, CodeInvalidArgument, 0, []fieldViolation{{Field: "", Description: "request body too large or unreadable"}})
		return
	}
	var req sendRequest
	var target messageTarget
	violations := checkRequest(body, &req, &target)

	now := s.now()
	rec := Received{
		Project:      project,
		Token:        target.Token,
		ValidateOnly: req.ValidateOnly,
		Authorized:   r.Header.Get("Authorization") != "",
		Message:      append(json.RawMessage(nil), req.Message...),
		ReceivedAt:   now,
	}

	var fault *activeFault
	s.mu.Lock()
	switch {
	case len(violations) > 0:
		rec.ErrorCode = CodeInvalidArgument
		rec.Status = http.StatusBadRequest
	default:
		if f := s.takeFaultLocked(target.Token, now); f != nil {
			fault = f
			rec.ErrorCode = f.Code
			rec.Status = faultStatus(f.Code)
			break
		}
		s.seq++
		rec.Status = http.StatusOK
		rec.Name = fmt.Sprintf("projects/%s/messages/0:%d%%sink%08x", project, now.UnixMicro(), s.seq)
		if req.ValidateOnly {
			rec.Name = fmt.Sprintf("projects/%s/messages/fake_message_id", project)
		}
	}
	s.recordLocked(rec)
	var (
		faultID        int64
		retryAfter     time.Duration
		faultViolation []fieldViolation
	)
	if fault != nil {
		faultID, retryAfter = fault.ID, fault.RetryAfter
		if fault.Field != "" {
			faultViolation = []fieldViolation{{Field: fault.Field, Description: "Invalid value"}}
		}
	}
	s.mu.Unlock()

	log := s.log.With("project", project, "token_hash", tokenHash(target.Token))
	switch {
	case len(violations) > 0:
		log.Debug("fcmsink: malformed message")
		writeFCMError(w, CodeInvalidArgument, 0, violations)
	case fault != nil:
		log.Debug("fcmsink: fault answered", "code", rec.ErrorCode, "fault_id", faultID)
		writeFCMError(w, rec.ErrorCode, retryAfter, faultViolation)
	default:
		log.Debug("fcmsink: message accepted", "validate_only", req.ValidateOnly)
		writeJSON(w, http.StatusOK, map[string]string{"name": rec.Name})
	}
}

// checkRequest decodes a send request and lists what FCM would reject:
// unparsable JSON, no message, not exactly one target, non-string data.
func checkRequest(body []byte, req *sendRequest, target *messageTarget) []fieldViolation {
	if err := json.Unmarshal(body, req); err != nil {
		return []fieldViolation{{Field: "", Description: "Invalid JSON payload received."}}
	}
	if len(req.Message) == 0 || string(req.Message) == "null" {
		return []fieldViolation{{Field: "message", Description: "message is required"}}
	}
	if err := json.Unmarshal(req.Message, target); err != nil {
		return []fieldViolation{{Field: "message", Description: "Invalid JSON payload received."}}
	}
	var out []fieldViolation
	targets := 0
	for _, t := range []string{target.Token, target.Topic, target.Condition} {
		if t != "" {
			targets++
		}
	}
	if targets != 1 {
		out = append(out, fieldViolation{Field: "message", Description: "exactly one of token, topic or condition is required"})
	}
	keys := make([]string, 0, len(target.Data))
	for k := range target.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var str string
		if json.Unmarshal(target.Data[k], &str) != nil {
			out = append(out, fieldViolation{Field: "message.data[" + k + "].value", Description: "data values must be strings"})
		}
	}
	return out
}
