package bff_test

import (
	"testing"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/models"
)

// A phone whose token the vendor calls invalid is deactivated; when the
// app registers the same installation again with a new token, the device
// is active again and later pushes reach the new token, never the old one.
func TestDeviceRegisteredAgainAfterItsTokenDiedGetsLaterPushes(t *testing.T) {
	const (
		inst     = "inst-hw-again"
		oldToken = "hw-old-0001"
		newToken = "hw-new-0001"
	)
	e := start(t, nil)
	tok := e.login("ent-demo").AccessToken
	e.noQuietHours(tok)
	register := func(token string) {
		t.Helper()
		var d struct {
			Active bool `json:"active"`
		}
		e.expect(e.do("PUT", "/v1/me/devices/"+inst, tok, map[string]any{"platform": "android", "provider": "huawei",
			"push_token": token}), 200).json(t, &d)
		if !d.Active {
			t.Fatalf("registered with %s: the device answers inactive", token)
		}
	}
	device := func() models.Device {
		t.Helper()
		var d models.Device
		if err := e.app.DB.Take(&d, "installation_id = ?", inst).Error; err != nil {
			t.Fatal(err)
		}
		return d
	}
	toToken := func(token string) (requests, delivered int) {
		for _, m := range e.app.Sink.VendorMessages(pushsink.VendorHuawei) {
			if m.Token == token {
				requests++
				if m.Delivered {
					delivered++
				}
			}
		}
		return requests, delivered
	}

	register(oldToken)
	if _, err := e.app.Sink.AddVendorFault(pushsink.VendorFault{Vendor: pushsink.VendorHuawei,
		Kind: pushsink.FaultInvalidToken, Token: oldToken}); err != nil {
		t.Fatal(err)
	}
	item := e.firstNextStep(tok, "WF-DEMO-CIVIL")
	e.expect(e.send(itemEvent("WF-DEMO-CIVIL", 100, item, "accepted")), 202)
	testenv.Eventually(t, "the device deactivated for its dead token", func() bool { return !device().Active })
	if req, del := toToken(oldToken); req != 1 || del != 0 {
		t.Fatalf("the old token: %d requests, %d delivered; want the one refused", req, del)
	}

	register(newToken)
	if d := device(); !d.Active || d.PushToken != newToken {
		t.Fatalf("after registering again: active %v, token %q", d.Active, d.PushToken)
	}
	e.expect(e.send(itemEvent("WF-DEMO-CIVIL", 101, item, "approved")), 202)
	testenv.Eventually(t, "the push to the new token", func() bool { _, del := toToken(newToken); return del == 1 })
	if d := device(); !d.Active {
		t.Fatal("the device was deactivated again")
	}
	if req, _ := toToken(oldToken); req != 1 {
		t.Fatalf("the old token got %d requests, want only the first", req)
	}
}
