package analysis_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/equity311/equity311/analysis"
	"github.com/equity311/equity311/internal/pipeline"
	"github.com/equity311/equity311/internal/storetest"
	"github.com/equity311/equity311/internal/synthcity"
	"github.com/equity311/equity311/store"
)

// adjustedRun is one seed's adjusted gaps against their planted truths.
type adjustedRun struct {
	dim              string
	truth, est       float64
	lo, hi           float64 // clustered by area (the headline's interval)
	indepLo, indepHi float64 // as if requests were independent
	fitted           bool
}

// TestAdjustedGapCoverage plants a city 50 times with tract random effects
// (SD 0.45 on the logit: overdispersion), a trend across a new year (two
// calendar years in the period) and a status- and type-filtered extract
// source beside the dump, and checks the type-and-year-adjusted gaps of
// income (richest fifth − poorest) and limited English (highest third −
// lowest) on the tracts: their 95% intervals, clustered by area, cover the
// true gap — the expected standardized shares of the two groups of
// tracts, integrated over the random effects, with the city's own mix of
// types and years — in at least 44 of 50 seeds; the interval that treats
// requests as independent covers it in fewer than 40. The extract is
// detected (every request open, a few types) and left out with
// --exclude-source.
func TestAdjustedGapCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 50 planted cities take about a minute; the full suite runs them")
	}
	const seeds = 50
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 1, 12, 0, 0, 0, 0, ny) // 8 weeks from mid-November 2025: two calendar years
	runs := make([][]adjustedRun, seeds)
	synthcity.ForSeeds(seeds, 2, func(s int) { runs[s] = adjustedSeed(t, uint64(700+s), end, s == 0) })
	if t.Failed() {
		return
	}
	for _, dim := range []string{"income_quintile", "limited_english_tercile"} {
		var covered, indep, fitted int
		var bias float64
		for _, r := range runs {
			for _, x := range r {
				if x.dim != dim || !x.fitted {
					continue
				}
				fitted++
				bias += x.est - x.truth
				if x.lo <= x.truth && x.truth <= x.hi {
					covered++
				}
				if x.indepLo <= x.truth && x.truth <= x.indepHi {
					indep++
				}
			}
		}
		t.Logf("%s: fitted in %d of %d seeds; the clustered 95%% interval covers the true gap in %d, the independence interval in %d; mean error %+.4f",
			dim, fitted, seeds, covered, indep, bias/float64(max(1, fitted)))
		if fitted != seeds || covered < 44 || indep >= 40 {
			t.Errorf("%s: fitted %d, clustered coverage %d of %d (want ≥ 44), independence coverage %d (want < 40)", dim, fitted, covered, seeds, indep)
		}
	}
}

