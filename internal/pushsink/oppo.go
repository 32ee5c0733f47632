package pushsink

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// OPPO (HeyTap) push as documented: an auth token from a sha256 sign of
// app key, millisecond timestamp and master secret, valid a day and sent
// back as the form field auth_token; unicast of one message
// (form message=<JSON>) or unicast_batch of up to 1,000 (form
// messages=<JSON array>), each item answered with its messageId or an
// errorCode (10000: invalid registration id). OPPO's codes for a bad sign
// and a malformed message are not published; the stand-in answers 14 and
// 20 for them.

// OPPOTokenTTL is the life of an OPPO auth token.
const OPPOTokenTTL = 24 * time.Hour

const (
	opSystemError   = -1
	opFlowControl   = -2
	opInvalidToken  = 11
	opBadSign       = 14 // the stand-in's choice
	opBadParam      = 20 // the stand-in's choice
	opDailyQuota    = 33
	opInvalidRegID  = 10000
	opMaxBatch      = 1000
	opMaxTimeSkew   = 10 * time.Minute
	opMessageIDSize = 12
)

func (s *Sink) routeOPPO() {
	s.mux.HandleFunc("POST /oppo/server/v1/auth", s.handleOPPOAuth)
	s.mux.HandleFunc("POST /oppo/server/v1/message/notification/unicast", func(w http.ResponseWriter, r *http.Request) {
		s.handleOPPOSend(w, r, false)
	})
	s.mux.HandleFunc("POST /oppo/server/v1/message/notification/unicast_batch", func(w http.ResponseWriter, r *http.Request) {
		s.handleOPPOSend(w, r, true)
	})
}

func writeOPPO(w http.ResponseWriter, code int, msg string, data any) {
	body := map[string]any{"code": code, "message": msg}
	if data != nil {
		body["data"] = data
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Sink) handleOPPOAuth(w http.ResponseWriter, r *http.Request) {
	c := s.creds()
	if err := r.ParseForm(); err != nil {
		writeOPPO(w, opBadParam, "malformed form", nil)
		return
	}
	key, ts := r.PostForm.Get("app_key"), r.PostForm.Get("timestamp")
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || s.now().Sub(time.UnixMilli(ms)).Abs() > opMaxTimeSkew {
		writeOPPO(w, opBadParam, "timestamp missing or more than 10 minutes off", nil)
		return
	}
	sum := sha256.Sum256([]byte(key + ts + c.OPPOMasterSecret))
	want := hex.EncodeToString(sum[:])
	if c.OPPOAppKey == "" || key != c.OPPOAppKey || subtle.ConstantTimeCompare([]byte(r.PostForm.Get("sign")), []byte(want)) != 1 {
		writeOPPO(w, opBadSign, "Invalid sign", nil)
		return
	}
	tok, _ := s.issueToken(VendorOPPO, key, OPPOTokenTTL)
	writeOPPO(w, 0, "Success", map[string]any{"auth_token": tok, "create_time": s.now().UnixMilli()})
}

// oppoMessage is one OPPO message as the stand-in checks it.
type oppoMessage struct {
	TargetType   int    `json:"target_type"`
	TargetValue  string `json:"target_value"`
	Notification *struct {
		Title     string `json:"title"`
		Content   string `json:"content"`
		ChannelID string `json:"channel_id"`
		Category  string `json:"category"`
	} `json:"notification"`
}

func (m oppoMessage) problem() string {
	switch {
	case m.TargetType != 2 || m.TargetValue == "":
		return "target_type 2 with a registration id required"
	case m.Notification == nil || m.Notification.Title == "" || m.Notification.Content == "":
		return "notification title and content required"
	case m.Notification.ChannelID == "" || m.Notification.Category == "":
		// Without a private channel and a category OPPO treats the
		// message as public (marketing); the stand-in refuses it.
		return "notification.channel_id and notification.category required"
	}
	return ""
}

func (s *Sink) handleOPPOSend(w http.ResponseWriter, r *http.Request, batch bool) {
	if err := r.ParseForm(); err != nil {
		writeOPPO(w, opBadParam, "malformed form", nil)
		return
	}
	switch st, _ := s.checkToken(VendorOPPO, r.PostForm.Get("auth_token")); st {
	case tokenUnknown, tokenExpired:
		writeOPPO(w, opInvalidToken, "Invalid AuthToken", nil)
		return
	}
	var raws []json.RawMessage
	if batch {
		if json.Unmarshal([]byte(r.PostForm.Get("messages")), &raws) != nil || len(raws) == 0 {
			writeOPPO(w, opBadParam, "messages must be a JSON array", nil)
			return
		}
		s.countSend(VendorOPPO, len(raws))
		if len(raws) > opMaxBatch {
			writeOPPO(w, opBadParam, "more than 1000 messages", nil)
			return
		}
	} else {
		s.countSend(VendorOPPO, 1)
		raws = []json.RawMessage{json.RawMessage(r.PostForm.Get("message"))}
	}
	msgs := make([]oppoMessage, len(raws))
	tokens := make([]string, len(raws))
	for i, raw := range raws {
		if json.Unmarshal(raw, &msgs[i]) != nil {
			writeOPPO(w, opBadParam, "message is not JSON", nil)
			return
		}
		if p := msgs[i].problem(); p != "" {
			writeOPPO(w, opBadParam, p, nil)
			return
		}
		tokens[i] = msgs[i].TargetValue
	}
	if f := s.requestFault(VendorOPPO); f != nil {
		var recs []VendorReceived
		for i, t := range tokens {
			recs = append(recs, records([]string{t}, raws[i], nil, f.Kind)...)
		}
		s.recordVendor(VendorOPPO, recs)
		switch f.Kind {
		case FaultThrottle:
			retryAfterHeader(w, f.RetryAfter)
			writeOPPO(w, opFlowControl, "Service in Flow Control", nil)
		case FaultQuota:
			writeOPPO(w, opDailyQuota, "The number of messages exceeds the daily limit", nil)
		default:
			writeOPPO(w, opSystemError, "Service Currently Unavailable", nil)
		}
		return
	}
	bad := s.invalidTokens(VendorOPPO, tokens)
	var (
		recs  []VendorReceived
		items []map[string]any
	)
	for i, t := range tokens {
		if bad[t] {
			recs = append(recs, records([]string{t}, raws[i], map[string]string{t: "10000"}, "")...)
			items = append(items, map[string]any{"registrationId": t, "errorCode": opInvalidRegID, "errorMessage": "Invalid RegistrationId"})
			continue
		}
		recs = append(recs, records([]string{t}, raws[i], nil, "")...)
		items = append(items, map[string]any{"registrationId": t, "messageId": newID(opMessageIDSize)})
	}
	s.recordVendor(VendorOPPO, recs)
	switch {
	case batch:
		writeOPPO(w, 0, "Success", items)
	case bad[tokens[0]]:
		writeOPPO(w, opInvalidRegID, "Invalid RegistrationId", nil)
	default:
		writeOPPO(w, 0, "Success", map[string]any{"messageId": items[0]["messageId"]})
	}
}
