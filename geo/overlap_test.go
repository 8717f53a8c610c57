package geo

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// TestOverlappingAreas: in a layer whose areas overlap (a box nested in
// another, two squares overlapping by a strip), every point inside some
// area is placed, in the smallest area that contains it, and Cover counts
// the areas that contain it.
func TestOverlappingAreas(t *testing.T) {
	areas := []orb.MultiPolygon{
		{{square(0, 0, 10, 10)}},     // 0: the big box
		{{square(2, 2, 4, 4)}},       // 1: nested in it
		{{square(9, 0, 14, 5)}},      // 2: overlaps the big box by a strip
		{{square(14, 0, 16, 5)}},     // 3: shares an edge with 2, overlaps nothing
		{{square(2.5, 2.5, 3, 3)}},   // 4: nested in the nested box
		{{square(-5, -5, -4, -4)}},   // 5: apart
		{{square(9.5, 1, 9.9, 1.2)}}, // 6: inside the strip of 0 and 2
	}
	sizes := make([]float64, len(areas))
	for i, a := range areas {
		sizes[i] = planar.Area(a)
	}
	for _, cells := range []int{16, 256, DefaultCells} {
		ix := NewIndex(areas, cells)
		rng := rand.New(rand.NewPCG(1, uint64(cells)))
		for i := 0; i < 20000; i++ {
			p := orb.Point{-6 + 23*rng.Float64(), -6 + 17*rng.Float64()}
			in := containing(ix, p)
			want := -1
			for _, a := range in {
				if want < 0 || sizes[a] < sizes[want] {
					want = a
				}
			}
			got, n := ix.LocateCover(p[0], p[1])
			if got != want || n != len(in) {
				t.Fatalf("cells %d: LocateCover(%v) = %d in %d areas, want %d (smallest of %v)", cells, p, got, n, want, in)
			}
			if l := ix.Locate(p[0], p[1]); l != want {
				t.Fatalf("cells %d: Locate(%v) = %d, want %d", cells, p, l, want)
			}
		}
	}
	// The pairs that overlap, and only those: 2 and 3 share an edge.
	var pairs [][2]int
	for _, o := range FindOverlaps(areas, 200_000) {
		pairs = append(pairs, [2]int{o.A, o.B})
		if o.SqKm <= 0 {
			t.Errorf("overlap %+v without extent", o)
		}
	}
	slices.SortFunc(pairs, func(a, b [2]int) int { return cmp.Or(a[0]-b[0], a[1]-b[1]) })
	if want := [][2]int{{0, 1}, {0, 2}, {0, 4}, {0, 6}, {1, 4}, {2, 6}}; !slices.Equal(pairs, want) {
		t.Errorf("FindOverlaps: %v, want %v", pairs, want)
	}
}
