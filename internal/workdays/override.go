package workdays

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Overrides is the operator's override file. The State Council publishes the
// next year's schedule each winter; until a library release carries it, an
// operator writes it here and restarts the service:
//
//	{"years": [2027],
//	 "holidays": ["2027-01-01", "2027-02-06"],
//	 "workdays": ["2027-02-14"]}
//
// Years lists the years whose complete schedule the file gives, which makes
// them covered. Holidays are days off and Workdays are make-up working days;
// both win over the library for the same date, so the file can also correct
// a single day. Every listed date must fall in a year that is covered by the
// library or listed in Years, so a forgotten "years" entry is an error
// rather than a year silently left provisional.
type Overrides struct {
	Years    []int    `json:"years"`
	Holidays []string `json:"holidays"`
	Workdays []string `json:"workdays"`
}

// maxOverrideBytes bounds the override file; a real one is a few kilobytes.
const maxOverrideBytes = 1 << 20

func readOverrides(r io.Reader) (Overrides, error) {
	var o Overrides
	dec := json.NewDecoder(io.LimitReader(r, maxOverrideBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return Overrides{}, fmt.Errorf("workdays: override file: %w", err)
	}
	return o, nil
}

// apply merges o into c after checking it whole, so a bad file changes
// nothing.
func (c *Calendar) apply(o Overrides) error {
	years := map[int]bool{}
	for _, y := range o.Years {
		if y < 1 || y > 9999 {
			return fmt.Errorf("workdays: override file: year %d out of range", y)
		}
		years[y] = true
	}
	days := map[Date]bool{}
	var errs []error
	add := func(list []string, off bool, kind string) {
		for _, s := range list {
			d, err := ParseDate(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", kind, err))
				continue
			}
			if prev, dup := days[d]; dup && prev != off {
				errs = append(errs, fmt.Errorf("%s is listed both as a holiday and as a workday", s))
				continue
			}
			if !c.years[d.Year()] && !years[d.Year()] {
				errs = append(errs, fmt.Errorf("%s %s: year %d is not in \"years\" and not in the library", kind, s, d.Year()))
				continue
			}
			days[d] = off
		}
	}
	add(o.Holidays, true, "holiday")
	add(o.Workdays, false, "workday")
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("workdays: override file: %w", err)
	}
	for d, off := range days {
		c.off[d] = off
	}
	for y := range years {
		c.years[y] = true
	}
	return nil
}
