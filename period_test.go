package equity311

import (
	"testing"
	"time"
)

func TestParseWeek(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in   string
		from string
	}{
		{"2026-W01", "2025-12-29"}, // ISO week 1 of 2026 starts in 2025
		{"2026-W48", "2026-11-23"},
		{"2020-W53", "2020-12-28"},
	}
	for _, c := range cases {
		p, err := ParseWeek(c.in, ny)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if got := p.From.Format("2006-01-02"); got != c.from {
			t.Errorf("%s starts %s, want %s", c.in, got, c.from)
		}
		if p.Label != c.in || p.To.Sub(p.From) != 7*24*time.Hour {
			t.Errorf("%s: label %s, length %v", c.in, p.Label, p.To.Sub(p.From))
		}
	}
	for _, bad := range []string{"2026-48", "2021-W53", "2026-W00", "x", "+026-W48", "0000-W01", "1989-W10", " 026-W48", "2026-W+1", "2026-W 1"} {
		if _, err := ParseWeek(bad, ny); err == nil {
			t.Errorf("ParseWeek(%q) accepted", bad)
		}
	}
}

func TestParseMonthAndYear(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMonth("2026-03", ny)
	if err != nil || m.From.Format(time.RFC3339) != "2026-03-01T00:00:00-05:00" || m.To.Format(time.RFC3339) != "2026-04-01T00:00:00-04:00" || m.Label != "2026-03" {
		t.Errorf("ParseMonth: %+v, %v", m, err)
	}
	y, err := ParseYear("2025", ny)
	if err != nil || y.From.Format("2006-01-02") != "2025-01-01" || y.To.Format("2006-01-02") != "2026-01-01" || y.Label != "2025" {
		t.Errorf("ParseYear: %+v, %v", y, err)
	}
	for _, bad := range []string{"2026-13", "26-03", "x"} {
		if _, err := ParseMonth(bad, ny); err == nil {
			t.Errorf("ParseMonth(%q) accepted", bad)
		}
	}
	if _, err := ParseYear("20255", ny); err == nil {
		t.Error("ParseYear accepted five digits")
	}
}

// TestPeriodRequest: a week stands for the 13 weeks to it; one period at
// most; a range needs both ends in order; errors name the option.
func TestPeriodRequest(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	p, ok, err := PeriodRequest{Week: "2026-W47"}.Resolve(ny)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if p.Label != "2026-W47-13w" || p.From.Format("2006-01-02") != "2026-08-24" || p.To.Format("2006-01-02") != "2026-11-23" ||
		p.Basis != "week 2026-W47 and the 12 weeks before it" {
		t.Errorf("week 2026-W47: %s %v..%v (%s)", p.Label, p.From, p.To, p.Basis)
	}
	if _, ok, err := (PeriodRequest{}).Resolve(ny); ok || err != nil {
		t.Errorf("no request: ok %v, err %v", ok, err)
	}
	for _, c := range []struct {
		r   PeriodRequest
		key string
	}{
		{PeriodRequest{Week: "2026-W47", Month: "2026-03"}, "week/month/year/from/to"},
		{PeriodRequest{From: "2026-01-01"}, "from/to"},
		{PeriodRequest{From: "2026-02-01", To: "2026-01-01"}, "from/to"},
		{PeriodRequest{Week: "2026-W60"}, "week"},
		{PeriodRequest{Month: "2026-13"}, "month"},
		{PeriodRequest{From: "2026-01-01", To: "soon"}, "to"},
	} {
		if _, _, err := c.r.Resolve(ny); OptionKey(err) != c.key {
			t.Errorf("%+v: %v (key %q), want an error keyed %q", c.r, err, OptionKey(err), c.key)
		}
	}
}
