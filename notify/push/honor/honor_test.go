package honor

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/internal/vendortest"
)

func newSender(t *testing.T, base string, wrong bool, now func() time.Time) push.Sender {
	t.Helper()
	c := pushsink.DevCredentials()
	cfg := Config{
		AppID: c.HonorAppID, ClientID: c.HonorClientID, ClientSecret: c.HonorClientSecret,
		AuthURL: pushsink.VendorBase(base, pushsink.VendorHonor) + "/auth/token",
		PushURL: pushsink.VendorBase(base, pushsink.VendorHonor), Now: now,
	}
	if wrong {
		cfg.ClientSecret = "wrong"
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSuite(t *testing.T) {
	vendortest.Suite{
		Provider: push.ProviderHonor, Vendor: pushsink.VendorHonor, New: newSender,
		Fetches: func(s push.Sender) int { return s.(*Sender).TokenFetches() },
	}.Run(t)
}

func TestMessage(t *testing.T) {
	sink, base := vendortest.StartSink(t, pushsink.Options{})
	s := newSender(t, base, false, nil)
	vendortest.AllOutcome(t, s.Send(context.Background(), []push.Message{vendortest.Notice("honor", "h1")}), push.OutcomeSent)
	var m struct {
		Data    string `json:"data"`
		Android struct {
			Notification struct {
				Importance  string `json:"importance"`
				Tag         string `json:"tag"`
				ClickAction struct {
					Type   int    `json:"type"`
					Intent string `json:"intent"`
				} `json:"clickAction"`
			} `json:"notification"`
		} `json:"android"`
	}
	if err := json.Unmarshal(sink.VendorDelivered("honor")[0].Message, &m); err != nil {
		t.Fatal(err)
	}
	var data map[string]string
	if err := json.Unmarshal([]byte(m.Data), &data); err != nil || data["route"] != "zsb://projects/WF-2026-0001/next-steps" {
		t.Errorf("data %q", m.Data)
	}
	n := m.Android.Notification
	if n.Importance != "NORMAL" || n.Tag != "WF-2026-0001" || n.ClickAction.Type != 1 {
		t.Errorf("notification %+v", n)
	}
}
