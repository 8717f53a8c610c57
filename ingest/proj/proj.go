// Package proj turns projected coordinates into WGS84 longitude and
// latitude for the coordinate systems US cities publish boundaries in:
// state plane Lambert conformal conic zones (in metres or US survey feet)
// and web Mercator. NAD83 is taken as WGS84 (they differ by about a metre
// in the continental US, less than the boundaries' own precision).
package proj

import (
	"fmt"
	"math"
	"regexp"
	"strconv"

	"github.com/paulmach/orb"
)

// Transform maps a projected point to lon/lat degrees.
type Transform func(x, y float64) (lon, lat float64)

// usFoot is the US survey foot in metres.
const usFoot = 1200.0 / 3937.0

// GRS80 ellipsoid.
const (
	semiMajor  = 6378137.0
	flattening = 1 / 298.257222101
)

// LCC is a Lambert conformal conic projection with two standard parallels
// (degrees), a false origin in metres, and the unit of its coordinates in
// metres.
type LCC struct {
	Lat1, Lat2, Lat0, Lon0 float64
	FalseEasting           float64 // metres
	FalseNorthing          float64 // metres
	Unit                   float64 // metres per coordinate unit
}

// EPSG returns the transform for a coordinate system code; ok is false
// for codes equity311 does not know. 4326 and 4269 are the identity.
func EPSG(code int) (Transform, bool) {
	switch code {
	case 4326, 4269, 4258:
		return func(x, y float64) (float64, float64) { return x, y }, true
	case 3857, 900913:
		return webMercator, true
	}
	if l, ok := zones()[code]; ok {
		return l.Inverse(), true
	}
	return nil, false
}

// zones are the state plane zones of the cities equity311 has profiles for.
func zones() map[int]LCC {
	ma := LCC{Lat1: 42 + 41.0/60, Lat2: 41 + 43.0/60, Lat0: 41, Lon0: -71.5, FalseEasting: 200000, FalseNorthing: 750000}
	ny := LCC{Lat1: 41 + 2.0/60, Lat2: 40 + 40.0/60, Lat0: 40 + 10.0/60, Lon0: -74, FalseEasting: 300000}
	ca3 := LCC{Lat1: 38 + 26.0/60, Lat2: 37 + 4.0/60, Lat0: 36.5, Lon0: -120.5, FalseEasting: 2000000, FalseNorthing: 500000}
	ca5 := LCC{Lat1: 35 + 28.0/60, Lat2: 34 + 2.0/60, Lat0: 33.5, Lon0: -118, FalseEasting: 2000000, FalseNorthing: 500000}
	feet := func(l LCC) LCC { l.Unit = usFoot; return l }
	metres := func(l LCC) LCC { l.Unit = 1; return l }
	return map[int]LCC{
		26986: metres(ma), 2249: feet(ma), // Massachusetts Mainland
		32118: metres(ny), 2263: feet(ny), // New York Long Island
		26943: metres(ca3), 2227: feet(ca3), // California zone III (San Francisco)
		26945: metres(ca5), 2229: feet(ca5), // California zone V (Los Angeles)
	}
}

// crsCode finds an EPSG code in a CRS name such as "EPSG:2249" or
// "urn:ogc:def:crs:EPSG::2249".
var crsCode = regexp.MustCompile(`(?i)EPSG:{1,2}(\d+)$`)

// ParseCRS returns the transform named by a GeoJSON crs name.
func ParseCRS(name string) (Transform, error) {
	if m := crsCode.FindStringSubmatch(name); m != nil {
		code, _ := strconv.Atoi(m[1])
		if t, ok := EPSG(code); ok {
			return t, nil
		}
		return nil, fmt.Errorf("coordinate system EPSG:%d is not one equity311 can convert; reproject the file to WGS84 (EPSG:4326)", code)
	}
	if regexp.MustCompile(`(?i)CRS:?84$`).MatchString(name) {
		t, _ := EPSG(4326)
		return t, nil
	}
	return nil, fmt.Errorf("coordinate system %q not understood; give EPSG:NNNN or reproject to WGS84", name)
}

