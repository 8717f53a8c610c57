package geo_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"

	"github.com/equity311/equity311/geo"
	"github.com/equity311/equity311/geo/boundary"
	"github.com/equity311/equity311/ingest/dump"
	"github.com/equity311/equity311/internal/shareddata"
	"github.com/equity311/equity311/store"
)

// scaled returns mp scaled by k about the centre of its bounds.
func scaled(mp orb.MultiPolygon, k float64) orb.MultiPolygon {
	c := mp.Bound().Center()
	out := orb.MultiPolygon{}
	for _, poly := range mp {
		var np orb.Polygon
		for _, ring := range poly {
			var nr orb.Ring
			for _, p := range ring {
				nr = append(nr, orb.Point{c[0] + k*(p[0]-c[0]), c[1] + k*(p[1]-c[1])})
			}
			np = append(np, nr)
		}
		out = append(out, np)
	}
	return out
}

// TestOverlappingBostonNeighborhoods scales three real Boston
// neighborhoods up by 3%, so that they overlap their neighbours, and
// places the real 2015–2024 sample: every ticket inside some polygon of
// the layer is placed in it (none dropped), in the smallest polygon that
// contains it, and the overlaps are counted in the result and in status.
func TestOverlappingBostonNeighborhoods(t *testing.T) {
	b, err := os.ReadFile(shareddata.Path(t, "boston_geo/Boston_Neighborhoods.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(b)
	if err != nil {
		t.Fatal(err)
	}
	grown := map[string]bool{"Dorchester": true, "Roxbury": true, "Jamaica Plain": true}
	areas := map[string]orb.MultiPolygon{}
	for _, f := range fc.Features {
		var mp orb.MultiPolygon
		switch g := f.Geometry.(type) {
		case orb.Polygon:
			mp = orb.MultiPolygon{g}
		case orb.MultiPolygon:
			mp = g
		}
		name := f.Properties.MustString("Name")
		if grown[name] {
			mp = scaled(mp, 1.03)
			f.Geometry = mp
		}
		areas[name] = mp
	}
	if len(areas) != len(fc.Features) {
		t.Fatalf("%d names for %d features", len(areas), len(fc.Features))
	}
	out, err := fc.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	layerFile := filepath.Join(dir, "grown.geojson")
	if err := os.WriteFile(layerFile, out, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "x.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := dump.LoadDump(ctx, st, shareddata.Path(t, "boston311/yashchavan11_raw_sample_2015-2024_4995rows.csv"), dump.Options{}); err != nil {
		t.Fatal(err)
	}
	loaded, err := boundary.Load(ctx, st, layerFile, boundary.Options{Layer: "nbhd", IDProp: "Name", NameProp: "Name"})
	if err != nil {
		t.Fatal(err)
	}
	warned := strings.Join(loaded.Warnings, "\n")
	for name := range grown {
		if !strings.Contains(warned, name) {
			t.Errorf("loading the layer does not warn that %s overlaps its neighbours:\n%s", name, warned)
		}
	}
	res, err := geo.Assign(ctx, st, geo.AssignOptions{})
	if err != nil {
		t.Fatal(err)
	}

	rows, err := st.DB().Query(`SELECT t.lon, t.lat, ta.area_id, ta.basis FROM tickets t
		LEFT JOIN ticket_areas ta ON ta.city = t.city AND ta.ticket_id = t.ticket_id AND ta.layer = 'nbhd'
		WHERE t.geo_quality IN ('ok', 'outside')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tickets, inside, placed, overlaps int64
	for rows.Next() {
		var lon, lat float64
		var area, basis *string
		if err := rows.Scan(&lon, &lat, &area, &basis); err != nil {
			t.Fatal(err)
		}
		tickets++
		p := orb.Point{lon, lat}
		var in []string
		for name, mp := range areas {
			if mp.Bound().Contains(p) && planar.MultiPolygonContains(mp, p) {
				in = append(in, name)
			}
		}
		if len(in) > 0 {
			inside++
		}
		if area != nil {
			placed++
		}
		if len(in) > 1 {
			overlaps++
			smallest := in[0]
			for _, n := range in {
				if planar.Area(areas[n]) < planar.Area(areas[smallest]) {
					smallest = n
				}
			}
			if area == nil || *area != smallest || *basis != "overlap" {
				t.Errorf("%v lies in %v: placed in %v (basis %v), want %s (the smallest), basis overlap", p, in, deref(area), deref(basis), smallest)
			}
		} else if len(in) == 1 && (area == nil || !slices.Contains(in, *area)) {
			t.Errorf("%v lies in %v: placed in %v", p, in, deref(area))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d tickets, %d inside a neighborhood by orb, %d placed, %d in two neighborhoods", tickets, inside, placed, overlaps)
	if overlaps < 20 {
		t.Errorf("only %d tickets in the overlaps: the scaling did not make the overlap this test is about", overlaps)
	}
	if placed != inside || res.Placed["nbhd"] != inside {
		t.Errorf("%d tickets inside a neighborhood, %d placed (result %d): tickets were dropped", inside, placed, res.Placed["nbhd"])
	}
	if res.Overlaps["nbhd"] != overlaps {
		t.Errorf("result counts %d tickets in overlaps, want %d", res.Overlaps["nbhd"], overlaps)
	}
	var status int64
	if err := st.DB().QueryRow(`SELECT count(*) FROM ticket_areas WHERE layer = 'nbhd' AND basis = 'overlap'`).Scan(&status); err != nil || status != overlaps {
		t.Errorf("ticket_areas holds %d overlap placements (%v), want %d", status, err, overlaps)
	}
}

func deref(s *string) string {
	if s == nil {
		return "nothing"
	}
	return *s
}
