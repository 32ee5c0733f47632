package mobilecontract

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/apns"
	"github.com/weifang/kaigong-zsb/notify/push/harmony"
	"github.com/weifang/kaigong-zsb/notify/push/honor"
	"github.com/weifang/kaigong-zsb/notify/push/huawei"
	"github.com/weifang/kaigong-zsb/notify/push/oppo"
	"github.com/weifang/kaigong-zsb/notify/push/vivo"
	"github.com/weifang/kaigong-zsb/notify/push/xiaomi"
)

var updateProviders = flag.Bool("update-providers", false, "rewrite examples/providers from what the stand-ins receive")

// anyValue in an example matches any non-empty value: a field that differs
// on every send (a request id, an expiration time).
const anyValue = "<any>"

// volatile lists, per provider, the fields written as anyValue.
var volatile = map[string][]string{
	push.ProviderVivo: {"requestId"},
	push.ProviderAPNs: {"headers.apns-expiration"},
}

// providerExample is an example file: what the vendor's stand-in received
// for progressExample sent to one device.
type providerExample struct {
	Provider string          `json:"provider"`
	Request  string          `json:"request"`
	Message  json.RawMessage `json:"message"`
}

// requests names each vendor's send call, for the reader of the examples.
var requests = map[string]string{
	push.ProviderHuawei:  "POST {HMS_PUSH_URL}/v1/{appId}/messages:send (JSON; the message without its token list)",
	push.ProviderHarmony: "POST {HARMONY_PUSH_URL}/v3/{projectId}/messages:send, push-type: 0 (JSON; without target)",
	push.ProviderHonor:   "POST {HONOR_PUSH_URL}/api/v1/{appId}/sendMessage (JSON; without the token list)",
	push.ProviderXiaomi:  "POST {XIAOMI_PUSH_URL}/v3/message/regid (form fields; without registration_id)",
	push.ProviderOPPO:    "POST {OPPO_PUSH_URL}/server/v1/message/notification/unicast (form field message, JSON)",
	push.ProviderVivo:    "POST {VIVO_PUSH_URL}/message/send (JSON; without regId)",
	push.ProviderAPNs:    "POST {APNS_URL}/3/device/{token} over HTTP/2 (headers and payload)",
}

