package geo

import (
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

func square(x0, y0, x1, y1 float64) orb.Ring {
	return orb.Ring{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}
}

func reversed(r orb.Ring) orb.Ring { r.Reverse(); return r }

// containing returns every area whose crossing test holds for p.
func containing(ix *Index, p orb.Point) []int {
	var out []int
	for a := 0; a < ix.Len(); a++ {
		if ix.inArea(a, p[0], p[1]) {
			out = append(out, a)
		}
	}
	return out
}

func TestSharedEdgesBelongToExactlyOneArea(t *testing.T) {
	// A 3×3 block of unit squares with their corners shared.
	var areas []orb.MultiPolygon
	for y := 0; y < 3; y++ {
		for x := 0; x < 3; x++ {
			areas = append(areas, orb.MultiPolygon{{square(float64(x), float64(y), float64(x+1), float64(y+1))}})
		}
	}
	ix := NewIndex(areas, 64)
	// Every point on an interior edge or vertex, at several fractions.
	for _, x := range []float64{0.5, 1, 1.25, 2, 2.75} {
		for _, y := range []float64{0.5, 1, 1.5, 2, 2.5} {
			p := orb.Point{x, y}
			got := containing(ix, p)
			if len(got) != 1 {
				t.Errorf("point %v is in %d areas %v, want exactly 1", p, len(got), got)
				continue
			}
			if l := ix.Locate(x, y); l != got[0] {
				t.Errorf("Locate(%v) = %d, crossing test says %d", p, l, got[0])
			}
		}
	}
	// Off the union.
	for _, p := range []orb.Point{{-0.1, 1}, {3.5, 1}, {1, 3.01}, {1, -5}} {
		if l := ix.Locate(p[0], p[1]); l != -1 {
			t.Errorf("Locate(%v) = %d outside every area", p, l)
		}
	}
}

func TestHoleWithEnclaveAndMultiPart(t *testing.T) {
	host := orb.MultiPolygon{
		{square(0, 0, 10, 10), reversed(square(4, 4, 6, 6))}, // with a hole
		{square(20, 0, 22, 2)},                               // and a second part
	}
	enclave := orb.MultiPolygon{{square(4, 4, 6, 6)}}
	ix := NewIndex([]orb.MultiPolygon{host, enclave}, 256)
	cases := []struct {
		p    orb.Point
		want int
	}{
		{orb.Point{1, 1}, 0}, {orb.Point{5, 5}, 1}, {orb.Point{4.5, 5.9}, 1},
		{orb.Point{3.9, 5}, 0}, {orb.Point{21, 1}, 0}, {orb.Point{15, 1}, -1},
		{orb.Point{4, 5}, 1}, // on the hole's edge: one area only
	}
	for _, c := range cases {
		if got := ix.Locate(c.p[0], c.p[1]); got != c.want {
			t.Errorf("Locate(%v) = %d, want %d", c.p, got, c.want)
		}
	}
	if got := containing(ix, orb.Point{6, 4.5}); len(got) != 1 {
		t.Errorf("point on the enclave's edge is in %v", got)
	}
}

// jitteredTiling builds an n×n tiling of quadrilaterals with shared,
// randomly moved vertices.
func jitteredTiling(rng *rand.Rand, n int) []orb.MultiPolygon {
	v := make([][]orb.Point, n+1)
	for i := range v {
		v[i] = make([]orb.Point, n+1)
		for j := range v[i] {
			jx, jy := 0.0, 0.0
			if i > 0 && i < n && j > 0 && j < n {
				jx, jy = (rng.Float64()-0.5)*0.6, (rng.Float64()-0.5)*0.6
			}
			v[i][j] = orb.Point{-71.2 + (float64(j)+jx)*0.01, 42.2 + (float64(i)+jy)*0.01}
		}
	}
	var out []orb.MultiPolygon
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			out = append(out, orb.MultiPolygon{{orb.Ring{v[i][j], v[i][j+1], v[i+1][j+1], v[i+1][j], v[i][j]}}})
		}
	}
	return out
}

func TestLocateAgreesWithOrb(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	areas := jitteredTiling(rng, 14)
	ix := NewIndex(areas, 4096)
	b := areas[0].Bound()
	for _, a := range areas {
		b = b.Union(a.Bound())
	}
	for i := 0; i < 20000; i++ {
		p := orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
		var want []int
		for a, mp := range areas {
			if planar.MultiPolygonContains(mp, p) {
				want = append(want, a)
			}
		}
		got := ix.Locate(p[0], p[1])
		if len(want) == 1 && got != want[0] || len(want) == 0 && got != -1 {
			t.Fatalf("Locate(%v) = %d, orb says %v", p, got, want)
		}
	}
	// Shared vertices and edge points: exactly one area when inside the union.
	for _, mp := range areas {
		ring := mp[0][0]
		for k := 0; k+1 < len(ring); k++ {
			for _, f := range []float64{0, 0.5, 1.0 / 3} {
				p := orb.Point{ring[k][0] + f*(ring[k+1][0]-ring[k][0]), ring[k][1] + f*(ring[k+1][1]-ring[k][1])}
				got := containing(ix, p)
				if len(got) > 1 {
					t.Fatalf("edge point %v in %d areas", p, len(got))
				}
				if l := ix.Locate(p[0], p[1]); len(got) == 1 && l != got[0] || len(got) == 0 && l != -1 {
					t.Fatalf("Locate(%v) = %d, crossing test %v", p, l, got)
				}
			}
		}
	}
}
