package workdays

import (
	"testing"
	"time"
)

func newCalendar(tb testing.TB) *Calendar {
	tb.Helper()
	c, err := New(nil)
	if err != nil {
		tb.Fatalf("New(nil): %v", err)
	}
	return c
}

// official2026 is the State Council's notice on the 2026 holidays
// (国务院办公厅关于2026年部分节假日安排的通知), typed from the notice so the
// library's data is checked against an independent source.
var official2026 = struct{ off, work []string }{
	off: []string{
		"2026-01-01", "2026-01-02", "2026-01-03", // 元旦
		"2026-02-15", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19",
		"2026-02-20", "2026-02-21", "2026-02-22", "2026-02-23", // 春节
		"2026-04-04", "2026-04-05", "2026-04-06", // 清明节
		"2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05", // 劳动节
		"2026-06-19", "2026-06-20", "2026-06-21", // 端午节
		"2026-09-25", "2026-09-26", "2026-09-27", // 中秋节
		"2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04",
		"2026-10-05", "2026-10-06", "2026-10-07", // 国庆节
	},
	work: []string{
		"2026-01-04",               // Sunday, for 元旦
		"2026-02-14", "2026-02-28", // Saturdays, for 春节
		"2026-05-09",               // Saturday, for 劳动节
		"2026-09-20", "2026-10-10", // Sunday and Saturday, for 国庆节
	},
}

// TestCalendar2026MatchesStateCouncil checks every day of 2026.
func TestCalendar2026MatchesStateCouncil(t *testing.T) {
	c := newCalendar(t)
	if !c.Covers(2026) {
		t.Fatal("Covers(2026) = false; the library should carry the 2026 schedule")
	}
	want := map[Date]bool{}
	for _, s := range official2026.off {
		want[mustDate(t, s)] = false
	}
	for _, s := range official2026.work {
		want[mustDate(t, s)] = true
	}
	for d := NewDate(2026, time.January, 1); d.Year() == 2026; d = d.AddDays(1) {
		expected, special := want[d]
		if !special {
			expected = d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
		}
		got, covered := c.IsWorkday(d)
		if got != expected || !covered {
			t.Errorf("IsWorkday(%s, %s) = %v (covered %v), want %v", d, d.Weekday(), got, covered, expected)
		}
	}
}

func TestAddWorkingDays(t *testing.T) {
	c := newCalendar(t)
	tests := []struct {
		name  string
		start string
		n     int
		want  string
	}{
		{"zero days is the start", "2026-09-28", 0, "2026-09-28"},
		{"plain week", "2026-03-02", 4, "2026-03-06"},
		{"friday start skips the weekend", "2026-03-06", 1, "2026-03-09"},
		// 2026-09-28 (Mon) + 5: 29, 30, then 1–7 October off, 8, 9, and the
		// make-up Saturday 10 October is the fifth.
		{"crosses National Day onto the make-up Saturday", "2026-09-28", 5, "2026-10-10"},
		{"crosses National Day past the make-up Saturday", "2026-09-28", 6, "2026-10-12"},
		// 2026-09-18 (Fri) + 1: the Sunday 20 September is a make-up day.
		{"make-up Sunday before National Day", "2026-09-18", 1, "2026-09-20"},
		{"spring festival", "2026-02-13", 2, "2026-02-24"},
		{"new year make-up Sunday", "2025-12-31", 1, "2026-01-04"},
		// 2026-09-01 + 35: September gives 21 (the make-up Sunday 20th in,
		// the Mid-Autumn Friday 25th out), October 8, 9, 10, then 12–16,
		// 19–23 and 26.
		{"35-day main flow from 1 September", "2026-09-01", 35, "2026-10-26"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, covered := c.AddWorkingDays(mustDate(t, tt.start), tt.n)
			if got.String() != tt.want || !covered {
				t.Errorf("AddWorkingDays(%s, %d) = %s (covered %v), want %s", tt.start, tt.n, got, covered, tt.want)
			}
		})
	}
}

