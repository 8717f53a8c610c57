package synthcity

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// The city is a lattice of rows × cols cells around Boston's coordinates
// (so that Boston's City Hall placeholder point falls inside it). Lattice
// vertices are jittered and every lattice edge is a jittered polyline
// computed once, so neighbouring tracts share their edges exactly.
const (
	rows    = 14
	cols    = 16
	originX = -71.150 // lon of the lattice's south-west corner
	originY = 42.280  // lat
	cellW   = 0.0110  // degrees of longitude per cell (~0.9 km)
	cellH   = 0.0080  // degrees of latitude per cell (~0.9 km)
	subdiv  = 3       // segments per lattice edge
)

// cityHall is Boston's placeholder point (lat 42.3594, lon -71.0587).
var cityHall = orb.Point{-71.0587, 42.3594}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// lattice holds the shared vertices and edge polylines.
type lattice struct {
	vert  [][]orb.Point   // (rows+1) × (cols+1)
	horiz [][][]orb.Point // horiz[i][j]: vertex (i,j) → (i,j+1), endpoints included
	vert2 [][][]orb.Point // vert2[i][j]: vertex (i,j) → (i+1,j)
}

func newLattice(rng *rand.Rand) *lattice {
	l := &lattice{}
	l.vert = make([][]orb.Point, rows+1)
	for i := range l.vert {
		l.vert[i] = make([]orb.Point, cols+1)
		for j := range l.vert[i] {
			jx := (rng.Float64() - 0.5) * 0.5
			jy := (rng.Float64() - 0.5) * 0.5
			l.vert[i][j] = orb.Point{round6(originX + (float64(j)+jx)*cellW), round6(originY + (float64(i)+jy)*cellH)}
		}
	}
	wiggle := func(a, b orb.Point) []orb.Point {
		pts := []orb.Point{a}
		dx, dy := b[0]-a[0], b[1]-a[1]
		// Unit normal in cell-scaled space keeps wiggles proportionate.
		for k := 1; k < subdiv; k++ {
			f := float64(k) / subdiv
			off := (rng.Float64() - 0.5) * 0.12
			pts = append(pts, orb.Point{round6(a[0] + f*dx - off*dy*cellW/cellH), round6(a[1] + f*dy + off*dx*cellH/cellW)})
		}
		return append(pts, b)
	}
	l.horiz = make([][][]orb.Point, rows+1)
	for i := 0; i <= rows; i++ {
		l.horiz[i] = make([][]orb.Point, cols)
		for j := 0; j < cols; j++ {
			l.horiz[i][j] = wiggle(l.vert[i][j], l.vert[i][j+1])
		}
	}
	l.vert2 = make([][][]orb.Point, rows)
	for i := 0; i < rows; i++ {
		l.vert2[i] = make([][]orb.Point, cols+1)
		for j := 0; j <= cols; j++ {
			l.vert2[i][j] = wiggle(l.vert[i][j], l.vert[i+1][j])
		}
	}
	return l
}

// heading of a directed lattice edge: east, north, west, south.
const (
	east = iota
	north
	west
	south
)

// dirEdge is a lattice edge walked in one direction.
type dirEdge struct {
	from, to [2]int // lattice vertices (i, j)
	heading  int
	pts      []orb.Point // from → to, endpoints included
}

func reversedPts(p []orb.Point) []orb.Point {
	r := make([]orb.Point, len(p))
	for i := range p {
		r[i] = p[len(p)-1-i]
	}
	return r
}

// cellEdges returns the four edges of cell (i, j) counter-clockwise
// (the interior on the left), starting at its south-west corner.
func (l *lattice) cellEdges(i, j int) [4]dirEdge {
	return [4]dirEdge{
		{[2]int{i, j}, [2]int{i, j + 1}, east, l.horiz[i][j]},
		{[2]int{i, j + 1}, [2]int{i + 1, j + 1}, north, l.vert2[i][j+1]},
		{[2]int{i + 1, j + 1}, [2]int{i + 1, j}, west, reversedPts(l.horiz[i+1][j])},
		{[2]int{i + 1, j}, [2]int{i, j}, south, reversedPts(l.vert2[i][j])},
	}
}

// neighbour returns the cell across edge k (0 east-going bottom edge, ...).
func neighbour(i, j, k int) (int, int) {
	switch k {
	case 0:
		return i - 1, j
	case 1:
		return i, j + 1
	case 2:
		return i + 1, j
	}
	return i, j - 1
}

// cellRing is the closed counter-clockwise ring of cell (i, j).
func (l *lattice) cellRing(i, j int) orb.Ring {
	var r orb.Ring
	for _, e := range l.cellEdges(i, j) {
		r = append(r, e.pts[:len(e.pts)-1]...)
	}
	return append(r, r[0])
}

// unionRings returns the polygon(s) covering the given cells: outer rings
// counter-clockwise with their holes clockwise. Where two cells of the set
// touch only at a corner, the boundary turns left so rings stay simple.
func (l *lattice) unionRings(in func(i, j int) bool, cells [][2]int) orb.MultiPolygon {
	var edges []dirEdge
	for _, c := range cells {
		for k, e := range l.cellEdges(c[0], c[1]) {
			ni, nj := neighbour(c[0], c[1], k)
			if !in(ni, nj) {
				edges = append(edges, e)
			}
		}
	}
	// Deterministic order.
	sort.Slice(edges, func(a, b int) bool {
		if edges[a].from != edges[b].from {
			return edges[a].from[0] < edges[b].from[0] || edges[a].from[0] == edges[b].from[0] && edges[a].from[1] < edges[b].from[1]
		}
		return edges[a].heading < edges[b].heading
	})
	out := map[[2]int][]int{}
	for k, e := range edges {
		out[e.from] = append(out[e.from], k)
	}
	used := make([]bool, len(edges))
	var outers []orb.Ring
	var holes []orb.Ring
	for s := range edges {
		if used[s] {
			continue
		}
		var ring orb.Ring
		cur := s
		for {
			used[cur] = true
			e := edges[cur]
			ring = append(ring, e.pts[:len(e.pts)-1]...)
			next := -1
			for _, turn := range []int{1, 0, 3} { // left, straight, right
				want := (e.heading + turn) % 4
				for _, k := range out[e.to] {
					if edges[k].heading == want && (!used[k] || k == s) {
						next = k
						break
					}
				}
				if next >= 0 {
					break
				}
			}
			if next < 0 || next == s {
				break
			}
			cur = next
		}
		ring = append(ring, ring[0])
		if planar.Area(ring) >= 0 {
			outers = append(outers, ring)
		} else {
			holes = append(holes, ring)
		}
	}
	mp := make(orb.MultiPolygon, len(outers))
	for k, r := range outers {
		mp[k] = orb.Polygon{r}
	}
	for _, h := range holes {
		for k, r := range outers {
			if planar.RingContains(r, h[0]) || planar.RingContains(r, interiorOf(h)) {
				mp[k] = append(mp[k], h)
				break
			}
		}
	}
	return mp
}

// interiorOf returns the midpoint of a ring's first segment.
func interiorOf(r orb.Ring) orb.Point {
	return orb.Point{(r[0][0] + r[1][0]) / 2, (r[0][1] + r[1][1]) / 2}
}
