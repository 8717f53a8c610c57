package equity311

import (
	"fmt"
	"time"
)

// Period is a half-open time range [From, To) that analysis results are
// keyed by. Label names it in tables and file names: an ISO week
// ("2026-W47") or "FROM..TO" in dates.
type Period struct {
	From, To time.Time
	Label    string
}

// Contains reports whether t falls in the period.
func (p Period) Contains(t time.Time) bool { return !t.Before(p.From) && t.Before(p.To) }

// String returns the period's label.
func (p Period) String() string { return p.Label }

// Week returns the ISO week that contains t, in t's location.
func Week(t time.Time) Period {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	wd := int(d.Weekday()+6) % 7 // Monday = 0
	from := d.AddDate(0, 0, -wd)
	y, w := from.ISOWeek()
	return Period{From: from, To: from.AddDate(0, 0, 7), Label: fmt.Sprintf("%04d-W%02d", y, w)}
}

// ParseWeek parses an ISO week "YYYY-Www" into the period from its Monday
// 00:00 to the next Monday 00:00 in loc.
func ParseWeek(s string, loc *time.Location) (Period, error) {
	var y, w int
	if n, err := fmt.Sscanf(s, "%4d-W%2d", &y, &w); err != nil || n != 2 || len(s) != 8 {
		return Period{}, fmt.Errorf("week %q: want YYYY-Www, e.g. 2026-W07", s)
	}
	// ISO week 1 contains January 4th.
	jan4 := time.Date(y, 1, 4, 0, 0, 0, 0, loc)
	p := Week(jan4)
	p = Week(p.From.AddDate(0, 0, 7*(w-1)))
	if yy, ww := p.From.ISOWeek(); yy != y || ww != w {
		return Period{}, fmt.Errorf("week %q: year %d has no week %d", s, y, w)
	}
	return p, nil
}

// ParseDate parses a date "YYYY-MM-DD" or an RFC 3339 time; a bare date is
// midnight in loc.
func ParseDate(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: want YYYY-MM-DD or RFC 3339", s)
	}
	return t, nil
}

// Range returns the period [from, to) labelled by its dates.
func Range(from, to time.Time) Period {
	return Period{From: from, To: to, Label: from.Format("2006-01-02") + ".." + to.Format("2006-01-02")}
}

// ParseMonth parses "YYYY-MM" into the calendar month from its first day
// to the next month's first day, midnight in loc.
func ParseMonth(s string, loc *time.Location) (Period, error) {
	t, err := time.ParseInLocation("2006-01", s, loc)
	if err != nil {
		return Period{}, fmt.Errorf("month %q: want YYYY-MM, e.g. 2026-03", s)
	}
	return Period{From: t, To: t.AddDate(0, 1, 0), Label: s}, nil
}

// ParseYear parses "YYYY" into the calendar year, midnight in loc.
func ParseYear(s string, loc *time.Location) (Period, error) {
	t, err := time.ParseInLocation("2006", s, loc)
	if err != nil || len(s) != 4 {
		return Period{}, fmt.Errorf("year %q: want YYYY, e.g. 2025", s)
	}
	return Period{From: t, To: t.AddDate(1, 0, 0), Label: s}, nil
}
