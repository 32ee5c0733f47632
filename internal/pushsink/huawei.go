package pushsink

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Huawei Push Kit (v1 and, for HarmonyOS, v3) as documented: OAuth client
// credentials (v1) or a PS256 service-account JWT (v3), sends of up to
// 1,000 tokens answered with a code string, partial success as a JSON
// string in msg.

// HuaweiTokenTTL is the life of a Huawei access token (expires_in 3600).
const HuaweiTokenTTL = time.Hour

// HarmonyAudience is the aud a Push Kit v3 service-account JWT must carry:
// Huawei's token URL, as the service-account file's token_uri names it.
const HarmonyAudience = "https://oauth-login.cloud.huawei.com/oauth2/v3/token"

// Huawei's answer codes.
const (
	hwSuccess        = "80000000"
	hwPartial        = "80100000"
	hwBadParam       = "80100001"
	hwBadStructure   = "80100003"
	hwAuthError      = "80200001"
	hwTokenExpired   = "80200003"
	hwAllInvalid     = "80300007"
	hwTooManyTokens  = "80300010"
	hwInternalError  = "81000001"
	maxVendorTokens  = 1000
	hwInvalidReason  = "token invalid"
	hwRequestIDBytes = 12
)

// hwServiceCategories are the android.category (v1) and
// notification.category (v3) values Huawei accepts.
var hwServiceCategories = []string{"IM", "VOIP", "SUBSCRIPTION", "TRAVEL", "HEALTH", "WORK",
	"ACCOUNT", "EXPRESS", "FINANCE", "DEVICE_REMINDER", "MAIL", "PLAY_VOICE", "MARKETING"}

type hwAnswer struct {
	Code      string `json:"code"`
	Msg       string `json:"msg"`
	RequestID string `json:"requestId"`
}

func writeHW(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, hwAnswer{Code: code, Msg: msg, RequestID: newID(hwRequestIDBytes)})
}

func (s *Sink) routeHuawei() {
	s.mux.HandleFunc("POST /huawei/oauth2/v3/token", s.handleHuaweiToken)
	s.mux.HandleFunc("POST /huawei/v1/{appId}/messages:send", s.handleHuaweiSend)
}

func (s *Sink) routeHarmony() {
	s.mux.HandleFunc("POST /harmony/v3/{projectId}/messages:send", s.handleHarmonySend)
}

// handleHuaweiToken serves Huawei's OAuth token endpoint.
func (s *Sink) handleHuaweiToken(w http.ResponseWriter, r *http.Request) {
	s.oauthToken(w, r, VendorHuawei, s.creds().HuaweiAppID, s.creds().HuaweiClientSecret, s.creds().HuaweiAppID, HuaweiTokenTTL)
}

// oauthToken is the OAuth 2.0 client-credentials exchange Huawei and Honor
// both document: a form post answered with access_token and expires_in,
// or an error object for a wrong client.
func (s *Sink) oauthToken(w http.ResponseWriter, r *http.Request, vendor, clientID, secret, app string, ttl time.Duration) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": 1102, "error_description": "malformed request"})
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": 1102, "error_description": "unsupported grant_type"})
		return
	}
	if clientID == "" || r.PostForm.Get("client_id") != clientID || r.PostForm.Get("client_secret") != secret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": 1101, "error_description": "invalid client"})
		return
	}
	tok, ttl := s.issueToken(vendor, app, ttl)
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": int(ttl.Seconds()), "token_type": "Bearer"})
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(v)
}

// hwRequest is a Push Kit v1 send request as the stand-in reads it.
type hwRequest struct {
	ValidateOnly bool `json:"validate_only"`
	Message      struct {
		Data    json.RawMessage `json:"data"`
		Android *struct {
			Category string `json:"category"`
		} `json:"android"`
		Token []string `json:"token"`
	} `json:"message"`
}

// handleHuaweiSend serves POST /v1/{appId}/messages:send.
func (s *Sink) handleHuaweiSend(w http.ResponseWriter, r *http.Request) {
	switch st, app := s.checkToken(VendorHuawei, bearer(r)); {
	case st == tokenExpired:
		writeHW(w, http.StatusUnauthorized, hwTokenExpired, "Oauth token expired")
		return
	case st == tokenUnknown || app != r.PathValue("appId"):
		writeHW(w, http.StatusUnauthorized, hwAuthError, "Oauth authentication error")
		return
	}
	body, err := readVendorBody(w, r)
	if err != nil {
		writeHW(w, http.StatusBadRequest, hwBadStructure, "Incorrect message structure")
		return
	}
	var req hwRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeHW(w, http.StatusBadRequest, hwBadStructure, "Incorrect message structure")
		return
	}
	m := req.Message
	if len(m.Data) > 0 && !isString(m.Data) {
		writeHW(w, http.StatusBadRequest, hwBadStructure, "message.data must be a string")
		return
	}
	if m.Android == nil || !slices.Contains(hwServiceCategories, m.Android.Category) {
		// Huawei itself demotes such a message to marketing; the
		// stand-in is stricter so that a missing class cannot pass.
		writeHW(w, http.StatusBadRequest, hwBadStructure, "android.category missing or unknown")
		return
	}
	var msg map[string]json.RawMessage
	_ = json.Unmarshal(body, &struct {
		Message *map[string]json.RawMessage `json:"message"`
	}{&msg})
	delete(msg, "token")
	raw, _ := json.Marshal(msg)
	s.hwAnswerSend(w, VendorHuawei, m.Token, raw, req.ValidateOnly, func(illegal []string) string {
		b, _ := json.Marshal(map[string]any{"success": len(m.Token) - len(illegal), "failure": len(illegal), "illegal_tokens": illegal})
		return string(b)
	})
}

