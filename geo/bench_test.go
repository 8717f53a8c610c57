package geo

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/equity311/equity311/internal/synthcity"
)

// demoTracts returns the synthetic city's tract polygons.
func demoTracts(b *testing.B) []orb.MultiPolygon {
	c, err := synthcity.New(synthcity.Options{Seed: 1, End: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		b.Fatal(err)
	}
	var out []orb.MultiPolygon
	for _, t := range c.Tracts {
		out = append(out, t.Geometry)
	}
	return out
}

// randomPoints draws n points uniformly over the layer's bounding box.
func randomPoints(areas []orb.MultiPolygon, n int) []orb.Point {
	bb := areas[0].Bound()
	for _, a := range areas {
		bb = bb.Union(a.Bound())
	}
	rng := rand.New(rand.NewPCG(7, 8))
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = orb.Point{bb.Min[0] + rng.Float64()*(bb.Max[0]-bb.Min[0]), bb.Min[1] + rng.Float64()*(bb.Max[1]-bb.Min[1])}
	}
	return pts
}

// BenchmarkLocate reports points per second for the grid index on the
// demo's tracts and on Boston's 206 tracts, on one core (Locate in a loop)
// and on all cores (LocateAll), for 1M and 10M points.
func BenchmarkLocate(b *testing.B) {
	layers := map[string]func(*testing.B) []orb.MultiPolygon{
		"demo-tracts": demoTracts,
		"boston-tracts": func(b *testing.B) []orb.MultiPolygon {
			return readLayer(b, "boston_geo/bpda_boston_tracts_2020.geojson")
		},
	}
	for _, name := range []string{"demo-tracts", "boston-tracts"} {
		for _, n := range []int{1_000_000, 10_000_000} {
			b.Run(fmt.Sprintf("%s/%dM/1-core", name, n/1_000_000), func(b *testing.B) {
				areas := layers[name](b)
				ix := NewIndex(areas, 0)
				pts := randomPoints(areas, n)
				b.ResetTimer()
				hits := 0
				for i := 0; i < b.N; i++ {
					for _, p := range pts {
						if ix.Locate(p[0], p[1]) >= 0 {
							hits++
						}
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
				b.ReportMetric(float64(hits)/float64(n*b.N), "share-inside")
			})
			b.Run(fmt.Sprintf("%s/%dM/all-cores", name, n/1_000_000), func(b *testing.B) {
				areas := layers[name](b)
				ix := NewIndex(areas, 0)
				pts := randomPoints(areas, n)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					LocateAll(ix, pts)
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
			})
		}
	}
}

// BenchmarkNewIndex measures building the grid over Boston's 206 tracts.
func BenchmarkNewIndex(b *testing.B) {
	areas := readLayer(b, "boston_geo/bpda_boston_tracts_2020.geojson")
	for i := 0; i < b.N; i++ {
		NewIndex(areas, 0)
	}
}
