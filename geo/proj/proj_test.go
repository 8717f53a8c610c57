package proj

import (
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/project"
)

// refPoint is one row of testdata/cs2cs_points.csv: a point of a zone's
// area of use in the zone's own geographic datum and where PROJ's cs2cs
// projects it (testdata/cs2cs_reference.sh wrote them).
type refPoint struct {
	code     int
	lon, lat float64
	x, y     float64
}

func readRefPoints(t *testing.T) []refPoint {
	t.Helper()
	f, err := os.Open("testdata/cs2cs_points.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []refPoint
	for i, r := range rows[1:] {
		var v [5]float64
		for j := range v {
			if v[j], err = strconv.ParseFloat(r[j], 64); err != nil {
				t.Fatalf("cs2cs_points.csv line %d field %d: %v", i+2, j+1, err)
			}
		}
		out = append(out, refPoint{int(v[0]), v[1], v[2], v[3], v[4]})
	}
	return out
}

// unitOf is metres per coordinate unit of an EPSG code.
func unitOf(code int) float64 {
	for _, z := range Zones() {
		if z.Feet == code {
			return usFoot
		}
	}
	return 1
}

// TestAgainstCS2CS holds every supported projected system — each state
// plane zone in metres and in US survey feet, and web Mercator — to PROJ's
// cs2cs on a 6 × 6 grid over the zone's area of use, both ways, to under a
// centimetre (the largest errors are logged).
func TestAgainstCS2CS(t *testing.T) {
	pts := readRefPoints(t)
	seen := map[int]int{}
	worstFwd, worstInv := map[int]float64{}, map[int]float64{}
	for _, p := range pts {
		seen[p.code]++
		var x, y float64
		if p.code == 3857 {
			m := project.WGS84.ToMercator(orb.Point{p.lon, p.lat})
			x, y = m[0], m[1]
		} else {
			proj, ok := zones()[p.code]
			if !ok {
				t.Fatalf("EPSG:%d in the reference points is not a supported zone", p.code)
			}
			x, y = proj.Forward()(p.lon, p.lat)
		}
		u := unitOf(p.code)
		fwd := math.Hypot(x-p.x, y-p.y) * u // metres
		inv, ok := EPSG(p.code)
		if !ok {
			t.Fatalf("EPSG(%d) unknown", p.code)
		}
		ll := inv(orb.Point{p.x, p.y})
		dy := (ll[1] - p.lat) * 111320
		dx := (ll[0] - p.lon) * 111320 * math.Cos(p.lat*math.Pi/180)
		back := math.Hypot(dx, dy) // metres on the ground
		worstFwd[p.code] = math.Max(worstFwd[p.code], fwd)
		worstInv[p.code] = math.Max(worstInv[p.code], back)
		if fwd >= 0.01 || back >= 0.01 {
			t.Errorf("EPSG:%d at (%.6f, %.6f): forward off by %.4f m, inverse by %.4f m", p.code, p.lon, p.lat, fwd, back)
		}
	}
	want := []int{3857}
	for _, z := range Zones() {
		want = append(want, z.Metres, z.Feet)
	}
	for _, c := range want {
		if seen[c] != 36 {
			t.Errorf("EPSG:%d has %d reference points, want 36", c, seen[c])
		}
		t.Logf("EPSG:%d: largest difference from cs2cs %.2g m forward, %.2g m inverse", c, worstFwd[c], worstInv[c])
	}
}

// TestRoundTrip checks each zone's inverse against its forward projection.
func TestRoundTrip(t *testing.T) {
	for _, p := range readRefPoints(t) {
		proj, ok := zones()[p.code]
		if !ok {
			continue
		}
		x, y := proj.Forward()(p.lon, p.lat)
		ll := proj.Inverse()(orb.Point{x, y})
		if math.Abs(ll[0]-p.lon) > 1e-10 || math.Abs(ll[1]-p.lat) > 1e-10 {
			t.Errorf("EPSG:%d: (%v, %v) → (%v, %v) → %v", p.code, p.lon, p.lat, x, y, ll)
		}
	}
}

// TestFeetOrigin: a feet zone's false origin is EPSG's figure in feet, not
// the metre zone's converted (Massachusetts Mainland: 656,166.667 ft).
func TestFeetOrigin(t *testing.T) {
	x, y := zones()[2249].Forward()(-71.5, 41)
	if math.Abs(x-656166.667) > 1e-6 || math.Abs(y-2460625) > 1e-6 {
		t.Errorf("origin of EPSG:2249 projects to (%v, %v) ft, want (656166.667, 2460625)", x, y)
	}
}

func TestParseCRS(t *testing.T) {
	for _, ok := range []string{"EPSG:2249", "urn:ogc:def:crs:EPSG::2249", "urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326", "EPSG:3435"} {
		if _, err := ParseCRS(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if _, err := ParseCRS("EPSG:31468"); err == nil {
		t.Error("an unknown zone was accepted")
	}
}

// TestPrjCRS reads the zone from an ESRI .prj as the city GIS portals
// write them (Chicago's in Illinois East, US feet).
func TestPrjCRS(t *testing.T) {
	for _, c := range []struct{ wkt, want string }{
		{`PROJCS["NAD_1983_StatePlane_Illinois_East_FIPS_1201_Feet",GEOGCS["GCS_North_American_1983",DATUM["D_North_American_1983",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",984250.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",-88.33333333333333],PARAMETER["Scale_Factor",0.999975],PARAMETER["Latitude_Of_Origin",36.66666666666666],UNIT["Foot_US",0.3048006096012192]]`, "EPSG:3435"},
		{`PROJCS["NAD_1983_StatePlane_Massachusetts_Mainland_FIPS_2001",GEOGCS["GCS_North_American_1983",DATUM["D_North_American_1983",SPHEROID["GRS_1980",6378137.0,298.257222101]]],PROJECTION["Lambert_Conformal_Conic"],UNIT["Meter",1.0]]`, "EPSG:26986"},
		{`GEOGCS["GCS_North_American_1983",DATUM["D_North_American_1983",SPHEROID["GRS_1980",6378137.0,298.257222101]]]`, ""},
	} {
		got, err := PrjCRS(c.wkt)
		if err != nil || got != c.want {
			t.Errorf("PrjCRS(%.50s…) = %q, %v; want %q", c.wkt, got, err, c.want)
		}
	}
}
