package mobilecontract

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/weifang/kaigong-zsb/internal/pushsink"
	"github.com/weifang/kaigong-zsb/notify/outbox"
	"github.com/weifang/kaigong-zsb/notify/push"
	"github.com/weifang/kaigong-zsb/notify/push/fcm"
)

func newPushValidator(t *testing.T) *PushValidator {
	t.Helper()
	v, err := NewPushValidator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func readExample(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestPushExamplesValidate(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("examples", "push-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found %d push examples, want at least 2", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if err := ValidatePushMessage(readExample(t, filepath.Base(f))); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestPushSchemaRejects(t *testing.T) {
	v := newPushValidator(t)
	tests := []struct {
		name   string
		mutate func(m map[string]any)
	}{
		{"no token", func(m map[string]any) { delete(m, "token") }},
		{"unknown top-level field", func(m map[string]any) { m["topic"] = "news" }},
		{"missing notification_id", func(m map[string]any) { delete(data(m), "notification_id") }},
		{"number in data", func(m map[string]any) { data(m)["unread_count"] = 3 }},
		{"unread_count not a count", func(m map[string]any) { data(m)["unread_count"] = "-1" }},
		{"unknown category", func(m map[string]any) { data(m)["category"] = "marketing" }},
		{"item codes with spaces", func(m map[string]any) { data(m)["item_codes"] = "GH-02, ST-01" }},
		{"route not a deep link", func(m map[string]any) { data(m)["route"] = "https://example.org/x" }},
		{"high android, low apns", func(m map[string]any) { obj(m, "android")["priority"] = "high" }},
		{"badge differs from unread_count", func(m map[string]any) { aps(m)["badge"] = 9 }},
		{"thread differs from project", func(m map[string]any) { aps(m)["thread-id"] = "WF-OTHER-1" }},
		{"collapse key differs from project", func(m map[string]any) { obj(m, "android")["collapse_key"] = "x" }},
		{"empty title", func(m map[string]any) { obj(m, "notification")["title"] = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(readExample(t, "push-progress.json"), &m); err != nil {
				t.Fatal(err)
			}
			tt.mutate(m)
			raw, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			err = v.Validate(raw)
			if err == nil {
				t.Fatal("accepted")
			}
			t.Log(err)
		})
	}
}

func obj(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }
func data(m map[string]any) map[string]any            { return obj(m, "data") }
func aps(m map[string]any) map[string]any {
	return obj(obj(obj(m, "apns"), "payload"), "aps")
}

// sendThroughSink sends msgs with the real FCM sender to a local sink and
// returns what the sink received.
func sendThroughSink(t *testing.T, msgs []push.Message) []pushsink.Received {
	t.Helper()
	sink := pushsink.New(pushsink.Options{})
	base, err := sink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sink.Close(); err != nil {
			t.Errorf("sink Close: %v", err)
		}
	})
	sender, err := fcm.NewSender(context.Background(), fcm.Config{Endpoint: pushsink.Endpoint(base)})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range sender.Send(context.Background(), msgs) {
		if r.Outcome != push.OutcomeSent {
			t.Fatalf("message %d: %+v", i, r)
		}
	}
	got := sink.Delivered()
	if len(got) != len(msgs) {
		t.Fatalf("sink received %d messages, want %d", len(got), len(msgs))
	}
	return got
}

// progressExample and correctionExample are the pushes behind the example
// files.
var (
	progressExample = push.Message{
		Token: "dev-token-ent-demo-android-0001", Provider: push.ProviderFCM,
		NotificationID: "n-7d3f9a2c41b8e605", Category: outbox.CategoryProgress,
		ProjectID: "WF-DEMO-CIVIL", ItemCodes: []string{"GH-02", "ST-01"},
		Route: "zsb://projects/WF-DEMO-CIVIL/next-steps", UnreadCount: 3,
		Title: "建设工程规划许可证已预审批", Body: "下一步：施工图审查；需准备：施工图设计文件、审查合同",
	}
	correctionExample = push.Message{
		Token: "dev-token-ent-demo-ios-0002", Provider: push.ProviderFCM,
		NotificationID: "n-c0a1e95b2f4d7316", Category: outbox.CategoryCorrection,
		ProjectID: "WF-DEMO-INDUSTRIAL", ItemCodes: []string{"KG-01"},
		Route: "zsb://projects/WF-DEMO-INDUSTRIAL/progress", UnreadCount: 1,
		Title: "需要补正：建筑工程施工许可", Body: "请补充：安全生产措施备案材料。补正期间不计入审批时限。",
		Critical: true,
	}
)

// TestSentPushesMatchContract sends pushes through firebase-admin-go to the
// local sink and validates every message the sink received.
func TestSentPushesMatchContract(t *testing.T) {
	announcement := push.Message{
		Token: "tok-announce", NotificationID: "n-announce-1", Category: outbox.CategoryAnnouncement,
		Route: "zsb://inbox", Title: "系统公告", Body: "春节期间审批安排",
	}
	agentTask := push.Message{
		Token: "tok-agent", NotificationID: "n-task-9", Category: outbox.CategoryAgentTask,
		ProjectID: "WF-DEMO-INDUSTRIAL", Route: "zsb://agent/tasks/9", UnreadCount: 120,
		Title: "新任务：WF-DEMO-INDUSTRIAL 申请帮代办", Body: "请在 2 个工作日内认领",
	}
	overdue := push.Message{
		Token: "tok-deadline", NotificationID: "n-deadline-3", Category: outbox.CategoryDeadline,
		ProjectID: "WF-DEMO-CIVIL", ItemCodes: []string{"ST-01"}, Route: "zsb://projects/WF-DEMO-CIVIL/progress",
		Title: "Overdue: construction drawing review", Body: "The statutory limit passed yesterday.", Critical: true,
	}
	v := newPushValidator(t)
	for _, r := range sendThroughSink(t, []push.Message{progressExample, correctionExample, announcement, agentTask, overdue}) {
		if err := v.Validate(r.Message); err != nil {
			t.Errorf("message to %s: %v\n%s", r.Token, err, r.Message)
		}
	}
}

// TestExamplesAreWhatTheSenderSends keeps the example files honest: each is
// exactly the message the sender puts on the wire for its push.
func TestExamplesAreWhatTheSenderSends(t *testing.T) {
	examples := map[string]string{
		progressExample.Token:   "push-progress.json",
		correctionExample.Token: "push-correction.json",
	}
	for _, r := range sendThroughSink(t, []push.Message{progressExample, correctionExample}) {
		file := examples[r.Token]
		var got, want any
		if err := json.Unmarshal(r.Message, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(readExample(t, file), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s differs from what was sent:\n%s", file, strings.TrimSpace(string(r.Message)))
		}
	}
}
