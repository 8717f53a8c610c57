package geo_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/equity311/equity311/geo"
	"github.com/equity311/equity311/geo/boundary"
	"github.com/equity311/equity311/ingest/census"
	"github.com/equity311/equity311/internal/shareddata"
	"github.com/equity311/equity311/internal/synthcity"
	"github.com/equity311/equity311/store"
)

// TestCrosswalkAggregatesBostonPopulation builds the tract → neighborhood
// crosswalk from Boston's 2020 tracts and its 2020 neighborhoods, checks
// that each tract's weights sum to 1, and that 2020 population summed
// through it matches the city's own neighborhood table within 2%.
func TestCrosswalkAggregatesBostonPopulation(t *testing.T) {
	tracts := shareddata.Path(t, "boston_geo/bpda_boston_tracts_2020.geojson")
	// The city's 2020 neighborhoods, dissolved from block groups, in Massachusetts
	// State Plane feet: the same definition as its neighborhood table.
	hoods := shareddata.Path(t, "boston_geo/census2020_bg_neighborhoods_EPSG2249.json")
	censusFile := shareddata.Path(t, "census2020_boston/census-tract-data.csv")
	table := shareddata.Path(t, "census2020_boston/boston-neighborhood-data.csv")
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "x.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := boundary.Load(ctx, st, tracts, boundary.Options{Layer: "tracts"}); err != nil {
		t.Fatal(err)
	}
	if _, err := boundary.Load(ctx, st, hoods, boundary.Options{Layer: "neighborhoods", IDProp: "BlockGr202"}); err != nil {
		t.Fatal(err)
	}
	if _, err := census.Load(ctx, st, censusFile, census.Options{Layer: "tracts", IDColumn: "GEOCODE"}); err != nil {
		t.Fatal(err)
	}
	layers, err := geo.LoadLayers(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := geo.BuildCrosswalks(ctx, st, layers); err != nil {
		t.Fatal(err)
	}
	rows, err := st.DB().Query(`SELECT from_id, sum(weight) FROM crosswalk WHERE from_layer = 'tracts' AND to_layer = 'neighborhoods' GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var id string
		var s float64
		if err := rows.Scan(&id, &s); err != nil {
			t.Fatal(err)
		}
		if math.Abs(s-1) > 1e-6 {
			t.Errorf("tract %s: weights sum to %.9f", id, s)
		}
		n++
	}
	rows.Close()
	if n < 200 {
		t.Errorf("%d tracts in the crosswalk, want about 206", n)
	}
	got := map[string]float64{}
	rows, err = st.DB().Query(`SELECT c.to_id, sum(c.weight * d.estimate) FROM crosswalk c
		JOIN demographics d ON d.layer = 'tracts' AND d.area_id = c.from_id AND d.variable = 'P0020001'
		WHERE c.from_layer = 'tracts' AND c.to_layer = 'neighborhoods' GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var v float64
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		got[strings.ToLower(id)] = v
	}
	rows.Close()
	f, err := os.Open(table)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// Area weights put a split tract's people where its land is. Where a
	// tract straddles neighborhoods (Longwood's dormitories sit in a tract
	// shared with Mission Hill) that misplaces people, so neighborhoods
	// joined by a split tract are compared as one group.
	group := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if g, ok := group[x]; ok && g != x {
			r := find(g)
			group[x] = r
			return r
		}
		return x
	}
	rows, err = st.DB().Query(`SELECT from_id, list(lower(to_id)) FROM crosswalk
		WHERE from_layer = 'tracts' AND to_layer = 'neighborhoods' AND weight BETWEEN 0.2 AND 0.8 GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var to []any
		if err := rows.Scan(&id, &to); err != nil {
			t.Fatal(err)
		}
		for _, x := range to[1:] {
			group[find(x.(string))] = find(to[0].(string))
		}
	}
	rows.Close()
	gotG, wantG := map[string]float64{}, map[string]float64{}
	members := map[string][]string{}
	checked, total, totalWant := 0, 0.0, 0.0
	var misses []string
	for _, r := range recs[2:] { // header, then a description row
		want, err := strconv.ParseFloat(r[1], 64)
		if err != nil {
			continue
		}
		name := strings.ToLower(r[0])
		g, ok := got[name]
		if !ok {
			t.Errorf("neighborhood %q has no crosswalked population", r[0])
			continue
		}
		if math.Abs(g-want)/want > 0.02 {
			misses = append(misses, fmt.Sprintf("%s %.0f vs %.0f", r[0], g, want))
		}
		k := find(name)
		gotG[k] += g
		wantG[k] += want
		members[k] = append(members[k], r[0])
		total += g
		totalWant += want
		checked++
	}
	for k := range gotG {
		if math.Abs(gotG[k]-wantG[k])/wantG[k] > 0.02 {
			t.Errorf("%v: %.0f people through the crosswalk, the city's table says %.0f", members[k], gotG[k], wantG[k])
		}
		if len(members[k]) > 1 {
			t.Logf("compared as one group (a tract straddles them): %v", members[k])
		}
	}
	if math.Abs(total-totalWant)/totalWant > 0.005 {
		t.Errorf("city: %.0f through the crosswalk, %.0f in the table", total, totalWant)
	}
	t.Logf("neighborhoods off by more than 2%% on their own: %v", misses)
	if len(misses) > checked/10 {
		t.Errorf("%d of %d neighborhoods off by more than 2%%: %v", len(misses), checked, misses)
	}
	if checked < 20 {
		t.Errorf("checked %d neighborhoods", checked)
	}
}

// TestCrosswalkAreaError: in the synthetic city every tract lies in one
// neighborhood, so its weight there is 1; the sampling's error is the
// weight given elsewhere, which must stay under 0.5% of the tract.
func TestCrosswalkAreaError(t *testing.T) {
	c, err := synthcity.New(synthcity.Options{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	var tr, nb []orb.MultiPolygon
	var tl, nl geo.Layer
	for _, x := range c.Tracts {
		tr = append(tr, x.Geometry)
		tl.IDs = append(tl.IDs, x.GEOID)
	}
	for _, x := range c.Neighborhoods {
		nb = append(nb, x.Geometry)
		nl.IDs = append(nl.IDs, x.ID)
	}
	tl.Geoms, tl.Index = tr, geo.NewIndex(tr, 0)
	nl.Geoms, nl.Index = nb, geo.NewIndex(nb, 0)
	w := geo.Crosswalk(&tl, &nl, 0)
	worst := 0.0
	for k, x := range w {
		if c.Tracts[k[0]].Neighborhood != k[1] {
			worst = math.Max(worst, x)
		} else {
			worst = math.Max(worst, 1-x)
		}
	}
	t.Logf("largest misallocated share of a tract: %.5f", worst)
	if worst > 0.005 {
		t.Errorf("a tract's weight is off by %.4f", worst)
	}
}
