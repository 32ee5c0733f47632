package pushsink

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// APNs as documented: HTTP/2 only, POST /3/device/{token} with a provider
// token (an ES256 JWT of the .p8 key: kid, iss = team, iat; refused as
// ExpiredProviderToken after an hour), apns-topic the bundle id,
// apns-push-type, a payload of at most 4 KB; one device a request; errors
// as {"reason": …} (410 with a timestamp for a dead token). Our own
// strictness: aps.interruption-level is required (the service class).

const (
	apnsMaxPayload   = 4096
	apnsProviderLife = time.Hour
)

// NewAPNsKey makes a .p8 key for the APNs stand-in: the PKCS#8 PEM an
// APNs sender is configured with (APNS_KEY_FILE) and, in creds, the public
// key the sink verifies provider tokens with.
func NewAPNsKey(creds *Credentials) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pushsink: apns key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pushsink: apns key: %w", err)
	}
	creds.APNsPublicKey = &key.PublicKey
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func (s *Sink) routeAPNs() {
	s.mux.HandleFunc("POST /apns/3/device/{token}", s.handleAPNs)
}

func writeAPNs(w http.ResponseWriter, status int, reason string, extra map[string]any) {
	w.Header().Set("apns-id", newUUID())
	body := map[string]any{"reason": reason}
	for k, v := range extra {
		body[k] = v
	}
	writeJSON(w, status, body)
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%X-%X-%X-%X-%X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// checkProviderToken verifies an APNs provider token; reason is the APNs
// reason to answer when it is refused.
func (s *Sink) checkProviderToken(header string) (reason string) {
	raw, ok := strings.CutPrefix(header, "bearer ")
	if !ok || raw == "" {
		return "MissingProviderToken"
	}
	c := s.creds()
	if c.APNsPublicKey == nil {
		return "InvalidProviderToken"
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		if t.Header["kid"] != c.APNsKeyID {
			return nil, errors.New("unknown kid")
		}
		return c.APNsPublicKey, nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(c.APNsTeamID), jwt.WithoutClaimsValidation())
	if err != nil {
		return "InvalidProviderToken"
	}
	iat, err := claims.GetIssuedAt()
	if err != nil || iat == nil {
		return "InvalidProviderToken"
	}
	s.mu.Lock()
	expired, seen := s.vend.apnsTokens[raw]
	if !seen {
		s.vend.apnsTokens[raw] = false
		s.vend.grants[VendorAPNs]++
	}
	s.mu.Unlock()
	if expired || s.now().Sub(iat.Time) > apnsProviderLife {
		return "ExpiredProviderToken"
	}
	return ""
}

func (s *Sink) handleAPNs(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 2 {
		// APNs speaks HTTP/2 only.
		w.WriteHeader(http.StatusHTTPVersionNotSupported)
		return
	}
	if reason := s.checkProviderToken(r.Header.Get("authorization")); reason != "" {
		writeAPNs(w, http.StatusForbidden, reason, nil)
		return
	}
	token := r.PathValue("token")
	s.countSend(VendorAPNs, 1)
	c := s.creds()
	switch topic := r.Header.Get("apns-topic"); {
	case topic == "":
		writeAPNs(w, http.StatusBadRequest, "MissingTopic", nil)
		return
	case topic != c.APNsTopic:
		writeAPNs(w, http.StatusBadRequest, "TopicDisallowed", nil)
		return
	}
	if pt := r.Header.Get("apns-push-type"); pt != "alert" {
		writeAPNs(w, http.StatusBadRequest, "InvalidPushType", nil)
		return
	}
	if p := r.Header.Get("apns-priority"); p != "" && p != "5" && p != "10" {
		writeAPNs(w, http.StatusBadRequest, "BadPriority", nil)
		return
	}
	if id := r.Header.Get("apns-collapse-id"); len(id) > 64 {
		writeAPNs(w, http.StatusBadRequest, "BadCollapseId", nil)
		return
	}
	body, err := readVendorBody(w, r)
	if err != nil || len(body) == 0 {
		writeAPNs(w, http.StatusBadRequest, "PayloadEmpty", nil)
		return
	}
	if len(body) > apnsMaxPayload {
		writeAPNs(w, http.StatusRequestEntityTooLarge, "PayloadTooLarge", nil)
		return
	}
	var p struct {
		Aps *struct {
			Alert             json.RawMessage `json:"alert"`
			InterruptionLevel string          `json:"interruption-level"`
		} `json:"aps"`
	}
	if json.Unmarshal(body, &p) != nil || p.Aps == nil || len(p.Aps.Alert) == 0 {
		writeAPNs(w, http.StatusBadRequest, "PayloadEmpty", nil)
		return
	}
	switch p.Aps.InterruptionLevel {
	case "passive", "active", "time-sensitive", "critical":
	default:
		// The stand-in's own strictness (APNs would take the notice as
		// "active"): every notice names its class.
		writeAPNs(w, http.StatusBadRequest, "MissingInterruptionLevel", nil)
		return
	}
	headers := map[string]string{}
	for _, h := range []string{"apns-topic", "apns-push-type", "apns-priority", "apns-expiration", "apns-collapse-id"} {
		if v := r.Header.Get(h); v != "" {
			headers[h] = v
		}
	}
	raw, _ := json.Marshal(map[string]any{"headers": headers, "payload": json.RawMessage(body)})
	if f := s.requestFault(VendorAPNs); f != nil {
		s.recordVendor(VendorAPNs, records([]string{token}, raw, nil, f.Kind))
		if f.Kind == FaultThrottle {
			retryAfterHeader(w, f.RetryAfter)
			writeAPNs(w, http.StatusTooManyRequests, "TooManyRequests", nil)
			return
		}
		writeAPNs(w, http.StatusServiceUnavailable, "ServiceUnavailable", nil)
		return
	}
	if s.invalidTokens(VendorAPNs, []string{token})[token] {
		s.recordVendor(VendorAPNs, records([]string{token}, raw, map[string]string{token: "Unregistered"}, ""))
		writeAPNs(w, http.StatusGone, "Unregistered", map[string]any{"timestamp": s.now().UnixMilli()})
		return
	}
	s.recordVendor(VendorAPNs, records([]string{token}, raw, nil, ""))
	w.Header().Set("apns-id", newUUID())
	w.WriteHeader(http.StatusOK)
}
