package notify

import (
	"fmt"
	"strings"

	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/outbox"
)

// suspendText says why an item's clock stopped, in each locale.
var suspendText = map[string][2]string{
	models.SuspendExpertReview: {"专家评审", "expert review"},
	models.SuspendHearing:      {"听证", "hearing"},
	models.SuspendTesting:      {"检测", "testing"},
	models.SuspendPublicNotice: {"公示", "public notice"},
	models.SuspendSiteSurvey:   {"现场勘查", "site survey"},
}

// statusText names item statuses in each locale, as a notice title ends.
var statusText = map[string][2]string{
	models.StatusSubmitted:          {"已提交", "submitted"},
	models.StatusAccepted:           {"已受理", "accepted"},
	models.StatusCorrectionRequired: {"需补正", "correction requested"},
	models.StatusPreApproved:        {"已预审批", "pre-approved"},
	models.StatusApproved:           {"已办结", "approved"},
	models.StatusRejected:           {"未予许可", "rejected"},
	models.StatusWithdrawn:          {"已撤回", "withdrawn"},
	models.StatusSuspended:          {"暂停计时", "clock paused"},
}

// taskText names the kinds of agent task.
var taskText = map[string][2]string{
	models.TaskHelpRequest: {"申请帮代办", "asks for a help-agent"},
	models.TaskKeyProject:  {"重点项目全程帮代办", "key project: full-process help"},
	models.TaskCorrection:  {"补正协助", "help with a correction"},
	models.TaskDeadline:    {"办理时限预警", "deadline at risk"},
}

// texts is the notice text catalogue of one locale.
type texts struct {
	en bool
}

func textsFor(locale string) texts { return texts{en: locale == LocaleEn} }

func (t texts) pick(pair [2]string) string {
	if t.en {
		return pair[1]
	}
	return pair[0]
}

func (t texts) join(list []string) string {
	if t.en {
		return strings.Join(list, ", ")
	}
	return strings.Join(list, "、")
}

func (t texts) itemName(n outbox.Note) string {
	if t.en && n.ItemNameEn != "" {
		return n.ItemNameEn
	}
	if n.ItemName != "" {
		return n.ItemName
	}
	return n.ItemCode
}

// render writes a note's title and body in the locale.
func (t texts) render(n outbox.Note) (title, body string) {
	switch n.Kind {
	case outbox.NoteTask:
		kind := t.pick(taskText[n.TaskKind])
		if t.en {
			return "New task: " + n.ProjectName + " " + kind, "Claim it in your task list."
		}
		return "新任务：" + n.ProjectName + "项目" + kind, "请在“我的任务”中认领办理。"
	case outbox.NoteDeadlineSoon, outbox.NoteDeadlineOverdue:
		return t.deadline(n)
	}
	item := t.itemName(n)
	if n.Status == models.StatusCorrectionRequired {
		var parts []string
		if n.Reason != "" {
			parts = append(parts, n.Reason)
		}
		if len(n.Materials) > 0 {
			if t.en {
				parts = append(parts, "materials requested: "+t.join(n.Materials))
			} else {
				parts = append(parts, "需补正材料："+t.join(n.Materials))
			}
		}
		if t.en {
			return "Correction requested: " + item, n.ProjectName + ": " + strings.Join(parts, "; ")
		}
		return "补正通知：" + item, n.ProjectName + "：" + strings.Join(parts, "；")
	}
	title = item + " " + t.pick(statusText[n.Status])
	if t.en && title[0] >= 'a' && title[0] <= 'z' {
		title = strings.ToUpper(title[:1]) + title[1:]
	}
	if len(n.NextSteps) == 0 {
		body = n.ProjectName
		switch reason, ok := suspendText[n.Reason]; {
		case n.Status == models.StatusSuspended && ok:
			body += t.sep() + t.pick(reason)
		case n.Reason != "":
			body += t.sep() + n.Reason
		}
		return title, body
	}
	var steps, mats []string
	for _, s := range n.NextSteps {
		name := s.Name
		if t.en && s.NameEn != "" {
			name = s.NameEn
		}
		steps = append(steps, name)
		for _, m := range s.Materials {
			mn := m.Name
			if t.en && m.NameEn != "" {
				mn = m.NameEn
			}
			mats = append(mats, mn)
		}
	}
	if t.en {
		body = "Next: " + t.join(steps)
		if len(mats) > 0 {
			body += "; prepare: " + t.join(mats)
		}
		return title, body
	}
	body = "下一步：" + t.join(steps)
	if len(mats) > 0 {
		body += "；需准备：" + t.join(mats)
	}
	return title, body
}

