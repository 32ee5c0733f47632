package intake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/weifang/kaigong-zsb/models"
)

// signatureTolerance is how far the upstream timestamp may be from our clock,
// either way, before an event is refused as a possible replay.
const signatureTolerance = 300 * time.Second

// verifySignature checks X-Upstream-Timestamp and X-Upstream-Signature
// against every configured secret (several during a rotation). The
// signature header may carry several comma-separated "v1=<hex>" values; any
// one matching any secret passes. Comparisons are constant-time.
func verifySignature(secrets [][]byte, tsHeader, sigHeader string, body []byte, now time.Time) error {
	tsHeader = strings.TrimSpace(tsHeader)
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil || tsHeader == "" {
		return models.Errorf(models.CodeSignatureInvalid, "missing or malformed X-Upstream-Timestamp")
	}
	var given [][]byte
	for _, part := range strings.Split(sigHeader, ",") {
		v, ok := strings.CutPrefix(strings.TrimSpace(part), "v1=")
		if !ok {
			continue
		}
		if raw, err := hex.DecodeString(v); err == nil && len(raw) == sha256.Size {
			given = append(given, raw)
		}
	}
	if len(given) == 0 {
		return models.Errorf(models.CodeSignatureInvalid, "missing or malformed X-Upstream-Signature")
	}
	ok := false
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(tsHeader))
		mac.Write([]byte("."))
		mac.Write(body)
		want := mac.Sum(nil)
		for _, g := range given {
			// Evaluate every pair so timing says nothing about which matched.
			if hmac.Equal(want, g) {
				ok = true
			}
		}
	}
	if !ok {
		return models.Errorf(models.CodeSignatureInvalid, "signature does not match")
	}
	// The timestamp is checked only once the signature proves it authentic.
	if d := now.Sub(time.Unix(ts, 0)); d > signatureTolerance || d < -signatureTolerance {
		return models.Errorf(models.CodeTimestampOutOfRange, "X-Upstream-Timestamp is more than 300 s from the server's clock")
	}
	return nil
}

// SignEvent returns the X-Upstream-Signature value for body sent at ts with
// secret: what the upstream system computes. Tests and drills use it.
func SignEvent(secret string, ts time.Time, body []byte) (timestampHeader, signatureHeader string) {
	timestampHeader = strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestampHeader + "."))
	mac.Write(body)
	return timestampHeader, "v1=" + hex.EncodeToString(mac.Sum(nil))
}