func ellipsoid() (a, e float64) {
	e2 := 2*flattening - flattening*flattening
	return semiMajor, math.Sqrt(e2)
}

func rad(d float64) float64 { return d * math.Pi / 180 }

// constants of the projection (Snyder, Map Projections — A Working Manual, §15).
func (l LCC) constants() (n, F, rho0 float64) {
	a, e := ellipsoid()
	m := func(phi float64) float64 { s := math.Sin(phi); return math.Cos(phi) / math.Sqrt(1-e*e*s*s) }
	t := func(phi float64) float64 {
		s := math.Sin(phi)
		return math.Tan(math.Pi/4-phi/2) / math.Pow((1-e*s)/(1+e*s), e/2)
	}
	p1, p2, p0 := rad(l.Lat1), rad(l.Lat2), rad(l.Lat0)
	n = (math.Log(m(p1)) - math.Log(m(p2))) / (math.Log(t(p1)) - math.Log(t(p2)))
	F = m(p1) / (n * math.Pow(t(p1), n))
	rho0 = a * F * math.Pow(t(p0), n)
	return n, F, rho0
}

// Inverse returns the transform from projected coordinates to lon/lat.
func (l LCC) Inverse() Transform {
	a, e := ellipsoid()
	n, F, rho0 := l.constants()
	return func(x, y float64) (float64, float64) {
		dx := x*l.Unit - l.FalseEasting
		dy := rho0 - (y*l.Unit - l.FalseNorthing)
		rho := math.Copysign(math.Hypot(dx, dy), n)
		theta := math.Atan2(dx, dy)
		if n < 0 {
			theta = math.Atan2(-dx, -dy)
		}
		t := math.Pow(rho/(a*F), 1/n)
		phi := math.Pi/2 - 2*math.Atan(t)
		for i := 0; i < 15; i++ {
			s := math.Sin(phi)
			next := math.Pi/2 - 2*math.Atan(t*math.Pow((1-e*s)/(1+e*s), e/2))
			if math.Abs(next-phi) < 1e-12 {
				phi = next
				break
			}
			phi = next
		}
		return theta/n*180/math.Pi + l.Lon0, phi * 180 / math.Pi
	}
}

// Forward returns the transform from lon/lat to projected coordinates.
func (l LCC) Forward() func(lon, lat float64) (x, y float64) {
	a, e := ellipsoid()
	n, F, rho0 := l.constants()
	return func(lon, lat float64) (float64, float64) {
		phi := rad(lat)
		s := math.Sin(phi)
		t := math.Tan(math.Pi/4-phi/2) / math.Pow((1-e*s)/(1+e*s), e/2)
		rho := a * F * math.Pow(t, n)
		theta := n * rad(lon-l.Lon0)
		x := rho*math.Sin(theta) + l.FalseEasting
		y := rho0 - rho*math.Cos(theta) + l.FalseNorthing
		return x / l.Unit, y / l.Unit
	}
}

func webMercator(x, y float64) (float64, float64) {
	return x / semiMajor * 180 / math.Pi, (2*math.Atan(math.Exp(y/semiMajor)) - math.Pi/2) * 180 / math.Pi
}

// Geometry applies t to every point of a polygonal geometry.
func Geometry(g orb.MultiPolygon, t Transform) orb.MultiPolygon {
	out := make(orb.MultiPolygon, len(g))
	for i, p := range g {
		out[i] = make(orb.Polygon, len(p))
		for j, r := range p {
			nr := make(orb.Ring, len(r))
			for k, pt := range r {
				nr[k][0], nr[k][1] = t(pt[0], pt[1])
			}
			out[i][j] = nr
		}
	}
	return out
}
