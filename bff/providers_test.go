package bff_test

import (
	"strings"
	"testing"

	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/notify/push"
)

// Every provider's phone gets the push: in development each provider is
// configured against its built-in stand-in, and the device's provider picks
// the sender.
func TestEveryProviderReachesItsPhone(t *testing.T) {
	e := start(t, nil)
	tok := e.login("ent-demo").AccessToken
	e.noQuietHours(tok)
	platforms := map[string]string{push.ProviderAPNs: "ios", push.ProviderHarmony: "harmony"}
	for _, p := range push.AllProviders() {
		platform := platforms[p]
		if platform == "" {
			platform = "android"
		}
		e.expect(e.do("PUT", "/v1/me/devices/inst-"+p, tok, map[string]any{"platform": platform, "provider": p,
			"push_token": "token-" + p + "-0001"}), 200)
	}
	item := e.firstNextStep(tok, "WF-DEMO-CIVIL")
	e.expect(e.send(itemEvent("WF-DEMO-CIVIL", 100, item, "accepted")), 202)

	for _, p := range push.AllProviders() {
		if p == push.ProviderFCM {
			testenv.Eventually(t, "the FCM push", func() bool { return len(deliveredTo(e.app.Sink, "token-fcm-0001")) > 0 })
			continue
		}
		testenv.Eventually(t, "the "+p+" push", func() bool {
			for _, m := range e.app.Sink.VendorDelivered(p) {
				if m.Token == "token-"+p+"-0001" && strings.Contains(string(m.Message), "WF-DEMO-CIVIL") {
					return true
				}
			}
			return false
		})
	}
}

// A provider the server has no credentials for is refused at registration.
func TestProviderWithoutCredentialsIsUnsupported(t *testing.T) {
	e := start(t, map[string]string{"BFF_DEV_STAND_INS": "false"})
	tok := e.login("ent-demo").AccessToken
	r := e.expect(e.do("PUT", "/v1/me/devices/inst-hw", tok, map[string]any{"platform": "android", "provider": "huawei", "push_token": "x"}), 422)
	if c := r.problemCode(t); c != "provider_unsupported" {
		t.Fatalf("code %s, want provider_unsupported", c)
	}
	e.expect(e.do("PUT", "/v1/me/devices/inst-fcm", tok, map[string]any{"platform": "android", "provider": "fcm", "push_token": "x"}), 200)
}
