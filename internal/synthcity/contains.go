package synthcity

import (
	"math"

	"github.com/paulmach/orb"
)

// shape is a tract's polygons with every ring's bounding box computed
// once: orb's planar.MultiPolygonContains computes each ring's box on
// every call, which was a third of the generator's time.
type shape struct {
	polygons []polygonShape
	bound    orb.Bound // the multipolygon's
}

type polygonShape []ringShape

type ringShape struct {
	ring  orb.Ring
	bound orb.Bound
}

func newShape(mp orb.MultiPolygon) shape {
	s := shape{polygons: make([]polygonShape, len(mp)), bound: mp.Bound()}
	for i, p := range mp {
		s.polygons[i] = make(polygonShape, len(p))
		for k, r := range p {
			s.polygons[i][k] = ringShape{ring: r, bound: r.Bound()}
		}
	}
	return s
}

// contains is planar.MultiPolygonContains(mp, p) for the shape's mp, with
// the same answer for every point (points on a boundary are in).
func (s shape) contains(p orb.Point) bool {
	for _, poly := range s.polygons {
		if poly.contains(p) {
			return true
		}
	}
	return false
}

func (poly polygonShape) contains(p orb.Point) bool {
	if !poly[0].contains(p) {
		return false
	}
	for _, hole := range poly[1:] {
		if hole.contains(p) {
			return false
		}
	}
	return true
}

// contains is planar.RingContains with the ring's box precomputed; the
// ray casting below is orb's (planar/contains.go, MIT licence), copied so
// that the answers stay the same bit for bit.
func (rs ringShape) contains(p orb.Point) bool {
	if !rs.bound.Contains(p) {
		return false
	}
	r := rs.ring
	c, on := rayIntersect(p, r[0], r[len(r)-1])
	if on {
		return true
	}
	for i := 0; i < len(r)-1; i++ {
		inter, on := rayIntersect(p, r[i], r[i+1])
		if on {
			return true
		}
		if inter {
			c = !c
		}
	}
	return c
}
func rayIntersect(p, s, e orb.Point) (intersects, on bool) {
	if s[0] > e[0] {
		s, e = e, s
	}

	switch p[0] {
	case s[0]:
		if p[1] == s[1] {
			// p == start
			return false, true
		} else if s[0] == e[0] {
			// vertical segment (s -> e)
			// return true if within the line, check to see if start or end is greater.
			if s[1] > e[1] && s[1] >= p[1] && p[1] >= e[1] {
				return false, true
			}

			if e[1] > s[1] && e[1] >= p[1] && p[1] >= s[1] {
				return false, true
			}
		}

		// Move the y coordinate to deal with degenerate case
		p[0] = math.Nextafter(p[0], math.Inf(1))
	case e[0]:
		if p[1] == e[1] {
			// matching the end point
			return false, true
		}

		p[0] = math.Nextafter(p[0], math.Inf(1))
	}

	if p[0] < s[0] || p[0] > e[0] {
		return false, false
	}

	if s[1] > e[1] {
		if p[1] > s[1] {
			return false, false
		} else if p[1] < e[1] {
			return true, false
		}
	} else {
		if p[1] > e[1] {
			return false, false
		} else if p[1] < s[1] {
			return true, false
		}
	}

	rs := (p[1] - s[1]) / (p[0] - s[0])
	ds := (e[1] - s[1]) / (e[0] - s[0])

	if rs == ds {
		return false, true
	}

	return rs <= ds, false
}
