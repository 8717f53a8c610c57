package synthcity

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// TestShapeContainsAsOrb checks the cached-box containment against orb's
// planar.MultiPolygonContains on points drawn over each tract's box, on
// its vertices and halfway along its edges (the boundary cases), so the
// generator draws the same points as before.
func TestShapeContainsAsOrb(t *testing.T) {
	c, err := New(Options{Seed: 3, End: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	checked, in := 0, 0
	for ti, tr := range c.Tracts {
		var pts []orb.Point
		b := tr.Geometry.Bound()
		for k := 0; k < 400; k++ {
			pts = append(pts, orb.Point{round6(b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0])), round6(b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1]))})
		}
		for _, poly := range tr.Geometry {
			for _, r := range poly {
				for k := range r {
					pts = append(pts, r[k])
					if k+1 < len(r) {
						pts = append(pts, orb.Point{(r[k][0] + r[k+1][0]) / 2, (r[k][1] + r[k+1][1]) / 2})
					}
				}
			}
		}
		for _, p := range pts {
			want := planar.MultiPolygonContains(tr.Geometry, p)
			if got := c.shapes[ti].contains(p); got != want {
				t.Fatalf("tract %d, point %v: contains %v, orb says %v", ti, p, got, want)
			}
			checked++
			if want {
				in++
			}
		}
	}
	if in == 0 || in == checked {
		t.Fatalf("%d of %d points inside: the check does not test both answers", in, checked)
	}
}
