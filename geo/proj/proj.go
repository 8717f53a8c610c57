// Package proj turns projected coordinates into WGS84 longitude and
// latitude for the coordinate systems US cities publish boundaries in:
// state plane zones, Lambert conformal conic and transverse Mercator (in
// metres or US survey feet), and web Mercator. Each zone is projected
// from its own datum, NAD83, exactly as PROJ does (the tests hold every
// zone to PROJ's cs2cs within a centimetre); NAD83 is then taken as WGS84
// (they differ by about a metre in the continental US, less than the
// boundaries' own precision).
package proj

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/project"

	"github.com/equity311/equity311"
)

// Transform maps a projected point to lon/lat degrees (orb's projection
// type, so that orb's project.Geometry applies it).
type Transform = orb.Projection

// usFoot is the US survey foot in metres.
const usFoot = 1200.0 / 3937.0

// GRS80 ellipsoid.
const (
	semiMajor  = 6378137.0
	flattening = 1 / 298.257222101
)

// Projection maps geographic coordinates on the GRS80 ellipsoid (NAD83)
// to a plane and back. LCC and TM implement it.
type Projection interface {
	// Inverse returns the transform from projected coordinates to lon/lat.
	Inverse() Transform
	// Forward returns the transform from lon/lat to projected coordinates.
	Forward() func(lon, lat float64) (x, y float64)
	// withUnit returns the projection for coordinates in unit metres,
	// with the false origin given in that unit.
	withUnit(unit, falseEasting, falseNorthing float64) Projection
}

// LCC is a Lambert conformal conic projection with two standard parallels
// (degrees), a false origin in metres, and the unit of its coordinates in
// metres.
type LCC struct {
	Lat1, Lat2, Lat0, Lon0 float64
	FalseEasting           float64 // metres
	FalseNorthing          float64 // metres
	Unit                   float64 // metres per coordinate unit
}

// TM is a transverse Mercator projection: its origin (degrees), the scale
// on the central meridian, a false origin in metres, and the unit of its
// coordinates in metres.
type TM struct {
	Lat0, Lon0    float64
	K0            float64 // scale factor on the central meridian
	FalseEasting  float64 // metres
	FalseNorthing float64 // metres
	Unit          float64 // metres per coordinate unit
}

// Zone is a state plane zone: its projection, the name ESRI's .prj files
// give it, and its EPSG codes in metres and in US survey feet.
type Zone struct {
	Name         string     // as in a .prj, e.g. "MASSACHUSETTS_MAINLAND"
	Metres, Feet int        // EPSG codes
	Proj         Projection // in metres
	// The feet zone's false origin in US survey feet, as EPSG defines it
	// (often not the metre origin converted: 656,166.667 ft, not
	// 200,000 m, for Massachusetts Mainland).
	FeetFalseEasting, FeetFalseNorthing float64
}

// Zones are the state plane zones of the cities equity311 has profiles
// for: the one table of them (parameters as EPSG gives them).
func Zones() []Zone {
	dm := func(d, m float64) float64 { return d + m/60 }
	return []Zone{
		{"MASSACHUSETTS_MAINLAND", 26986, 2249, LCC{Lat1: dm(42, 41), Lat2: dm(41, 43), Lat0: 41, Lon0: -71.5, FalseEasting: 200000, FalseNorthing: 750000, Unit: 1}, 656166.667, 2460625},
		{"NEW_YORK_LONG_ISLAND", 32118, 2263, LCC{Lat1: dm(41, 2), Lat2: dm(40, 40), Lat0: dm(40, 10), Lon0: -74, FalseEasting: 300000, Unit: 1}, 984250, 0},
		{"CALIFORNIA_III", 26943, 2227, LCC{Lat1: dm(38, 26), Lat2: dm(37, 4), Lat0: 36.5, Lon0: -120.5, FalseEasting: 2000000, FalseNorthing: 500000, Unit: 1}, 6561666.667, 1640416.667},
		{"CALIFORNIA_V", 26945, 2229, LCC{Lat1: dm(35, 28), Lat2: dm(34, 2), Lat0: 33.5, Lon0: -118, FalseEasting: 2000000, FalseNorthing: 500000, Unit: 1}, 6561666.667, 1640416.667},
		{"ILLINOIS_EAST", 26971, 3435, TM{Lat0: dm(36, 40), Lon0: -dm(88, 20), K0: 0.999975, FalseEasting: 300000, Unit: 1}, 984250, 0},
		{"ILLINOIS_WEST", 26972, 3436, TM{Lat0: dm(36, 40), Lon0: -dm(90, 10), K0: 0.999941177, FalseEasting: 700000, Unit: 1}, 2296583.3333, 0},
	}
}

// zones maps each EPSG code of Zones to its projection.
func zones() map[int]Projection {
	out := map[int]Projection{}
	for _, z := range Zones() {
		out[z.Metres] = z.Proj
		out[z.Feet] = z.Proj.withUnit(usFoot, z.FeetFalseEasting*usFoot, z.FeetFalseNorthing*usFoot)
	}
	return out
}

// EPSG returns the transform for a coordinate system code; ok is false
// for codes equity311 does not know. 4326 and 4269 are the identity.
func EPSG(code int) (Transform, bool) {
	switch code {
	case 4326, 4269, 4258:
		return func(p orb.Point) orb.Point { return p }, true
	case 3857, 900913:
		return project.Mercator.ToWGS84, true
	}
	if p, ok := zones()[code]; ok {
		return p.Inverse(), true
	}
	return nil, false
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

// PrjCRS names the coordinate system of a .prj file's WKT: "" for
// geographic (longitude and latitude, as TIGER/Line's NAD83), EPSG:NNNN for
// the projected systems equity311 converts, an error for others.
func PrjCRS(wkt string) (string, error) {
	w := strings.ToUpper(strings.TrimSpace(wkt))
	switch {
	case w == "", strings.HasPrefix(w, "GEOGCS"), strings.HasPrefix(w, "GEOGCRS"):
		return "", nil
	case strings.Contains(w, "WGS_1984_WEB_MERCATOR"):
		return "EPSG:3857", nil
	}
	for _, z := range Zones() {
		if strings.Contains(w, z.Name) {
			if strings.Contains(w, "FOOT") || strings.Contains(w, "FEET") {
				return fmt.Sprintf("EPSG:%d", z.Feet), nil
			}
			return fmt.Sprintf("EPSG:%d", z.Metres), nil
		}
	}
	return "", equity311.OptionErrorf("crs", "the .prj names a coordinate system equity311 does not convert (%.60s…); name a supported one (EPSG:NNNN) or reproject to WGS84", wkt)
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

func (l LCC) withUnit(unit, fe, fn float64) Projection {
	l.Unit, l.FalseEasting, l.FalseNorthing = unit, fe, fn
	return l
}

// Inverse returns the transform from projected coordinates to lon/lat.
func (l LCC) Inverse() Transform {
	a, e := ellipsoid()
	n, F, rho0 := l.constants()
	return func(p orb.Point) orb.Point {
		x, y := p[0], p[1]
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
		return orb.Point{theta/n*180/math.Pi + l.Lon0, phi * 180 / math.Pi}
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
