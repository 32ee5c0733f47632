package pushsink

import (
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Xiaomi MiPush as documented: no token exchange (the app secret travels
// in "Authorization: key=…"), form-encoded sends of up to 1,000
// registration ids, answers {result, code, data:{id, bad_regids}} with
// HTTP 200 whether or not the send was taken.

func (s *Sink) routeXiaomi() {
	s.mux.HandleFunc("POST /xiaomi/v3/message/regid", s.handleXiaomiSend)
}

// Xiaomi's answer codes the stand-in uses.
const (
	xmBadCredentials = 21301
	xmTooFrequent    = 10027
	xmDailyTotal     = 10034
	xmBadParam       = 10001 // the stand-in's code for a malformed message
)

func writeXiaomiError(w http.ResponseWriter, status, code int, reason string) {
	writeJSON(w, status, map[string]any{"result": "error", "code": code, "reason": reason,
		"description": reason, "trace_id": newID(8)})
}

func (s *Sink) handleXiaomiSend(w http.ResponseWriter, r *http.Request) {
	c := s.creds()
	if key, _ := strings.CutPrefix(r.Header.Get("Authorization"), "key="); c.XiaomiAppSecret == "" || key != c.XiaomiAppSecret {
		writeXiaomiError(w, http.StatusOK, xmBadCredentials, "Invalid application secret")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeXiaomiError(w, http.StatusOK, xmBadParam, "malformed form")
		return
	}
	f := r.PostForm
	var tokens []string
	for _, t := range strings.Split(f.Get("registration_id"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			tokens = append(tokens, t)
		}
	}
	s.countSend(VendorXiaomi, len(tokens))
	var problem string
	switch {
	case len(tokens) == 0:
		problem = "registration_id missing"
	case len(tokens) > maxVendorTokens:
		problem = "more than 1000 registration ids"
	case f.Get("restricted_package_name") != c.XiaomiPackage:
		problem = "restricted_package_name is not the app's package"
	case f.Get("extra.channel_id") == "":
		// Since late 2024 a notice outside a registered private channel
		// is a public (rate-limited) one; the stand-in refuses it.
		problem = "extra.channel_id missing"
	case f.Get("title") == "" || utf8.RuneCountInString(f.Get("title")) >= 50:
		problem = "title missing or 50 characters or more"
	case f.Get("description") == "" || utf8.RuneCountInString(f.Get("description")) >= 128:
		problem = "description missing or 128 characters or more"
	case f.Get("pass_through") != "0":
		problem = "pass_through must be 0 for a notification"
	case f.Get("payload") != "" && !json.Valid([]byte(f.Get("payload"))):
		problem = "payload is not JSON"
	}
	if problem != "" {
		writeXiaomiError(w, http.StatusOK, xmBadParam, problem)
		return
	}
	fields := map[string]string{}
	for k := range f {
		if k != "registration_id" {
			fields[k] = f.Get(k)
		}
	}
	raw, _ := json.Marshal(fields)
	if flt := s.requestFault(VendorXiaomi); flt != nil {
		s.recordVendor(VendorXiaomi, records(tokens, raw, nil, flt.Kind))
		switch flt.Kind {
		case FaultThrottle:
			retryAfterHeader(w, flt.RetryAfter)
			writeXiaomiError(w, http.StatusOK, xmTooFrequent, "Too frequent requests")
		case FaultQuota:
			writeXiaomiError(w, http.StatusOK, xmDailyTotal, "Daily push total exceeded")
		default:
			writeXiaomiError(w, http.StatusInternalServerError, 500, "Internal server error")
		}
		return
	}
	bad := s.invalidTokens(VendorXiaomi, tokens)
	var badIDs []string
	rejected := map[string]string{}
	for _, t := range tokens {
		if bad[t] {
			badIDs = append(badIDs, t)
			rejected[t] = "bad_regid"
		}
	}
	s.recordVendor(VendorXiaomi, records(tokens, raw, rejected, ""))
	data := map[string]any{"id": "sdm" + newID(10)}
	if len(badIDs) > 0 {
		data["bad_regids"] = strings.Join(badIDs, ",")
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": "ok", "code": 0, "data": data,
		"description": "成功", "info": "Received push messages", "trace_id": newID(8)})
}
