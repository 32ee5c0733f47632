package notify

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/outbox"
)

func (w *world) project() models.Project {
	w.t.Helper()
	var p models.Project
	if err := w.d.DB.Take(&p, "id = ?", "WF-DEMO-CIVIL").Error; err != nil {
		w.t.Fatal(err)
	}
	return p
}

func TestHelpRequestPushedClaimedCompleted(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	ctx := context.Background()
	task, err := w.tasks.CreateHelpRequest(ctx, w.ent, w.project(), "施工许可", "请协助办理")
	if err != nil {
		t.Fatal(err)
	}
	w.drain()
	got := w.delivered("tok-agent-town")
	if len(got) != 1 || got[0].Notification.Title != "新任务：示例住宅项目申请帮代办" || got[0].Data["category"] != outbox.CategoryAgentTask {
		t.Fatalf("town agent pushes = %+v", got)
	}
	if n := len(w.delivered("tok-agent-county")); n != 0 {
		t.Fatalf("county agent got %d pushes before escalation", n)
	}

	open, err := w.tasks.ListForAgent(ctx, w.agentTown, models.TaskOpen, 20, 0)
	if err != nil || len(open) != 1 || open[0].ID != task.ID {
		t.Fatalf("open tasks = %+v, %v", open, err)
	}
	if _, err := w.tasks.Claim(ctx, w.agentCounty, task.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("county claim of a town task: %v, want not_found", err)
	}
	other := w.user(models.User{Username: "agent-town-2", Role: models.RoleAgent, AgentLevel: models.LevelTown, RegionCode: "370702"})
	results := make(chan error, 2)
	for _, a := range []models.User{w.agentTown, other} {
		go func() {
			_, err := w.tasks.Claim(ctx, a, task.ID)
			results <- err
		}()
	}
	var wins, taken int
	for range 2 {
		switch err := <-results; models.ErrorCode(err) {
		case models.CodeTaskTaken:
			taken++
		default:
			if err != nil {
				t.Fatal(err)
			}
			wins++
		}
	}
	if wins != 1 || taken != 1 {
		t.Fatalf("claims: %d won, %d task_taken; want one each", wins, taken)
	}
	var held models.AgentTask
	w.d.DB.Take(&held, "id = ?", task.ID)
	winner := w.agentTown
	if *held.ClaimedBy == other.ID {
		winner = other
	}
	done, err := w.tasks.Complete(ctx, winner, task.ID)
	if err != nil || done.Status != models.TaskDone {
		t.Fatalf("complete = %+v, %v", done, err)
	}
	mine, err := w.tasks.ListForAgent(ctx, winner, models.TaskDone, 20, 0)
	if err != nil || len(mine) != 1 {
		t.Fatalf("done tasks = %+v, %v", mine, err)
	}
}

func TestUnclaimedTaskEscalates(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	ctx := context.Background()
	task, err := w.tasks.CreateHelpRequest(ctx, w.ent, w.project(), "用地", "")
	if err != nil {
		t.Fatal(err)
	}
	w.drain()
	if n, err := w.tasks.EscalateDue(ctx); err != nil || n != 0 {
		t.Fatalf("escalated %d early (%v)", n, err)
	}
	w.clock.Add(time.Hour + time.Second)
	if n, err := w.tasks.EscalateDue(ctx); err != nil || n != 1 {
		t.Fatalf("escalated %d, %v; want 1", n, err)
	}
	w.drain()
	var got models.AgentTask
	w.d.DB.Take(&got, "id = ?", task.ID)
	if got.Level != models.LevelCounty || got.EscalateAt == nil {
		t.Fatalf("task after escalation = %+v", got)
	}
	pushes := w.delivered("tok-agent-county")
	if len(pushes) != 1 || !strings.Contains(pushes[0].Notification.Title, "申请帮代办") {
		t.Fatalf("county pushes = %+v", pushes)
	}
	if _, err := w.tasks.Claim(ctx, w.agentCounty, task.ID); err != nil {
		t.Fatalf("county claim after escalation: %v", err)
	}
}

func TestDeadlineWarnsOnce(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	w.item("GH-02", models.StatusAccepted, nil) // Tue 10 March, 5 working days: due Tue 17 March
	w.drain()
	ctx := context.Background()
	if n, err := w.tasks.ScanDeadlines(ctx); err != nil || n != 0 {
		t.Fatalf("warned %d on day one (%v)", n, err)
	}
	w.clock.Set(shanghai(2026, 3, 12, 9, 0)) // Thursday: 3 working days left
	for i, want := range []int{1, 0} {
		if n, err := w.tasks.ScanDeadlines(ctx); err != nil || n != want {
			t.Fatalf("scan %d warned %d (%v), want %d", i, n, err, want)
		}
	}
	w.drain()
	got := w.delivered("tok-ent-demo")
	last := got[len(got)-1]
	if last.Data["category"] != outbox.CategoryDeadline || !strings.HasPrefix(last.Notification.Title, "时限提醒：建设工程规划许可证") {
		t.Fatalf("deadline push = %+v", last)
	}
	w.clock.Set(shanghai(2026, 3, 18, 9, 0)) // overdue
	if n, err := w.tasks.ScanDeadlines(ctx); err != nil || n != 1 {
		t.Fatalf("overdue scan warned %d (%v)", n, err)
	}
	w.drain()
	got = w.delivered("tok-ent-demo")
	if last := got[len(got)-1]; last.Android.Priority != "high" || !strings.HasPrefix(last.Notification.Title, "已超时") {
		t.Fatalf("overdue push = %+v", last)
	}
	var tasks int64
	w.d.DB.Model(&models.AgentTask{}).Where("kind = ?", models.TaskDeadline).Count(&tasks)
	if tasks != 1 {
		t.Fatalf("%d deadline tasks, want 1 per due date", tasks)
	}
}