func TestWorkingDaysBetween(t *testing.T) {
	c := newCalendar(t)
	tests := []struct {
		from, to string
		want     int
	}{
		{"2026-09-28", "2026-09-28", 0},
		{"2026-09-28", "2026-09-27", 0},
		{"2026-09-28", "2026-09-29", 1},
		{"2026-09-30", "2026-10-09", 2}, // 8 and 9 October
		{"2026-09-30", "2026-10-10", 3}, // plus the make-up Saturday
		{"2026-09-19", "2026-09-20", 1}, // make-up Sunday counts
		{"2098-12-31", "2099-01-01", 0}, // 2099 uncovered: New Year is statutory
		{"2098-12-31", "2099-01-02", 1}, // and the Friday after it counts
		{"2026-12-31", "2027-01-01", 0}, // 2027's New Year, from the official schedule
		// 2026: 261 weekdays, 19 of them holidays, plus 6 make-up days.
		{"2025-12-31", "2026-12-31", 248},
	}
	for _, tt := range tests {
		got, _ := c.WorkingDaysBetween(mustDate(t, tt.from), mustDate(t, tt.to))
		if got != tt.want {
			t.Errorf("WorkingDaysBetween(%s, %s) = %d, want %d", tt.from, tt.to, got, tt.want)
		}
	}
}

// TestAddAndCountAgree checks, for every start in 2026 and a range of limits,
// that counting back the days of a due date gives the limit and that a due
// date is always a working day.
func TestAddAndCountAgree(t *testing.T) {
	c := newCalendar(t)
	for start := NewDate(2026, time.January, 1); start.Year() == 2026; start = start.AddDays(1) {
		for _, n := range []int{1, 3, 5, 20, 35} {
			due, _ := c.AddWorkingDays(start, n)
			if got, _ := c.WorkingDaysBetween(start, due); got != n {
				t.Fatalf("WorkingDaysBetween(%s, AddWorkingDays(%s, %d) = %s) = %d", start, start, n, due, got)
			}
			if work, _ := c.IsWorkday(due); !work {
				t.Fatalf("AddWorkingDays(%s, %d) = %s, not a working day", start, n, due)
			}
		}
	}
}

func TestUncoveredYearCountsStatutoryHolidays(t *testing.T) {
	c := newCalendar(t)
	const year = 2099
	if c.Covers(year) {
		t.Fatalf("Covers(%d) = true; pick a year the library cannot have", year)
	}
	if got := c.Source(year); got != SourceStatutoryOnly {
		t.Errorf("Source(%d) = %q, want %q", year, got, SourceStatutoryOnly)
	}
	if got := c.Source(2026); got != SourceOfficial {
		t.Errorf("Source(2026) = %q, want %q", got, SourceOfficial)
	}
	if c.Covers(2001) {
		t.Error("Covers(2001) = true, but the library only has 2001's days for the 2002 New Year")
	}
	tests := []struct {
		day  string
		want bool
	}{
		{"2099-01-01", false}, // a Thursday, but 元旦 is statutory
		{"2099-01-02", true},  // the Friday after: a bridging day only the notice could give
		{"2099-01-03", false}, // Saturday
		{"2099-05-01", false}, // Friday, 劳动节
		{"2099-10-02", false}, // Friday, 国庆节
		{"2099-10-05", true},  // Monday after National Day: unknown, counted
	}
	for _, tt := range tests {
		got, covered := c.IsWorkday(mustDate(t, tt.day))
		if got != tt.want || covered {
			t.Errorf("IsWorkday(%s) = %v (covered %v), want %v, uncovered", tt.day, got, covered, tt.want)
		}
	}
	due, covered := c.AddWorkingDays(mustDate(t, "2098-12-30"), 3)
	if due.String() != "2099-01-05" || covered {
		t.Errorf("AddWorkingDays across into %d = %s (covered %v), want 2099-01-05, uncovered", year, due, covered)
	}
	if _, covered := c.WorkingDaysBetween(mustDate(t, "2098-12-30"), mustDate(t, "2099-01-05")); covered {
		t.Error("WorkingDaysBetween into an uncovered year reported covered")
	}
	// Every computed statutory holiday of the uncovered year is a day off.
	for _, d := range StatutoryHolidays(year) {
		if work, _ := c.IsWorkday(d); work {
			t.Errorf("IsWorkday(%s) = true for a statutory holiday of an uncovered year", d)
		}
	}
}

func TestZeroDatesAreNoDates(t *testing.T) {
	c := newCalendar(t)
	if due, _ := c.AddWorkingDays(Date{}, 5); !due.IsZero() {
		t.Errorf("AddWorkingDays(zero, 5) = %v, want zero", due)
	}
	if n, _ := c.WorkingDaysBetween(Date{}, mustDate(t, "2026-01-05")); n != 0 {
		t.Errorf("WorkingDaysBetween(zero, …) = %d, want 0", n)
	}
}
