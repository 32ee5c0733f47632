package pushsink

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
)

// NewHarmonyServiceAccount makes a Push Kit v3 service account for the
// stand-in: the JSON file a HarmonyOS sender is configured with
// (HARMONY_SERVICE_ACCOUNT_FILE, in the shape AppGallery Connect hands
// out) and the public key the sink verifies its JWTs with. It fills
// creds' Harmony key (keep creds' project, key id and sub-account).
func NewHarmonyServiceAccount(creds *Credentials) ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("pushsink: harmony key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pushsink: harmony key: %w", err)
	}
	creds.HarmonyPublicKey = &key.PublicKey
	return json.MarshalIndent(map[string]string{
		"project_id":  creds.HarmonyProjectID,
		"key_id":      creds.HarmonyKeyID,
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"sub_account": creds.HarmonySubAccount,
		"token_uri":   HarmonyAudience,
	}, "", "  ")
}
