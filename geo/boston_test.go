package geo

import (
	"encoding/csv"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"

	"github.com/equity311/equity311/internal/shareddata"
)

// readLayer reads a GeoJSON layer's multipolygons.
func readLayer(t testing.TB, rel string) []orb.MultiPolygon {
	t.Helper()
	b, err := os.ReadFile(shareddata.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(b)
	if err != nil {
		t.Fatal(err)
	}
	var out []orb.MultiPolygon
	for _, f := range fc.Features {
		switch g := f.Geometry.(type) {
		case orb.Polygon:
			out = append(out, orb.MultiPolygon{g})
		case orb.MultiPolygon:
			out = append(out, g)
		}
	}
	return out
}

// bostonPoints reads the real coordinates of a Boston 311 sample, leaving
// out blanks and the City Hall placeholder.
func bostonPoints(t testing.TB, rel string) []orb.Point {
	t.Helper()
	f, err := os.Open(shareddata.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	h, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	lat, lon := -1, -1
	for i, c := range h {
		switch strings.ToLower(c) {
		case "latitude":
			lat = i
		case "longitude":
			lon = i
		}
	}
	var pts []orb.Point
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return pts
		}
		if err != nil {
			t.Fatal(err)
		}
		y, err1 := strconv.ParseFloat(strings.TrimSpace(rec[lat]), 64)
		x, err2 := strconv.ParseFloat(strings.TrimSpace(rec[lon]), 64)
		if err1 != nil || err2 != nil || (y == 42.3594 && x == -71.0587) {
			continue
		}
		pts = append(pts, orb.Point{x, y})
	}
}

// TestBostonSamplesLandInNeighborhoods places the real samples' points in
// Boston's neighborhoods and 2020 tracts: at least 99% land in an area,
// and every answer agrees with orb's own point-in-polygon test.
func TestBostonSamplesLandInNeighborhoods(t *testing.T) {
	for _, layer := range []string{"boston_geo/Boston_Neighborhoods.geojson", "boston_geo/bpda_boston_tracts_2020.geojson"} {
		areas := readLayer(t, layer)
		ix := NewIndex(areas, 0)
		// orb's test recomputes every ring's bounds on each call: look only
		// at areas whose bounds hold the point.
		bounds := make([]orb.Bound, len(areas))
		for a, mp := range areas {
			bounds[a] = mp.Bound()
		}
		for _, sample := range []string{"boston311/qsv_boston311-100.csv", "boston311/yashchavan11_raw_sample_2015-2024_4995rows.csv"} {
			pts := bostonPoints(t, sample)
			in := 0
			for _, p := range pts {
				got := ix.Locate(p[0], p[1])
				var want []int
				for a, mp := range areas {
					if bounds[a].Contains(p) && planar.MultiPolygonContains(mp, p) {
						want = append(want, a)
					}
				}
				switch {
				case len(want) == 0 && got != -1, len(want) == 1 && got != want[0], len(want) > 1 && !slices.Contains(want, got):
					t.Errorf("%s %v: index says %d, orb says %v", layer, p, got, want)
				}
				if got >= 0 {
					in++
				}
			}
			share := float64(in) / float64(len(pts))
			t.Logf("%s in %s: %d of %d points placed (%.2f%%)", sample, layer, in, len(pts), 100*share)
			if share < 0.99 {
				t.Errorf("%s in %s: only %.2f%% of points placed, want ≥ 99%%", sample, layer, 100*share)
			}
		}
	}
}
