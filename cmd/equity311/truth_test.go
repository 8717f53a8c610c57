package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/equity311/equity311/analysis/stats"
	"github.com/equity311/equity311/internal/storetest"
	"github.com/equity311/equity311/internal/synthcity"
	"github.com/equity311/equity311/store"
)

// truthRun is one seed's demo: what the city planted and what analyze found.
type truthRun struct {
	truth synthcity.Truth
	// logit terms on the tracts: coefficient per unit of the covariate, and its interval
	coef, lo, hi map[string]float64
	// neighborhoods: raw app share and type-standardized ratio, and flags
	rawShare, stdRatio map[string]float64
	flagged            map[string]bool
}

// TestPlantedTruths runs the demo on 20 seeds and checks what the
// synthetic city planted:
//   - the 95% intervals of the logit's income, age, limited-English and
//     broadband effects (per unit, from the standardized fit) cover the
//     planted coefficients in at least 90% of seeds;
//   - the type-standardized ratio removes the type-mix difference the raw
//     app share shows between high- and low-mix neighborhoods;
//   - the planted change is flagged, and fewer than 5% of the unchanged
//     neighborhoods are.
func TestPlantedTruths(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 20 seeded demos take over a minute; the full suite runs them")
	}
	seeds := 20
	runs := make([]truthRun, seeds)
	synthcity.ForSeeds(seeds, 2, func(s int) { runs[s] = truthDemo(t, uint64(100+s)) })
	if t.Failed() {
		return
	}
	terms := map[string]string{"log_median_income": "log_income", "share_65plus": "share_65plus",
		"share_limited_english": "share_limited_english", "share_broadband": "share_broadband", "share_hispanic": "share_hispanic"}
	for _, term := range slices.Sorted(mapKeys2(terms)) {
		covered := 0
		for _, r := range runs {
			want := r.truth.AppLogit[terms[term]]
			if r.lo[term] <= want && want <= r.hi[term] {
				covered++
			}
		}
		t.Logf("%s: the 95%% interval covers the planted %.2f in %d of %d seeds", term, runs[0].truth.AppLogit[terms[term]], covered, seeds)
		if term != "share_hispanic" && covered < seeds*9/10 {
			t.Errorf("%s: coverage %d of %d, want at least 90%%", term, covered, seeds)
		}
	}
	// Type mix: pool the neighborhoods over the seeds.
	var rawHigh, rawLow, stdHigh, stdLow []float64
	changedFlagged, falseFlags, unchanged := 0, 0, 0
	for _, r := range runs {
		high := map[string]bool{}
		for _, id := range r.truth.TypeMix.HighMix {
			high[id] = true
		}
		for id, raw := range r.rawShare {
			if high[id] {
				rawHigh, stdHigh = append(rawHigh, raw), append(stdHigh, r.stdRatio[id])
			} else {
				rawLow, stdLow = append(rawLow, raw), append(stdLow, r.stdRatio[id])
			}
		}
		for id, f := range r.flagged {
			if id == r.truth.Change.Neighborhood {
				if f {
					changedFlagged++
				}
				continue
			}
			unchanged++
			if f {
				falseFlags++
			}
		}
	}
	rawRatio, stdRatio := mean(rawHigh)/mean(rawLow), mean(stdHigh)/mean(stdLow)
	t.Logf("high- vs low-mix neighborhoods: raw app share ×%.2f, type-standardized ratio ×%.2f", rawRatio, stdRatio)
	if rawRatio < 1.2 || math.Abs(stdRatio-1) > 0.08 {
		t.Errorf("raw app share ×%.2f (want the planted mix to show, ≥ 1.2), standardized ×%.2f (want it removed, within 8%% of 1)", rawRatio, stdRatio)
	}
	t.Logf("planted change flagged in %d of %d seeds; %d of %d unchanged neighborhoods flagged (%.1f%%)",
		changedFlagged, seeds, falseFlags, unchanged, 100*float64(falseFlags)/float64(unchanged))
	if changedFlagged < seeds*9/10 || float64(falseFlags) >= 0.05*float64(unchanged) {
		t.Errorf("change flagged in %d of %d seeds, %d false flags of %d", changedFlagged, seeds, falseFlags, unchanged)
	}
}

