package pushsink

import (
	"encoding/json"
	"time"
)

// Received is one send request as the sink saw it, whether it was accepted
// or answered with an error.
type Received struct {
	// Name is the message name answered on success
	// ("projects/{project}/messages/{id}"); empty for rejected sends.
	Name string `json:"name,omitempty"`
	// Project is the Firebase project id from the request path.
	Project string `json:"project"`
	// Token is the registration token the message was addressed to.
	Token string `json:"token"`
	// Proto is the HTTP protocol the request came over, e.g. "HTTP/2.0".
	Proto string `json:"proto"`
	// ValidateOnly reports a dry run.
	ValidateOnly bool `json:"validate_only"`
	// Authorized reports whether the request carried an Authorization
	// header; its value is never kept.
	Authorized bool `json:"authorized"`
	// Message is the "message" object exactly as received.
	Message json.RawMessage `json:"message"`
	// Status is the HTTP status answered.
	Status int `json:"status"`
	// ErrorCode is the FCM error code answered; empty on success.
	ErrorCode string `json:"error_code,omitempty"`
	// ReceivedAt is when the request arrived, by the sink's clock.
	ReceivedAt time.Time `json:"received_at"`
}

// Delivered reports whether the message was accepted for delivery (not
// rejected, not a dry run).
func (r Received) Delivered() bool {
	return r.ErrorCode == "" && r.Status == 200 && !r.ValidateOnly
}

// Messages returns a copy of everything received, oldest first.
func (s *Sink) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// MessagesSince returns the messages recorded after the first n since the
// last reset (those still kept), oldest first, and how many have been
// recorded in all. A poller that passes back the count it was given copies
// only what is new, so reading a sink while thousands of pushes stream in
// costs little, and holds its lock briefly. A count below n means the sink
// was reset since.
func (s *Sink) MessagesSince(n int) ([]Received, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := s.recorded - len(s.received) // the oldest kept message's number
	from := max(n-first, 0)
	if from > len(s.received) {
		from = len(s.received)
	}
	return append([]Received(nil), s.received[from:]...), s.recorded
}

// Delivered returns the accepted, non-dry-run messages, oldest first.
func (s *Sink) Delivered() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Received
	for _, r := range s.received {
		if r.Delivered() {
			out = append(out, r)
		}
	}
	return out
}

// Reset forgets every received message. Faults stay in force.
func (s *Sink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = nil
	s.recorded = 0
}

// recordLocked keeps r, dropping the oldest record when the sink holds
// maxMessages. The oldest is dropped by slicing it off the front; append
// moves the kept records to a new array only when the old one is used up,
// so a full sink costs a constant per record, not a copy of the record.
func (s *Sink) recordLocked(r Received) {
	if len(s.received) >= s.maxMessages {
		drop := len(s.received) - s.maxMessages + 1
		clear(s.received[:drop]) // let the dropped messages be collected
		s.received = s.received[drop:]
	}
	s.received = append(s.received, r)
	s.recorded++
}
