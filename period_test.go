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
	for _, bad := range []string{"2026-48", "2021-W53", "2026-W00", "x"} {
		if _, err := ParseWeek(bad, ny); err == nil {
			t.Errorf("ParseWeek(%q) accepted", bad)
		}
	}
}
