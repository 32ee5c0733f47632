package pushsink

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// fcmTokenPath is the OAuth token endpoint of the FCM stand-in, named as the
// token_uri of the service accounts it makes.
const fcmTokenPath = "/fcm/token"

// fcmScopes are the OAuth scopes an FCM HTTP v1 send is accepted with:
// FCM's own, or the whole of Google Cloud (which firebase-admin-go asks for
// when left to its defaults).
var fcmScopes = []string{"https://www.googleapis.com/auth/firebase.messaging", "https://www.googleapis.com/auth/cloud-platform"}

// fcmTokenTTL is the life of an access token, as Google's.
const fcmTokenTTL = time.Hour

// fcmAuth is the FCM stand-in's OAuth state. While it knows no service
// account, sends need no token (the plain local sink); once one is made,
// every send must carry a bearer token the token endpoint issued, as FCM's.
type fcmAuth struct {
	accounts map[string]fcmAccount // by client_email
	tokens   map[string]time.Time  // access token → expiry
	issued   int
}

type fcmAccount struct {
	keyID    string
	key      *rsa.PublicKey
	tokenURI string
}

// FCMServiceAccount makes a service account the FCM stand-in trusts, in
// the JSON shape Google's console hands out: it names project, and its
// token_uri is this sink's token endpoint under baseURL (what Start or
// StartTLS returned). From then on FCM sends need a bearer token.
func (s *Sink) FCMServiceAccount(baseURL, project string) ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("pushsink: fcm account: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pushsink: fcm account: %w", err)
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	acct := fcmAccount{keyID: hex.EncodeToString(id), key: &key.PublicKey, tokenURI: baseURL + fcmTokenPath}
	email := "fcm-sender-" + acct.keyID + "@" + project + ".iam.gserviceaccount.com"
	s.mu.Lock()
	if s.fcm.accounts == nil {
		s.fcm.accounts, s.fcm.tokens = map[string]fcmAccount{}, map[string]time.Time{}
	}
	s.fcm.accounts[email] = acct
	s.mu.Unlock()
	return json.MarshalIndent(map[string]string{
		"type": "service_account", "project_id": project, "private_key_id": acct.keyID,
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": email, "client_id": acct.keyID, "token_uri": acct.tokenURI,
	}, "", "  ")
}

// FCMTokensIssued is how many access tokens the FCM token endpoint issued.
func (s *Sink) FCMTokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fcm.issued
}

// handleFCMToken is the OAuth 2.0 JWT-bearer grant (RFC 7523) as Google's
// token endpoint answers it: the assertion must be signed (RS256) by a
// known service account's key, name that account as issuer, this endpoint
// as audience and the FCM scope, and not have expired.
func (s *Sink) handleFCMToken(w http.ResponseWriter, r *http.Request) {
	refuse := func(code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		refuse("unsupported_grant_type", "Invalid grant_type")
		return
	}
	var claims struct {
		jwt.RegisteredClaims
		Scope string `json:"scope"`
	}
	var acct fcmAccount
	_, err := jwt.ParseWithClaims(r.PostForm.Get("assertion"), &claims, func(t *jwt.Token) (any, error) {
		iss, _ := t.Claims.GetIssuer()
		s.mu.Lock()
		a, ok := s.fcm.accounts[iss]
		s.mu.Unlock()
		if kid, _ := t.Header["kid"].(string); !ok || kid != a.keyID {
			return nil, fmt.Errorf("unknown key")
		}
		acct = a
		return a.key, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(s.now))
	if err != nil {
		refuse("invalid_grant", "Invalid JWT Signature.")
		return
	}
	if aud, _ := claims.GetAudience(); len(aud) != 1 || aud[0] != acct.tokenURI {
		refuse("invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe")
		return
	}
	if !slices.ContainsFunc(strings.Fields(claims.Scope), func(s string) bool { return slices.Contains(fcmScopes, s) }) {
		refuse("invalid_scope", "the FCM scope was not asked for")
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token := "ya29.sink-" + hex.EncodeToString(b)
	s.mu.Lock()
	s.fcm.tokens[token] = s.now().Add(fcmTokenTTL)
	s.fcm.issued++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": token, "token_type": "Bearer", "expires_in": int(fcmTokenTTL.Seconds())})
}

// fcmAuthorized reports whether a send may proceed: always while no
// service account was made, else only with a live bearer token.
func (s *Sink) fcmAuthorized(r *http.Request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fcm.accounts) == 0 {
		return true
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	exp, known := s.fcm.tokens[token]
	return ok && known && s.now().Before(exp)
}

// writeUnauthenticated is FCM's answer to a send without valid credentials.
func writeUnauthenticated(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(`{"error":{"code":401,"message":"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.","status":"UNAUTHENTICATED"}}`))
}
