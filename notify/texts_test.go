package notify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/outbox"
)

// TestDeadlineTextsSayWhatTheClockMeasures renders every deadline notice in
// both locales. The 35 / 25 / 15 working days measure the departments' time
// on the main flow (design/domain.md §2), not the project's total time: the
// main-flow notices name the main-flow approval time, say what does not
// count, and give the days used against the limit; an item's notice names
// its statutory limit. A date counted without the official holiday table
// is marked as such, and only then.
func TestDeadlineTextsSayWhatTheClockMeasures(t *testing.T) {
	mainSoon := outbox.Note{Kind: outbox.NoteDeadlineSoon, ProjectName: "示例住宅", DueOn: "2026-04-28", DaysLeft: 3, DaysUsed: 32, DaysLimit: 35}
	mainOver := outbox.Note{Kind: outbox.NoteDeadlineOverdue, ProjectName: "示例住宅", DueOn: "2026-04-24", DaysLeft: -1, DaysUsed: 36, DaysLimit: 35}
	itemSoon := outbox.Note{Kind: outbox.NoteDeadlineSoon, ProjectName: "示例住宅", ItemCode: "GH-02", ItemName: "建设工程规划许可证核发",
		ItemNameEn: "Construction engineering planning permit", DueOn: "2026-03-17", DaysLeft: 3}
	itemOver := itemSoon
	itemOver.Kind, itemOver.DaysLeft = outbox.NoteDeadlineOverdue, -1
	tests := []struct {
		name   string
		note   outbox.Note
		locale string
		title  string
		body   []string
	}{
		{"main flow due soon", mainSoon, LocaleZhCN, "时限提醒：主流程审批时限",
			[]string{"部门审批已用 32 个工作日", "主流程审批时限 35 个工作日", "剩余 3 个工作日", "补正", "不计入", "2026-04-28"}},
		{"main flow due soon", mainSoon, LocaleEn, "Due soon: main-flow approval time",
			[]string{"used 32 of the 35 working days of the main-flow approval time", "3 left", "corrections", "do not count", "2026-04-28"}},
		{"main flow overdue", mainOver, LocaleZhCN, "已超时：主流程审批时限",
			[]string{"部门审批已用 36 个工作日", "超过主流程审批时限 35 个工作日", "2026-04-24"}},
		{"main flow overdue", mainOver, LocaleEn, "Overdue: main-flow approval time",
			[]string{"departments have used 36 working days", "more than the 35 of the main-flow approval time", "2026-04-24"}},
		{"item due soon", itemSoon, LocaleZhCN, "时限提醒：建设工程规划许可证核发", []string{"办理时限剩余 3 个工作日", "2026-03-17 到期"}},
		{"item due soon", itemSoon, LocaleEn, "Due soon: Construction engineering planning permit", []string{"3 working days of the time limit left", "due 2026-03-17"}},
		{"item overdue", itemOver, LocaleZhCN, "已超时：建设工程规划许可证核发", []string{"已超过办理时限", "2026-03-17"}},
		{"item overdue", itemOver, LocaleEn, "Overdue: Construction engineering planning permit", []string{"the time limit passed", "2026-03-17"}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" "+tt.locale, func(t *testing.T) {
			for _, provisional := range []bool{false, true} {
				n := tt.note
				n.Provisional = provisional
				title, body := textsFor(tt.locale).render(n)
				if title != tt.title {
					t.Errorf("title %q, want %q", title, tt.title)
				}
				for _, want := range tt.body {
					if !strings.Contains(body, want) {
						t.Errorf("body %q lacks %q", body, want)
					}
				}
				for _, wrong := range []string{"项目总时限", "总时限", "project deadline", "total"} {
					if strings.Contains(title+body, wrong) {
						t.Errorf("%q / %q says %q", title, body, wrong)
					}
				}
				marked := strings.Contains(body, "法定节假日推算") || strings.Contains(body, "statutory holidays only")
				if marked != provisional {
					t.Errorf("provisional %v, body %q", provisional, body)
				}
			}
		})
	}
}

