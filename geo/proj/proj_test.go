package proj

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
)

// TestRoundTrip checks the inverse against the forward projection.
func TestRoundTrip(t *testing.T) {
	for code, l := range zones() {
		fwd, inv := l.Forward(), l.Inverse()
		lon0, lat0 := l.Lon0+0.7, l.Lat0+0.9
		x, y := fwd(lon0, lat0)
		p := inv(orb.Point{x, y})
		lon, lat := p[0], p[1]
		if math.Abs(lon-lon0) > 1e-9 || math.Abs(lat-lat0) > 1e-9 {
			t.Errorf("EPSG:%d: (%v, %v) → (%v, %v) → (%v, %v)", code, lon0, lat0, x, y, lon, lat)
		}
	}
}

// TestKnownPoint checks the false origin: at (Lon0, Lat0) a zone reads its
// false easting and northing.
func TestKnownPoint(t *testing.T) {
	l := zones()[2249]
	x, y := l.Forward()(l.Lon0, l.Lat0)
	if math.Abs(x*usFoot-200000) > 1e-6 || math.Abs(y*usFoot-750000) > 1e-6 {
		t.Errorf("origin of EPSG:2249 projects to (%v, %v) ft, want (200000, 750000) m", x, y)
	}
	// Boston City Hall, 42.3603 N 71.0580 W, lies near x = 775,600 ft, y = 2,956,500 ft
	// in Massachusetts Mainland (the city's own GIS coordinates).
	x, y = l.Forward()(-71.0580, 42.3603)
	if math.Abs(x-775600) > 1500 || math.Abs(y-2956500) > 1500 {
		t.Errorf("City Hall projects to (%.0f, %.0f) ft", x, y)
	}
}

func TestParseCRS(t *testing.T) {
	for _, ok := range []string{"EPSG:2249", "urn:ogc:def:crs:EPSG::2249", "urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326"} {
		if _, err := ParseCRS(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if _, err := ParseCRS("EPSG:31468"); err == nil {
		t.Error("an unknown zone was accepted")
	}
}
