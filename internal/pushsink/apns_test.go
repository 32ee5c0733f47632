package pushsink

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestAPNsStandIn(t *testing.T) {
	creds := DevCredentials()
	pem, err := NewAPNsKey(&creds)
	if err != nil {
		t.Fatal(err)
	}
	_, base := startSink(t, Options{Credentials: &creds})
	key, err := jwt.ParseECPrivateKeyFromPEM(pem)
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": creds.APNsTeamID, "iat": time.Now().Unix()})
	tok.Header["kid"] = creds.APNsKeyID
	bearer, _ := tok.SignedString(key)
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: tr}
	post := func(c *http.Client, payload string, hdr map[string]string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, base+"/apns/3/device/abc", strings.NewReader(payload))
		req.Header.Set("authorization", "bearer "+bearer)
		req.Header.Set("apns-topic", creds.APNsTopic)
		req.Header.Set("apns-push-type", "alert")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	ok := `{"aps":{"alert":{"title":"a","body":"b"},"interruption-level":"active"}}`
	if st, _ := post(http.DefaultClient, ok, nil); st != http.StatusHTTPVersionNotSupported {
		t.Errorf("HTTP/1.1 answered %d", st)
	}
	st, body := post(h2c, `{"aps":{"alert":{"title":"a","body":"b"}}}`, nil)
	wantAnswer(t, "no interruption level", st, body, 400, "MissingInterruptionLevel")
	st, body = post(h2c, ok, map[string]string{"apns-topic": "other"})
	wantAnswer(t, "wrong topic", st, body, 400, "TopicDisallowed")
	st, body = post(h2c, ok, map[string]string{"authorization": "bearer x.y.z"})
	wantAnswer(t, "bad token", st, body, 403, "InvalidProviderToken")
	st, body = post(h2c, `{"aps":{"alert":"`+strings.Repeat("x", 4100)+`","interruption-level":"active"}}`, nil)
	wantAnswer(t, "too large", st, body, 413, "PayloadTooLarge")
	if st, _ := post(h2c, ok, nil); st != 200 {
		t.Errorf("ok answered %d", st)
	}
}
