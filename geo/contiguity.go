package geo

import (
	"math"
	"slices"
)

// DefaultContiguityMetres is the tolerance within which two areas'
// boundaries count as touching.
const DefaultContiguityMetres = 1.0

// Contiguity returns the queen neighbours of each area of the layer: the
// areas with a boundary vertex within tol metres of one of its own (a
// shared edge or a shared corner; layers drawn as one coverage share
// their vertices). Lists are sorted; an area with none is an island.
func Contiguity(l *Layer, tol float64) [][]int {
	if tol <= 0 {
		tol = DefaultContiguityMetres
	}
	// Degrees per tol metres at the layer's latitude.
	b := l.Index.bounds
	lat := 0.0
	if len(b) > 0 {
		lat = (l.Index.minY + l.Index.maxY) / 2
	}
	dy := tol / 111_320
	dx := tol / (111_320 * math.Max(0.1, math.Cos(lat*math.Pi/180)))
	type vertex struct {
		x, y float64
		area int32
	}
	cells := map[[2]int64][]vertex{}
	key := func(x, y float64) [2]int64 { return [2]int64{int64(math.Floor(x / dx)), int64(math.Floor(y / dy))} }
	for a, mp := range l.Geoms {
		for _, poly := range mp {
			for _, ring := range poly {
				for _, p := range ring {
					k := key(p[0], p[1])
					vs := cells[k]
					if n := len(vs); n > 0 && vs[n-1].area == int32(a) && vs[n-1].x == p[0] && vs[n-1].y == p[1] {
						continue
					}
					cells[k] = append(vs, vertex{p[0], p[1], int32(a)})
				}
			}
		}
	}
	near := make([]map[int]bool, len(l.Geoms))
	for i := range near {
		near[i] = map[int]bool{}
	}
	for k, vs := range cells {
		for ox := int64(-1); ox <= 1; ox++ {
			for oy := int64(-1); oy <= 1; oy++ {
				other := cells[[2]int64{k[0] + ox, k[1] + oy}]
				for _, v := range vs {
					for _, w := range other {
						if v.area == w.area || near[v.area][int(w.area)] {
							continue
						}
						ex, ey := (v.x-w.x)/dx, (v.y-w.y)/dy
						if ex*ex+ey*ey <= 1 {
							near[v.area][int(w.area)] = true
							near[w.area][int(v.area)] = true
						}
					}
				}
			}
		}
	}
	out := make([][]int, len(near))
	for i, m := range near {
		for j := range m {
			out[i] = append(out[i], j)
		}
		slices.Sort(out[i])
	}
	return out
}
