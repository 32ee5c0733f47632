package pushsink

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// vivo push as documented: an authToken from an md5 sign of app id, app
// key, millisecond timestamp and app secret, sent in the authToken header;
// /message/send for one device; /message/saveListPayload then
// /message/pushToList (2 to 1,000 regIds) for many; dead devices named in
// invalidUser / invalidUsers with status 1 (unknown) or 2 (uninstalled,
// unsubscribed); 10070 when the day's total is used up. vivo's codes for a
// bad sign, a refused authToken, flow control and a malformed message are
// not published: the stand-in answers 10201, 10000, 10072 and 10050.

// VivoTokenTTL is the life of a vivo authToken.
const VivoTokenTTL = 24 * time.Hour

const (
	vvAuthRefused  = 10000 // the stand-in's choice
	vvBadParam     = 10050 // the stand-in's choice
	vvDailyTotal   = 10070
	vvFlowControl  = 10072 // the stand-in's choice
	vvBadSign      = 10201 // the stand-in's choice
	vvMaxTitle     = 40    // units: a Chinese character counts two
	vvMaxContent   = 100
	vvMaxList      = 1000
	vvMinList      = 2
	vvStatusNoUser = 1
)

func (s *Sink) routeVivo() {
	s.mux.HandleFunc("POST /vivo/message/auth", s.handleVivoAuth)
	s.mux.HandleFunc("POST /vivo/message/send", s.handleVivoSend)
	s.mux.HandleFunc("POST /vivo/message/saveListPayload", s.handleVivoSave)
	s.mux.HandleFunc("POST /vivo/message/pushToList", s.handleVivoPushToList)
}

func writeVivo(w http.ResponseWriter, status, result int, desc string, extra map[string]any) {
	body := map[string]any{"result": result, "desc": desc}
	for k, v := range extra {
		body[k] = v
	}
	writeJSON(w, status, body)
}

func (s *Sink) handleVivoAuth(w http.ResponseWriter, r *http.Request) {
	c := s.creds()
	var req struct {
		AppID     string `json:"appId"`
		AppKey    string `json:"appKey"`
		Timestamp int64  `json:"timestamp"`
		Sign      string `json:"sign"`
	}
	body, err := readVendorBody(w, r)
	if err != nil || json.Unmarshal(body, &req) != nil {
		writeVivo(w, http.StatusOK, vvBadParam, "malformed request", nil)
		return
	}
	if s.now().Sub(time.UnixMilli(req.Timestamp)).Abs() > 10*time.Minute {
		writeVivo(w, http.StatusOK, vvBadParam, "timestamp more than 10 minutes off", nil)
		return
	}
	sum := md5.Sum([]byte(req.AppID + req.AppKey + strconv.FormatInt(req.Timestamp, 10) + c.VivoAppSecret))
	want := hex.EncodeToString(sum[:])
	if c.VivoAppID == "" || req.AppID != c.VivoAppID || req.AppKey != c.VivoAppKey ||
		subtle.ConstantTimeCompare([]byte(req.Sign), []byte(want)) != 1 {
		writeVivo(w, http.StatusOK, vvBadSign, "sign error", nil)
		return
	}
	tok, _ := s.issueToken(VendorVivo, req.AppID, VivoTokenTTL)
	writeVivo(w, http.StatusOK, 0, "请求成功", map[string]any{"authToken": tok})
}

// vivoPayload is the content of a vivo notice as the stand-in checks it.
type vivoPayload struct {
	RegID          string `json:"regId"`
	Title          string `json:"title"`
	Content        string `json:"content"`
	NotifyType     int    `json:"notifyType"`
	SkipType       int    `json:"skipType"`
	Classification *int   `json:"classification"`
	Category       string `json:"category"`
	RequestID      string `json:"requestId"`
}

func units(s string) int {
	n := 0
	for _, r := range s {
		if r < 0x80 {
			n++
		} else {
			n += 2
		}
	}
	return n
}

func (p vivoPayload) problem() string {
	switch {
	case p.Title == "" || units(p.Title) > vvMaxTitle:
		return "title missing or longer than 40 (a Chinese character counts two)"
	case p.Content == "" || units(p.Content) > vvMaxContent:
		return "content missing or longer than 100 (a Chinese character counts two)"
	case p.NotifyType < 1 || p.NotifyType > 4 || p.SkipType < 1 || p.SkipType > 4:
		return "notifyType and skipType must be 1 to 4"
	case p.Classification == nil || *p.Classification != 1 || p.Category == "":
		// Without classification 1 and its category vivo treats the
		// notice as operational (marketing); the stand-in refuses it.
		return "classification 1 (system) with a category required"
	case p.RequestID == "":
		return "requestId required"
	}
	return ""
}

// vivoAuth checks the authToken header and answers a refusal.
func (s *Sink) vivoAuth(w http.ResponseWriter, r *http.Request) bool {
	if st, _ := s.checkToken(VendorVivo, r.Header.Get("authToken")); st != tokenValid {
		writeVivo(w, http.StatusOK, vvAuthRefused, "authToken invalid or expired", nil)
		return false
	}
	return true
}

