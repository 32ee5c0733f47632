package pushsink

import (
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// faultJSON is the wire form of a fault on the control API, with durations
// in whole seconds so drills can drive it with curl.
type faultJSON struct {
	ID                int64     `json:"id,omitempty"`
	Token             string    `json:"token,omitempty"`
	Code              string    `json:"code"`
	Count             int       `json:"count,omitempty"`
	ForSeconds        int       `json:"for_seconds,omitempty"`
	RetryAfterSeconds int       `json:"retry_after_seconds,omitempty"`
	Field             string    `json:"field,omitempty"`
	DelayMillis       int       `json:"delay_ms,omitempty"`
	Answered          int       `json:"answered"`
	Until             time.Time `json:"until,omitzero"`
}

// handleListMessages serves GET /_sink/messages[?token=…][&delivered=true].
func (s *Sink) handleListMessages(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	deliveredOnly := r.URL.Query().Get("delivered") == "true"
	items := []Received{}
	for _, m := range s.Messages() {
		if token != "" && m.Token != token {
			continue
		}
		if deliveredOnly && !m.Delivered() {
			continue
		}
		items = append(items, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "count": len(items)})
}

// handleResetMessages serves DELETE /_sink/messages.
func (s *Sink) handleResetMessages(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}

// handleListFaults serves GET /_sink/faults.
func (s *Sink) handleListFaults(w http.ResponseWriter, _ *http.Request) {
	items := []faultJSON{}
	for _, f := range s.Faults() {
		items = append(items, faultJSON{
			ID: f.ID, Token: f.Token, Code: f.Code, Count: f.Count,
			ForSeconds:        int(f.For / time.Second),
			RetryAfterSeconds: int(f.RetryAfter / time.Second),
			Field:             f.Field,
			DelayMillis:       int(f.Delay / time.Millisecond),
			Answered:          f.Answered, Until: f.Until,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// handleAddFault serves POST /_sink/faults with a faultJSON body.
func (s *Sink) handleAddFault(w http.ResponseWriter, r *http.Request) {
	var in faultJSON
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed fault: " + err.Error()})
		return
	}
	id, err := s.AddFault(Fault{
		Token:      in.Token,
		Code:       in.Code,
		Count:      in.Count,
		For:        time.Duration(in.ForSeconds) * time.Second,
		RetryAfter: time.Duration(in.RetryAfterSeconds) * time.Second,
		Field:      in.Field,
		Delay:      time.Duration(in.DelayMillis) * time.Millisecond,
	})
	if err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": err.Error()})
		return
	}
	in.ID = id
	writeJSON(w, http.StatusCreated, in)
}

// handleClearFaults serves DELETE /_sink/faults.
func (s *Sink) handleClearFaults(w http.ResponseWriter, _ *http.Request) {
	s.ClearFaults()
	w.WriteHeader(http.StatusNoContent)
}

// handleNotFound answers unknown paths the way Google front ends do, so a
// client pointed at the wrong path fails loudly rather than "succeeding".
func (s *Sink) handleNotFound(w http.ResponseWriter, r *http.Request) {
	var body errorBody
	body.Error.Code = http.StatusNotFound
	body.Error.Status = "NOT_FOUND"
	body.Error.Message = "pushsink: no such route: " + r.Method + " " + r.URL.Path
	writeJSON(w, http.StatusNotFound, body)
}
