package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/equity311/equity311/internal/browser"
	"github.com/equity311/equity311/internal/shareddata"
	"github.com/equity311/equity311/store"
)

// TestBostonWalkthrough runs the README's walkthrough on Boston's real
// samples: both dumps load, at least 99% of the points with real
// coordinates land in a neighborhood, and the report draws in Chromium.
func TestBostonWalkthrough(t *testing.T) {
	dumps := []string{
		shareddata.Path(t, "boston311/qsv_boston311-100.csv"),
		shareddata.Path(t, "boston311/yashchavan11_raw_sample_2015-2024_4995rows.csv"),
	}
	hoods := shareddata.Path(t, "boston_geo/Boston_Neighborhoods.geojson")
	dir := t.TempDir()
	db := filepath.Join(dir, "boston.duckdb")
	runCLI(t, append([]string{"--db", db, "ingest", "dump"}, dumps...)...)
	runCLI(t, "--db", db, "ingest", "boundaries", "--layer", "neighborhoods", "--id-prop", "Name", "--name-prop", "Name", hoods)
	runCLI(t, "--db", db, "assign")
	runCLI(t, "--db", db, "analyze")
	path := strings.TrimSpace(runCLI(t, "--db", db, "report", "--out", filepath.Join(dir, "report")))

	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	var real, placed int
	if err := st.DB().QueryRow(`SELECT count(*) FILTER (WHERE geo_quality IN ('ok', 'outside')),
		count(*) FILTER (WHERE geo_quality = 'ok') FROM tickets`).Scan(&real, &placed); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if real == 0 || float64(placed) < 0.99*float64(real) {
		t.Errorf("%d of %d points with real coordinates placed, want ≥ 99%%", placed, real)
	}
	t.Run("chromium", func(t *testing.T) {
		browser.Path(t)
		p := browser.Open(t, "file://"+path, nil)
		if len(p.Exceptions) > 0 || len(p.External()) > 0 {
			t.Errorf("exceptions %v, external requests %v", p.Exceptions, p.External())
		}
		if p.Charts["map-0"] < 26 {
			t.Errorf("the map drew %d paths for Boston's 26 neighborhoods", p.Charts["map-0"])
		}
	})
}
