package oppo

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
	cfg := Config{AppKey: c.OPPOAppKey, MasterSecret: c.OPPOMasterSecret, ChannelID: "zsb_work",
		PushURL: pushsink.VendorBase(base, pushsink.VendorOPPO), Now: now}
	if wrong {
		cfg.MasterSecret = "wrong"
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSuite(t *testing.T) {
	vendortest.Suite{
		Provider: push.ProviderOPPO, Vendor: pushsink.VendorOPPO, New: newSender, Quota: true,
		Fetches: func(s push.Sender) int { return s.(*Sender).TokenFetches() },
	}.Run(t)
}

func TestMessage(t *testing.T) {
	sink, base := vendortest.StartSink(t, pushsink.Options{})
	s := newSender(t, base, false, nil)
	crit := vendortest.Notice("oppo", "o1")
	crit.Critical = true
	vendortest.AllOutcome(t, s.Send(context.Background(), []push.Message{crit}), push.OutcomeSent)
	var m Message
	if err := json.Unmarshal(sink.VendorDelivered("oppo")[0].Message, &m); err != nil {
		t.Fatal(err)
	}
	n := m.Notification
	var data map[string]string
	if err := json.Unmarshal([]byte(n.ActionParameters), &data); err != nil || data["unread_count"] != "3" {
		t.Errorf("action_parameters %q", n.ActionParameters)
	}
	if n.ChannelID != "zsb_work" || n.Category != "TODO" || n.NotifyLevel != 16 || n.ClickActionType != 5 ||
		n.ClickActionURL != crit.Route || m.TargetValue != "o1" {
		t.Errorf("message %+v", m)
	}
}

func TestSign(t *testing.T) {
	// sha256("k" + "1700000000000" + "s"), computed with sha256sum.
	if got := Sign("k", "1700000000000", "s"); got != "ea69308234fc809599f8b5934fae803c77be085338d5c57d31e2fd18afe3752e" {
		t.Errorf("sign %q", got)
	}
}
