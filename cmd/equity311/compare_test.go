package main

import (
	"html"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/equity311/equity311/internal/shareddata"
)

// TestCompareEveryCity loads the real Boston, Chicago, NYC and LA samples
// into one database: report --compare shows all four, each on its own
// default period (the samples span different years), with its sources'
// design, and warns that the periods do not overlap.
func TestCompareEveryCity(t *testing.T) {
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
