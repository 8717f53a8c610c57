package analysis

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/internal/storetest"
)

// TestReportingCountsHandBuilt checks what the reporting-rate model
// counts on a hand-built city: an incident's duplicates count only while
// it is open (not after its close) and only from residents; a duplicate
// is no incident; an incident still open is open until its source's last
// update; and on a sample the model is not computed, saying why.
func TestReportingCountsHandBuilt(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	day := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	exec(t, st, `INSERT INTO cities VALUES ('c', 'UTC')`)
	exec(t, st, `INSERT INTO areas (layer, area_id, name, area_m2, geometry) VALUES ('hoods', 'A', 'Alpha', 1, ?)`, square(0))
	exec(t, st, `INSERT INTO sources (source_id, kind, name, loaded_at) VALUES (1, 'dump', 'd.csv', now())`)
	add := func(id, channel string, opened time.Time, closed *time.Time) {
		r, _ := equity311.Channel(channel).ResidentInitiated()
		exec(t, st, fmt.Sprintf(`INSERT INTO tickets (city, ticket_id, opened_at, closed_at, service_code, channel, channel_basis, resident_initiated, source_id)
			VALUES ('c', '%s', ?, ?, 'pothole', '%s', 'reported', %v, 1)`, id, channel, r), opened, closed)
		storetest.Place(t, st, "c", id, "hoods", "A", "point")
	}
	closed := day.Add(48 * time.Hour)
	add("t1", "app", day, &closed)
	add("t2", "phone", day.Add(24*time.Hour), nil) // open: until the source's last update (d2 at day + 3 days)
	add("d1", "phone", day.Add(24*time.Hour), nil) // t1's duplicate while open: counts
	add("d2", "app", day.Add(72*time.Hour), nil)   // t1's, after its close: no
	add("d3", "employee", day.Add(36*time.Hour), nil)
	add("d4", "web", day.Add(50*time.Hour), nil) // t2's, while open: counts
	for dup, parent := range map[string]string{"d1": "t1", "d2": "t1", "d3": "t1", "d4": "t2"} {
		exec(t, st, `INSERT INTO duplicates SELECT 'c', ?, ?, 'reported', NULL, 1, ticket_no FROM tickets WHERE ticket_id = ?`, dup, parent, dup)
	}
	p := equity311.Range(day.Truncate(24*time.Hour), day.Truncate(24*time.Hour).AddDate(0, 0, 7))
	if _, err := Analyze(ctx, st, Options{Period: &p}); err != nil {
		t.Fatal(err)
	}
	r, err := Load(ctx, st, p.Label)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.ReportingAreas) != 1 || len(r.ReportingFits) != 1 {
		t.Fatalf("reporting areas %+v, fits %+v", r.ReportingAreas, r.ReportingFits)
	}
	a, f := r.ReportingAreas[0], r.ReportingFits[0]
	if a.Incidents != 2 || a.Duplicates != 2 {
		t.Errorf("area A: %d incidents, %d duplicates; want 2 (t1, t2) and 2 (d1, d4)", a.Incidents, a.Duplicates)
	}
	if f.Status != "not computed: no census covariates for the layer's areas" {
		t.Errorf("status %q", f.Status)
	}
	if f.Links != "reported 4" {
		t.Errorf("links %q, want reported 4", f.Links)
	}
	// Expected equals observed in a single area with one type.
	if math.Abs(a.Expected-2) > 1e-6 || math.Abs(a.Ratio.Value-1) > 1e-6 {
		t.Errorf("expected %v, ratio %+v", a.Expected, a.Ratio)
	}

	exec(t, st, `UPDATE sources SET design = 'sample' WHERE source_id = 1`)
	if _, err := Analyze(ctx, st, Options{Period: &p}); err != nil {
		t.Fatal(err)
	}
	if r, err = Load(ctx, st, p.Label); err != nil {
		t.Fatal(err)
	}
	if len(r.ReportingFits) != 1 || r.ReportingFits[0].Status != "not computed: the sources are samples" || len(r.ReportingAreas) != 0 {
		t.Errorf("on a sample: fits %+v, %d area rates", r.ReportingFits, len(r.ReportingAreas))
	}
}

// secondsBetween counts what date_diff('second') counts — seconds between
// the instants truncated to the second — across fractions, the epoch, a
// DST change and backwards.
func TestSecondsBetweenIsDateDiff(t *testing.T) {
	st := storetest.Open(t)
	pairs := [][2]string{
		{"2026-01-01 00:00:00.9+00", "2026-01-01 00:00:01.1+00"},
		{"2026-01-01 00:00:00.1+00", "2026-01-01 00:00:00.9+00"},
		{"1969-12-31 23:59:59.5+00", "1970-01-01 00:00:00.5+00"},
		{"1969-12-31 23:59:58.999999+00", "1969-12-31 23:59:59.000001+00"},
		{"2026-03-08 01:59:59.5-05", "2026-03-08 03:00:00.2-04"},
		{"2026-01-01 00:00:05.5+00", "2026-01-01 00:00:01.7+00"},
		{"2016-05-01 08:00:00+00", "2026-11-30 04:59:59.999999+00"},
	}
	for _, p := range pairs {
		var want, got int64
		q := fmt.Sprintf(`SELECT date_diff('second', a, b), %s FROM (SELECT ?::TIMESTAMPTZ AS a, ?::TIMESTAMPTZ AS b)`, secondsBetween("a", "b"))
		if err := st.DB().QueryRow(q, p[0], p[1]).Scan(&want, &got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s → %s: %d seconds, date_diff says %d", p[0], p[1], got, want)
		}
	}
}

// TestFirstReportsAreDeterministic checks that who reports first comes
// out the same, to the bit, every time: its standardized shares once
// summed the request types in Go's random map order, so that the same
// data gave estimates differing in their last bits from run to run.
func TestFirstReportsAreDeterministic(t *testing.T) {
	demo := demoTable{}
	var cells []reportingCell
	for a := range 20 {
		id := fmt.Sprintf("T%02d", a)
		demo.set("tracts", id, "median_income", demoValue{est: float64(30000 + 3000*a)})
		for s := range 40 {
			inc := int64(7 + (a*13+s*7)%31)
			dups := int64(1 + (a+s)%5)
			cells = append(cells, reportingCell{area: id, service: fmt.Sprintf("type %02d", s), incidents: inc,
				incidentsApp: inc * int64(1+(a*s)%5) / 7, days: float64(inc) * 1.3, duplicates: dups,
				duplicatesApp: dups * int64((a+2*s)%3) / 3, expected: float64(dups) * 0.97})
		}
	}
	c := &cityData{name: "c"}
	var first string
	for run := range 30 {
		out := &tables{}
		c.firstReports(Options{Seed: 1}, results.Key{City: "c", Period: "p"}, "tracts", cells, demo, out)
		rows := out.rows[results.FirstReportsTable().Name()]
		if len(rows) != 5 {
			t.Fatalf("run %d: %d first-report rows; want 5 fifths", run, len(rows))
		}
		got := fmt.Sprintf("%v", rows)
		if run == 0 {
			first = got
			continue
		}
		if got != first {
			t.Fatalf("run %d differs from run 0:\n%s\n%s", run, got, first)
		}
	}
}
