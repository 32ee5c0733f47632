package xiaomi

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/internal/vendortest"
)

const channel = "135790"

func newSender(t *testing.T, base string, wrong bool, now func() time.Time) push.Sender {
	t.Helper()
	c := pushsink.DevCredentials()
	cfg := Config{AppSecret: c.XiaomiAppSecret, Package: c.XiaomiPackage, ChannelID: channel,
		PushURL: pushsink.VendorBase(base, pushsink.VendorXiaomi), Now: now}
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
	vendortest.Suite{Provider: push.ProviderXiaomi, Vendor: pushsink.VendorXiaomi, New: newSender, Quota: true}.Run(t)
}

func TestForm(t *testing.T) {
	sink, base := vendortest.StartSink(t, pushsink.Options{})
	s := newSender(t, base, false, nil)
	m := vendortest.Notice("xiaomi", "x1")
	m.Title = "关于潍坊市高新区某某建设项目的建设工程规划许可证已经核发完毕请及时查看下一步需要办理的事项和材料清单以及时限要求谢谢"
	vendortest.AllOutcome(t, s.Send(context.Background(), []push.Message{m}), push.OutcomeSent)
	var f map[string]string
	json.Unmarshal(sink.VendorDelivered("xiaomi")[0].Message, &f)
	var payload map[string]string
	if err := json.Unmarshal([]byte(f["payload"]), &payload); err != nil || payload["notification_id"] != "ntf-0001" {
		t.Errorf("payload %q", f["payload"])
	}
	if f["extra.channel_id"] != channel || f["extra.intent_uri"] != m.Route || f["extra.notify_effect"] != "2" || f["notify_id"] == "" {
		t.Errorf("form %v", f)
	}
	if r := []rune(f["title"]); len(r) != maxTitle || r[len(r)-1] != '…' {
		t.Errorf("title %q not cut to %d", f["title"], maxTitle)
	}
}

func TestBadRegIDsAsArray(t *testing.T) {
	if got := badRegIDs(json.RawMessage(`["a","b"]`)); len(got) != 2 {
		t.Errorf("%v", got)
	}
	if got := badRegIDs(json.RawMessage(`"a, b"`)); len(got) != 2 || got[1] != "b" {
		t.Errorf("%v", got)
	}
}
