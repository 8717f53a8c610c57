package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/equity311/equity311/store"
)

// TestPartitionedExport writes the demo's tickets and analysis tables as
// Hive-partitioned Parquet and reproduces the citywide app share from the
// folder alone with the README's query, in a DuckDB that never saw the
// database.
func TestPartitionedExport(t *testing.T) {
	dir, _ := demoCopy(t)
	db := filepath.Join(dir, "equity311.duckdb")
	out := filepath.Join(dir, "parquet")
	printed := runCLI(t, "--db", db, "--quiet", "export", "--format", "parquet", "--partition", "city,year", "--out", out)
	if !strings.Contains(printed, "rows of tickets") || !strings.Contains(printed, "rows of analysis_area_metrics") {
		t.Errorf("export printed %q", printed)
	}
	matches, _ := filepath.Glob(filepath.Join(out, "tickets", "city=synthetic", "year=*", "*.parquet"))
	if len(matches) == 0 {
		t.Fatalf("no tickets/city=synthetic/year=*/ files under %s", out)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	var period string
	err = st.DB().QueryRow(`SELECT period, app_share FROM analysis_area_metrics WHERE layer = 'city'`).Scan(&period, &want)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	q := readmeQuery(t, string(readme), "-- citywide app share from the Parquet folder")
	q = strings.NewReplacer("'equity311-parquet/", "'"+out+"/", "'PERIOD'", "'"+period+"'", "'CITY'", "'synthetic'").Replace(q)
	fresh, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	var got float64
	if err := fresh.QueryRow(q).Scan(&got); err != nil {
		t.Fatalf("the README's query: %v\n%s", err, q)
	}
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("app share from Parquet %.10f, from the analysis %.10f", got, want)
	}
	// Exporting again replaces the folder's partitions rather than failing or doubling.
	runCLI(t, "--db", db, "--quiet", "export", "--format", "parquet", "--partition", "city,year", "--out", out)
	var again float64
	if err := fresh.QueryRow(q).Scan(&again); err != nil || again != got {
		t.Errorf("after a second export: %v, %v", again, err)
	}
}

// readmeQuery returns the SQL block of the README that starts with marker.
func readmeQuery(t *testing.T, readme, marker string) string {
	t.Helper()
	i := strings.Index(readme, marker)
	if i < 0 {
		t.Fatalf("the README has no query marked %q", marker)
	}
	rest := readme[i:]
	end := strings.Index(rest, "```")
	if end < 0 {
		t.Fatal("the README's query block does not end")
	}
	return rest[:end]
}