// TestMainFlowOverduePushNamesTheApprovalTime lets a main-flow item stay
// with its department past 35 working days: the critical push, the inbox
// entry and the agent task name the main-flow approval time and the days
// the departments used, never a project's total time.
func TestMainFlowOverduePushNamesTheApprovalTime(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	w.setStatus("LX-01", models.StatusAccepted, "") // Tue 10 March 2026, never decided
	w.clock.Set(shanghai(2026, 5, 20, 9, 0))
	if _, err := w.tasks.ScanDeadlines(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.drain()
	var push *sinkMsg
	for _, m := range w.delivered("tok-ent-demo") {
		if m.Data["category"] == outbox.CategoryDeadline && m.Data["item_codes"] == "" {
			push = &m
		}
	}
	if push == nil {
		t.Fatalf("no main-flow deadline push: %+v", w.delivered("tok-ent-demo"))
	}
	if push.Notification.Title != "已超时：主流程审批时限" || push.Android.Priority != "high" ||
		!strings.Contains(push.Notification.Body, "超过主流程审批时限 35 个工作日") || !strings.Contains(push.Notification.Body, "部门审批已用 ") {
		t.Errorf("main-flow overdue push = %+v", push)
	}
	found := false
	for _, n := range w.inbox(w.ent) {
		if n.Category == outbox.CategoryDeadline && n.ItemCodes == "" {
			found = n.Title == push.Notification.Title && n.Body == push.Notification.Body
		}
	}
	if !found {
		t.Errorf("the inbox does not hold the push's text: %+v", w.inbox(w.ent))
	}
	var task models.AgentTask
	if err := w.d.DB.Where("kind = ? AND dedup_key LIKE ?", models.TaskDeadline, "deadline:WF-DEMO-CIVIL::%").Take(&task).Error; err != nil {
		t.Fatal(err)
	}
	if task.Title != "时限预警：示例住宅 主流程审批时限" {
		t.Errorf("agent task title %q", task.Title)
	}
}

// TestDeadlineInUnpublishedYearIsProvisional accepts an item on the last
// working days of 2027: its five working days run into 2028, whose holiday
// schedule the calendar does not have, so only the statutory holidays are
// known (元旦 falls on a Saturday; whether Monday 3 January is a bridging
// day is not) and the push says the date is computed from the statutory
// holidays. The same warning inside a published year says nothing of the
// kind.
func TestDeadlineInUnpublishedYearIsProvisional(t *testing.T) {
	for _, tt := range []struct {
		name        string
		accept      [3]int
		scan        [3]int
		due         string
		provisional bool
	}{
		{"into 2028", [3]int{2027, 12, 29}, [3]int{2028, 1, 3}, "2028-01-05", true},
		{"inside 2026", [3]int{2026, 3, 10}, [3]int{2026, 3, 12}, "2026-03-17", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 0)
			w.upsert(false)
			w.clock.Set(shanghai(tt.accept[0], time.Month(tt.accept[1]), tt.accept[2], 10, 0))
			w.item("GH-02", models.StatusAccepted, nil) // 5 working days
			w.clock.Set(shanghai(tt.scan[0], time.Month(tt.scan[1]), tt.scan[2], 9, 0))
			if _, err := w.tasks.ScanDeadlines(context.Background()); err != nil {
				t.Fatal(err)
			}
			w.drain()
			var push *sinkMsg
			for _, m := range w.delivered("tok-ent-demo") {
				if m.Data["category"] == outbox.CategoryDeadline && m.Data["item_codes"] == "GH-02" {
					push = &m
				}
			}
			if push == nil {
				t.Fatalf("no warning for GH-02: %v", w.deadlineWarnings())
			}
			if !strings.Contains(push.Notification.Body, tt.due+" 到期") {
				t.Errorf("body %q, want due %s", push.Notification.Body, tt.due)
			}
			if got := strings.Contains(push.Notification.Body, "法定节假日推算"); got != tt.provisional {
				t.Errorf("provisional = %v, want %v: %q", got, tt.provisional, push.Notification.Body)
			}
		})
	}
}