// vendorSenders starts the stand-ins and builds every vendor sender
// against them, configured as make run configures them.
func vendorSenders(t *testing.T) (*pushsink.Sink, map[string]push.Sender) {
	t.Helper()
	creds := pushsink.DevCredentials()
	sa, err := pushsink.NewHarmonyServiceAccount(&creds)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := pushsink.NewAPNsKey(&creds)
	if err != nil {
		t.Fatal(err)
	}
	sink := pushsink.New(pushsink.Options{Credentials: &creds})
	base, err := sink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	at := func(v string) string { return pushsink.VendorBase(base, v) }
	must := func(s push.Sender, err error) push.Sender {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ap, err := apns.New(apns.Config{KeyPEM: p8, KeyID: creds.APNsKeyID, TeamID: creds.APNsTeamID,
		Topic: creds.APNsTopic, URL: at(pushsink.VendorAPNs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ap.Close)
	return sink, map[string]push.Sender{
		push.ProviderHuawei: must(huawei.New(huawei.Config{AppID: creds.HuaweiAppID, ClientSecret: creds.HuaweiClientSecret,
			AuthURL: at(pushsink.VendorHuawei) + "/oauth2/v3/token", PushURL: at(pushsink.VendorHuawei)})),
		push.ProviderHarmony: must(harmony.New(harmony.Config{ServiceAccountJSON: sa, PushURL: at(pushsink.VendorHarmony)})),
		push.ProviderHonor: must(honor.New(honor.Config{AppID: creds.HonorAppID, ClientID: creds.HonorClientID,
			ClientSecret: creds.HonorClientSecret, AuthURL: at(pushsink.VendorHonor) + "/auth/token", PushURL: at(pushsink.VendorHonor)})),
		push.ProviderXiaomi: must(xiaomi.New(xiaomi.Config{AppSecret: creds.XiaomiAppSecret, Package: creds.XiaomiPackage,
			ChannelID: "zsb_work", PushURL: at(pushsink.VendorXiaomi)})),
		push.ProviderOPPO: must(oppo.New(oppo.Config{AppKey: creds.OPPOAppKey, MasterSecret: creds.OPPOMasterSecret,
			ChannelID: "zsb_work", PushURL: at(pushsink.VendorOPPO)})),
		push.ProviderVivo: must(vivo.New(vivo.Config{AppID: creds.VivoAppID, AppKey: creds.VivoAppKey,
			AppSecret: creds.VivoAppSecret, PushURL: at(pushsink.VendorVivo)})),
		push.ProviderAPNs: ap,
	}
}

// sendToEveryVendor sends m to one device of each vendor through a Router
// and returns what each stand-in received, by provider.
func sendToEveryVendor(t *testing.T, m push.Message) map[string]json.RawMessage {
	t.Helper()
	sink, senders := vendorSenders(t)
	router := push.NewRouter(senders)
	var msgs []push.Message
	for _, p := range router.Providers() {
		mm := m
		mm.Provider, mm.Token = p, "dev-token-ent-demo-"+p+"-0001"
		msgs = append(msgs, mm)
	}
	for i, r := range router.Send(context.Background(), msgs) {
		if r.Outcome != push.OutcomeSent {
			t.Fatalf("%s: %+v", msgs[i].Provider, r)
		}
	}
	out := map[string]json.RawMessage{}
	for _, p := range router.Providers() {
		got := sink.VendorDelivered(p) // each stand-in is named as its provider
		if len(got) != 1 {
			t.Fatalf("%s stand-in received %d messages, want 1", p, len(got))
		}
		out[p] = got[0].Message
	}
	return out
}

// TestProviderExamplesAreWhatTheStandInsReceive keeps
// examples/providers honest: each is exactly what the vendor's stand-in
// received for the progress push (push-progress.json's push).
func TestProviderExamplesAreWhatTheStandInsReceive(t *testing.T) {
	got := sendToEveryVendor(t, progressExample)
	if len(got) != len(requests) {
		t.Fatalf("%d vendors, want %d", len(got), len(requests))
	}
	for provider, raw := range got {
		file := filepath.Join("examples", "providers", provider+".json")
		var msg any
		if err := json.Unmarshal(raw, &msg); err != nil {
			t.Fatal(err)
		}
		for _, path := range volatile[provider] {
			setPath(msg, path, anyValue)
		}
		if *updateProviders {
			var out bytes.Buffer
			enc := json.NewEncoder(&out)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(struct {
				Provider string `json:"provider"`
				Request  string `json:"request"`
				Message  any    `json:"message"`
			}{provider, requests[provider], msg}); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var ex providerExample
		if err := json.Unmarshal(raw, &ex); err != nil {
			t.Fatal(err)
		}
		var want any
		if err := json.Unmarshal(ex.Message, &want); err != nil {
			t.Fatal(err)
		}
		if !matches(want, msg) {
			pretty, _ := json.MarshalIndent(msg, "", "  ")
			t.Errorf("%s differs from what the stand-in received:\n%s", file, pretty)
		}
	}
}

// TestCriticalNoticesUseEachVendorsHighPriority sends the correction push
// (critical) and checks each vendor's high-priority form, and that the
// service class is on every message.
func TestCriticalNoticesUseEachVendorsHighPriority(t *testing.T) {
	want := map[string]map[string]any{
		push.ProviderHuawei:  {"android.urgency": "HIGH", "android.category": "WORK"},
		push.ProviderHarmony: {"payload.notification.category": "WORK"},
		push.ProviderHonor:   {"android.notification.importance": "NORMAL"},
		push.ProviderXiaomi:  {"extra.channel_id": "zsb_work"},
		push.ProviderOPPO:    {"notification.notify_level": 16.0, "notification.channel_id": "zsb_work", "notification.category": "TODO"},
		push.ProviderVivo:    {"notifyType": 4.0, "classification": 1.0, "category": "TODO"},
		push.ProviderAPNs:    {"headers.apns-priority": "10", "payload.aps.interruption-level": "time-sensitive"},
	}
	for provider, raw := range sendToEveryVendor(t, correctionExample) {
		var msg any
		if err := json.Unmarshal(raw, &msg); err != nil {
			t.Fatal(err)
		}
		for path, v := range want[provider] {
			if got := getPath(msg, path); !reflect.DeepEqual(got, v) {
				t.Errorf("%s: %s = %v, want %v", provider, path, got, v)
			}
		}
	}
}

// matches compares an example with what was received: equal, except that
// anyValue matches any non-empty value.
func matches(want, got any) bool {
	if s, ok := want.(string); ok && s == anyValue {
		return got != nil && got != ""
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			if !matches(v, g[k]) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !matches(w[i], g[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(want, got)
}

// getPath reads a dotted path of object keys. A key may itself hold dots
// (Xiaomi's "extra.channel_id", APNs' headers): the longest key that
// matches is taken.
func getPath(v any, path string) any {
	if path == "" {
		return v
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if x, ok := m[path]; ok {
		return x
	}
	parts := strings.Split(path, ".")
	for i := len(parts) - 1; i >= 1; i-- {
		if x, ok := m[strings.Join(parts[:i], ".")]; ok {
			return getPath(x, strings.Join(parts[i:], "."))
		}
	}
	return nil
}

// setPath sets a dotted path (as getPath reads it) that exists.
func setPath(v any, path string, val any) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	if _, ok := m[path]; ok {
		m[path] = val
		return
	}
	parts := strings.Split(path, ".")
	for i := len(parts) - 1; i >= 1; i-- {
		if x, ok := m[strings.Join(parts[:i], ".")]; ok {
			setPath(x, strings.Join(parts[i:], "."), val)
			return
		}
	}
}

// TestProviderExamplesAreIndented keeps the example files readable.
func TestProviderExamplesAreIndented(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("examples", "providers", "*.json"))
	if len(files) != len(requests) {
		t.Fatalf("%d provider examples, want %d", len(files), len(requests))
	}
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil || !bytes.Equal(bytes.TrimSpace(buf.Bytes()), bytes.TrimSpace(raw)) {
			t.Errorf("%s is not indented JSON", f)
		}
	}
}
