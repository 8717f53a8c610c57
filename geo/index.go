// Package geo places tickets in areas: a uniform-grid point-in-polygon
// index over a layer's polygons, the assign step that writes ticket_places
// and geo_quality, and crosswalks between layers.
package geo

import (
	"cmp"
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// Index answers "which area contains this point" for one layer of
// polygons (where they overlap, the smallest containing area wins). It lays a uniform grid over the layer: a cell
// that no polygon edge touches knows its owner outright; a cell that edges
// cross lists the candidate areas, which are tested with a crossing-number
// test. Points on an edge shared by two areas belong to exactly one of them
// (the test is half-open and computes every edge the same way from either
// side), and holes and multi-part areas work.
//
// An Index is read-only after NewIndex and safe for concurrent use.
type Index struct {
	minX, minY float64
	maxX, maxY float64
	invW, invH float64 // cells per degree
	nx, ny     int
	cells      []int32 // ≥0: owner area; -1: no area; ≤-2: boundary, candidates at -cells-2
	candStart  []int32 // candidate list k is cand[candStart[k]:candStart[k+1]]
	cand       []int32
	rings      [][]orb.Point // all rings of all areas
	areaRings  [][]int32     // area → its rings
	bounds     []orb.Bound
	numAreas   int
	// order lists the areas smallest first (planar area, then index);
	// rank is each area's place in it: Locate's rule where areas overlap.
	order []int32
	rank  []int32
	// Each area's edges bucketed by grid row, so that the crossing test
	// looks only at edges that can span the point's latitude.
	areaRow0 []int     // first grid row of the area's box
	rowOff   [][]int32 // area → offsets into edges per row (len rows+1)
	edges    [][]edge  // area → edges, grouped by row
}

// edge is a polygon edge with its lower end first.
type edge struct{ xa, ya, xb, yb float64 }

// DefaultCells is the default number of grid cells.
const DefaultCells = 1 << 16

// NewIndex builds an index over areas (each a multipolygon in lon/lat)
// with about cells grid cells (DefaultCells when cells <= 0).
func NewIndex(areas []orb.MultiPolygon, cells int) *Index {
	if cells <= 0 {
		cells = DefaultCells
	}
	ix := &Index{numAreas: len(areas)}
	var bb orb.Bound
	first := true
	for _, mp := range areas {
		ab := mp.Bound()
		ix.bounds = append(ix.bounds, ab)
		if len(mp) > 0 {
			if first {
				bb, first = ab, false
			} else {
				bb = bb.Union(ab)
			}
		}
		var rs []int32
		for _, poly := range mp {
			for _, ring := range poly {
				r := closeRing(ring)
				if len(r) < 4 {
					continue
				}
				rs = append(rs, int32(len(ix.rings)))
				ix.rings = append(ix.rings, r)
			}
		}
		ix.areaRings = append(ix.areaRings, rs)
	}
	sizes := make([]float64, len(areas))
	for a, mp := range areas {
		sizes[a] = planar.Area(mp)
		ix.order = append(ix.order, int32(a))
	}
	slices.SortStableFunc(ix.order, func(x, y int32) int { return cmp.Compare(sizes[x], sizes[y]) })
	ix.rank = make([]int32, len(areas))
	for r, a := range ix.order {
		ix.rank[a] = int32(r)
	}
	if first {
		ix.nx, ix.ny = 0, 0
		return ix
	}
	w, h := bb.Max[0]-bb.Min[0], bb.Max[1]-bb.Min[1]
	if w <= 0 {
		w = 1e-9
	}
	if h <= 0 {
		h = 1e-9
	}
	// Square-ish cells.
	ix.nx = max(1, int(math.Round(math.Sqrt(float64(cells)*w/h))))
	ix.ny = max(1, cells/ix.nx)
	ix.minX, ix.minY = bb.Min[0], bb.Min[1]
	ix.maxX, ix.maxY = bb.Max[0], bb.Max[1]
	ix.invW, ix.invH = float64(ix.nx)/w, float64(ix.ny)/h
	ix.build()
	return ix
}

func closeRing(r orb.Ring) []orb.Point {
	if len(r) > 0 && r[0] != r[len(r)-1] {
		c := make([]orb.Point, len(r)+1)
		copy(c, r)
		c[len(r)] = r[0]
		return c
	}
	return r
}

func (ix *Index) build() {
	n := ix.nx * ix.ny
	ix.cells = make([]int32, n)
	for i := range ix.cells {
		ix.cells[i] = -1
	}
	ix.bucketEdges()
	// Boundary cells and the areas whose edges touch them.
	boundary := make([][]int32, n)
	isBoundary := make([]bool, n)
	for a, rs := range ix.areaRings {
		for _, ri := range rs {
			ring := ix.rings[ri]
			for i := 0; i+1 < len(ring); i++ {
				ix.segmentCells(ring[i], ring[i+1], func(c int) {
					isBoundary[c] = true
					l := boundary[c]
					if len(l) == 0 || l[len(l)-1] != int32(a) {
						boundary[c] = append(l, int32(a))
					}
				})
			}
		}
	}
	for c := range boundary {
		boundary[c] = uniq(boundary[c])
	}
	// A cell that none of an area's edges touch lies wholly inside or
	// outside it, so its center decides. An interior cell inside one area
	// knows its owner; inside several (an overlap), or a boundary cell
	// inside an area whose edges miss it, lists them as candidates.
	cover := map[int][]int32{}
	cw, ch := 1/ix.invW, 1/ix.invH
	for _, a := range ix.order {
		b := ix.bounds[a]
		if len(ix.areaRings[a]) == 0 {
			continue
		}
		x0, y0 := ix.cellXY(b.Min[0], b.Min[1])
		x1, y1 := ix.cellXY(b.Max[0], b.Max[1])
		for cy := max(y0, 0); cy <= min(y1, ix.ny-1); cy++ {
			for cx := max(x0, 0); cx <= min(x1, ix.nx-1); cx++ {
				c := cy*ix.nx + cx
				if isBoundary[c] && slices.Contains(boundary[c], int32(a)) {
					continue
				}
				px := ix.minX + (float64(cx)+0.5)*cw
				py := ix.minY + (float64(cy)+0.5)*ch
				if !ix.inArea(int(a), px, py) {
					continue
				}
				switch {
				case isBoundary[c]:
					boundary[c] = append(boundary[c], a)
				case ix.cells[c] == -1 && cover[c] == nil:
					ix.cells[c] = a
				default:
					if cover[c] == nil {
						cover[c] = []int32{ix.cells[c]}
					}
					cover[c] = append(cover[c], a)
				}
			}
		}
	}
	ix.candStart = []int32{0}
	for c := 0; c < n; c++ {
		l := boundary[c]
		if !isBoundary[c] {
			if l = cover[c]; l == nil {
				continue
			}
		}
		ix.cells[c] = int32(-2 - (len(ix.candStart) - 1))
		// Smallest area first: Locate's rule for a point in several.
		slices.SortFunc(l, func(x, y int32) int { return cmp.Compare(ix.rank[x], ix.rank[y]) })
		ix.cand = append(ix.cand, l...)
		ix.candStart = append(ix.candStart, int32(len(ix.cand)))
	}
}

func uniq(l []int32) []int32 {
	seen := map[int32]bool{}
	out := l[:0]
	for _, a := range l {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// cellXY returns the (unclamped) cell coordinates of a point.
func (ix *Index) cellXY(x, y float64) (int, int) {
	return int(math.Floor((x - ix.minX) * ix.invW)), int(math.Floor((y - ix.minY) * ix.invH))
}

// segmentCells calls fn for every cell the segment p–q touches, with a
// small margin so that no touching cell is missed.
func (ix *Index) segmentCells(p, q orb.Point, fn func(int)) {
	const eps = 1e-7 // in cell units
	gx0, gy0 := (p[0]-ix.minX)*ix.invW, (p[1]-ix.minY)*ix.invH
	gx1, gy1 := (q[0]-ix.minX)*ix.invW, (q[1]-ix.minY)*ix.invH
	if gx0 > gx1 {
		gx0, gy0, gx1, gy1 = gx1, gy1, gx0, gy0
	}
	cx0 := int(math.Floor(gx0 - eps))
	cx1 := int(math.Floor(gx1 + eps))
	for cx := cx0; cx <= cx1; cx++ {
		if cx < 0 || cx >= ix.nx {
			continue
		}
		// The segment's y extent within this column.
		xa, xb := math.Max(gx0, float64(cx)), math.Min(gx1, float64(cx+1))
		var ya, yb float64
		if gx1 == gx0 {
			ya, yb = gy0, gy1
		} else {
			t := (gy1 - gy0) / (gx1 - gx0)
			ya, yb = gy0+(xa-gx0)*t, gy0+(xb-gx0)*t
		}
		if ya > yb {
			ya, yb = yb, ya
		}
		cy0, cy1 := int(math.Floor(ya-eps)), int(math.Floor(yb+eps))
		for cy := max(cy0, 0); cy <= min(cy1, ix.ny-1); cy++ {
			fn(cy*ix.nx + cx)
		}
	}
}

// Len returns the number of areas indexed.
func (ix *Index) Len() int { return ix.numAreas }

// Locate returns the index of the area containing (lon, lat), or -1.
// A point in several areas (a layer whose polygons overlap) is placed in
// the smallest of them by planar area (the lowest index among equals):
// in a nested layer that is the most specific area.
func (ix *Index) Locate(lon, lat float64) int {
	// The hot path of assign, kept apart from LocateCover's counting.
	if ix.nx == 0 || !(lon >= ix.minX && lon <= ix.maxX && lat >= ix.minY && lat <= ix.maxY) {
		return -1
	}
	cx, cy := ix.cellXY(lon, lat)
	cx, cy = min(cx, ix.nx-1), min(cy, ix.ny-1)
	v := ix.cells[cy*ix.nx+cx]
	if v >= -1 {
		return int(v)
	}
	k := -v - 2
	for _, a := range ix.cand[ix.candStart[k]:ix.candStart[k+1]] {
		if ix.inArea(int(a), lon, lat) {
			return int(a)
		}
	}
	return -1
}

// LocateCover is Locate that also counts the areas containing the point:
// more than 1 only where the layer's polygons overlap.
func (ix *Index) LocateCover(lon, lat float64) (area, n int) {
	owner, cands := ix.candidates(lon, lat)
	if owner >= 0 {
		return owner, 1
	}
	area = -1
	for _, a := range cands {
		if ix.inArea(int(a), lon, lat) {
			if area < 0 {
				area = int(a)
			}
			n++
		}
	}
	return area, n
}

// candidates returns the area that owns the point's cell outright, or -1
// and the areas whose crossing test decides (none outside every area).
func (ix *Index) candidates(lon, lat float64) (owner int, cands []int32) {
	if ix.nx == 0 || !(lon >= ix.minX && lon <= ix.maxX && lat >= ix.minY && lat <= ix.maxY) {
		return -1, nil
	}
	cx, cy := ix.cellXY(lon, lat)
	cx, cy = min(cx, ix.nx-1), min(cy, ix.ny-1)
	v := ix.cells[cy*ix.nx+cx]
	if v >= -1 {
		return int(v), nil
	}
	k := -v - 2
	return -1, ix.cand[ix.candStart[k]:ix.candStart[k+1]]
}

// bucketEdges files every edge of every area under each grid row its
// latitude range touches (with a small margin).
func (ix *Index) bucketEdges() {
	const eps = 1e-7 // in cell units
	row := func(y, margin float64) int {
		r := int(math.Floor((y-ix.minY)*ix.invH + margin))
		return max(0, min(r, ix.ny-1))
	}
	n := ix.numAreas
	ix.areaRow0 = make([]int, n)
	ix.rowOff = make([][]int32, n)
	ix.edges = make([][]edge, n)
	for a, rs := range ix.areaRings {
		b := ix.bounds[a]
		r0, r1 := row(b.Min[1], -eps), row(b.Max[1], eps)
		ix.areaRow0[a] = r0
		var es []edge
		var lo, hi []int
		for _, ri := range rs {
			ring := ix.rings[ri]
			for i := 0; i+1 < len(ring); i++ {
				e := edge{ring[i][0], ring[i][1], ring[i+1][0], ring[i+1][1]}
				if e.ya > e.yb {
					e = edge{e.xb, e.yb, e.xa, e.ya}
				}
				if e.ya == e.yb {
					continue // horizontal edges never cross a horizontal ray
				}
				es = append(es, e)
				lo, hi = append(lo, row(e.ya, -eps)-r0), append(hi, row(e.yb, eps)-r0)
			}
		}
		nr := r1 - r0 + 1
		off := make([]int32, nr+1)
		for k := range es {
			for r := lo[k]; r <= hi[k]; r++ {
				off[r+1]++
			}
		}
		for r := 0; r < nr; r++ {
			off[r+1] += off[r]
		}
		out := make([]edge, off[nr])
		fill := append([]int32(nil), off[:nr]...)
		for k, e := range es {
			for r := lo[k]; r <= hi[k]; r++ {
				out[fill[r]] = e
				fill[r]++
			}
		}
		ix.rowOff[a], ix.edges[a] = off, out
	}
}

// inArea is the crossing-number test over the edges of area a (outer
// rings and holes alike) in the point's grid row. Every edge is evaluated
// from its lower end, so two areas sharing it compute the same crossing
// point bit for bit, and a point on a shared edge lies in exactly one.
func (ix *Index) inArea(a int, px, py float64) bool {
	b := ix.bounds[a]
	if px < b.Min[0] || px > b.Max[0] || py < b.Min[1] || py > b.Max[1] {
		return false
	}
	r := int(math.Floor((py-ix.minY)*ix.invH)) - ix.areaRow0[a]
	off := ix.rowOff[a]
	r = max(0, min(r, len(off)-2))
	in := false
	for _, e := range ix.edges[a][off[r]:off[r+1]] {
		if (e.ya > py) != (e.yb > py) && px < e.xa+(py-e.ya)*(e.xb-e.xa)/(e.yb-e.ya) {
			in = !in
		}
	}
	return in
}

// Nearest returns the area closest to (lon, lat) and the distance to its
// boundary in metres (an equirectangular approximation, good to a fraction
// of a percent over a city). It is meant for the few points outside every
// area: a shoreline, a pier, a bridge.
func (ix *Index) Nearest(lon, lat float64) (area int, metres float64) {
	const mPerDeg = 111_320.0
	kx := math.Cos(lat*math.Pi/180) * mPerDeg
	best, bestD := -1, math.Inf(1)
	for a := 0; a < ix.numAreas; a++ {
		b := ix.bounds[a]
		dx := math.Max(0, math.Max(b.Min[0]-lon, lon-b.Max[0])) * kx
		dy := math.Max(0, math.Max(b.Min[1]-lat, lat-b.Max[1])) * mPerDeg
		if math.Hypot(dx, dy) >= bestD {
			continue
		}
		for _, ri := range ix.areaRings[a] {
			r := ix.rings[ri]
			for i := 0; i+1 < len(r); i++ {
				d := segDist((r[i][0]-lon)*kx, (r[i][1]-lat)*mPerDeg, (r[i+1][0]-lon)*kx, (r[i+1][1]-lat)*mPerDeg)
				if d < bestD {
					best, bestD = a, d
				}
			}
		}
	}
	return best, bestD
}

// segDist is the distance from the origin to the segment (x1,y1)–(x2,y2).
func segDist(x1, y1, x2, y2 float64) float64 {
	dx, dy := x2-x1, y2-y1
	t := 0.0
	if l := dx*dx + dy*dy; l > 0 {
		t = math.Max(0, math.Min(1, -(x1*dx+y1*dy)/l))
	}
	return math.Hypot(x1+t*dx, y1+t*dy)
}