// TestFailedExportLeavesNothing: an export that fails part way (a table
// that cannot be written) leaves the earlier export whole and no partial
// file or folder behind.
func TestFailedExportLeavesNothing(t *testing.T) {
	dir, _ := demoCopy(t)
	db := filepath.Join(dir, "equity311.duckdb")
	out := filepath.Join(dir, "parquet")
	runCLI(t, "--db", db, "--quiet", "export", "--format", "parquet", "--partition", "city,year", "--out", out)
	before := tree(t, out)
	csv := filepath.Join(dir, "bad.csv")
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	// Fewer area rows than exported (a rewrite would show), an analysis
	// table from elsewhere without a period (its partition year cannot be
	// found), and a geometry that is not WKB.
	for _, q := range []string{`DELETE FROM analysis_area_metrics WHERE layer <> 'city'`, `CREATE TABLE analysis_zzz_foreign (city VARCHAR)`, `INSERT INTO analysis_zzz_foreign VALUES ('synthetic')`,
		`CREATE TABLE bad_geometry (id INTEGER, geometry BLOB)`, `INSERT INTO bad_geometry SELECT i, (SELECT geometry FROM areas LIMIT 1) FROM range(10000) t(i)`, `UPDATE bad_geometry SET geometry = '\x00\x01'::BLOB WHERE id = 5000`} {
		if _, err := st.DB().Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	st.Close()
	if _, _, err := runCLIErr("--db", db, "--quiet", "export", "--format", "parquet", "--partition", "city,year", "--out", out); err == nil {
		t.Fatal("the export with a table it cannot write succeeded")
	}
	if after := tree(t, out); !maps.Equal(before, after) {
		t.Errorf("the failed export changed the folder:\nbefore %v\nafter  %v", before, after)
	}
	if _, _, err := runCLIErr("--db", db, "--quiet", "export", "--table", "bad_geometry", "--format", "csv", "--out", csv); err == nil {
		t.Fatal("the export of a bad geometry succeeded")
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*bad.csv*"))
	if len(left) > 0 {
		t.Errorf("the failed export left %v", left)
	}
}

// tree lists the files under dir with their sizes.
func tree(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGeoParquetExport: areas and a per-area analysis table export as
// GeoParquet 1.0 that a DuckDB which never saw the database reads with a
// typed geometry in CRS84 and the file's geo metadata; a table without
// geometry or areas is refused with the format to use instead.
func TestGeoParquetExport(t *testing.T) {
	dir, _ := demoCopy(t)
	db := filepath.Join(dir, "equity311.duckdb")
	fresh, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	for _, table := range []string{"areas", "analysis_area_metrics"} {
		out := filepath.Join(dir, table+".parquet")
		runCLI(t, "--db", db, "--quiet", "export", "--table", table, "--format", "geoparquet", "--out", out)
		var typ, meta string
		var n, withGeom int
		if err := fresh.QueryRow(`SELECT any_value(typeof(geometry)), count(*), count(geometry) FROM read_parquet(?)`, out).Scan(&typ, &n, &withGeom); err != nil {
			t.Fatal(err)
		}
		if err := fresh.QueryRow(`SELECT decode(value) FROM parquet_kv_metadata(?) WHERE decode(key) = 'geo'`, out).Scan(&meta); err != nil {
			t.Fatalf("%s: no geo metadata: %v", table, err)
		}
		if !strings.HasPrefix(typ, "GEOMETRY") || !strings.Contains(typ, "CRS84") || !strings.Contains(meta, `"version":"1.0.0"`) || withGeom < n-1 {
			t.Errorf("%s: geometry %s, %d of %d rows with one, metadata %.120s", table, typ, withGeom, n, meta)
		}
	}
	if _, _, err := runCLIErr("--db", db, "--quiet", "export", "--table", "analysis_runs", "--format", "geoparquet", "--out", filepath.Join(dir, "runs.parquet")); err == nil || !strings.Contains(err.Error(), "export it as parquet") {
		t.Errorf("a table without geometry as GeoParquet: %v", err)
	}
}

// TestGeoJSONExport: a per-area table as RFC 7946 GeoJSON: one feature
// per row, exterior rings counterclockwise and holes clockwise, no crs
// member, and an area with too few requests keeps its counts and
// population but no share, rate or interval.
func TestGeoJSONExport(t *testing.T) {
	dir, _ := demoCopy(t)
	db := filepath.Join(dir, "equity311.duckdb")
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	var rows int
	err = st.DB().QueryRow(`SELECT count(*) FROM analysis_area_metrics`).Scan(&rows)
	if err == nil {
		_, err = st.DB().Exec(`UPDATE analysis_area_metrics SET low_count = true WHERE layer = 'neighborhoods' AND area_id = (SELECT min(area_id) FROM analysis_area_metrics WHERE layer = 'neighborhoods')`)
	}
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "metrics.geojson")
	runCLI(t, "--db", db, "--quiet", "export", "--table", "analysis_area_metrics", "--format", "geojson", "--out", out)
	var fc struct {
		Type     string          `json:"type"`
		CRS      json.RawMessage `json:"crs"`
		Features []struct {
			Geometry *struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"`
			} `json:"geometry"`
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(readFile(t, out), &fc); err != nil {
		t.Fatal(err)
	}
	if fc.Type != "FeatureCollection" || fc.CRS != nil || len(fc.Features) != rows {
		t.Fatalf("type %q, crs %s, %d features of %d rows", fc.Type, fc.CRS, len(fc.Features), rows)
	}
	signed := func(r [][2]float64) float64 {
		s := 0.0
		for i := 0; i+1 < len(r); i++ {
			s += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
		}
		return s / 2
	}
	suppressed := 0
	for _, f := range fc.Features {
		if f.Geometry != nil {
			var polys [][][][2]float64
			if f.Geometry.Type == "Polygon" {
				var p [][][2]float64
				if err := json.Unmarshal(f.Geometry.Coordinates, &p); err != nil {
					t.Fatal(err)
				}
				polys = append(polys, p)
			} else if err := json.Unmarshal(f.Geometry.Coordinates, &polys); err != nil {
				t.Fatal(err)
			}
			for _, p := range polys {
				for i, r := range p {
					if a := signed(r); i == 0 && a <= 0 || i > 0 && a >= 0 {
						t.Fatalf("%v: ring %d wound the wrong way (signed area %g)", f.Properties["area_id"], i, a)
					}
				}
			}
		}
		if low, _ := f.Properties["low_count"].(bool); low {
			suppressed++
			if f.Properties["app_share"] != nil || f.Properties["app_share_lo"] != nil || f.Properties["population"] == nil || f.Properties["resident"] == nil {
				t.Errorf("a suppressed area: app_share %v, lo %v, population %v, resident %v", f.Properties["app_share"], f.Properties["app_share_lo"], f.Properties["population"], f.Properties["resident"])
			}
		}
	}
	if suppressed != 1 {
		t.Errorf("%d suppressed features, want 1", suppressed)
	}
}
