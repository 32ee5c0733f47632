package vivo

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/internal/vendortest"
)

func newSender(t *testing.T, base string, wrong bool, now func() time.Time) push.Sender {
	t.Helper()
	c := pushsink.DevCredentials()
	cfg := Config{AppID: c.VivoAppID, AppKey: c.VivoAppKey, AppSecret: c.VivoAppSecret,
		PushURL: pushsink.VendorBase(base, pushsink.VendorVivo), Now: now}
	if wrong {
		cfg.AppSecret = "wrong"
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSuite(t *testing.T) {
	vendortest.Suite{
		Provider: push.ProviderVivo, Vendor: pushsink.VendorVivo, New: newSender, Quota: true,
		Fetches: func(s push.Sender) int { return s.(*Sender).TokenFetches() },
	}.Run(t)
}

func TestPayload(t *testing.T) {
	sink, base := vendortest.StartSink(t, pushsink.Options{})
	s := newSender(t, base, false, nil)
	m := vendortest.Notice("vivo", "v1")
	m.Critical = true
	m.Body = strings.Repeat("请补正材料", 12) // 60 characters, 120 units
	vendortest.AllOutcome(t, s.Send(context.Background(), []push.Message{m}), push.OutcomeSent)
	var p Payload
	if err := json.Unmarshal(sink.VendorDelivered("vivo")[0].Message, &p); err != nil {
		t.Fatal(err)
	}
	if p.Classification != 1 || p.Category != "TODO" || p.NotifyType != 4 || p.SkipType != 4 ||
		p.SkipContent != m.Route || p.ClientCustomMap["item_codes"] != "GH-01,JS-02" || p.RequestID == "" {
		t.Errorf("payload %+v", p)
	}
	// "建设工程规划许可证已核发" is 12 Chinese characters: 24 units, kept.
	if p.Title != m.Title {
		t.Errorf("title %q", p.Title)
	}
	// The body is cut to 100 units (49 characters and the ellipsis).
	if r := []rune(p.Content); r[len(r)-1] != '…' || len(r) != 50 {
		t.Errorf("content %q", p.Content)
	}
}

func TestSign(t *testing.T) {
	// md5("1" + "k" + "1700000000000" + "s"), computed with md5sum.
	if got := Sign("1", "k", 1700000000000, "s"); got != "c56605fa73035d6342aa216f25580e38" {
		t.Errorf("sign %q", got)
	}
}