// adjustedSeed builds and analyses one planted city and returns its two
// adjusted gaps with their truths.
func adjustedSeed(t *testing.T, seed uint64, end time.Time, checkExtract bool) []adjustedRun {
	ctx := context.Background()
	city, err := synthcity.New(synthcity.Options{Seed: seed, Tickets: 30000, Weeks: 8, End: end, AreaSD: 0.45, ExtractRows: 800})
	if err != nil {
		t.Error(err)
		return nil
	}
	dir := t.TempDir()
	files, err := city.Write(ctx, dir)
	if err != nil {
		t.Error(err)
		return nil
	}
	withExtract := pipeline.Synthetic(files)
	withExtract.Dumps = append(withExtract.Dumps, files.Extract)
	st, ok := pipelineStore(t, filepath.Join(dir, "t.duckdb"), seed, withExtract, analysis.Options{ExcludeSources: []string{filepath.Base(files.Extract)}})
	if !ok {
		return nil
	}
	defer st.Close()
	if checkExtract {
		f := storetest.Strings(t, st, `SELECT f.kind, f.value FROM source_filters f JOIN sources s USING (source_id)
			WHERE s.name LIKE '%open_cases_extract.csv' AND f.basis = 'detected'`)
		if f["status"] != "open" || f["type"] == "" {
			t.Errorf("the planted extract was not detected as open cases of a few types: %v", f)
		}
	}
	// The city's own mix: of its resident requests from the dump, the share
	// of app-offered types (those with any app request) in each year.
	mix := map[int]float64{}
	rows, err := st.DB().Query(`WITH t AS (
			SELECT year(timezone('America/New_York', t.opened_at)) AS y, t.service_code IN (SELECT service_code FROM analysis_app_types WHERE app > 0) AS off
			FROM tickets t JOIN sources s USING (source_id)
			WHERE t.resident_initiated AND s.name NOT LIKE '%open_cases_extract.csv')
		SELECT y, count(*) FILTER (WHERE off) / (SELECT count(*) FROM t) FROM t GROUP BY y`)
	if err != nil {
		t.Error(err)
		return nil
	}
	for rows.Next() {
		var y int
		var f float64
		if err := rows.Scan(&y, &f); err != nil {
			t.Error(err)
		}
		mix[y] = f
	}
	rows.Close()
	if len(mix) != 2 {
		t.Errorf("seed %d: the period spans years %v, want two", seed, mix)
	}
	index := map[string]int{}
	for i, tr := range city.Tracts {
		index[tr.GEOID] = i
	}
	var out []adjustedRun
	for _, d := range []struct {
		dim, variable string
		groups        int
	}{{"income_quintile", "median_income", 5}, {"limited_english_tercile", "share_limited_english", 3}} {
		groups := plantedGroups(t, st, d.variable, d.groups)
		var top, bottom []int
		for _, id := range groups[d.groups-1] {
			top = append(top, index[id])
		}
		for _, id := range groups[0] {
			bottom = append(bottom, index[id])
		}
		r := adjustedRun{dim: d.dim, truth: city.TrueStandardizedShare(top, mix) - city.TrueStandardizedShare(bottom, mix)}
		var seModel float64
		err := st.DB().QueryRow(`SELECT fitted, coalesce(gap, 'NaN'), coalesce(gap_lo, 'NaN'), coalesce(gap_hi, 'NaN'), coalesce(se_model, 'NaN')
			FROM analysis_adjusted_gaps WHERE layer = 'tracts' AND grouping = ?`, d.dim).Scan(&r.fitted, &r.est, &r.lo, &r.hi, &seModel)
		if err != nil {
			t.Errorf("seed %d %s: %v", seed, d.dim, err)
			continue
		}
		r.indepLo, r.indepHi = r.est-1.959963984540054*seModel, r.est+1.959963984540054*seModel
		out = append(out, r)
	}
	return out
}

// plantedGroups assigns the tracts to population-weighted quantile groups
// of a variable as the analysis defines them (sorted by the value, then
// the id; each tract in the group its population's midpoint falls in),
// from the values the analysis stored.
func plantedGroups(t *testing.T, st *store.Store, variable string, n int) [][]string {
	t.Helper()
	type tract struct {
		id       string
		pop, val float64
	}
	rows, err := st.DB().Query(`SELECT m.area_id, m.population, d.estimate FROM analysis_area_metrics m
		JOIN analysis_area_demographics d USING (city, period, layer, area_id)
		WHERE m.layer = 'tracts' AND d.variable = ? AND m.population > 0`, variable)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ts []tract
	total := 0.0
	for rows.Next() {
		var x tract
		if err := rows.Scan(&x.id, &x.pop, &x.val); err != nil {
			t.Fatal(err)
		}
		ts = append(ts, x)
		total += x.pop
	}
	slices.SortFunc(ts, func(a, b tract) int { return cmp.Or(cmp.Compare(a.val, b.val), cmp.Compare(a.id, b.id)) })
	out := make([][]string, n)
	cum := 0.0
	for _, x := range ts {
		k := min(n-1, int(math.Floor((cum+x.pop/2)/total*float64(n))))
		out[k] = append(out[k], x.id)
		cum += x.pop
	}
	if len(out[0]) == 0 || len(out[n-1]) == 0 {
		t.Fatalf("groups of %s: %s", variable, fmt.Sprint(out))
	}
	return out
}
