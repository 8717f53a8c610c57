package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestWeekMeansThirteenWeeksEverywhere: analyze --week W, report --week W
// of both kinds and the service's week W all cover the 13 weeks to W (one
// rule, equity311.PeriodRequest), and the analysis says so.
func TestWeekMeansThirteenWeeksEverywhere(t *testing.T) {
	dir, _ := demoCopy(t)
	db := filepath.Join(dir, "equity311.duckdb")
	out := runCLI(t, "--db", db, "analyze", "--week", "2026-W47")
	if !strings.Contains(out, "period 2026-W47-13w (requested: week 2026-W47 and the 12 weeks before it)") {
		t.Errorf("analyze --week says %q", out)
	}
	for _, kind := range []string{"weekly", "research"} {
		runCLI(t, "--db", db, "--quiet", "report", "--week", "2026-W47", "--kind", kind, "--out", filepath.Join(dir, kind))
		page := string(readFile(t, filepath.Join(dir, kind, "index.html")))
		if !strings.Contains(page, "2026-W47-13w") {
			t.Errorf("report --week 2026-W47 --kind %s does not cover the 13 weeks to it", kind)
		}
	}
	var data struct {
		Period string `json:"period"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "research", "data.json")), &data); err != nil {
		t.Fatal(err)
	}
	if data.Period != "2026-W47-13w" {
		t.Errorf("research data.json period %q, want 2026-W47-13w", data.Period)
	}
	// A bad request names the flag that mends it.
	_, _, err := runCLIErr("--db", db, "analyze", "--week", "2026-W47", "--month", "2026-03")
	if err == nil || !strings.Contains(err.Error(), "(--week/--month/--year/--from/--to)") {
		t.Errorf("two periods: %v", err)
	}
}
