package notify

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/internal/workdays"
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
	if err := w.d.DB.Take(&held, "id = ?", task.ID).Error; err != nil {
		t.Fatal(err)
	}
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
	if err := w.d.DB.Take(&got, "id = ?", task.ID).Error; err != nil {
		t.Fatal(err)
	}
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
	if err := w.d.DB.Model(&models.AgentTask{}).Where("kind = ?", models.TaskDeadline).Count(&tasks).Error; err != nil {
		t.Fatal(err)
	}
	if tasks != 1 {
		t.Fatalf("%d deadline tasks, want 1 per due date", tasks)
	}
}

// setFacts gives the demo project facts, as project.upserted will once the
// webhook decodes them.
func (w *world) setFacts(f models.Facts) {
	w.t.Helper()
	p := w.project()
	if err := p.SetFacts(f); err != nil {
		w.t.Fatal(err)
	}
	if err := w.d.DB.Model(&models.Project{}).Where("id = ?", p.ID).Update("facts", p.FactsJSON).Error; err != nil {
		w.t.Fatal(err)
	}
}

// setStatus moves an item of the demo project the way the webhook's
// item.status_changed does (models.ApplyItemStatus) at the world's time,
// for statuses and facts the webhook does not decode yet.
func (w *world) setStatus(code, status, reason string) {
	w.t.Helper()
	st := models.ItemState{ProjectID: "WF-DEMO-CIVIL", ItemCode: code, Status: models.StatusNotStarted}
	if err := w.d.DB.Where("project_id = ? AND item_code = ?", st.ProjectID, code).Limit(1).Find(&st).Error; err != nil {
		w.t.Fatal(err)
	}
	if _, err := models.ApplyItemStatus(w.tasksCalendar(), &st, status, reason, w.clock.Now()); err != nil {
		w.t.Fatal(err)
	}
	st.UpdatedAt = w.clock.Now().UTC()
	if err := w.d.DB.Save(&st).Error; err != nil {
		w.t.Fatal(err)
	}
	if st.AcceptedOn != nil {
		w.d.DB.Model(&models.Project{}).Where("id = ? AND started_on IS NULL", st.ProjectID).Update("started_on", st.AcceptedOn)
	}
}

func (w *world) tasksCalendar() *workdays.Calendar { return w.in.Calendar }

// deadlineWarnings lists the stored warnings as "item:kind" ("" for the
// main flow).
func (w *world) deadlineWarnings() []string {
	w.t.Helper()
	var ws []models.DeadlineWarning
	if err := w.d.DB.Order("item_code, kind").Find(&ws).Error; err != nil {
		w.t.Fatal(err)
	}
	out := []string{}
	for _, x := range ws {
		out = append(out, x.ItemCode+":"+x.Kind)
	}
	return out
}

// A suspended item (专家评审, 听证, …) stops its clock: no warning while it
// lasts, and after it the due date has moved by the suspension's days.
func TestDeadlineNotWhileSuspended(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	w.item("GH-02", models.StatusAccepted, nil) // Tue 10 March, due Tue 17 March
	w.clock.Set(shanghai(2026, 3, 11, 9, 0))
	w.setStatus("GH-02", models.StatusSuspended, models.SuspendExpertReview)
	ctx := context.Background()
	for _, day := range []int{12, 18, 25} {
		w.clock.Set(shanghai(2026, 3, day, 9, 0))
		if n, err := w.tasks.ScanDeadlines(ctx); err != nil || n != 0 {
			t.Fatalf("%d March: warned %d (%v) about a suspended item: %v", day, n, err, w.deadlineWarnings())
		}
	}
	// Back with the department on Thu 26 March: suspended from the 11th
	// to the 25th, none of the five days used yet; they run from the 26th,
	// due Wed 1 April, and on the 27th three are left.
	w.clock.Set(shanghai(2026, 3, 26, 9, 0))
	w.setStatus("GH-02", models.StatusAccepted, "")
	w.clock.Set(shanghai(2026, 3, 27, 9, 0))
	if n, err := w.tasks.ScanDeadlines(ctx); err != nil || n != 1 {
		t.Fatalf("after the suspension warned %d (%v): %v", n, err, w.deadlineWarnings())
	}
	var warning models.DeadlineWarning
	w.d.DB.Take(&warning, "item_code = ?", "GH-02")
	if warning.Kind != "due_soon" || warning.Day != "2026-04-01" {
		t.Fatalf("warning %+v, want due_soon for 2026-04-01", warning)
	}
}

