package main

import (
	"context"
	"html"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/equity311/equity311/internal/shareddata"
	"github.com/equity311/equity311/store"
)

// TestCompareEveryCity loads the real Boston, Chicago, NYC and LA samples
// into one database: report --compare shows all four, each on its own
// default period (the samples span different years), with its sources'
// design, and warns that the periods do not overlap.
func TestCompareEveryCity(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: four cities analysed on their own periods take about 2 s; the full suite runs it")
	}
	db := filepath.Join(t.TempDir(), "cities.duckdb")
	for _, f := range []string{"boston311/yashchavan11_raw_sample_2015-2024_4995rows.csv", "other_cities/chicago/chicago311_2021-01_first5000_nandini1bag.csv",
		"other_cities/nyc/nyc311_2022-05-01_sample_fedhere.csv", "other_cities/la/myla311_2017_subset_hackforla.csv"} {
		runCLI(t, "--db", db, "--quiet", "ingest", "dump", shareddata.Path(t, f))
	}
	out := filepath.Join(t.TempDir(), "compare")
	page := html.UnescapeString(string(readFile(t, strings.TrimSpace(runCLI(t, "--db", db, "--quiet", "report", "--compare", "--out", out)))))
	want := map[string]string{
		"boston":  "1 January 2024 to 29 December 2024 (the last 52 complete weeks of boston's data)",
		"chicago": "1 January 2021 to 2 January 2021 (all 2 days of chicago's data: it holds no complete week)",
		"nyc":     "1 May 2022 to 1 May 2022 (all 1 day of nyc's data: it holds no complete week)",
		"la":      "27 December 2017 to 31 December 2017 (all 5 days of la's data: it holds no complete week)",
	}
	for city, period := range want {
		row := regexp.MustCompile(`<tr><td>` + city + `</td><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td>`).FindStringSubmatch(page)
		if row == nil {
			t.Errorf("no row for %s", city)
			continue
		}
		if row[1] != period {
			t.Errorf("%s's period: %q, want %q", city, row[1], period)
		}
		if row[2] == "" {
			t.Errorf("%s: its sources' design is not said", city)
		}
	}
	if !strings.Contains(page, "do not overlap") || strings.Contains(page, "Not shown") {
		t.Errorf("the comparison does not warn of periods that do not overlap, or leaves a city out")
	}
	// One period for all: the cities without a request in it are named, with why.
	page = html.UnescapeString(string(readFile(t, strings.TrimSpace(runCLI(t, "--db", db, "--quiet", "report", "--compare", "--from", "2024-01-01", "--to", "2025-01-01", "--out", out+"-2024")))))
	for _, city := range []string{"chicago", "la", "nyc"} {
		if !strings.Contains(page, city+" (no requests in 2024-01-01..2025-01-01)") {
			t.Errorf("the 2024 comparison does not say why %s is not shown", city)
		}
	}
	if !strings.Contains(page, "<tr><td>boston</td>") {
		t.Error("the 2024 comparison lacks boston")
	}
}

// TestReportSaysWhatItCannotTell: after the analysis, a new layer is
// loaded and not placed, and a new dump is loaded: the report says both,
// with the commands that mend them, on stderr and at the top of the page.
func TestReportSaysWhatItCannotTell(t *testing.T) {
	dir, _ := demoCopy(t) // analysed at the tests' fixed clock; the loads below run at the real one
	db := filepath.Join(dir, "equity311.duckdb")
	if out, err := child("--db", db, "--quiet", "ingest", "boundaries", "--layer", "wards", "--id-prop", "nbhd_id", "--name-prop", "name",
		filepath.Join(dir, "neighborhoods.geojson")).CombinedOutput(); err != nil {
		t.Fatalf("ingest boundaries: %v\n%s", err, out)
	}
	out, err := child("--db", db, "--quiet", "report", "--out", filepath.Join(dir, "stale")).CombinedOutput()
	if err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	page := html.UnescapeString(string(readFile(t, filepath.Join(dir, "stale", "index.html"))))
	for _, want := range []string{"before the last load (neighborhoods.geojson", "The layer wards holds no placed request: run equity311 assign"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("report's stderr lacks %q:\n%s", want, out)
		}
		if !strings.Contains(page, want) {
			t.Errorf("the report's page lacks %q", want)
		}
	}
}

// TestConcentrationSplit recomputes, from the area tables alone and by
// another formula (one minus twice the area under the concentration
// curve), the concentration index of app requests per resident and of all
// resident requests per resident (its volume part): they equal the stored
// ones, and the channel part is their difference.
func TestConcentrationSplit(t *testing.T) {
	dir, _ := demoCopy(t)
	st, err := store.Open(context.Background(), filepath.Join(dir, "equity311.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.DB().Query(`SELECT c.layer, c.ci, c.volume_ci, c.channel_ci,
			list(struct_pack(income := d.estimate, pop := m.population, app := m.app, base := m.share_base) ORDER BY d.estimate, m.area_id)
		FROM analysis_concentration c
		JOIN analysis_area_metrics m USING (city, period, layer)
		JOIN analysis_area_demographics d ON d.city = m.city AND d.period = m.period AND d.layer = m.layer AND d.area_id = m.area_id AND d.variable = 'median_income'
		WHERE m.population > 0 GROUP BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	byCurve := func(areas []map[string]any, num string) float64 {
		total, mu := 0.0, 0.0
		for _, a := range areas {
			total += a["pop"].(float64)
		}
		for _, a := range areas {
			mu += a["pop"].(float64) / total * f64(a[num]) / a["pop"].(float64)
		}
		c, q := 1.0, 0.0
		for _, a := range areas {
			w := a["pop"].(float64) / total
			next := q + w*(f64(a[num])/a["pop"].(float64))/mu
			c -= w * (q + next)
			q = next
		}
		return c
	}
	n := 0
	for rows.Next() {
		var layer string
		var ci, vol, ch float64
		var list []any
		if err := rows.Scan(&layer, &ci, &vol, &ch, &list); err != nil {
			t.Fatal(err)
		}
		var areas []map[string]any
		for _, x := range list {
			areas = append(areas, x.(map[string]any))
		}
		if got := byCurve(areas, "app"); math.Abs(got-ci) > 1e-9 {
			t.Errorf("%s: app concentration %v from the curve, stored %v", layer, got, ci)
		}
		if got := byCurve(areas, "base"); math.Abs(got-vol) > 1e-9 {
			t.Errorf("%s: volume concentration %v from the curve, stored %v", layer, got, vol)
		}
		if math.Abs(ch-(ci-vol)) > 1e-12 {
			t.Errorf("%s: channel part %v, want %v − %v", layer, ch, ci, vol)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no concentration index in the demo")
	}
}
