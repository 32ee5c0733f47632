package workdays

import (
	"cmp"
	"encoding/json"
	"fmt"
	"time"
)

// Location is China Standard Time (UTC+8), the zone every approval date is
// counted in. China has kept UTC+8 without daylight saving since 1991, so a
// fixed zone is exact for every year the calendar covers and spares the
// binary a dependency on the host's time-zone database.
var Location = time.FixedZone("CST", 8*60*60)

// Date is a civil date (year, month, day) in Asia/Shanghai. Working-day
// arithmetic is about calendar days, not instants, so keeping the date apart
// from time.Time rules out off-by-one errors from clocks and zones. The zero
// Date means "no date" and marshals to JSON null.
type Date struct {
	year  int
	month time.Month
	day   int
}

// NewDate returns the date year-month-day, normalising out-of-range values
// the way time.Date does (month 13 is January of the next year).
func NewDate(year int, month time.Month, day int) Date {
	return DateOf(time.Date(year, month, day, 12, 0, 0, 0, Location))
}

// DateOf returns the civil date of the instant t in Asia/Shanghai, so a
// timestamp late in the evening UTC lands on the next day as it does for
// the people it concerns.
func DateOf(t time.Time) Date {
	y, m, d := t.In(Location).Date()
	return Date{year: y, month: m, day: d}
}

// ParseDate parses "YYYY-MM-DD", the contract's date format, and refuses
// anything else, including dates that do not exist such as 2026-02-30.
func ParseDate(s string) (Date, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, Location)
	if err != nil {
		return Date{}, fmt.Errorf("workdays: invalid date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// Year returns the date's year.
func (d Date) Year() int { return d.year }

// Month returns the date's month.
func (d Date) Month() time.Month { return d.month }

// Day returns the date's day of the month.
func (d Date) Day() int { return d.day }

// IsZero reports whether d is the zero Date, which stands for "no date".
func (d Date) IsZero() bool { return d == Date{} }

// Midnight returns the first instant of d in Asia/Shanghai, for storing a
// date in a timestamp column.
func (d Date) Midnight() time.Time {
	return time.Date(d.year, d.month, d.day, 0, 0, 0, 0, Location)
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.Midnight().Weekday() }

// AddDays returns the date n calendar days after d (before it when n < 0).
func (d Date) AddDays(n int) Date { return NewDate(d.year, d.month, d.day+n) }

// Compare returns -1, 0 or +1 as d is before, equal to or after o, for
// sorting and slices.SortFunc.
func (d Date) Compare(o Date) int {
	if c := cmp.Compare(d.year, o.year); c != 0 {
		return c
	}
	if c := cmp.Compare(d.month, o.month); c != 0 {
		return c
	}
	return cmp.Compare(d.day, o.day)
}

// Before reports whether d is earlier than o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// After reports whether d is later than o.
func (d Date) After(o Date) bool { return d.Compare(o) > 0 }

// String formats d as "YYYY-MM-DD", or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.year, int(d.month), d.day)
}

// MarshalJSON writes d as "YYYY-MM-DD", or null for the zero Date, as the
// contract's date fields expect.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON reads "YYYY-MM-DD" or null (which leaves the zero Date).
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("workdays: date must be a \"YYYY-MM-DD\" string: %w", err)
	}
	parsed, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = parsed
	return nil
}
