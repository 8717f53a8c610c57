package geo

import (
	"cmp"
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// Overlap is two areas of one layer whose polygons overlap, with the
// overlap's approximate extent.
type Overlap struct {
	A, B int     // the areas' indexes, A < B
	SqKm float64 // the overlap's area, from a grid sample
}

// FindOverlaps samples a grid of about samples points over the layer's
// extent and returns every pair of areas that share a sampled point, the
// pairs with the largest overlap first. Points on an edge shared by two
// areas belong to one of them, so neighbours are not reported; an overlap
// much narrower than the grid's spacing can be missed (Assign still counts
// every ticket in one).
func FindOverlaps(areas []orb.MultiPolygon, samples int) []Overlap {
	ix := NewIndex(areas, 0)
	if ix.nx == 0 || samples <= 0 {
		return nil
	}
	w, h := ix.maxX-ix.minX, ix.maxY-ix.minY
	nx := max(1, int(math.Round(math.Sqrt(float64(samples)*w/math.Max(h, 1e-12)))))
	ny := max(1, samples/nx)
	dx, dy := w/float64(nx), h/float64(ny)
	const mPerDeg = 111_320.0
	cellKm2 := dx * math.Cos((ix.minY+ix.maxY)/2*math.Pi/180) * mPerDeg * dy * mPerDeg / 1e6
	count := map[[2]int]int{}
	var in []int
	for j := 0; j < ny; j++ {
		y := ix.minY + (float64(j)+0.5)*dy
		for i := 0; i < nx; i++ {
			x := ix.minX + (float64(i)+0.5)*dx
			if in = ix.cover(x, y, in[:0]); len(in) < 2 {
				continue
			}
			for p := 0; p < len(in); p++ {
				for q := p + 1; q < len(in); q++ {
					count[[2]int{min(in[p], in[q]), max(in[p], in[q])}]++
				}
			}
		}
	}
	var out []Overlap
	for k, n := range count {
		out = append(out, Overlap{A: k[0], B: k[1], SqKm: float64(n) * cellKm2})
	}
	slices.SortFunc(out, func(a, b Overlap) int {
		if a.SqKm != b.SqKm {
			return cmp.Compare(b.SqKm, a.SqKm)
		}
		if a.A != b.A {
			return a.A - b.A
		}
		return a.B - b.B
	})
	return out
}

// cover appends to dst every area containing the point.
func (ix *Index) cover(lon, lat float64, dst []int) []int {
	owner, cands := ix.candidates(lon, lat)
	if owner >= 0 {
		return append(dst, owner)
	}
	for _, a := range cands {
		if ix.inArea(int(a), lon, lat) {
			dst = append(dst, int(a))
		}
	}
	return dst
}
