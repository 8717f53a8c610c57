package equity311

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// TrailingWeeks is how many weeks before a report's week its comparison
// uses: a week's counts per area are too small on their own.
const TrailingWeeks = 12

// WeeklyWindow is the period a week w stands for in a report or an
// analysis: the week and the TrailingWeeks before it, labelled
// "2026-W47-13w".
func WeeklyWindow(w Period) Period {
	p := Range(w.From.AddDate(0, 0, -7*TrailingWeeks), w.To)
	p.Label = fmt.Sprintf("%s-%dw", w.Label, TrailingWeeks+1)
	p.Basis = fmt.Sprintf("week %s and the %d weeks before it", w.Label, TrailingWeeks)
	return p
}

// PeriodRequest is a period as a person asks for it: an ISO week, a
// calendar month, a calendar year, or a range of dates — at most one. It
// is the one rule the command line and the weekly service both apply.
type PeriodRequest struct {
	Week  string // YYYY-Www: the 13 weeks to that week (WeeklyWindow)
	Month string // YYYY-MM
	Year  string // YYYY
	From  string // YYYY-MM-DD (inclusive), with To
	To    string // YYYY-MM-DD (exclusive), with From
}

// Resolve returns the period asked for, its dates in loc; ok is false
// when nothing was asked (the caller's default applies). A week stands
// for the 13 weeks to it, for every report kind and for analysis alike.
func (r PeriodRequest) Resolve(loc *time.Location) (p Period, ok bool, err error) {
	given := 0
	for _, v := range []string{r.Week, r.Month, r.Year, r.From + r.To} {
		if v != "" {
			given++
		}
	}
	switch {
	case given == 0:
		return Period{}, false, nil
	case given > 1:
		return Period{}, false, OptionErrorf("week/month/year/from/to", "ask for one period: a week, a month, a year or a range of dates")
	case r.Week != "":
		w, err := ParseWeek(r.Week, loc)
		if err != nil {
			return Period{}, false, &OptionError{Key: "week", Err: err}
		}
		return WeeklyWindow(w), true, nil
	case r.Month != "":
		p, err = ParseMonth(r.Month, loc)
		return p, err == nil, optionErr("month", err)
	case r.Year != "":
		p, err = ParseYear(r.Year, loc)
		return p, err == nil, optionErr("year", err)
	}
	if r.From == "" || r.To == "" {
		return Period{}, false, OptionErrorf("from/to", "a range needs both its first date and the date after its last")
	}
	from, err := ParseDate(r.From, loc)
	if err != nil {
		return Period{}, false, &OptionError{Key: "from", Err: err}
	}
	to, err := ParseDate(r.To, loc)
	if err != nil {
		return Period{}, false, &OptionError{Key: "to", Err: err}
	}
	if !from.Before(to) {
		return Period{}, false, OptionErrorf("from/to", "the range %s to %s is empty: the first date must come before the second", r.From, r.To)
	}
	return Range(from, to), true, nil
}

func optionErr(key string, err error) error {
	if err == nil {
		return nil
	}
	return &OptionError{Key: key, Err: err}
}

// Period is a half-open time range [From, To) that analysis results are
// keyed by. Label names it in tables and file names: an ISO week
// ("2026-W47") or "FROM..TO" in dates.
type Period struct {
	From, To time.Time
	Label    string
	// Basis says how the period was chosen when that is more than its
	// dates ("week 2026-W47 and the 12 weeks before it"); "" for a period
	// asked for by its dates.
	Basis string
	// Default marks a period chosen by a default rule (Basis says which),
	// not asked for.
	Default bool
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
	if !weekPattern.MatchString(s) {
		return Period{}, fmt.Errorf("week %q: want YYYY-Www, e.g. 2026-W07", s)
	}
	y, _ := strconv.Atoi(s[:4])
	w, _ := strconv.Atoi(s[6:])
	if y < MinYear {
		return Period{}, fmt.Errorf("week %q: before %d (no city published 311 data then)", s, MinYear)
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

// weekPattern is an ISO week as written: four digits, -W, two digits.
var weekPattern = regexp.MustCompile(`^[0-9]{4}-W[0-9]{2}$`)

// MinYear is the earliest year a period may start in: no city published
// 311 data before it.
const MinYear = 1990

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