// vivoFault answers an active fault and reports whether it did.
func (s *Sink) vivoFault(w http.ResponseWriter, tokens []string, raw json.RawMessage) bool {
	f := s.requestFault(VendorVivo)
	if f == nil {
		return false
	}
	s.recordVendor(VendorVivo, records(tokens, raw, nil, f.Kind))
	switch f.Kind {
	case FaultThrottle:
		retryAfterHeader(w, f.RetryAfter)
		writeVivo(w, http.StatusOK, vvFlowControl, "sending too fast", nil)
	case FaultQuota:
		writeVivo(w, http.StatusOK, vvDailyTotal, "daily total exceeded", nil)
	default:
		writeVivo(w, http.StatusInternalServerError, 500, "internal error", nil)
	}
	return true
}

func (s *Sink) handleVivoSend(w http.ResponseWriter, r *http.Request) {
	if !s.vivoAuth(w, r) {
		return
	}
	s.countSend(VendorVivo, 1)
	body, err := readVendorBody(w, r)
	var p vivoPayload
	if err != nil || json.Unmarshal(body, &p) != nil {
		writeVivo(w, http.StatusOK, vvBadParam, "malformed request", nil)
		return
	}
	if msg := p.problem(); msg != "" || p.RegID == "" {
		if msg == "" {
			msg = "regId required"
		}
		writeVivo(w, http.StatusOK, vvBadParam, msg, nil)
		return
	}
	var msg map[string]json.RawMessage
	_ = json.Unmarshal(body, &msg)
	delete(msg, "regId")
	raw, _ := json.Marshal(msg)
	if s.vivoFault(w, []string{p.RegID}, raw) {
		return
	}
	if s.invalidTokens(VendorVivo, []string{p.RegID})[p.RegID] {
		s.recordVendor(VendorVivo, records([]string{p.RegID}, raw, map[string]string{p.RegID: "invalid_user"}, ""))
		writeVivo(w, http.StatusOK, 0, "请求成功", map[string]any{
			"invalidUser": map[string]any{"status": vvStatusNoUser, "userid": p.RegID}})
		return
	}
	s.recordVendor(VendorVivo, records([]string{p.RegID}, raw, nil, ""))
	writeVivo(w, http.StatusOK, 0, "请求成功", map[string]any{"taskId": newID(10)})
}

func (s *Sink) handleVivoSave(w http.ResponseWriter, r *http.Request) {
	if !s.vivoAuth(w, r) {
		return
	}
	body, err := readVendorBody(w, r)
	var p vivoPayload
	if err != nil || json.Unmarshal(body, &p) != nil {
		writeVivo(w, http.StatusOK, vvBadParam, "malformed request", nil)
		return
	}
	if msg := p.problem(); msg != "" {
		writeVivo(w, http.StatusOK, vvBadParam, msg, nil)
		return
	}
	task := newID(10)
	s.mu.Lock()
	s.vend.vivoTasks[task] = json.RawMessage(body)
	s.mu.Unlock()
	writeVivo(w, http.StatusOK, 0, "请求成功", map[string]any{"taskId": task})
}

func (s *Sink) handleVivoPushToList(w http.ResponseWriter, r *http.Request) {
	if !s.vivoAuth(w, r) {
		return
	}
	body, err := readVendorBody(w, r)
	var req struct {
		RegIDs    []string `json:"regIds"`
		TaskID    string   `json:"taskId"`
		RequestID string   `json:"requestId"`
	}
	if err != nil || json.Unmarshal(body, &req) != nil || req.RequestID == "" {
		writeVivo(w, http.StatusOK, vvBadParam, "malformed request", nil)
		return
	}
	s.countSend(VendorVivo, len(req.RegIDs))
	if n := len(req.RegIDs); n < vvMinList || n > vvMaxList {
		writeVivo(w, http.StatusOK, vvBadParam, "regIds must hold 2 to 1000 ids", nil)
		return
	}
	s.mu.Lock()
	payload, ok := s.vend.vivoTasks[req.TaskID]
	s.mu.Unlock()
	if !ok {
		writeVivo(w, http.StatusOK, vvBadParam, "unknown taskId", nil)
		return
	}
	if s.vivoFault(w, req.RegIDs, payload) {
		return
	}
	bad := s.invalidTokens(VendorVivo, req.RegIDs)
	invalid := []map[string]any{}
	rejected := map[string]string{}
	for _, t := range req.RegIDs {
		if bad[t] {
			invalid = append(invalid, map[string]any{"status": vvStatusNoUser, "userid": t})
			rejected[t] = "invalid_user"
		}
	}
	s.recordVendor(VendorVivo, records(req.RegIDs, payload, rejected, ""))
	extra := map[string]any{"taskId": req.TaskID}
	if len(invalid) > 0 {
		extra["invalidUsers"] = invalid
	}
	writeVivo(w, http.StatusOK, 0, "请求成功", extra)
}
