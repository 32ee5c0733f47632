package pushsink

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// postForm posts a form with extra headers and returns the status and
// the body.
func postForm(t *testing.T, u string, form url.Values, header http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	return roundTrip(t, req)
}

// postRaw posts a JSON body with extra headers.
func postRaw(t *testing.T, u, body string, header http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	return roundTrip(t, req)
}

func roundTrip(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func wantAnswer(t *testing.T, what string, status int, body string, wantStatus int, wantIn string) {
	t.Helper()
	if status != wantStatus || !strings.Contains(body, wantIn) {
		t.Errorf("%s: %d %s, want %d with %s", what, status, body, wantStatus, wantIn)
	}
}

func huaweiToken(t *testing.T, base, secret string) (int, string) {
	c := DevCredentials()
	return postForm(t, base+"/huawei/oauth2/v3/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {c.HuaweiAppID}, "client_secret": {secret}}, nil)
}

func TestHuaweiStandIn(t *testing.T) {
	now := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	s, base := startSink(t, Options{Now: func() time.Time { return now }})
	c := DevCredentials()
	st, body := huaweiToken(t, base, "wrong")
	wantAnswer(t, "wrong secret", st, body, 401, `"error":1101`)
	st, body = huaweiToken(t, base, c.HuaweiClientSecret)
	wantAnswer(t, "token", st, body, 200, `"expires_in":3600`)
	tok := body[strings.Index(body, `"access_token":"`)+16:]
	tok = tok[:strings.Index(tok, `"`)]
	auth := http.Header{"Authorization": {"Bearer " + tok}}
	sendURL := base + "/huawei/v1/" + c.HuaweiAppID + "/messages:send"
	msg := func(category string, n int) string {
		toks := make([]string, n)
		for i := range toks {
			toks[i] = fmt.Sprintf(`"t%d"`, i)
		}
		cat := ""
		if category != "" {
			cat = `"category":"` + category + `",`
		}
		return `{"message":{"data":"{}","android":{` + cat + `"notification":{"title":"a","body":"b"}},"token":[` + strings.Join(toks, ",") + `]}}`
	}
	st, body = postRaw(t, sendURL, msg("", 1), auth)
	wantAnswer(t, "missing category", st, body, 400, "80100003")
	st, body = postRaw(t, sendURL, msg("WORK", 1001), auth)
	wantAnswer(t, "1001 tokens", st, body, 400, "80300010")
	st, body = postRaw(t, sendURL, msg("WORK", 2), http.Header{"Authorization": {"Bearer nope"}})
	wantAnswer(t, "unknown token", st, body, 401, "80200001")
	s.AddVendorFault(VendorFault{Vendor: VendorHuawei, Kind: FaultInvalidToken, Token: "t1"})
	st, body = postRaw(t, sendURL, msg("WORK", 2), auth)
	wantAnswer(t, "partial", st, body, 200, `"code":"80100000","msg":"{\"failure\":1,\"illegal_tokens\":[\"t1\"],\"success\":1}"`)
	now = now.Add(time.Hour)
	st, body = postRaw(t, sendURL, msg("WORK", 2), auth)
	wantAnswer(t, "expired", st, body, 401, "80200003")
	if _, err := s.AddVendorFault(VendorFault{Vendor: VendorHuawei, Kind: FaultQuota}); err == nil {
		t.Error("a quota fault for a vendor that documents none")
	}
}

func TestHarmonyStandIn(t *testing.T) {
	creds := DevCredentials()
	if _, err := NewHarmonyServiceAccount(&creds); err != nil {
		t.Fatal(err)
	}
	_, base := startSink(t, Options{Credentials: &creds})
	u := base + "/harmony/v3/" + creds.HarmonyProjectID + "/messages:send"
	body := `{"payload":{"notification":{"title":"a","body":"b","clickAction":{"actionType":0}}},"target":{"token":["t"]}}`
	st, ans := postRaw(t, u, body, http.Header{"Authorization": {"Bearer not-a-jwt"}, "push-type": {"0"}})
	wantAnswer(t, "no JWT", st, ans, 401, "80200001")
}

func TestHonorStandIn(t *testing.T) {
	_, base := startSink(t, Options{})
	c := DevCredentials()
	st, body := postForm(t, base+"/honor/auth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {c.HonorClientID}, "client_secret": {"wrong"}}, nil)
	wantAnswer(t, "wrong secret", st, body, 401, `"error":1101`)
	_, body = postForm(t, base+"/honor/auth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {c.HonorClientID}, "client_secret": {c.HonorClientSecret}}, nil)
	tok := body[strings.Index(body, `"access_token":"`)+16:]
	tok = tok[:strings.Index(tok, `"`)]
	u := base + "/honor/api/v1/" + c.HonorAppID + "/sendMessage"
	ts := fmt.Sprint(time.Now().UnixMilli())
	noClass := `{"data":"{}","android":{"notification":{"title":"a","body":"b"}},"token":["t"]}`
	st, body = postRaw(t, u, noClass, http.Header{"Authorization": {"Bearer " + tok}, "timestamp": {ts}})
	wantAnswer(t, "no importance", st, body, 400, "80100003")
	ok := `{"data":"{}","android":{"notification":{"title":"a","body":"b","importance":"NORMAL"}},"token":["t"]}`
	st, body = postRaw(t, u, ok, http.Header{"Authorization": {"Bearer " + tok}})
	wantAnswer(t, "no timestamp", st, body, 400, "80100001")
	st, body = postRaw(t, u, ok, http.Header{"Authorization": {"Bearer " + tok}, "timestamp": {ts}})
	wantAnswer(t, "ok", st, body, 200, `"expireTokens":[]`)
}

func TestXiaomiStandIn(t *testing.T) {
	sink, base := startSink(t, Options{})
	c := DevCredentials()
	u := base + "/xiaomi/v3/message/regid"
	form := url.Values{"registration_id": {"r1"}, "restricted_package_name": {c.XiaomiPackage},
		"title": {"a"}, "description": {"b"}, "pass_through": {"0"}}
	st, body := postForm(t, u, form, http.Header{"Authorization": {"key=wrong"}})
	wantAnswer(t, "wrong secret", st, body, 200, `"code":21301`)
	auth := http.Header{"Authorization": {"key=" + c.XiaomiAppSecret}}
	st, body = postForm(t, u, form, auth)
	wantAnswer(t, "no channel", st, body, 200, "extra.channel_id missing")
	form.Set("extra.channel_id", "1")
	form.Set("registration_id", strings.Repeat("r,", 1001))
	st, body = postForm(t, u, form, auth)
	wantAnswer(t, "1001 ids", st, body, 200, "more than 1000")
	form.Set("registration_id", "r1,r2")
	st, body = postForm(t, u, form, auth)
	wantAnswer(t, "ok", st, body, 200, `"result":"ok"`)
	// Every send past the auth check is counted with its size, the
	// refused ones too; the wrong secret's is not.
	if got, want := sink.VendorSendSizes(VendorXiaomi), []int{1, 1001, 2}; !slices.Equal(got, want) {
		t.Errorf("send sizes %v, want %v", got, want)
	}
	sink.ResetVendor(VendorXiaomi)
	if got := sink.VendorSendSizes(VendorXiaomi); len(got) != 0 {
		t.Errorf("send sizes after a reset: %v", got)
	}
}

func TestOPPOStandIn(t *testing.T) {
	_, base := startSink(t, Options{})
	c := DevCredentials()
	ts := fmt.Sprint(time.Now().UnixMilli())
	st, body := postForm(t, base+"/oppo/server/v1/auth", url.Values{"app_key": {c.OPPOAppKey}, "timestamp": {ts}, "sign": {"bad"}}, nil)
	wantAnswer(t, "bad sign", st, body, 200, `"code":14`)
	stale := fmt.Sprint(time.Now().Add(-time.Hour).UnixMilli())
	st, body = postForm(t, base+"/oppo/server/v1/auth", url.Values{"app_key": {c.OPPOAppKey}, "timestamp": {stale}, "sign": {"x"}}, nil)
	wantAnswer(t, "stale timestamp", st, body, 200, `"code":20`)
	st, body = postForm(t, base+"/oppo/server/v1/message/notification/unicast", url.Values{"auth_token": {"nope"}, "message": {"{}"}}, nil)
	wantAnswer(t, "bad auth token", st, body, 200, `"code":11`)
}

func TestVivoStandIn(t *testing.T) {
	_, base := startSink(t, Options{})
	c := DevCredentials()
	ts := time.Now().UnixMilli()
	st, body := postRaw(t, base+"/vivo/message/auth", fmt.Sprintf(`{"appId":%q,"appKey":%q,"timestamp":%d,"sign":"bad"}`, c.VivoAppID, c.VivoAppKey, ts), nil)
	wantAnswer(t, "bad sign", st, body, 200, `"result":10201`)
	tok, _ := newVivoToken(t, base, c, ts)
	h := http.Header{"authToken": {tok}}
	st, body = postRaw(t, base+"/vivo/message/send", `{"regId":"r","title":"a","content":"b","notifyType":2,"skipType":1,"requestId":"x"}`, h)
	wantAnswer(t, "no classification", st, body, 200, "classification 1")
	st, body = postRaw(t, base+"/vivo/message/saveListPayload", `{"title":"a","content":"b","notifyType":2,"skipType":1,"classification":1,"category":"TODO","requestId":"x"}`, h)
	wantAnswer(t, "save", st, body, 200, `"taskId"`)
	task := body[strings.Index(body, `"taskId":"`)+10:]
	task = task[:strings.Index(task, `"`)]
	st, body = postRaw(t, base+"/vivo/message/pushToList", `{"regIds":["only"],"taskId":"`+task+`","requestId":"y"}`, h)
	wantAnswer(t, "one regId", st, body, 200, "2 to 1000")
	st, body = postRaw(t, base+"/vivo/message/send", `{}`, http.Header{"authToken": {"nope"}})
	wantAnswer(t, "bad token", st, body, 200, `"result":10000`)
}

func newVivoToken(t *testing.T, base string, c Credentials, ts int64) (string, string) {
	t.Helper()
	sum := md5.Sum([]byte(c.VivoAppID + c.VivoAppKey + fmt.Sprint(ts) + c.VivoAppSecret))
	_, body := postRaw(t, base+"/vivo/message/auth", fmt.Sprintf(`{"appId":%q,"appKey":%q,"timestamp":%d,"sign":%q}`,
		c.VivoAppID, c.VivoAppKey, ts, hex.EncodeToString(sum[:])), nil)
	i := strings.Index(body, `"authToken":"`)
	if i < 0 {
		t.Fatalf("auth: %s", body)
	}
	tok := body[i+13:]
	return tok[:strings.Index(tok, `"`)], body
}

func TestVendorControlAPI(t *testing.T) {
	s, base := startSink(t, Options{})
	r := do(t, http.MethodPost, base+"/_sink/vendors/xiaomi/faults", map[string]any{"kind": "quota", "for_seconds": 60})
	if r.status != http.StatusCreated {
		t.Fatalf("add fault: %d %v", r.status, r.body)
	}
	if r := do(t, http.MethodPost, base+"/_sink/vendors/huawei/faults", map[string]any{"kind": "quota"}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("huawei quota fault: %d", r.status)
	}
	if r := do(t, http.MethodPost, base+"/_sink/vendors/nokia/faults", map[string]any{"kind": "throttle"}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("unknown vendor: %d", r.status)
	}
	c := DevCredentials()
	form := url.Values{"registration_id": {"r1"}, "restricted_package_name": {c.XiaomiPackage}, "title": {"a"},
		"description": {"b"}, "pass_through": {"0"}, "extra.channel_id": {"1"}}
	st, body := postForm(t, base+"/xiaomi/v3/message/regid", form, http.Header{"Authorization": {"key=" + c.XiaomiAppSecret}})
	wantAnswer(t, "quota", st, body, 200, `"code":10034`)
	if r := do(t, http.MethodDelete, base+"/_sink/vendors/xiaomi/faults", nil); r.status != http.StatusNoContent {
		t.Errorf("clear: %d", r.status)
	}
	st, body = postForm(t, base+"/xiaomi/v3/message/regid", form, http.Header{"Authorization": {"key=" + c.XiaomiAppSecret}})
	wantAnswer(t, "after clear", st, body, 200, `"result":"ok"`)
	r = do(t, http.MethodGet, base+"/_sink/vendors/xiaomi/messages", nil)
	if r.body["count"] != 2.0 || len(s.VendorDelivered(VendorXiaomi)) != 1 {
		t.Errorf("messages: %v", r.body)
	}
	if r := do(t, http.MethodDelete, base+"/_sink/vendors/xiaomi/messages", nil); r.status != http.StatusNoContent || len(s.VendorMessages(VendorXiaomi)) != 0 {
		t.Errorf("reset: %d", r.status)
	}
}
