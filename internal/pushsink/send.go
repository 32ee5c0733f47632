package pushsink

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// sendRequest is what the sink reads from the body of a send.
type sendRequest struct {
	// Message is the "message" object as received.
	Message      json.RawMessage
	ValidateOnly bool
	target       messageTarget
}

// messageTarget holds the fields the sink checks the way FCM would.
type messageTarget struct {
	Token     string
	Topic     string
	Condition string
	// nonString lists the data keys whose values are not strings.
	nonString []string
}

// sendResponse is the answer to an accepted send.
type sendResponse struct {
	Name string `json:"name"`
}

// handleSend serves POST /v1/projects/{project}/messages:send.
func (s *Sink) handleSend(w http.ResponseWriter, r *http.Request) {
	if !s.fcmAuthorized(r) {
		writeUnauthenticated(w)
		return
	}
	project := r.PathValue("project")
	body, err := readBody(w, r)
	if err != nil {
		writeFCMError(w, CodeInvalidArgument, 0, []fieldViolation{{Field: "", Description: "request body too large or unreadable"}})
		return
	}
	var req sendRequest
	violations := checkRequest(body, &req)
	target := &req.target

	now := s.now()
	rec := Received{
		Project:      project,
		Token:        target.Token,
		Proto:        r.Proto,
		ValidateOnly: req.ValidateOnly,
		Authorized:   r.Header.Get("Authorization") != "",
		Message:      req.Message,
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
		rec.Name = messageName(project, now, s.seq, req.ValidateOnly)
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

	debug := s.log.Enabled(r.Context(), slog.LevelDebug)
	log := s.log
	if debug {
		log = s.log.With("project", project, "token_hash", tokenHash(target.Token))
	}
	switch {
	case len(violations) > 0:
		if debug {
			log.Debug("pushsink: malformed message")
		}
		writeFCMError(w, CodeInvalidArgument, 0, violations)
	case fault != nil:
		if debug {
			log.Debug("pushsink: fault answered", "code", rec.ErrorCode, "fault_id", faultID)
		}
		writeFCMError(w, rec.ErrorCode, retryAfter, faultViolation)
	default:
		if debug {
			log.Debug("pushsink: message accepted", "validate_only", req.ValidateOnly)
		}
		writeJSON(w, http.StatusOK, sendResponse{Name: rec.Name})
	}
}

// readBody reads a request body of at most maxRequestBody bytes, into a
// buffer of its declared length when it has one.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, maxRequestBody)
	if r.ContentLength <= 0 || r.ContentLength > maxRequestBody {
		return io.ReadAll(body)
	}
	buf := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(body, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// messageName is the name answered for an accepted message, like FCM's
// "projects/{project}/messages/0:1500415314455276%31bd1c9631bd1c96".
func messageName(project string, now time.Time, seq int64, validateOnly bool) string {
	if validateOnly {
		return "projects/" + project + "/messages/fake_message_id"
	}
	b := make([]byte, 0, len(project)+48)
	b = append(b, "projects/"...)
	b = append(b, project...)
	b = append(b, "/messages/0:"...)
	b = strconv.AppendInt(b, now.UnixMicro(), 10)
	b = append(b, "%sink"...)
	hex := strconv.FormatInt(seq, 16)
	for range 8 - len(hex) {
		b = append(b, '0')
	}
	b = append(b, hex...)
	return string(b)
}

// checkRequest decodes a send request and lists what FCM would reject:
// unparsable JSON, no message, not exactly one target, non-string data.
//
// It reads the body the way encoding/json would decode it into
// {message: {token, topic, condition string; data map[string]string};
// validate_only bool} (member names matched without regard to case, the
// last of a repeated member winning), but in one validating pass and one
// walk over the members instead of reflection, which made decoding the
// biggest cost of a sink under a fan-out.
func checkRequest(body []byte, req *sendRequest) []fieldViolation {
	if !json.Valid(body) {
		return []fieldViolation{{Field: "", Description: "Invalid JSON payload received."}}
	}
	top := walker{b: body}
	switch top.peek() {
	case 'n': // null decodes to nothing: no message
	case '{':
		ok := true
		top.members(func(key, val []byte) {
			switch {
			case keyIs(key, "message"):
				req.Message = append(json.RawMessage(nil), val...)
			case keyIs(key, "validate_only"):
				switch string(val) {
				case "true":
					req.ValidateOnly = true
				case "false":
					req.ValidateOnly = false
				case "null":
				default:
					ok = false
				}
			}
		})
		if !ok {
			return []fieldViolation{{Field: "", Description: "Invalid JSON payload received."}}
		}
	default:
		return []fieldViolation{{Field: "", Description: "Invalid JSON payload received."}}
	}
	if len(req.Message) == 0 || string(req.Message) == "null" {
		return []fieldViolation{{Field: "message", Description: "message is required"}}
	}
	target := &req.target
	if !readTarget(req.Message, target) {
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
	sort.Strings(target.nonString)
	for _, k := range target.nonString {
		out = append(out, fieldViolation{Field: "message.data[" + k + "].value", Description: "data values must be strings"})
	}
	return out
}

// readTarget reads the targets and the data's value types of a message,
// which must be well-formed JSON. It reports false for a message of the
// wrong shape: not an object, a target that is not a string, data that is
// not an object.
func readTarget(msg []byte, t *messageTarget) bool {
	w := walker{b: msg}
	if w.peek() != '{' {
		return false
	}
	ok := true
	var data [][]byte // the data members' objects, in order
	str := func(val []byte, dst *string) {
		switch {
		case val[0] == '"':
			*dst = jsonString(val)
		case string(val) != "null":
			ok = false
		}
	}
	w.members(func(key, val []byte) {
		switch {
		case keyIs(key, "token"):
			str(val, &t.Token)
		case keyIs(key, "topic"):
			str(val, &t.Topic)
		case keyIs(key, "condition"):
			str(val, &t.Condition)
		case keyIs(key, "data"):
			switch val[0] {
			case '{':
				data = append(data, val)
			case 'n':
				data = data[:0] // null empties the map
			default:
				ok = false
			}
		}
	})
	if ok && anyNonString(data) {
		// Only now do the keys matter: a repeated data member adds to the
		// first and a repeated key replaces its value, as in a decoded map.
		var members []dataMember
		for _, obj := range data {
			w := walker{b: obj}
			w.members(func(k, v []byte) {
				key, nonString := jsonString(k), !isString(v)
				for i := range members {
					if members[i].key == key {
						members[i].nonString = nonString
						return
					}
				}
				members = append(members, dataMember{key: key, nonString: nonString})
			})
		}
		for _, m := range members {
			if m.nonString {
				t.nonString = append(t.nonString, m.key)
			}
		}
	}
	return ok
}

type dataMember struct {
	key       string
	nonString bool
}

// anyNonString reports whether a value of one of the data objects is not a
// string.
func anyNonString(data [][]byte) bool {
	found := false
	for _, obj := range data {
		w := walker{b: obj}
		w.members(func(_, v []byte) {
			if !isString(v) {
				found = true
			}
		})
	}
	return found
}

// isString reports whether a data value decodes into a string: a string,
// or null, which leaves the string empty.
func isString(v []byte) bool {
	return v[0] == '"' || string(v) == "null"
}

// keyIs reports whether a member name (a JSON string, quotes included)
// matches name as encoding/json matches a struct field's: exactly, or else
// without regard to case.
func keyIs(key []byte, name string) bool {
	inner := key[1 : len(key)-1]
	if bytes.IndexByte(inner, '\\') >= 0 {
		return strings.EqualFold(jsonString(key), name)
	}
	// Without escapes the name is its bytes; invalid UTF-8 (which decoding
	// would replace) cannot match an ASCII name either way.
	return string(inner) == name || bytes.EqualFold(inner, []byte(name))
}

// jsonString decodes a well-formed JSON string, quotes included.
func jsonString(raw []byte) string {
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner)
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// walker steps through JSON that json.Valid has accepted, so it checks
// nothing itself.
type walker struct {
	b []byte
	i int
}

func (w *walker) space() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

// peek returns the first byte of the next value.
func (w *walker) peek() byte {
	w.space()
	return w.b[w.i]
}

// value steps over the next value and returns its bytes.
func (w *walker) value() []byte {
	w.space()
	start := w.i
	switch w.b[w.i] {
	case '"':
		w.skipString()
	case '{', '[':
		depth := 0
		for {
			switch w.b[w.i] {
			case '"':
				w.skipString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			w.i++
			if depth == 0 {
				break
			}
		}
	default: // a number, true, false or null
		for w.i < len(w.b) {
			switch w.b[w.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return w.b[start:w.i]
			}
			w.i++
		}
	}
	return w.b[start:w.i]
}

// skipString steps over the string at the cursor: to the first quote
// after it that an even number of backslashes precedes.
func (w *walker) skipString() {
	w.i++ // the opening quote
	for {
		w.i += bytes.IndexByte(w.b[w.i:], '"') + 1
		escapes := 0
		for k := w.i - 2; w.b[k] == '\\'; k-- { // stops at the opening quote
			escapes++
		}
		if escapes%2 == 0 {
			return
		}
	}
}

// members calls fn with each name (quotes included) and value of the
// object at the cursor.
func (w *walker) members(fn func(key, val []byte)) {
	w.space()
	w.i++ // {
	for {
		w.space()
		switch w.b[w.i] {
		case '}':
			w.i++
			return
		case ',':
			w.i++
			continue
		}
		key := w.value()
		w.space()
		w.i++ // :
		fn(key, w.value())
	}
}