// truthDemo runs a small demo and reads back what the tests compare.
func truthDemo(t *testing.T, seed uint64) truthRun {
	dir := t.TempDir()
	if _, _, err := runCLIErr("demo", "--dir", dir, "--tickets", "40000", "--weeks", "8", "--seed", fmt.Sprint(seed), "--quiet"); err != nil {
		t.Errorf("seed %d: %v", seed, err)
		return truthRun{}
	}
	r := truthRun{coef: map[string]float64{}, lo: map[string]float64{}, hi: map[string]float64{},
		rawShare: map[string]float64{}, stdRatio: map[string]float64{}, flagged: map[string]bool{}}
	b, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Error(err)
		return r
	}
	if err := json.Unmarshal(b, &r.truth); err != nil {
		t.Error(err)
		return r
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "equity311.duckdb"))
	if err != nil {
		t.Error(err)
		return r
	}
	defer st.Close()
	db := st.DB()
	rows, err := db.Query(`SELECT term, estimate / covariate_sd, lo / covariate_sd, hi / covariate_sd FROM analysis_models
		WHERE layer = 'tracts' AND model = 'logit' AND term <> 'intercept'`)
	if err != nil {
		t.Error(err)
		return r
	}
	for rows.Next() {
		var term string
		var c, lo, hi float64
		if err := rows.Scan(&term, &c, &lo, &hi); err != nil {
			t.Error(err)
		}
		r.coef[term], r.lo[term], r.hi[term] = c, lo, hi
	}
	rows.Close()
	if len(r.coef) < 4 {
		t.Errorf("seed %d: the logit has terms %v", seed, r.coef)
	}
	rows, err = db.Query(`SELECT m.area_id, m.app_share, m.std_app_ratio, c.flagged FROM analysis_area_metrics m
		JOIN analysis_changes c USING (city, period, layer, area_id) WHERE m.layer = 'neighborhoods'`)
	if err != nil {
		t.Error(err)
		return r
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var raw, std float64
		var f bool
		if err := rows.Scan(&id, &raw, &std, &f); err != nil {
			t.Error(err)
		}
		r.rawShare[id], r.stdRatio[id], r.flagged[id] = raw, std, f
	}
	return r
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func mapKeys2(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestNeighborhoodMediansFromBrackets: a neighborhood's median income is
// the median of its tracts' summed B19001 bracket counts, not an average
// of their medians, and its basis says so.
func TestNeighborhoodMediansFromBrackets(t *testing.T) {
	dir, _ := demoCopy(t)
	st, err := store.Open(context.Background(), filepath.Join(dir, "equity311.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.DB().Query(`SELECT c.to_id, d.variable, sum(c.weight * d.estimate) FROM crosswalk c
		JOIN demographics d ON d.layer = c.from_layer AND d.area_id = c.from_id
		WHERE c.from_layer = 'tracts' AND c.to_layer = 'neighborhoods' AND d.variable LIKE 'B19001_%'
		GROUP BY ALL ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string][]float64{}
	for rows.Next() {
		var id, v string
		var n float64
		if err := rows.Scan(&id, &v, &n); err != nil {
			t.Fatal(err)
		}
		counts[id] = append(counts[id], n)
	}
	rows.Close()
	if len(counts) < 20 {
		t.Fatalf("bracket counts for %d neighborhoods", len(counts))
	}
	got := storetest.Strings(t, st, `SELECT area_id, estimate::VARCHAR || '|' || basis FROM analysis_area_demographics
		WHERE layer = 'neighborhoods' AND variable = 'median_income'`)
	for id, c := range counts {
		want, _ := stats.MedianFromBrackets(stats.IncomeBrackets(), c)
		estText, basis, ok := strings.Cut(got[id], "|")
		est, err := strconv.ParseFloat(estText, 64)
		if !ok || err != nil {
			t.Fatalf("%s: median_income row %q: %v", id, got[id], err)
		}
		if math.Abs(est-want) > 1e-6*want || !strings.Contains(basis, "income brackets") {
			t.Errorf("%s: median %v (%s), from summed brackets %v", id, est, basis, want)
		}
	}
}
