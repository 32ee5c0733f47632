package fcm

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/notify/push"
)

// TestFCMSenderAuthenticatesWithServiceAccount sends through a sender
// configured the way production is, with a service-account file, to a local
// sink: the account's key is exchanged for an access token at the file's
// token_uri (here a fake OAuth server) for the FCM scope, once, and every
// send carries that token. The project comes from the file.
func TestFCMSenderAuthenticatesWithServiceAccount(t *testing.T) {
	const accessToken = "ya29.test-access-token"
	var (
		mu     sync.Mutex
		grants []map[string]any // the JWT claims of each token request
		auths  []string         // the Authorization header of each send
	)
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
			http.Error(w, "bad grant", http.StatusBadRequest)
			return
		}
		var claims map[string]any
		parts := strings.Split(r.Form.Get("assertion"), ".")
		if len(parts) == 3 {
			raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
			_ = json.Unmarshal(raw, &claims)
		}
		mu.Lock()
		grants = append(grants, claims)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"` + accessToken + `","token_type":"Bearer","expires_in":3600}`))
	}))
	t.Cleanup(tokenSrv.Close)

	sink := pushsink.New(pushsink.Options{})
	sinkSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		sink.ServeHTTP(w, r)
	}))
	t.Cleanup(sinkSrv.Close)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	account, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "kaigong-prod-test", "private_key_id": "key-1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "fcm-sender@kaigong-prod-test.iam.gserviceaccount.com", "client_id": "1",
		"token_uri": tokenSrv.URL,
	})
	file := filepath.Join(t.TempDir(), "service-account.json")
	if err := os.WriteFile(file, account, 0o600); err != nil {
		t.Fatal(err)
	}

	sender, err := NewSender(context.Background(), Config{CredentialsFile: file, Endpoint: pushsink.Endpoint(sinkSrv.URL)})
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	for i, r := range sender.Send(context.Background(), []push.Message{pushTo("tok-a"), pushTo("tok-b"), pushTo("tok-c")}) {
		if r.Outcome != push.OutcomeSent {
			t.Errorf("result %d = %+v, want sent", i, r)
		}
	}
	for _, d := range sink.Delivered() {
		if d.Project != "kaigong-prod-test" || !d.Authorized {
			t.Errorf("message for %s: project %q authorized %v; want the file's project, authorized", d.Token, d.Project, d.Authorized)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auths) != 3 {
		t.Fatalf("sink saw %d sends, want 3", len(auths))
	}
	for _, a := range auths {
		if a != "Bearer "+accessToken {
			t.Errorf("Authorization = %q, want the issued access token", a)
		}
	}
	if len(grants) != 1 {
		t.Fatalf("%d token requests, want 1 (the token is reused)", len(grants))
	}
	if scope, _ := grants[0]["scope"].(string); !strings.Contains(" "+scope+" ", " https://www.googleapis.com/auth/firebase.messaging ") {
		t.Errorf("token requested for scope %q, want the FCM scope", scope)
	}
	if iss, _ := grants[0]["iss"].(string); iss != "fcm-sender@kaigong-prod-test.iam.gserviceaccount.com" {
		t.Errorf("token requested by %q, want the service account", iss)
	}
}

// The messaging client is built without the SDK's root package, so the
// version it reports is a constant here; it must be the SDK's own.

func TestFCMSenderNeedsAProject(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(file, []byte(`{"type":"service_account","client_email":"x@y"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := NewSender(context.Background(), Config{CredentialsFile: file})
	if err == nil || !strings.Contains(err.Error(), "FCM_PROJECT_ID") {
		t.Fatalf("a credentials file without a project and no FCM_PROJECT_ID: %v", err)
	}
}
