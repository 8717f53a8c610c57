package geo_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/equity311/equity311/geo"
	"github.com/equity311/equity311/geo/boundary"
	"github.com/equity311/equity311/ingest/dump"
	"github.com/equity311/equity311/store"
)

// TestOutsideAndSnap places a point 100 m east of a square area: outside
// with its distance, or snapped in when the tolerance allows.
func TestOutsideAndSnap(t *testing.T) {
	dir := t.TempDir()
	gj := filepath.Join(dir, "a.geojson")
	os.WriteFile(gj, []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"sq"},
		"geometry":{"type":"Polygon","coordinates":[[[-71.10,42.30],[-71.08,42.30],[-71.08,42.32],[-71.10,42.32],[-71.10,42.30]]]}}]}`), 0o644)
	// 100 m east of the east edge at 42.31 N: 100 / (111320 cos 42.31°) degrees.
	east := -71.08 + 100/(111320*math.Cos(42.31*math.Pi/180))
	dumpFile := filepath.Join(dir, "d.csv")
	os.WriteFile(dumpFile, []byte("case_enquiry_id,open_dt,closed_dt,case_status,type,department,latitude,longitude,source,target_dt\n"+
		"1,2024-03-01 10:00:00,,Open,x,y,42.31,-71.09,Self Service,\n"+
		"2,2024-03-01 10:00:00,,Open,x,y,42.31,"+strconv.FormatFloat(east, 'f', 7, 64)+",Self Service,\n"), 0o644)
	for _, c := range []struct {
		snap    float64
		quality string
		basis   string
	}{{10, "outside", ""}, {150, "ok", "snapped"}} {
		ctx := context.Background()
		st, err := store.Open(ctx, filepath.Join(t.TempDir(), "x.duckdb"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dump.LoadDump(ctx, st, dumpFile, dump.Options{}); err != nil {
			t.Fatal(err)
		}
		if _, err := boundary.Load(ctx, st, gj, boundary.Options{Layer: "l"}); err != nil {
			t.Fatal(err)
		}
		res, err := geo.Assign(ctx, st, geo.AssignOptions{SnapMetres: c.snap})
		if err != nil {
			t.Fatal(err)
		}
		var q, basis string
		var m float64
		if err := st.DB().QueryRow(`SELECT geo_quality, outside_m, coalesce((SELECT basis FROM ticket_areas WHERE ticket_id = '2'), '')
			FROM tickets WHERE ticket_id = '2'`).Scan(&q, &m, &basis); err != nil {
			t.Fatal(err)
		}
		if q != c.quality || basis != c.basis || math.Abs(m-100) > 1 {
			t.Errorf("snap %v m: quality %s, basis %q, %.1f m outside; want %s, %q, 100 m (result %+v)", c.snap, q, basis, m, c.quality, c.basis, res)
		}
		if c.quality == "outside" && res.Outside != 1 || c.quality == "ok" && (res.Outside != 0 || res.Snapped != 1) {
			t.Errorf("snap %v m: result %+v", c.snap, res)
		}
		st.Close()
	}
}