// hwAnswerSend answers a checked v1 or v3 send: the token count, faults,
// then success, partial success (partial builds msg) or all invalid.
func (s *Sink) hwAnswerSend(w http.ResponseWriter, vendor string, tokens []string, msg json.RawMessage, dryRun bool, partial func(illegal []string) string) {
	s.countSend(vendor, len(tokens))
	switch {
	case len(tokens) == 0:
		writeHW(w, http.StatusBadRequest, hwBadParam, "token missing")
		return
	case len(tokens) > maxVendorTokens:
		writeHW(w, http.StatusBadRequest, hwTooManyTokens, "The number of tokens in the message body exceeds the default value")
		return
	}
	if f := s.requestFault(vendor); f != nil {
		s.recordVendor(vendor, records(tokens, msg, nil, f.Kind))
		switch f.Kind {
		case FaultThrottle:
			retryAfterHeader(w, f.RetryAfter)
			writeHW(w, http.StatusServiceUnavailable, "", "Flow control: too many requests")
		default:
			writeHW(w, http.StatusInternalServerError, hwInternalError, "System inner error")
		}
		return
	}
	bad := s.invalidTokens(vendor, tokens)
	var illegal []string
	rejected := map[string]string{}
	for _, t := range tokens {
		if bad[t] {
			illegal = append(illegal, t)
			rejected[t] = hwAllInvalid
		}
	}
	if !dryRun {
		s.recordVendor(vendor, records(tokens, msg, rejected, ""))
	}
	switch {
	case len(illegal) == len(tokens):
		writeHW(w, http.StatusBadRequest, hwAllInvalid, "All the tokens are invalid")
	case len(illegal) > 0:
		writeHW(w, http.StatusOK, hwPartial, partial(illegal))
	default:
		writeHW(w, http.StatusOK, hwSuccess, "Success")
	}
}

// harmonyRequest is a Push Kit v3 send request as the stand-in reads it.
type harmonyRequest struct {
	Payload *struct {
		Notification *struct {
			Category    string          `json:"category"`
			Title       string          `json:"title"`
			Body        string          `json:"body"`
			ClickAction json.RawMessage `json:"clickAction"`
		} `json:"notification"`
	} `json:"payload"`
	Target *struct {
		Token []string `json:"token"`
	} `json:"target"`
}

// checkHarmonyJWT verifies a v3 service-account JWT the way Huawei does.
func (s *Sink) checkHarmonyJWT(raw string) (expired bool, err error) {
	c := s.creds()
	if c.HarmonyPublicKey == nil {
		return false, errors.New("no service account configured")
	}
	var claims jwt.RegisteredClaims
	_, err = jwt.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		if t.Header["kid"] != c.HarmonyKeyID {
			return nil, errors.New("unknown kid")
		}
		return c.HarmonyPublicKey, nil
	}, jwt.WithValidMethods([]string{"PS256"}), jwt.WithIssuer(c.HarmonySubAccount),
		jwt.WithAudience(HarmonyAudience), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithTimeFunc(s.now))
	if errors.Is(err, jwt.ErrTokenExpired) {
		return true, err
	}
	if err == nil && (claims.IssuedAt == nil || claims.ExpiresAt.Sub(claims.IssuedAt.Time) > time.Hour) {
		err = errors.New("a token lives at most an hour")
	}
	return false, err
}

// handleHarmonySend serves POST /v3/{projectId}/messages:send.
func (s *Sink) handleHarmonySend(w http.ResponseWriter, r *http.Request) {
	expired, err := s.checkHarmonyJWT(bearer(r))
	switch {
	case expired:
		writeHW(w, http.StatusUnauthorized, hwTokenExpired, "Oauth token expired")
		return
	case err != nil || r.PathValue("projectId") != s.creds().HarmonyProjectID:
		writeHW(w, http.StatusUnauthorized, hwAuthError, "Oauth authentication error")
		return
	}
	if r.Header.Get("push-type") != "0" {
		writeHW(w, http.StatusBadRequest, hwBadParam, "push-type header must be 0 for a notification")
		return
	}
	body, err := readVendorBody(w, r)
	if err != nil {
		writeHW(w, http.StatusBadRequest, hwBadStructure, "Incorrect message structure")
		return
	}
	var req harmonyRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Payload == nil || req.Payload.Notification == nil || req.Target == nil {
		writeHW(w, http.StatusBadRequest, hwBadStructure, "Incorrect message structure")
		return
	}
	n := req.Payload.Notification
	if !slices.Contains(hwServiceCategories, n.Category) {
		writeHW(w, http.StatusBadRequest, hwBadStructure, "notification.category missing or unknown")
		return
	}
	if n.Title == "" || n.Body == "" || len(n.ClickAction) == 0 {
		writeHW(w, http.StatusBadRequest, hwBadParam, "notification title, body and clickAction are required")
		return
	}
	var msg map[string]json.RawMessage
	_ = json.Unmarshal(body, &msg)
	delete(msg, "target")
	raw, _ := json.Marshal(msg)
	tokens := req.Target.Token
	// pushOptions.testMessage marks a test message; it is still delivered.
	s.hwAnswerSend(w, VendorHarmony, tokens, raw, false, func(illegal []string) string {
		b, _ := json.Marshal(map[string]any{"success": len(tokens) - len(illegal), "failure": len(illegal),
			"illegalTokens": map[string][]string{hwInvalidReason: illegal}})
		return string(b)
	})
}