// An item the project's facts rule out is not in the progress: its clock
// is never warned about, even if the upstream reports it accepted.
func TestDeadlineNotForItemNotRequired(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	small := 800.0
	w.setFacts(models.Facts{EnergyTCEPerYear: &small, ElectricityMWhPerYear: &small}) // under the energy-review thresholds
	w.setStatus("LX-02", models.StatusAccepted, "")                                   // 节能审查, 5 working days
	w.clock.Set(shanghai(2026, 3, 30, 9, 0))
	if n, err := w.tasks.ScanDeadlines(context.Background()); err != nil || n != 0 {
		t.Fatalf("warned %d (%v) about an item not required: %v", n, err, w.deadlineWarnings())
	}
}

// A project whose required main-flow items are all decided is finished:
// its main flow is never overdue, even when it took longer than the
// promise, and a later item with its own running clock (电力接入) does not
// bring the main-flow warning back; that item's own deadline is still
// warned about.
func TestDeadlineNotFromFinishedProject(t *testing.T) {
	w := newWorld(t, 0)
	w.upsert(false)
	facts := models.Facts{}
	if err := json.Unmarshal([]byte(`{"investment":"private","land_source":"transfer","new_construction_land":false,
		"use":"residential","floor_area_m2":20000,"height_m":45,"energy_tce_per_year":600,"electricity_mwh_per_year":2500,
		"eia_category":"none","site_area_ha":0.4,"earthwork_m3":800,"zones":[],"own_water_source":false,
		"hazardous_chemicals":false,"civil_air_defence":"fee","regional_assessment":[]}`), &facts); err != nil {
		t.Fatal(err)
	}
	w.setFacts(facts)
	cat := models.DefaultCatalog()
	var mainFlow []string
	for _, r := range cat.Requirements(models.ProjectFacts{Type: models.ProjectCivil, Facts: facts}) {
		it, _ := cat.Item(r.Code)
		if th, _ := cat.Theme(it.Theme); th.PreStart && r.Needed() {
			mainFlow = append(mainFlow, r.Code)
		}
	}
	if len(mainFlow) < 5 {
		t.Fatalf("main flow %v", mainFlow)
	}
	// Every main-flow item accepted on 10 March and decided on 11 May,
	// beyond the 35 working days.
	for _, code := range mainFlow {
		w.setStatus(code, models.StatusAccepted, "")
	}
	w.clock.Set(shanghai(2026, 5, 11, 9, 0))
	for _, code := range mainFlow {
		w.setStatus(code, models.StatusApproved, "")
	}
	w.setStatus("JR-01", models.StatusAccepted, "") // 10 working days, due 25 May
	w.clock.Set(shanghai(2026, 5, 22, 9, 0))
	if n, err := w.tasks.ScanDeadlines(context.Background()); err != nil || n != 1 {
		t.Fatalf("warned %d (%v): %v", n, err, w.deadlineWarnings())
	}
	if got := w.deadlineWarnings(); len(got) != 1 || got[0] != "JR-01:due_soon" {
		t.Fatalf("warnings %v, want only JR-01's", got)
	}
	w.clock.Set(shanghai(2026, 6, 1, 9, 0))
	if _, err := w.tasks.ScanDeadlines(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := w.deadlineWarnings(); len(got) != 2 || got[0] != "JR-01:due_soon" || got[1] != "JR-01:overdue" {
		t.Fatalf("warnings %v, want JR-01's two and none for the finished main flow", got)
	}
}
