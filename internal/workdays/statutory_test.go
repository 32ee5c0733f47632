package workdays

import (
	"slices"
	"strings"
	"testing"
)

func TestStatutoryHolidays(t *testing.T) {
	tests := []struct {
		year int
		want []string
	}{
		// 2027: 除夕 5 February, 清明 5 April, 端午 9 June, 中秋 15 September.
		{2027, []string{
			"2027-01-01",
			"2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08",
			"2027-04-05", "2027-05-01", "2027-05-02", "2027-06-09", "2027-09-15",
			"2027-10-01", "2027-10-02", "2027-10-03",
		}},
		// 2026: 除夕 16 February, 清明 5 April, 端午 19 June, 中秋 25 September.
		{2026, []string{
			"2026-01-01",
			"2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19",
			"2026-04-05", "2026-05-01", "2026-05-02", "2026-06-19", "2026-09-25",
			"2026-10-01", "2026-10-02", "2026-10-03",
		}},
	}
	for _, tt := range tests {
		var got []string
		for _, d := range StatutoryHolidays(tt.year) {
			got = append(got, d.String())
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("StatutoryHolidays(%d) =\n%s\nwant\n%s", tt.year, strings.Join(got, " "), strings.Join(tt.want, " "))
		}
	}
}

// TestStatutoryHolidaysAreOfficialDaysOff checks the computation against the
// published schedules of the years since the 2024 amendment (13 statutory
// days): every computed day must be a day off in the official table.
func TestStatutoryHolidaysAreOfficialDaysOff(t *testing.T) {
	c := newCalendar(t)
	for _, year := range []int{2025, 2026, 2027} {
		if !c.Covers(year) {
			t.Fatalf("Covers(%d) = false; the library should carry it", year)
		}
		days := StatutoryHolidays(year)
		if len(days) != 13 {
			t.Errorf("StatutoryHolidays(%d) has %d days, want 13", year, len(days))
		}
		for _, d := range days {
			if work, covered := c.IsWorkday(d); work || !covered {
				t.Errorf("IsWorkday(%s) = %v (covered %v); the official table has it off", d, work, covered)
			}
		}
	}
}

// Test2027IsNeverCountedWithoutHolidays: 2027 starts before every calendar
// in use has its published table; whatever the source, New Year and the
// Spring Festival from 除夕 are not working days without any override.
func Test2027IsNeverCountedWithoutHolidays(t *testing.T) {
	c := newCalendar(t)
	for _, s := range []string{"2027-01-01", "2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08"} {
		if work, _ := c.IsWorkday(mustDate(t, s)); work {
			t.Errorf("IsWorkday(%s) = true, want a holiday (source %s)", s, c.Source(2027))
		}
	}
	// The same days, computed for a year as if no table were known.
	off := map[string]bool{}
	for _, d := range StatutoryHolidays(2027) {
		off[d.String()] = true
	}
	for _, s := range []string{"2027-01-01", "2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08"} {
		if !off[s] {
			t.Errorf("StatutoryHolidays(2027) lacks %s", s)
		}
	}
}

// TestOverrideReplacesStatutoryOnly: once the operator's file gives a
// year's table, its bridging days count as published and the year is
// official.
func TestOverrideReplacesStatutoryOnly(t *testing.T) {
	c, err := New(strings.NewReader(override2099))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Source(2099); got != SourceOfficial {
		t.Errorf("Source(2099) with the override = %q, want official", got)
	}
	// 2099-05-01 is statutory but the illustrative table does not list it:
	// the published table wins over the computation.
	if work, covered := c.IsWorkday(mustDate(t, "2099-05-01")); !work || !covered {
		t.Errorf("IsWorkday(2099-05-01) = %v (covered %v); the override's table replaces the computed days", work, covered)
	}
}
