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
	case outbox.NoteDeadlineSoon:
		if t.en {
			return "Due soon: " + t.subject(n), fmt.Sprintf("%s: %d working days left, due %s.", n.ProjectName, n.DaysLeft, n.DueOn)
		}
		return "时限提醒：" + t.subject(n), fmt.Sprintf("%s：剩余 %d 个工作日，%s 到期。", n.ProjectName, n.DaysLeft, n.DueOn)
	case outbox.NoteDeadlineOverdue:
		if t.en {
			return "Overdue: " + t.subject(n), fmt.Sprintf("%s: was due %s.", n.ProjectName, n.DueOn)
		}
		return "已超时：" + t.subject(n), fmt.Sprintf("%s：已于 %s 到期。", n.ProjectName, n.DueOn)
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

func (t texts) subject(n outbox.Note) string {
	if n.ItemCode == "" {
		if t.en {
			return "project deadline"
		}
		return "项目总时限"
	}
	return t.itemName(n)
}

// digest is the one push standing for count changes to a project.
func (t texts) digest(count int, projectName string) (title, body string) {
	if t.en {
		return fmt.Sprintf("%d items updated", count), projectName + ": open the app for details."
	}
	return fmt.Sprintf("%d 项事项有更新", count), projectName + "：请打开应用查看详情。"
}
