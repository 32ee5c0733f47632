package config

import (
	"strings"
	"testing"
)

func TestProviderGroups(t *testing.T) {
	c, err := Parse(env(map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Providers; p.APNs != nil || p.Huawei != nil || p.Harmony != nil || p.Honor != nil || p.Xiaomi != nil || p.OPPO != nil || p.Vivo != nil {
		t.Fatalf("providers on with no variable set: %+v", p)
	}

	c, err = Parse(env(map[string]string{"OPPO_APP_KEY": "k", "OPPO_MASTER_SECRET": "s", "OPPO_CHANNEL_ID": "approvals",
		"OPPO_PUSH_URL": "http://127.0.0.1:9/oppo", "HMS_APP_ID": "1", "HMS_CLIENT_SECRET": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Providers.OPPO; o == nil || o.AppKey != "k" || o.ChannelID != "approvals" || o.PushURL != "http://127.0.0.1:9/oppo" {
		t.Errorf("OPPO = %+v", o)
	}
	if h := c.Providers.Huawei; h == nil || h.AppID != "1" || h.ClientSecret != "x" {
		t.Errorf("Huawei = %+v", h)
	}
	if c.Providers.Vivo != nil {
		t.Error("vivo on without its variables")
	}

	_, err = Parse(env(map[string]string{"VIVO_APP_ID": "1", "XIAOMI_PUSH_URL": "http://x"}))
	for _, want := range []string{"VIVO_APP_KEY, VIVO_APP_SECRET", "XIAOMI_APP_SECRET, XIAOMI_PACKAGE, XIAOMI_CHANNEL_ID"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("half a group: error %v, want one naming %s", err, want)
		}
	}
}
