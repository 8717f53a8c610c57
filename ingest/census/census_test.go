package census

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/equity311/equity311/geo/boundary"
	"github.com/equity311/equity311/internal/shareddata"
	"github.com/equity311/equity311/internal/storetest"
)

func TestProportionMOE(t *testing.T) {
	// Hand-computed with the ACS handbook's formulas.
	if got, want := ProportionMOE(100, 20, 400, 30), math.Sqrt(400-0.0625*900)/400; math.Abs(got-want) > 1e-12 {
		t.Errorf("proportion MOE %v, want %v", got, want)
	}
	// A negative radicand falls back to the ratio formula.
	if got, want := ProportionMOE(390, 10, 400, 50), math.Sqrt(100+0.975*0.975*2500)/400; math.Abs(got-want) > 1e-12 {
		t.Errorf("fallback MOE %v, want %v", got, want)
	}
	if got := SumMOE(3, 4); got != 5 {
		t.Errorf("SumMOE(3, 4) = %v", got)
	}
}

// TestCensusAPIJSON loads a Census API answer (array of arrays; state,
// county and tract make the GEOID) and derives shares with their margins.
func TestCensusAPIJSON(t *testing.T) {
	st := storetest.Open(t)
	gj := filepath.Join(t.TempDir(), "tracts.geojson")
	square := func(id string, x float64) string {
		return fmt.Sprintf(`{"type":"Feature","properties":{"GEOID":%q},"geometry":{"type":"Polygon","coordinates":[[[%g,0],[%g,0],[%g,1],[%g,1],[%g,0]]]}}`, id, x, x+1, x+1, x, x)
	}
	if err := os.WriteFile(gj, []byte(`{"type":"FeatureCollection","features":[`+square("25025000101", 0)+`,`+square("25025000202", 1)+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := boundary.Load(context.Background(), st, gj, boundary.Options{Layer: "tracts"}); err != nil {
		t.Fatal(err)
	}
	res, err := Load(context.Background(), st, "testdata/census_api_sample.json", Options{Layer: "tracts", Vintage: "acs-test"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Areas != 2 {
		t.Errorf("%d areas, want 2", res.Areas)
	}
	get := func(id, v string) (est, moe *float64) {
		t.Helper()
		if err := st.DB().QueryRow("SELECT estimate, moe FROM demographics WHERE area_id = ? AND variable = ?", id, v).Scan(&est, &moe); err != nil {
			t.Fatalf("%s %s: %v", id, v, err)
		}
		return est, moe
	}
	est, moe := get("25025000101", "share_white")
	if *est != 0.25 || math.Abs(*moe-ProportionMOE(1000, 150, 4000, 300)) > 1e-12 {
		t.Errorf("share_white %v ± %v", *est, *moe)
	}
	est, _ = get("25025000101", "population")
	if *est != 4000 {
		t.Errorf("population %v", *est)
	}
	// The ACS's "not available" codes load as missing, not as numbers.
	est, moe = get("25025000202", "B19013_001")
	if est != nil || moe != nil {
		t.Errorf("annotated median income loaded as %v ± %v", est, moe)
	}
}

// TestACSFilesJoinTracts loads the real ACS-derived tables against the
// 2010 tract layers: at least 99% of the layer's tracts get figures, and
// only BARI's table gives a total population.
func TestACSFilesJoinTracts(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		file, id string
		noPop    bool // the file has no total population (B28008_001 is a universe, not one)
	}{
		{"acs/aclum_acs2018_5yr_MA_tract_internet_income_language.csv", "GEOID", true},
		{"acs/BARI_ACS_2013_2017_MA_tracts.csv", "ct_id_10", false},
	} {
		st := storetest.Open(t)
		if _, err := boundary.Load(ctx, st, shareddata.Path(t, "boston_geo/bpda_boston_tracts_2010.geojson"), boundary.Options{Layer: "tracts"}); err != nil {
			t.Fatal(err)
		}
		res, err := Load(ctx, st, shareddata.Path(t, c.file), Options{Layer: "tracts", IDColumn: c.id})
		if err != nil {
			t.Fatal(err)
		}
		var tracts, matched int
		if err := st.DB().QueryRow(`SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM demographics d
			WHERE d.layer = 'tracts' AND d.area_id = a.area_id AND d.estimate IS NOT NULL))
			FROM areas a WHERE layer = 'tracts'`).Scan(&tracts, &matched); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d of %d tracts have figures; derived %v", c.file, matched, tracts, res.Derived)
		if float64(matched) < 0.99*float64(tracts) {
			t.Errorf("%s: %d of %d tracts matched", c.file, matched, tracts)
		}
		if slices.Contains(res.Derived, "population") == c.noPop {
			t.Errorf("%s: derived %v; population expected: %v", c.file, res.Derived, !c.noPop)
		}
	}
}

// TestHostileCensusFiles: the same id twice is a reject naming the first
// line; the same column twice, a GeoJSON file or random bytes fail with a
// message (they used to end in a raw constraint error or "0 areas"); a
// second file never removes the first one's values; the accounts balance.
func TestHostileCensusFiles(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	dir := t.TempDir()
	gj := filepath.Join(dir, "t.geojson")
	var feats []string
	for i := 0; i < 4; i++ {
		feats = append(feats, fmt.Sprintf(`{"type":"Feature","properties":{"GEOID":"T%d"},"geometry":{"type":"Polygon","coordinates":[[[%d,0],[%d,0],[%d,1],[%d,1],[%d,0]]]}}`, i, i, i+1, i+1, i, i))
	}
	if err := os.WriteFile(gj, []byte(`{"type":"FeatureCollection","features":[`+strings.Join(feats, ",")+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := boundary.Load(ctx, st, gj, boundary.Options{Layer: "tracts"}); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	res, err := Load(ctx, st, write("dup.csv", "GEOID,population\nT0,10\nT1,20\nT2,30\nT3,40\nT1,25\n"), Options{Layer: "tracts"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 5 || res.Loaded != 4 || res.Rejected != 1 || !res.Balanced() {
		t.Errorf("duplicate id: read %d loaded %d rejected %d", res.Read, res.Loaded, res.Rejected)
	}
	var reason string
	if err := st.DB().QueryRow("SELECT reason FROM rejects").Scan(&reason); err != nil || !strings.Contains(reason, "first on line 3") {
		t.Errorf("duplicate id reject: %q (%v)", reason, err)
	}
	for name, content := range map[string]string{
		"cols.csv":    "GEOID,pop,pop\nT0,1,2\n",
		"map.geojson": `{"type":"FeatureCollection","features":[]}`,
		"random.bin":  "\x00\x01\x02\xff\xfe binary \x7f\x80\n\x10\x11",
		"words.csv":   "GEOID,name\nT0,alpha\nT1,beta\n",
	} {
		if _, err := Load(ctx, st, write(name, content), Options{Layer: "tracts"}); err == nil {
			t.Errorf("%s loaded as a census table", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// A second file for the same layer and variable, covering only half the areas.
	if _, err := Load(ctx, st, write("half.csv", "GEOID,population\nT0,11\nT1,21\nT2,31\nT3,41\n"), Options{Layer: "tracts", Vintage: "v2"}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := st.DB().QueryRow("SELECT count(*) FROM demographics WHERE variable = 'population'").Scan(&n); err != nil || n != 8 {
		t.Errorf("%d population values after two files (%v), want 4 + 4: a file removed another's", n, err)
	}
}

// TestDerivedShares: BARI's bach is a bachelor's degree only, so
// share_bachelor_plus adds master's, professional and doctoral degrees
// (Fenway's tract 010403 compared with the file's own columns); the 2020
// redistricting table's P2 counts give the race and ethnicity shares.
func TestDerivedShares(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	if _, err := boundary.Load(ctx, st, shareddata.Path(t, "boston_geo/bpda_boston_tracts_2010.geojson"), boundary.Options{Layer: "tracts"}); err != nil {
		t.Fatal(err)
	}
	bari := shareddata.Path(t, "acs/BARI_ACS_2013_2017_MA_tracts.csv")
	if _, err := Load(ctx, st, bari, Options{Layer: "tracts", IDColumn: "ct_id_10"}); err != nil {
		t.Fatal(err)
	}
	var got, want float64
	var basis string
	if err := st.DB().QueryRow(`SELECT d.estimate, d.measure, b.estimate + m.estimate + p.estimate + o.estimate FROM demographics d
		JOIN demographics b ON b.area_id = d.area_id AND b.variable = 'bach'
		JOIN demographics m ON m.area_id = d.area_id AND m.variable = 'master'
		JOIN demographics p ON p.area_id = d.area_id AND p.variable = 'prof'
		JOIN demographics o ON o.area_id = d.area_id AND o.variable = 'doc'
		WHERE d.variable = 'share_bachelor_plus' AND d.area_id = '25025010403'`).Scan(&got, &basis, &want); err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 1e-12 || basis != "bach+master+prof+doc" || got <= 0 {
		t.Errorf("share_bachelor_plus %v (%s), want bach+master+prof+doc = %v", got, basis, want)
	}
	st2 := storetest.Open(t)
	if _, err := boundary.Load(ctx, st2, shareddata.Path(t, "boston_geo/bpda_boston_tracts_2020.geojson"), boundary.Options{Layer: "tracts"}); err != nil {
		t.Fatal(err)
	}
	res, err := Load(ctx, st2, shareddata.Path(t, "census2020_boston/census-tract-data.csv"), Options{Layer: "tracts", IDColumn: "GEOCODE"})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"share_white", "share_black", "share_asian", "share_hispanic"} {
		if !slices.Contains(res.Derived, v) {
			t.Errorf("the P2 table derives %v, not %s", res.Derived, v)
		}
	}
	var sum float64
	var n int
	if err := st2.DB().QueryRow(`SELECT count(*), max(s) FROM (SELECT area_id, sum(estimate) AS s FROM demographics
		WHERE variable IN ('share_white', 'share_black', 'share_asian', 'share_hispanic') GROUP BY 1)`).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if n < 150 || sum > 1+1e-9 {
		t.Errorf("%d tracts with race shares, largest sum %v (must not pass 1)", n, sum)
	}
}
