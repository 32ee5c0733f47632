package notify

import (
	"testing"
	"time"

	"github.com/weifang/kaigong-zsb/notify/outbox"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestDecide(t *testing.T) {
	sh := mustZone(t, "Asia/Shanghai")
	at := func(y int, m time.Month, d, h, min, s int) time.Time { return time.Date(y, m, d, h, min, s, 0, sh) }
	noon := at(2025, 3, 3, 12, 0, 0)

	progress := Notice{Category: outbox.CategoryProgress, ProjectID: "WF-1"}
	correction := Notice{Category: outbox.CategoryCorrection, Critical: true, ProjectID: "WF-1"}

	tests := []struct {
		name   string
		modify func(p *Preferences)
		notice Notice
		now    time.Time
		want   Decision
	}{
		{"ordinary notice by day", nil, progress, noon,
			Decision{Push: true, Reason: ReasonAllowed}},
		{"push disabled stops even critical", func(p *Preferences) { p.PushEnabled = false }, correction, noon,
			Decision{Reason: ReasonPushDisabled}},
		{"critical ignores quiet hours", nil, correction, at(2025, 3, 3, 23, 0, 0),
			Decision{Push: true, Reason: ReasonCritical}},
		{"critical ignores a mute", func(p *Preferences) { p.MutedProjects = []string{"WF-1"} }, correction, noon,
			Decision{Push: true, Reason: ReasonCritical}},
		{"critical ignores a disabled category", func(p *Preferences) { p.Categories[outbox.CategoryDeadline] = false },
			Notice{Category: outbox.CategoryDeadline, Critical: true}, at(2025, 3, 3, 3, 0, 0),
			Decision{Push: true, Reason: ReasonCritical}},
		{"a correction is critical even unflagged", nil, Notice{Category: outbox.CategoryCorrection}, at(2025, 3, 3, 23, 0, 0),
			Decision{Push: true, Reason: ReasonCritical}},
		{"muted project drops", func(p *Preferences) { p.MutedProjects = []string{"WF-9", "WF-1"} }, progress, noon,
			Decision{Reason: ReasonProjectMuted}},
		{"other project not muted", func(p *Preferences) { p.MutedProjects = []string{"WF-9"} }, progress, noon,
			Decision{Push: true, Reason: ReasonAllowed}},
		{"disabled category drops", func(p *Preferences) { p.Categories[outbox.CategoryProgress] = false }, progress, noon,
			Decision{Reason: ReasonCategoryDisabled}},
		{"announcements are off by default", nil, Notice{Category: outbox.CategoryAnnouncement}, noon,
			Decision{Reason: ReasonCategoryDisabled}},
		{"missing category keeps its default", func(p *Preferences) { p.Categories = map[string]bool{} }, progress, noon,
			Decision{Push: true, Reason: ReasonAllowed}},
		{"unknown category is pushed", nil, Notice{Category: "brand_new"}, noon,
			Decision{Push: true, Reason: ReasonAllowed}},
		{"quiet before midnight waits for tomorrow morning", nil, progress, at(2025, 3, 3, 23, 15, 0),
			Decision{Push: true, At: at(2025, 3, 4, 7, 30, 0), Reason: ReasonQuietHours}},
		{"quiet starts on the minute", nil, progress, at(2025, 3, 3, 22, 0, 0),
			Decision{Push: true, At: at(2025, 3, 4, 7, 30, 0), Reason: ReasonQuietHours}},
		{"just before quiet hours", nil, progress, at(2025, 3, 3, 21, 59, 59),
			Decision{Push: true, Reason: ReasonAllowed}},
		{"quiet after midnight waits for this morning", nil, progress, at(2025, 3, 4, 3, 0, 0),
			Decision{Push: true, At: at(2025, 3, 4, 7, 30, 0), Reason: ReasonQuietHours}},
		{"last second of quiet hours", nil, progress, at(2025, 3, 4, 7, 29, 59),
			Decision{Push: true, At: at(2025, 3, 4, 7, 30, 0), Reason: ReasonQuietHours}},
		{"quiet hours end on the minute", nil, progress, at(2025, 3, 4, 7, 30, 0),
			Decision{Push: true, Reason: ReasonAllowed}},
		{"quiet across a month end", nil, progress, at(2025, 2, 28, 23, 0, 0),
			Decision{Push: true, At: at(2025, 3, 1, 7, 30, 0), Reason: ReasonQuietHours}},
		{"now given in UTC is read in the user's zone", nil, progress, time.Date(2025, 3, 3, 15, 0, 0, 0, time.UTC),
			Decision{Push: true, At: at(2025, 3, 4, 7, 30, 0), Reason: ReasonQuietHours}},
		{"same-day window", func(p *Preferences) { p.QuietHours.Start, p.QuietHours.End = "13:00", "14:00" }, progress, at(2025, 3, 3, 13, 30, 0),
			Decision{Push: true, At: at(2025, 3, 3, 14, 0, 0), Reason: ReasonQuietHours}},
		{"outside a same-day window", func(p *Preferences) { p.QuietHours.Start, p.QuietHours.End = "13:00", "14:00" }, progress, at(2025, 3, 3, 23, 0, 0),
			Decision{Push: true, Reason: ReasonAllowed}},
		{"quiet hours disabled", func(p *Preferences) { p.QuietHours.Enabled = false }, progress, at(2025, 3, 3, 23, 0, 0),
			Decision{Push: true, Reason: ReasonAllowed}},
		{"malformed quiet hours count as none", func(p *Preferences) { p.QuietHours.Start = "late" }, progress, at(2025, 3, 3, 23, 0, 0),
			Decision{Push: true, Reason: ReasonAllowed}},
		{"unknown zone falls back to Shanghai", func(p *Preferences) { p.Timezone = "Nowhere/Land" }, progress, at(2025, 3, 3, 23, 0, 0),
			Decision{Push: true, At: at(2025, 3, 4, 7, 30, 0), Reason: ReasonQuietHours}},
		{"a disabled category in quiet hours is dropped, not deferred", func(p *Preferences) { p.Categories[outbox.CategoryProgress] = false }, progress, at(2025, 3, 3, 23, 0, 0),
			Decision{Reason: ReasonCategoryDisabled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPreferences()
			if tt.modify != nil {
				tt.modify(&p)
			}
			assertDecision(t, Decide(p, tt.notice, tt.now), tt.want)
		})
	}
}

// TestDecideAcrossDST checks quiet hours in a zone with daylight saving
// time: the push waits until the wall clock shows the end, whatever the
// night's length.
func TestDecideAcrossDST(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	tests := []struct {
		name       string
		start, end string
		now        time.Time
		want       time.Time // zero: not quiet
	}{
		// 2025-03-09 02:00 EST jumps to 03:00 EDT: a 7.5-hour night.
		{"spring forward overnight", "22:00", "07:30", time.Date(2025, 3, 8, 23, 0, 0, 0, ny), utc(2025, 3, 9, 11, 30)},
		// 2025-11-02 02:00 EDT falls back to 01:00 EST: a 9.5-hour night.
		{"fall back overnight", "22:00", "07:30", time.Date(2025, 11, 1, 23, 0, 0, 0, ny), utc(2025, 11, 2, 12, 30)},
		{"after the spring jump", "22:00", "07:30", utc(2025, 3, 9, 8, 0) /* 04:00 EDT */, utc(2025, 3, 9, 11, 30)},
		// The end 02:30 does not exist on 2025-03-09; it is the instant
		// 02:30 EST would be, i.e. 03:30 EDT.
		{"end inside the spring gap", "01:00", "02:30", utc(2025, 3, 9, 6, 30) /* 01:30 EST */, utc(2025, 3, 9, 7, 30)},
		// 01:15 happens twice on 2025-11-02; each ends at the 01:30 that
		// follows it.
		{"first 01:15 of fall back", "00:00", "01:30", utc(2025, 11, 2, 5, 15) /* EDT */, utc(2025, 11, 2, 5, 30)},
		{"second 01:15 of fall back", "00:00", "01:30", utc(2025, 11, 2, 6, 15) /* EST */, utc(2025, 11, 2, 6, 30)},
		{"second 01:45 of fall back is outside", "00:00", "01:30", utc(2025, 11, 2, 6, 45) /* EST */, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPreferences()
			p.Timezone = "America/New_York"
			p.QuietHours.Start, p.QuietHours.End = tt.start, tt.end
			got := Decide(p, Notice{Category: outbox.CategoryProgress}, tt.now)
			want := Decision{Push: true, Reason: ReasonAllowed}
			if !tt.want.IsZero() {
				want = Decision{Push: true, At: tt.want, Reason: ReasonQuietHours}
			}
			assertDecision(t, got, want)
			if !got.At.IsZero() && !got.At.After(tt.now) {
				t.Errorf("At %v is not after now %v", got.At, tt.now)
			}
		})
	}
}

func assertDecision(t *testing.T, got, want Decision) {
	t.Helper()
	if got.Push != want.Push || got.Reason != want.Reason || !got.At.Equal(want.At) {
		t.Errorf("Decide = {Push:%v At:%v Reason:%s}, want {Push:%v At:%v Reason:%s}",
			got.Push, got.At, got.Reason, want.Push, want.At, want.Reason)
	}
}

func BenchmarkDecide(b *testing.B) {
	p := DefaultPreferences()
	p.MutedProjects = []string{"WF-7", "WF-8", "WF-9"}
	n := Notice{Category: outbox.CategoryProgress, ProjectID: "WF-1"}
	now := time.Date(2025, 3, 3, 23, 0, 0, 0, mustZone(b, "Asia/Shanghai"))
	b.ReportAllocs()
	for b.Loop() {
		if d := Decide(p, n, now); !d.Push {
			b.Fatal("not pushed")
		}
	}
}
