package workdays

import (
	"slices"
	"time"

	"github.com/6tail/lunar-go/calendar"
)

// Sources of a year's schedule, as progress reports them in its calendar
// field.
const (
	// SourceOfficial: the State Council's published schedule, from the
	// library or the operator's override file.
	SourceOfficial = "official"
	// SourceStatutoryOnly: the year's schedule is not published yet (or not
	// carried yet); the statutory holidays are computed and counted, the
	// bridging days and make-up working days are unknown.
	SourceStatutoryOnly = "statutory_only"
)

// StatutoryHolidays returns the days off that the law itself fixes for a
// year (全国年节及纪念日放假办法, as amended in 2024, 第二条): 元旦 1 day;
// 春节 4 days from 除夕 (the last day of the previous lunar year) to 正月初三;
// 清明节 1 day (the solar term); 劳动节 2 days from 1 May; 端午节 1 day
// (五月初五); 中秋节 1 day (八月十五); 国庆节 3 days from 1 October. The
// State Council's yearly notice adds bridging days and make-up working days
// around them, which cannot be computed. Days are in calendar order.
func StatutoryHolidays(year int) []Date {
	newYear := solarDate(calendar.NewLunarFromYmd(year, 1, 1).GetSolar())
	out := []Date{NewDate(year, time.January, 1)}
	for i := -1; i <= 2; i++ { // 除夕 to 正月初三
		out = append(out, newYear.AddDays(i))
	}
	if qm, ok := calendar.NewLunarFromYmd(year, 3, 1).GetJieQiTable()["清明"]; ok {
		out = append(out, solarDate(qm))
	}
	out = append(out, NewDate(year, time.May, 1), NewDate(year, time.May, 2))
	out = append(out, solarDate(calendar.NewLunarFromYmd(year, 5, 5).GetSolar()))
	out = append(out, solarDate(calendar.NewLunarFromYmd(year, 8, 15).GetSolar()))
	out = append(out, NewDate(year, time.October, 1), NewDate(year, time.October, 2), NewDate(year, time.October, 3))
	// 除夕 may fall in the previous solar year (never in practice since
	// 春节 is after 21 January, but keep the list to the year asked).
	kept := out[:0]
	for _, d := range out {
		if d.Year() == year {
			kept = append(kept, d)
		}
	}
	slices.SortFunc(kept, Date.Compare)
	return slices.Compact(kept)
}

func solarDate(s *calendar.Solar) Date {
	return NewDate(s.GetYear(), time.Month(s.GetMonth()), s.GetDay())
}
