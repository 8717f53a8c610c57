package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/equity311/equity311/internal/browser"
	"github.com/equity311/equity311/internal/shareddata"
	"github.com/equity311/equity311/store"
)

// The golden digests pin every table and the report's bytes for two fixed
// runs (the demo city and the Boston walkthrough over every real sample), so
// that a change meant to keep behaviour can prove it did. A change meant to
// alter results regenerates them with
//
//	go test ./cmd/equity311 -run TestGolden -update-golden
//
// and the diff of testdata/golden.json shows which tables moved.
var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden.json from this run")

const goldenFile = "testdata/golden.json"

// TestGolden runs the fixed scenarios and compares digests of every table
// and of the report files with the committed ones.
func TestGolden(t *testing.T) {
	want := map[string]map[string]string{}
	if b, err := os.ReadFile(goldenFile); err == nil {
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("%s: %v", goldenFile, err)
		}
	} else if !*updateGolden {
		t.Fatalf("%s: %v (run with -update-golden to create it)", goldenFile, err)
	}
	got := map[string]map[string]string{}
	scenarios := []struct {
		name string
		run  func(t *testing.T, dir string) (db, report string)
	}{
		{"demo", goldenDemo},
		{"boston", goldenBoston},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			dir := t.TempDir()
			db, report := sc.run(t, dir)
			d := digests(t, db, dir)
			for _, f := range []string{"index.html", "areas.csv", "channels.csv", "quality.csv"} {
				b, err := os.ReadFile(filepath.Join(report, f))
				if err != nil {
					t.Fatal(err)
				}
				d["report/"+f] = sha(b)
			}
			got[sc.name] = d
			if *updateGolden {
				return
			}
			w, ok := want[sc.name]
			if !ok {
				t.Fatalf("%s has no scenario %s", goldenFile, sc.name)
			}
			for _, k := range slices.Sorted(mapKeys(w, d)) {
				if w[k] != d[k] {
					t.Errorf("%s: digest %s, golden %s", k, short(d[k]), short(w[k]))
				}
			}
		})
	}
	if *updateGolden {
		for k, v := range want {
			if _, ran := got[k]; !ran {
				got[k] = v // a skipped scenario keeps its digests
			}
		}
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(goldenFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func goldenDemo(t *testing.T, dir string) (string, string) {
	runCLI(t, "demo", "--dir", dir, "--tickets", "20000", "--weeks", "8", "--seed", "11", "--quiet")
	return filepath.Join(dir, "equity311.duckdb"), filepath.Join(dir, "report")
}

// goldenBoston is the README's walkthrough over every real Boston sample.
func goldenBoston(t *testing.T, dir string) (string, string) {
	db := filepath.Join(dir, "boston.duckdb")
	dumps := []string{
		shareddata.Path(t, "boston311/qsv_boston311-100.csv"),
		shareddata.Path(t, "boston311/yashchavan11_raw_sample_2015-2024_4995rows.csv"),
		shareddata.Path(t, "boston311/safertrail_2025_open_sidewalk_streetlight_2424rows.csv"),
		shareddata.Path(t, "boston311/boston311_new_system_2025-08_to_2026-02_soham-bhagwat.csv"),
	}
	runCLI(t, append([]string{"--db", db, "--quiet", "ingest", "dump"}, dumps...)...)
	runCLI(t, "--db", db, "--quiet", "ingest", "boundaries", "--layer", "neighborhoods", "--id-prop", "Name", "--name-prop", "Name",
		shareddata.Path(t, "boston_geo/Boston_Neighborhoods.geojson"))
	runCLI(t, "--db", db, "--quiet", "ingest", "boundaries", "--layer", "tracts", shareddata.Path(t, "boston_geo/bpda_boston_tracts_2020.geojson"))
	runCLI(t, "--db", db, "--quiet", "ingest", "census", "--layer", "tracts", "--id-col", "GEOCODE",
		shareddata.Path(t, "census2020_boston/census-tract-data.csv"))
	runCLI(t, "--db", db, "--quiet", "assign")
	runCLI(t, "--db", db, "--quiet", "analyze")
	report := filepath.Join(dir, "report")
	path := strings.TrimSpace(runCLI(t, "--db", db, "--quiet", "report", "--out", report))

	// The README's walkthrough holds on the real samples: at least 99% of
	// the points with real coordinates land in a neighborhood, and the
	// report draws in Chromium.
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	var real, placed int
	err = st.DB().QueryRow(`SELECT count(*) FILTER (WHERE geo_quality IN ('ok', 'outside')),
		count(*) FILTER (WHERE geo_quality = 'ok') FROM tickets`).Scan(&real, &placed)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if real == 0 || float64(placed) < 0.99*float64(real) {
		t.Errorf("%d of %d points with real coordinates placed, want ≥ 99%%", placed, real)
	}
	t.Run("chromium", func(t *testing.T) {
		browser.Path(t)
		p := browser.Open(t, "file://"+path, browser.Options{})
		if len(p.Exceptions) > 0 || len(p.External()) > 0 {
			t.Errorf("exceptions %v, external requests %v", p.Exceptions, p.External())
		}
		if p.Charts["map-0"] < 26 {
			t.Errorf("the map drew %d paths for Boston's 26 neighborhoods", p.Charts["map-0"])
		}
	})
	return db, report
}

// digests returns a sha256 per table of the database at path: its rows
// formatted value by value (floats to 10 significant digits, so that the
// order of a parallel sum does not matter; paths under dir made relative),
// sorted.
func digests(t *testing.T, path, dir string) map[string]string {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db := st.DB()
	var tables []string
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'main' AND table_name <> 'schema_migrations' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	shared := shareddata.Dir()
	for _, tbl := range tables {
		rows, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT * FROM "%s"`, tbl))
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		var lines []string
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			cells := make([]string, len(vals))
			for i, v := range vals {
				cells[i] = cell(v, dir, shared)
			}
			lines = append(lines, strings.Join(cells, "\x1f"))
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		slices.Sort(lines)
		out["table/"+tbl] = fmt.Sprintf("%d rows %s", len(lines), sha([]byte(strings.Join(cols, ",")+"\n"+strings.Join(lines, "\n"))))
	}
	return out
}

func cell(v any, dir, shared string) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case float64:
		return strconv.FormatFloat(x, 'g', 10, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', 10, 64)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return hex.EncodeToString(x)
	case string:
		if dir != "" {
			x = strings.ReplaceAll(x, dir, "$DIR")
		}
		if shared != "" {
			x = strings.ReplaceAll(x, shared, "$SHARED")
		}
		return x
	}
	return fmt.Sprint(v)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func short(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

// mapKeys yields the keys of both maps.
func mapKeys(a, b map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range a {
			if !yield(k) {
				return
			}
		}
		for k := range b {
			if _, dup := a[k]; dup {
				continue
			}
			if !yield(k) {
				return
			}
		}
	}
}
