package notify

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/weifang/kaigong-zsb/models"
	"github.com/weifang/kaigong-zsb/notify/outbox"
)

// Limits on muted projects: enough for any real portfolio, small enough to
// keep the row and the check cheap.
const (
	maxMutedProjects  = 200
	maxProjectIDChars = 64
)

// Validate lists what is wrong with p, or nothing. It checks shapes only;
// whether muted project ids exist is the API's business.
func (p Preferences) Validate() []models.FieldError {
	var errs []models.FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, models.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}

	for _, c := range slices.Sorted(maps.Keys(p.Categories)) {
		if !isCategory(c) {
			add("categories."+c, "unknown category; known are %s", strings.Join(Categories(), ", "))
		}
	}
	if on, set := p.Categories[outbox.CategoryCorrection]; set && !on {
		add("categories."+outbox.CategoryCorrection, "critical notices cannot be switched off")
	}

	start, startOK := parseClock(p.QuietHours.Start)
	end, endOK := parseClock(p.QuietHours.End)
	if !startOK {
		add("quiet_hours.start", "must be a time of day HH:MM between 00:00 and 23:59")
	}
	if !endOK {
		add("quiet_hours.end", "must be a time of day HH:MM between 00:00 and 23:59")
	}
	if p.QuietHours.Enabled && startOK && endOK && start == end {
		add("quiet_hours.end", "must differ from quiet_hours.start")
	}

	if _, ok := loadZone(p.Timezone); !ok {
		add("timezone", "must be an IANA time zone name such as Asia/Shanghai")
	}

	if len(p.MutedProjects) > maxMutedProjects {
		add("muted_projects", "at most %d projects can be muted", maxMutedProjects)
	}
	for i, id := range p.MutedProjects {
		if id == "" || len(id) > maxProjectIDChars {
			add(fmt.Sprintf("muted_projects[%d]", i), "must be a project id of 1 to %d characters", maxProjectIDChars)
		}
	}

	if p.Locale != LocaleZhCN && p.Locale != LocaleEn {
		add("locale", "must be zh-CN or en")
	}
	return errs
}

func isCategory(c string) bool {
	return slices.Contains(Categories(), c)
}

// parseClock reads "HH:MM" (00:00–23:59) as minutes after midnight.
func parseClock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	digit := func(b byte) (int, bool) { return int(b - '0'), b >= '0' && b <= '9' }
	h1, ok1 := digit(s[0])
	h2, ok2 := digit(s[1])
	m1, ok3 := digit(s[3])
	m2, ok4 := digit(s[4])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return 0, false
	}
	h, m := h1*10+h2, m1*10+m2
	if h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// loadZone resolves an IANA zone name. The empty name and "Local" are
// refused: LoadLocation would silently answer UTC or the server's zone.
func loadZone(name string) (*time.Location, bool) {
	if name == "" || name == "Local" {
		return nil, false
	}
	loc, err := time.LoadLocation(name)
	return loc, err == nil
}
