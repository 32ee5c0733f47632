package notify

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/weifang/kaigong-zsb/internal/testenv"
	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/outbox"
)

// contractPreferences is the example of the contract's "Push preferences".
const contractPreferences = `{"push_enabled": true,
 "categories": {"progress": true, "next_steps": true, "correction": true, "deadline": true,
                "agent_task": true, "announcement": false},
 "quiet_hours": {"enabled": true, "start": "22:00", "end": "07:30"},
 "timezone": "Asia/Shanghai", "muted_projects": [], "locale": "zh-CN"}`

func TestDefaultPreferencesMatchContract(t *testing.T) {
	raw, err := json.Marshal(DefaultPreferences())
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(contractPreferences), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("default preferences\n got %s\nwant %s", raw, contractPreferences)
	}

	var back Preferences
	if err := json.Unmarshal([]byte(contractPreferences), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, DefaultPreferences()) {
		t.Errorf("contract example decodes to %+v", back)
	}
}

func TestPreferencesMarshalEmptyCollections(t *testing.T) {
	raw, err := json.Marshal(Preferences{})
	if err != nil {
		t.Fatal(err)
	}
	if s := string(raw); !strings.Contains(s, `"muted_projects":[]`) || !strings.Contains(s, `"categories":{}`) {
		t.Errorf("zero preferences marshal to %s", s)
	}
}

func TestPreferencesValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(p *Preferences)
		want   []string // fields in error, in order
	}{
		{"defaults are valid", func(*Preferences) {}, nil},
		{"english, UTC, quiet hours off with equal times", func(p *Preferences) {
			p.Locale, p.Timezone = LocaleEn, "UTC"
			p.QuietHours = QuietHours{Enabled: false, Start: "00:00", End: "00:00"}
		}, nil},
		{"partial categories are fine", func(p *Preferences) { p.Categories = map[string]bool{"progress": false} }, nil},
		{"edges of the day", func(p *Preferences) { p.QuietHours.Start, p.QuietHours.End = "23:59", "00:00" }, nil},
		{"correction switched off", func(p *Preferences) { p.Categories[outbox.CategoryCorrection] = false }, []string{"categories.correction"}},
		{"unknown category", func(p *Preferences) { p.Categories["marketing"] = true }, []string{"categories.marketing"}},
		{"bad times", func(p *Preferences) { p.QuietHours.Start, p.QuietHours.End = "24:00", "7:30" }, []string{"quiet_hours.start", "quiet_hours.end"}},
		{"minutes out of range", func(p *Preferences) { p.QuietHours.Start = "22:60" }, []string{"quiet_hours.start"}},
		{"not a time", func(p *Preferences) { p.QuietHours.End = "ab:cd" }, []string{"quiet_hours.end"}},
		{"start equals end", func(p *Preferences) { p.QuietHours.Start, p.QuietHours.End = "22:00", "22:00" }, []string{"quiet_hours.end"}},
		{"unknown zone", func(p *Preferences) { p.Timezone = "Mars/Olympus_Mons" }, []string{"timezone"}},
		{"empty zone", func(p *Preferences) { p.Timezone = "" }, []string{"timezone"}},
		{"Local zone", func(p *Preferences) { p.Timezone = "Local" }, []string{"timezone"}},
		{"unknown locale", func(p *Preferences) { p.Locale = "zh-TW" }, []string{"locale"}},
		{"muted project id too long", func(p *Preferences) {
			p.MutedProjects = []string{"WF-1", strings.Repeat("x", 65), ""}
		}, []string{"muted_projects[1]", "muted_projects[2]"}},
		{"too many muted projects", func(p *Preferences) {
			p.MutedProjects = make([]string, 201)
			for i := range p.MutedProjects {
				p.MutedProjects[i] = "WF-X"
			}
		}, []string{"muted_projects"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPreferences()
			tt.modify(&p)
			got := p.Validate()
			if len(got) != len(tt.want) {
				t.Fatalf("Validate() = %+v, want fields %v", got, tt.want)
			}
			for i, fe := range got {
				if fe.Field != tt.want[i] || fe.Message == "" {
					t.Errorf("error %d = %+v, want field %s", i, fe, tt.want[i])
				}
			}
		})
	}
}

func TestCorrectionOffMessage(t *testing.T) {
	p := DefaultPreferences()
	p.Categories[outbox.CategoryCorrection] = false
	want := models.FieldError{Field: "categories.correction", Message: "critical notices cannot be switched off"}
	if got := p.Validate(); len(got) != 1 || got[0] != want {
		t.Errorf("Validate() = %+v, want %+v", got, want)
	}
}

func TestTableOfIsTheNamingStrategysName(t *testing.T) {
	db := testenv.Gorm(t)
	for _, m := range []any{&models.PushPreferenceRow{}, &models.User{}, &models.ProjectAgent{}} {
		name := reflect.TypeOf(m).Elem().Name()
		if got, want := tableOf(db, m), db.NamingStrategy.TableName(name); got != want || got == "" {
			t.Errorf("tableOf(%s) = %q, want %q", name, got, want)
		}
	}
}
