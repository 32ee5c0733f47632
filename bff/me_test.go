package bff_test

import (
	"strings"
	"testing"
)

func TestDevices(t *testing.T) {
	e := start(t, nil)
	a := e.login("ent-demo").AccessToken
	b := e.login("ent-other").AccessToken
	dev := map[string]any{"platform": "android", "push_token": "tok-shared-1", "app_version": "1.2.0", "locale": "zh-CN"}
	var d struct {
		InstallationID string  `json:"installation_id"`
		Provider       string  `json:"provider"`
		Active         bool    `json:"active"`
		AppVersion     *string `json:"app_version"`
	}
	r := e.expect(e.do("PUT", "/v1/me/devices/inst-a", a, dev), 200)
	r.json(t, &d)
	if d.InstallationID != "inst-a" || d.Provider != "fcm" || !d.Active || d.AppVersion == nil || *d.AppVersion != "1.2.0" {
		t.Fatalf("device %+v", d)
	}
	if strings.Contains(string(r.Body), "tok-shared-1") {
		t.Fatal("the push token is echoed")
	}
	// Registering again refreshes, not duplicates.
	e.expect(e.do("PUT", "/v1/me/devices/inst-a", a, dev), 200)
	// The same token registered by another user on another installation
	// moves there: the first user's installation is gone.
	e.expect(e.do("PUT", "/v1/me/devices/inst-b", b, dev), 200)
	e.expect(e.do("DELETE", "/v1/me/devices/inst-a", a, nil), 404)
	// Nobody deletes another user's device.
	e.expect(e.do("DELETE", "/v1/me/devices/inst-b", a, nil), 404)
	e.expect(e.do("DELETE", "/v1/me/devices/inst-b", b, nil), 204)

	for name, tc := range map[string]struct {
		path string
		body any
		code string
	}{
		"unknown provider": {"/v1/me/devices/inst-c", map[string]any{"platform": "android", "provider": "nokia", "push_token": "x"}, "validation_failed"},
		"unknown platform": {"/v1/me/devices/inst-c", map[string]any{"platform": "symbian", "push_token": "x"}, "validation_failed"},
		"empty token":      {"/v1/me/devices/inst-c", map[string]any{"platform": "ios", "push_token": ""}, "validation_failed"},
		"huge token":       {"/v1/me/devices/inst-c", map[string]any{"platform": "ios", "push_token": strings.Repeat("x", 5000)}, "validation_failed"},
		"bad id":           {"/v1/me/devices/" + strings.Repeat("i", 129), map[string]any{"platform": "ios", "push_token": "x"}, "validation_failed"},
	} {
		t.Run(name, func(t *testing.T) {
			if c := e.expect(e.do("PUT", tc.path, a, tc.body), 422).problemCode(t); c != tc.code {
				t.Fatalf("code %s, want %s", c, tc.code)
			}
		})
	}
}

func TestPushPreferences(t *testing.T) {
	e := start(t, nil)
	tok := e.login("ent-demo").AccessToken
	var p map[string]any
	e.expect(e.do("GET", "/v1/me/push-preferences", tok, nil), 200).json(t, &p)
	if p["push_enabled"] != true || p["timezone"] != "Asia/Shanghai" || p["locale"] != "zh-CN" {
		t.Fatalf("defaults: %v", p)
	}
	p["quiet_hours"] = map[string]any{"enabled": true, "start": "23:00", "end": "06:00"}
	p["muted_projects"] = []string{"WF-DEMO-CIVIL"}
	p["categories"].(map[string]any)["progress"] = false
	p["locale"] = "en"
	var got map[string]any
	e.expect(e.do("PUT", "/v1/me/push-preferences", tok, p), 200).json(t, &got)
	e.expect(e.do("GET", "/v1/me/push-preferences", tok, nil), 200).json(t, &got)
	if got["locale"] != "en" || got["categories"].(map[string]any)["progress"] != false || got["quiet_hours"].(map[string]any)["start"] != "23:00" {
		t.Fatalf("stored: %v", got)
	}

	clone := func(mut func(m map[string]any)) map[string]any {
		m := map[string]any{}
		for k, v := range got {
			m[k] = v
		}
		mut(m)
		return m
	}
	for name, body := range map[string]map[string]any{
		"bad time": clone(func(m map[string]any) {
			m["quiet_hours"] = map[string]any{"enabled": true, "start": "25:00", "end": "06:00"}
		}),
		"bad zone":          clone(func(m map[string]any) { m["timezone"] = "Mars/Olympus" }),
		"bad locale":        clone(func(m map[string]any) { m["locale"] = "fr" }),
		"someone's project": clone(func(m map[string]any) { m["muted_projects"] = []string{"WF-OTHER-1"} }),
		"correction off":    clone(func(m map[string]any) { m["categories"] = map[string]any{"correction": false} }),
		"missing field":     clone(func(m map[string]any) { delete(m, "timezone") }),
	} {
		t.Run(name, func(t *testing.T) {
			if c := e.expect(e.do("PUT", "/v1/me/push-preferences", tok, body), 422).problemCode(t); c != "validation_failed" {
				t.Fatalf("code %s", c)
			}
		})
	}
}
