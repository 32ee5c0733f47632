// Package workdays counts working days on the official Chinese calendar:
// weekends off, statutory holidays off, and the make-up working days (调休)
// the State Council moves onto weekends. Approval time limits (限时办结) are
// stated in working days, so every deadline of the service goes through here.
//
// The holiday data comes from the maintained lunar-go library (HolidayUtil),
// which publishes each year's State Council schedule; an operator override
// file adds a newly published year, or corrects a day, without a release.
// A year neither of them covers is not counted as if it had no holidays:
// its statutory holidays are computed from the lunar calendar
// (StatutoryHolidays) and its answers are flagged as provisional (Source).
package workdays

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
)

// Calendar answers working-day questions for civil dates. It is immutable
// once built, so one Calendar may be shared by any number of goroutines.
//
// Every answer comes with a covered flag: false when a date looked at fell in
// a year for which neither the library nor the override file has the official
// schedule. Such a year is never counted as if it had no holidays: its
// statutory holidays (StatutoryHolidays) are computed from the lunar
// calendar and are days off; only its bridging days and make-up working
// days are unknown, so callers should show its answers as provisional
// (Source says SourceStatutoryOnly).
type Calendar struct {
	// off maps a date to true when it is a holiday and to false when it is
	// a make-up working day; dates absent follow the weekday rule.
	off   map[Date]bool
	years map[int]bool
	// statutory caches, per uncovered year, its computed statutory
	// holidays (year → map[Date]bool), filled on first use: computing
	// every year up front would cost each New a tenth of a second.
	statutory *sync.Map
}

// libraryYears bounds the years probed in the library. It only needs to
// include every year the library may ever ship; probing a year without data
// is cheap and harmless.
const (
	libraryFirstYear = 2000
	libraryLastYear  = 2200
)

// New builds a Calendar from the library's data and, when overrides is not
// nil, an operator override file (see Overrides) read from it. Override days
// take precedence over the library's.
func New(overrides io.Reader) (*Calendar, error) {
	c := &Calendar{off: map[Date]bool{}, years: map[int]bool{}, statutory: &sync.Map{}}
	if err := c.loadLibrary(); err != nil {
		return nil, err
	}
	if overrides != nil {
		o, err := readOverrides(overrides)
		if err != nil {
			return nil, err
		}
		if err := c.apply(o); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// statutoryOff reports whether d is a computed statutory holiday of its
// (uncovered) year.
func (c *Calendar) statutoryOff(d Date) bool {
	if v, ok := c.statutory.Load(d.Year()); ok {
		return v.(map[Date]bool)[d]
	}
	days := map[Date]bool{}
	for _, h := range StatutoryHolidays(d.Year()) {
		days[h] = true
	}
	v, _ := c.statutory.LoadOrStore(d.Year(), days)
	return v.(map[Date]bool)[d]
}

// NewFromFile is New with the override file at path; an empty path means no
// override file, which is how a deployment without one starts.
func NewFromFile(path string) (*Calendar, error) {
	if path == "" {
		return New(nil)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("workdays: open override file: %w", err)
	}
	defer f.Close()
	return New(f)
}

// loadLibrary copies the library's schedule into the Calendar's own map, so
// lookups are map reads instead of the library's string scans, and later
// changes to the library's package state cannot alter a built Calendar.
func (c *Calendar) loadLibrary() error {
	for year := libraryFirstYear; year <= libraryLastYear; year++ {
		for e := HolidayUtil.GetHolidaysByYear(year).Front(); e != nil; e = e.Next() {
			h, ok := e.Value.(*HolidayUtil.Holiday)
			if !ok {
				return fmt.Errorf("workdays: unexpected holiday entry %T", e.Value)
			}
			day, err := ParseDate(h.GetDay())
			if err != nil {
				return fmt.Errorf("workdays: library day: %w", err)
			}
			target, err := ParseDate(h.GetTarget())
			if err != nil {
				return fmt.Errorf("workdays: library target: %w", err)
			}
			c.off[day] = !h.IsWork()
			// A year counts as covered only by entries of its own festivals:
			// late-December make-up days of the next New Year say nothing
			// about the rest of the year they fall in.
			if target.Year() == year {
				c.years[year] = true
			}
		}
	}
	return nil
}

// Covers reports whether the official schedule of year is known, from the
// library or from the override file.
func (c *Calendar) Covers(year int) bool { return c.years[year] }

// Source says where the answers for year come from: SourceOfficial when the
// published schedule is known, SourceStatutoryOnly otherwise.
func (c *Calendar) Source(year int) string {
	if c.Covers(year) {
		return SourceOfficial
	}
	return SourceStatutoryOnly
}

// IsWorkday reports whether d is a working day, and whether d's year is
// covered by the official schedule. In an uncovered year the statutory
// holidays are days off and every other Monday–Friday is a working day.
func (c *Calendar) IsWorkday(d Date) (workday, covered bool) {
	covered = c.Covers(d.Year())
	if off, ok := c.off[d]; ok {
		return !off, covered
	}
	if !covered && c.statutoryOff(d) {
		return false, false
	}
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday, covered
}

// AddWorkingDays returns the due date of a time limit of n working days that
// starts on start: the n-th working day after start. The start day itself is
// never counted, following the rule that a period counted in days begins on
// the day after the event (民法典 第二百零一条), so an item accepted on a
// Friday with a 1-working-day limit is due the next Monday, barring holidays.
// n <= 0 returns start, and a zero start (no date) returns the zero Date.
// covered is false when any day examined fell in an uncovered year.
func (c *Calendar) AddWorkingDays(start Date, n int) (due Date, covered bool) {
	covered = true
	if start.IsZero() {
		return Date{}, true
	}
	d := start
	for n > 0 {
		d = d.AddDays(1)
		work, cov := c.IsWorkday(d)
		covered = covered && cov
		if work {
			n--
		}
	}
	return d, covered
}

// WorkingDaysBetween counts the working days in the half-open range
// (from, to]: from is excluded and to included, matching AddWorkingDays, so
// WorkingDaysBetween(s, AddWorkingDays(s, n)) == n. It is 0 when to is not
// after from or when either is the zero Date (no date). covered is false
// when any day examined fell in an uncovered year.
func (c *Calendar) WorkingDaysBetween(from, to Date) (n int, covered bool) {
	covered = true
	if from.IsZero() || to.IsZero() {
		return 0, true
	}
	for d := from.AddDays(1); !d.After(to); d = d.AddDays(1) {
		work, cov := c.IsWorkday(d)
		covered = covered && cov
		if work {
			n++
		}
	}
	return n, covered
}
