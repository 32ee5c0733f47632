package pushsink

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Honor's push service as documented: OAuth client credentials at its own
// token URL, sends with a millisecond timestamp header, answers
// {code, message, data:{sendResult, requestId, failTokens, expireTokens}}.
// Honor's error codes are not published in full: the stand-in answers
// Huawei-style numeric codes (80200001/80200003 for the token, 80100003 for
// the structure, 80300010 for too many tokens, 81000001 internal), which
// is also what the sender's configurable defaults expect.

// HonorTokenTTL is the life of a Honor access token.
const HonorTokenTTL = time.Hour

// honorImportances are the android.notification.importance values Honor
// accepts; NORMAL is the service class, LOW marketing.
var honorImportances = map[string]bool{"NORMAL": true, "LOW": true}

func (s *Sink) routeHonor() {
	s.mux.HandleFunc("POST /honor/auth/token", func(w http.ResponseWriter, r *http.Request) {
		c := s.creds()
		s.oauthToken(w, r, VendorHonor, c.HonorClientID, c.HonorClientSecret, c.HonorAppID, HonorTokenTTL)
	})
	s.mux.HandleFunc("POST /honor/api/v1/{appId}/sendMessage", s.handleHonorSend)
}

type honorAnswer struct {
	Code    int        `json:"code"`
	Message string     `json:"message"`
	Data    *honorData `json:"data,omitempty"`
}

type honorData struct {
	SendResult   bool     `json:"sendResult"`
	RequestID    string   `json:"requestId"`
	FailTokens   []string `json:"failTokens"`
	ExpireTokens []string `json:"expireTokens"`
}

func writeHonor(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, honorAnswer{Code: code, Message: msg})
}

func (s *Sink) handleHonorSend(w http.ResponseWriter, r *http.Request) {
	switch st, app := s.checkToken(VendorHonor, bearer(r)); {
	case st == tokenExpired:
		writeHonor(w, http.StatusUnauthorized, 80200003, "access token expired")
		return
	case st == tokenUnknown || app != r.PathValue("appId"):
		writeHonor(w, http.StatusUnauthorized, 80200001, "authentication error")
		return
	}
	ts, err := strconv.ParseInt(r.Header.Get("timestamp"), 10, 64)
	if err != nil || s.now().Sub(time.UnixMilli(ts)).Abs() > 10*time.Minute {
		writeHonor(w, http.StatusBadRequest, 80100001, "timestamp header missing or off by more than 10 minutes")
		return
	}
	body, err := readVendorBody(w, r)
	var req struct {
		Data    json.RawMessage `json:"data"`
		Android *struct {
			Notification *struct {
				Title      string `json:"title"`
				Body       string `json:"body"`
				Importance string `json:"importance"`
			} `json:"notification"`
		} `json:"android"`
		Token []string `json:"token"`
	}
	if err != nil || json.Unmarshal(body, &req) != nil || req.Android == nil || req.Android.Notification == nil ||
		(len(req.Data) > 0 && !isString(req.Data)) {
		writeHonor(w, http.StatusBadRequest, 80100003, "incorrect message structure")
		return
	}
	if !honorImportances[req.Android.Notification.Importance] {
		writeHonor(w, http.StatusBadRequest, 80100003, "android.notification.importance missing or unknown")
		return
	}
	s.countSend(VendorHonor, len(req.Token))
	switch n := len(req.Token); {
	case n == 0:
		writeHonor(w, http.StatusBadRequest, 80100001, "token missing")
		return
	case n > maxVendorTokens:
		writeHonor(w, http.StatusBadRequest, 80300010, "too many tokens")
		return
	}
	var msg map[string]json.RawMessage
	_ = json.Unmarshal(body, &msg)
	delete(msg, "token")
	raw, _ := json.Marshal(msg)
	if f := s.requestFault(VendorHonor); f != nil {
		s.recordVendor(VendorHonor, records(req.Token, raw, nil, f.Kind))
		if f.Kind == FaultThrottle {
			retryAfterHeader(w, f.RetryAfter)
			writeHonor(w, http.StatusServiceUnavailable, 503, "flow control")
			return
		}
		writeHonor(w, http.StatusInternalServerError, 81000001, "internal error")
		return
	}
	bad := s.invalidTokens(VendorHonor, req.Token)
	data := &honorData{RequestID: newID(hwRequestIDBytes), FailTokens: []string{}, ExpireTokens: []string{}}
	rejected := map[string]string{}
	for _, t := range req.Token {
		if bad[t] {
			data.ExpireTokens = append(data.ExpireTokens, t)
			rejected[t] = "expireToken"
		}
	}
	data.SendResult = len(data.ExpireTokens) < len(req.Token)
	s.recordVendor(VendorHonor, records(req.Token, raw, rejected, ""))
	writeJSON(w, http.StatusOK, honorAnswer{Code: 200, Message: "success", Data: data})
}