func (t texts) sep() string {
	if t.en {
		return ": "
	}
	return "："
}

// deadline writes a deadline warning. An item's clock is its time limit
// from acceptance (the catalog's limit, which for most items is modelled
// rather than read from a rule: the push says 办理时限, not 法定, since it
// cannot promise the figure is the statutory one); the main flow's is the
// 35 / 25 / 15 working days the departments may take (主流程审批时限,
// design/domain.md §2), which is neither the project's total time nor the
// enterprise's: preparing materials, corrections and suspensions do not
// count, so its date is when the limit runs out if the departments work on
// the project every working day from now.
func (t texts) deadline(n outbox.Note) (title, body string) {
	overdue := n.Kind == outbox.NoteDeadlineOverdue
	switch {
	case n.ItemCode != "" && !overdue && t.en:
		title = "Due soon: " + t.itemName(n)
		body = fmt.Sprintf("%s: %d working days of the time limit left, due %s.", n.ProjectName, n.DaysLeft, n.DueOn)
	case n.ItemCode != "" && !overdue:
		title = "时限提醒：" + t.itemName(n)
		body = fmt.Sprintf("%s：办理时限剩余 %d 个工作日，%s 到期。", n.ProjectName, n.DaysLeft, n.DueOn)
	case n.ItemCode != "" && t.en:
		title = "Overdue: " + t.itemName(n)
		body = fmt.Sprintf("%s: the time limit passed; it was due %s.", n.ProjectName, n.DueOn)
	case n.ItemCode != "":
		title = "已超时：" + t.itemName(n)
		body = fmt.Sprintf("%s：已超过办理时限，%s 到期。", n.ProjectName, n.DueOn)
	case !overdue && t.en:
		title = "Due soon: main-flow approval time"
		body = fmt.Sprintf("%s: %d working days of the main-flow approval time left", n.ProjectName, n.DaysLeft)
		if n.DaysLimit > 0 {
			body = fmt.Sprintf("%s: departments have used %d of the %d working days of the main-flow approval time, %d left", n.ProjectName, n.DaysUsed, n.DaysLimit, n.DaysLeft)
		}
		body += fmt.Sprintf(" (preparing materials, corrections and suspensions do not count); if departments work on it every working day, it runs out on %s.", n.DueOn)
	case !overdue:
		title = "时限提醒：主流程审批时限"
		body = fmt.Sprintf("%s：主流程审批时限剩余 %d 个工作日", n.ProjectName, n.DaysLeft)
		if n.DaysLimit > 0 {
			body = fmt.Sprintf("%s：部门审批已用 %d 个工作日，主流程审批时限 %d 个工作日，剩余 %d 个工作日", n.ProjectName, n.DaysUsed, n.DaysLimit, n.DaysLeft)
		}
		body += fmt.Sprintf("（企业准备材料、补正和专家评审等暂停时间不计入）；各部门连续办理时将于 %s 用满。", n.DueOn)
	case t.en:
		title = "Overdue: main-flow approval time"
		body = fmt.Sprintf("%s: the departments used up the main-flow approval time on %s.", n.ProjectName, n.DueOn)
		if n.DaysLimit > 0 {
			body = fmt.Sprintf("%s: departments have used %d working days, more than the %d of the main-flow approval time (used up on %s).", n.ProjectName, n.DaysUsed, n.DaysLimit, n.DueOn)
		}
	default:
		title = "已超时：主流程审批时限"
		body = fmt.Sprintf("%s：部门审批已于 %s 用满主流程审批时限。", n.ProjectName, n.DueOn)
		if n.DaysLimit > 0 {
			body = fmt.Sprintf("%s：部门审批已用 %d 个工作日，超过主流程审批时限 %d 个工作日（%s 用满）。", n.ProjectName, n.DaysUsed, n.DaysLimit, n.DueOn)
		}
	}
	if n.Provisional {
		body += t.pick(provisionalText)
	}
	return title, body
}

// provisionalText follows a date counted on a year whose holiday schedule
// is not published yet (progress calendar "statutory_only").
var provisionalText = [2]string{
	"日期按法定节假日推算，次年放假调休安排公布后可能变动。",
	" The date counts the statutory holidays only and may change once next year's official holiday schedule is published.",
}

// digest is the one push standing for count changes to a project.
func (t texts) digest(count int, projectName string) (title, body string) {
	if t.en {
		return fmt.Sprintf("%d items updated", count), projectName + ": open the app for details."
	}
	return fmt.Sprintf("%d 项事项有更新", count), projectName + "：请打开应用查看详情。"
}
