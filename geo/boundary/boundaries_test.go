package boundary

import (
	"archive/zip"
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/paulmach/orb/planar"

	"github.com/equity311/equity311/internal/shareddata"
	"github.com/equity311/equity311/internal/storetest"
	"github.com/equity311/equity311/store"
)

func layerGeoms(t *testing.T, st *store.Store, layer string) map[string]orb.Geometry {
	t.Helper()
	rows, err := st.DB().Query("SELECT name, geometry FROM areas WHERE layer = ?", layer)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]orb.Geometry{}
	for rows.Next() {
		var name string
		var b []byte
		if err := rows.Scan(&name, &b); err != nil {
			t.Fatal(err)
		}
		g, err := wkb.Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.ToLower(name)] = g
	}
	return out
}

// TestStatePlaneNeighborhoods loads Boston's neighborhoods published in
// Massachusetts State Plane feet (EPSG:2249) and compares them with the
// city's WGS84 neighborhoods: same places, same sizes.
func TestStatePlaneNeighborhoods(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	res, err := Load(ctx, st, shareddata.Path(t, "boston_geo/census2020_bg_neighborhoods_EPSG2249.json"),
		Options{Layer: "sp", IDProp: "BlockGr202", NameProp: "BlockGr202"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Areas != 24 {
		t.Errorf("%d areas, want 24", res.Areas)
	}
	// The BPDA's neighborhoods built from 2020 tracts: the same census
	// geography, in WGS84.
	if _, err := Load(ctx, st, shareddata.Path(t, "boston_geo/bpda_boston_neighborhoods_2020tract.geojson"),
		Options{Layer: "wgs", IDProp: "GEOID", NameProp: "GEOID"}); err != nil {
		t.Fatal(err)
	}
	sp, wgs := layerGeoms(t, st, "sp"), layerGeoms(t, st, "wgs")
	matched, allIn, allTotal := 0, 0, 0
	for name, g := range sp {
		w, ok := wgs[name]
		if !ok {
			continue
		}
		matched++
		// The block-group version adds water and differs at the edges, so
		// compare where the WGS84 neighborhood's land lies: most of it must
		// fall inside the reprojected neighborhood of the same name.
		b := w.Bound()
		in, total := 0, 0
		for i := 0; i < 30; i++ {
			for j := 0; j < 30; j++ {
				p := orb.Point{b.Min[0] + (float64(i)+0.5)/30*(b.Max[0]-b.Min[0]), b.Min[1] + (float64(j)+0.5)/30*(b.Max[1]-b.Min[1])}
				if !planar.MultiPolygonContains(w.(orb.MultiPolygon), p) {
					continue
				}
				total++
				if planar.MultiPolygonContains(g.(orb.MultiPolygon), p) {
					in++
				}
			}
		}
		allIn, allTotal = allIn+in, allTotal+total
		if share := float64(in) / float64(total); share < 0.70 {
			t.Errorf("%s: only %.0f%% of the WGS84 neighborhood lies in the reprojected one", name, 100*share)
		}
	}
	// The city's west and south extremes are the same boundary in both
	// layers: after reprojection they agree to about a metre.
	var spB, wgsB orb.Bound
	for _, g := range sp {
		spB = unionBound(spB, g.Bound())
	}
	for _, g := range wgs {
		wgsB = unionBound(wgsB, g.Bound())
	}
	for _, d := range []float64{spB.Min[0] - wgsB.Min[0], spB.Min[1] - wgsB.Min[1]} {
		if math.Abs(d) > 2e-5 {
			t.Errorf("reprojected extent %v vs WGS84 extent %v: off by %g degrees", spB.Min, wgsB.Min, d)
		}
	}
	if matched < 15 {
		t.Errorf("only %d neighborhoods matched by name", matched)
	}
	t.Logf("%d neighborhoods matched; %.2f%% of their grid points agree", matched, 100*float64(allIn)/float64(allTotal))
	if float64(allIn) < 0.95*float64(allTotal) {
		t.Errorf("only %d of %d grid points agree", allIn, allTotal)
	}
}

func unionBound(a, b orb.Bound) orb.Bound {
	if a.IsZero() {
		return b
	}
	return a.Union(b)
}

// TestBostonLayersLoad loads every Boston layer in the shared data.
func TestBostonLayersLoad(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	for _, c := range []struct {
		file, layer string
		areas       int
	}{
		{"boston_geo/Boston_Neighborhoods.geojson", "neighborhoods", 26},
		{"boston_geo/bpda_boston_tracts_2020.geojson", "tracts2020", 206},
		{"boston_geo/bpda_boston_tracts_2010.geojson", "tracts2010", 179},
		{"boston_geo/suffolk_county_tracts_2010.geojson", "suffolk2010", 203},
		{"boston_geo/bpda_boston_neighborhoods_2020tract.geojson", "nbhd2020tract", 23},
		{"boston_geo/census2020_bg_neighborhoods_EPSG2249.json", "nbhd_bg", 24},
	} {
		res, err := Load(ctx, st, shareddata.Path(t, c.file), Options{Layer: c.layer})
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if res.Areas != c.areas {
			t.Errorf("%s: %d areas, want %d", c.file, res.Areas, c.areas)
		}
		t.Logf("%s: id from %s, name from %s", c.layer, res.IDProp, res.NameProp)
	}
}

// TestShapefile loads a shapefile written by pyshp (testdata/shp) from its
// .zip, its folder and its .shp: three tracts, one with a hole that the
// second fills, one in two parts.
func TestShapefile(t *testing.T) {
	for _, path := range []string{"testdata/shp/tiny_tracts.zip", "testdata/shp", "testdata/shp/tiny_tracts.shp"} {
		st := storetest.Open(t)
		res, err := Load(context.Background(), st, path, Options{Layer: "tracts"})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if res.Areas != 3 || res.IDProp != "GEOID" || res.NameProp != "NAMELSAD" {
			t.Errorf("%s: %+v", path, res)
		}
		g := layerGeoms(t, st, "tracts")
		one, two, three := g["census tract 1"].(orb.MultiPolygon), g["census tract 2"].(orb.MultiPolygon), g["census tract 3"].(orb.MultiPolygon)
		if len(one) != 1 || len(one[0]) != 2 {
			t.Errorf("%s: tract 1 should be one polygon with a hole: %d polygons, %d rings", path, len(one), len(one[0]))
		}
		if len(three) != 2 {
			t.Errorf("%s: tract 3 should have two parts, has %d", path, len(three))
		}
		p := orb.Point{-71.09, 42.31} // in the hole
		if planar.MultiPolygonContains(one, p) || !planar.MultiPolygonContains(two, p) {
			t.Errorf("%s: the hole's point belongs to the wrong tract", path)
		}
		if !planar.MultiPolygonContains(one, orb.Point{-71.099, 42.301}) {
			t.Errorf("%s: tract 1 lost its body", path)
		}
	}
}

func TestSelfIntersectionReported(t *testing.T) {
	bowtie := orb.Ring{{0, 0}, {2, 2}, {2, 0}, {0, 2}, {0, 0}}
	if n := selfIntersections(bowtie, 100); n != 1 {
		t.Errorf("bow tie: %d crossings, want 1", n)
	}
	square := orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}
	if n := selfIntersections(square, 100); n != 0 {
		t.Errorf("square: %d crossings", n)
	}
}

// TestSelfIntersectionsSweepMatchesAllPairs compares the sweep with the
// plain comparison of every pair of edges on every ring of Boston's
// neighborhoods (Hyde Park's outline crosses itself).
func TestSelfIntersectionsSweepMatchesAllPairs(t *testing.T) {
	allPairs := func(r orb.Ring) int {
		n, count := len(r)-1, 0
		for i := 0; i < n; i++ {
			for j := i + 2; j < n; j++ {
				if i == 0 && j == n-1 {
					continue
				}
				if segmentsMeet(r[i], r[i+1], r[j], r[j+1]) {
					count++
				}
			}
		}
		return count
	}
	crossing := 0
	for _, rel := range []string{"boston_geo/Boston_Neighborhoods.geojson"} {
		b, err := os.ReadFile(shareddata.Path(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		areas, _, _, err := readFeatures(rel, b, nil, Options{Layer: "x"})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range areas {
			for _, poly := range a.geom {
				for _, ring := range poly {
					got, want := selfIntersections(ring, 1<<20), allPairs(ring)
					if got != want {
						t.Errorf("%s %s: sweep finds %d crossings, all pairs %d", rel, a.id, got, want)
					}
					crossing += want
				}
			}
		}
	}
	if crossing == 0 {
		t.Error("no crossing found: Hyde Park's outline crosses itself")
	}
}

// TestHostileBoundaryFiles: a small zip that unpacks past the limit fails
// while reading (it used to take 5 GB first); an empty or area-less
// polygon is refused; --crs EPSG:2249 on a file in degrees is refused.
func TestHostileBoundaryFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// A zip whose .shp entry holds 8 MB of zeros, loaded with a 1 MB cap.
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for name, size := range map[string]int{"bomb.shp": 8 << 20, "bomb.dbf": 10} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(make([]byte, size))
	}
	zw.Close()
	bomb := filepath.Join(dir, "bomb.zip")
	if err := os.WriteFile(bomb, zbuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t)
	if _, err := Load(ctx, st, bomb, Options{Layer: "x", MaxBytes: 1 << 20}); err == nil || !strings.Contains(err.Error(), "more than the limit") {
		t.Errorf("zip bomb: %v", err)
	}
	square := `[[[-71.1,42.3],[-71.0,42.3],[-71.0,42.4],[-71.1,42.4],[-71.1,42.3]]]`
	for name, c := range map[string]struct{ geom, crs, want string }{
		"empty":   {`{"type":"Polygon","coordinates":[]}`, "", "empty geometry"},
		"flat":    {`{"type":"Polygon","coordinates":[[[-71.1,42.3],[-71.0,42.3],[-71.1,42.3],[-71.1,42.3]]]}`, "", "no area"},
		"degrees": {`{"type":"Polygon","coordinates":` + square + `}`, "EPSG:2249", "look like longitude and latitude"},
	} {
		path := filepath.Join(dir, name+".geojson")
		gj := `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"a"},"geometry":` + c.geom + `}]}`
		if err := os.WriteFile(path, []byte(gj), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(ctx, st, path, Options{Layer: name, CRS: c.crs}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
