package census

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/equity311/equity311/internal/shareddata"
)

// TestValuesCheckedByColumn: a population of −5,605 or 1e300, a share of
// 1.5, a percent of 140 and a negative margin are rejected as values
// (with line and column) while the rest of their rows loads; an index may
// be negative, and inf is a missing value.
func TestValuesCheckedByColumn(t *testing.T) {
	data := "GEOID,total_pop,B01003_001E,B01003_001M,white,renters_per,pct_no_broadband,eth_het,pop_den\n" +
		"1,-5605,100,10,0.5,0.2,40,-3.5,inf\n" +
		"2,1e300,100,-4,1.5,0.2,140,0.5,12.5\n" +
		"3,900,900,30,0.1,0.9,10,1,3\n"
	tb, err := readTable("t.csv", []byte(data), "GEOID")
	if err != nil {
		t.Fatal(err)
	}
	p := tb.parse()
	got := map[string]string{}
	for _, r := range p.staged.Rejects {
		if !r.Partial {
			t.Errorf("line %d %s: the whole row was rejected (%s)", r.Line, r.Field, r.Reason)
		}
		got[strconv.FormatInt(r.Line, 10)+" "+r.Field] = r.Reason
	}
	want := map[string]string{
		"2 total_pop": "count -5605 is negative", "3 total_pop": "implausible", "3 B01003_001M": "margin of error -4",
		"3 white": "share 1.5", "3 pct_no_broadband": "percent 140",
	}
	for k, w := range want {
		if !strings.Contains(got[k], w) {
			t.Errorf("reject at %s: %q, want %q", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("rejects %v, want only %v", got, want)
	}
	cells := map[string]bool{}
	for _, c := range p.cells {
		cells[c.id+" "+c.variable] = c.est != nil
	}
	for _, k := range []string{"1 B01003_001", "1 eth_het", "2 B01003_001", "2 renters_per", "3 total_pop"} {
		if !cells[k] {
			t.Errorf("cell %s did not load", k)
		}
	}
	if has, ok := cells["1 pop_den"]; ok && has {
		t.Error("inf loaded as a value, want missing")
	}
}

// TestRealCensusFilesPassTheValueChecks: every census table in the shared
// data loads without a value reject (BARI's negative eth_het and
// infinite pop_den included).
func TestRealCensusFilesPassTheValueChecks(t *testing.T) {
	var files []string
	for _, pattern := range []string{"acs/*.csv", "acs/bpda_income_2010tracts/*.csv", "census2020_boston/*.csv", "bpda_neighborhood_change/*.csv"} {
		m, _ := filepath.Glob(filepath.Join(filepath.Dir(shareddata.Path(t, "SOURCES.md")), pattern))
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d census files", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := readTable(f, b, "")
		if err != nil {
			t.Logf("%s: %v (not a table this loader reads)", filepath.Base(f), err)
			continue
		}
		n := 0
		p := tb.parse()
		if filepath.Base(f) == "pop_by_race_tract_rev.csv" {
			// BPDA's white and black are counts: no share is copied from them.
			if d := p.deriveCanonical(); slices.Contains(d, "share_white") || !p.counts["white"] {
				t.Errorf("%s: counts named white taken for a share (derived %v)", filepath.Base(f), d)
			}
		}
		for _, r := range p.staged.Rejects {
			if strings.Contains(r.Reason, "outside") || strings.Contains(r.Reason, "negative") || strings.Contains(r.Reason, "implausible") {
				if n++; n <= 3 {
					t.Errorf("%s line %d %s: %s", filepath.Base(f), r.Line, r.Field, r.Reason)
				}
			}
		}
	}
}
