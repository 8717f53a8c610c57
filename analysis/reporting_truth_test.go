package analysis_test

// The planted truths of the reporting-rate model and the adjusted gaps
// (adjusted_truth_test.go): synthetic cities through the whole pipeline.
// They live here, as the analysis package's external tests, and not with
// the CLI's: their 100 seeded cities take about four minutes, and in one
// test binary with the CLI's own long tests they brought cmd/equity311
// past go test's 10-minute default timeout under CI's load.

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/equity311/equity311/analysis"
	"github.com/equity311/equity311/ingest/source"
	"github.com/equity311/equity311/internal/pipeline"
	"github.com/equity311/equity311/internal/synthcity"
	"github.com/equity311/equity311/store"
)

// reportingCity writes a planted city with duplicates, loads, places and
// analyses it, and returns the city and the open store.
func reportingCity(t *testing.T, opt synthcity.Options) (*synthcity.City, *store.Store, bool) {
	t.Helper()
	ctx := context.Background()
	opt.Duplicates = true
	city, err := synthcity.New(opt)
	if err != nil {
		t.Error(err)
		return nil, nil, false
	}
	dir := t.TempDir()
	files, err := city.Write(ctx, dir)
	if err != nil {
		t.Error(err)
		return nil, nil, false
	}
	st, ok := pipelineStore(t, filepath.Join(dir, "r.duckdb"), opt.Seed, tractsOnly(pipeline.Synthetic(files)), analysis.Options{})
	if !ok {
		return nil, nil, false
	}
	return city, st, true
}

// plantedPerSD is the planted reporting-rate coefficient of a model term
// per standard deviation of its covariate across the tracts.
func plantedPerSD(city *synthcity.City) map[string]float64 {
	var lninc, black []float64
	for _, tr := range city.Tracts {
		lninc, black = append(lninc, math.Log(tr.MedianIncome)), append(black, tr.ShareBlack)
	}
	r := city.Truth.Reporting
	return map[string]float64{
		"log_median_income": r.LogIncome * stat.StdDev(lninc, nil),
		"share_black":       r.ShareBlack * stat.StdDev(black, nil),
		// Planted at zero: a term the rate does not follow.
		"share_65plus": 0, "share_limited_english": 0, "share_broadband": 0, "share_hispanic": 0, "share_asian": 0,
	}
}

// TestReportingRateCoverage plants 50 cities whose incidents are reported
// again at rates that spread 3× from the poorest fifth of tracts to the
// richest by income (and fall with the share of Black residents), with a
// tract term (SD 0.15) the covariates do not explain, and type effects;
// 80% of duplicates name their first report. Each city's reporting-rate
// model on the tracts — Poisson, offset log days open, errors by the
// cluster jackknife over tracts — must cover each planted coefficient (per SD: income and
// share Black) in at least 44 of 50 seeds, and the five covariates planted
// at zero in at least 88% of their 250 intervals pooled (one of seven
// terms falling to 43 of 50 by chance is likely even at exact coverage),
// with at least 20 incidents in every tract of every seed. Duplicates are
// planted through the same channel model as first reports, so the
// difference between the app's share of first reports (at the
// duplicates' type mix) and of duplicates is zero in every income fifth:
// its area-bootstrap intervals must cover zero in at least 88% of the 250.
func TestReportingRateCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 50 planted cities take a couple of minutes; the full suite runs them")
	}
	const seeds = 50
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 3, 2, 0, 0, 0, 0, ny)
	type run struct {
		covered map[string]bool
		est     map[string]float64
		minInc  int64
		// Who reports first, per income fifth: the difference between the
		// app's share of first reports (at the duplicates' type mix) and
		// of duplicates, planted at zero.
		firstDiffs   []float64
		firstCovered int
	}
	runs := make([]run, seeds)
	var planted map[string]float64
	var mu sync.Mutex
	synthcity.ForSeeds(seeds, 2, func(s int) {
		city, st, ok := reportingCity(t, synthcity.Options{Seed: uint64(900 + s), Tickets: 45000, Weeks: 8, End: end})
		if !ok {
			return
		}
		defer st.Close()
		truth := plantedPerSD(city)
		mu.Lock()
		if s == 0 {
			planted = truth
		}
		mu.Unlock()
		r := run{covered: map[string]bool{}, est: map[string]float64{}}
		var status string
		if err := st.DB().QueryRow(`SELECT status FROM analysis_reporting_fit WHERE layer = 'tracts'`).Scan(&status); err != nil || status != "computed" {
			t.Errorf("seed %d: reporting model %q (%v)", 900+s, status, err)
			return
		}
		if err := st.DB().QueryRow(`SELECT min(incidents) FROM analysis_reporting_areas WHERE layer = 'tracts'`).Scan(&r.minInc); err != nil {
			t.Error(err)
		}
		rows, err := st.DB().Query(`SELECT term, estimate, estimate_lo, estimate_hi FROM analysis_reporting_model WHERE layer = 'tracts' AND model = 'poisson'`)
		if err != nil {
			t.Error(err)
			return
		}
		defer rows.Close()
		for rows.Next() {
			var term string
			var est, lo, hi float64
			if err := rows.Scan(&term, &est, &lo, &hi); err != nil {
				t.Error(err)
				return
			}
			if want, ok := truth[term]; ok {
				r.covered[term], r.est[term] = lo <= want && want <= hi, est
			}
		}
		fr, err := st.DB().Query(`SELECT difference, difference_lo, difference_hi FROM analysis_first_reports
			WHERE layer = 'tracts' AND difference_lo IS NOT NULL ORDER BY group_rank`)
		if err != nil {
			t.Error(err)
			return
		}
		defer fr.Close()
		for fr.Next() {
			var d, lo, hi float64
			if err := fr.Scan(&d, &lo, &hi); err != nil {
				t.Error(err)
				return
			}
			r.firstDiffs = append(r.firstDiffs, d)
			if lo <= 0 && 0 <= hi {
				r.firstCovered++
			}
		}
		runs[s] = r
	})
	if t.Failed() {
		return
	}
	var zeroCovered, zeroFitted int
	for _, term := range []string{"log_median_income", "share_black", "share_65plus", "share_limited_english", "share_broadband", "share_hispanic", "share_asian"} {
		var covered, fitted int
		var mean float64
		for _, r := range runs {
			if _, ok := r.covered[term]; !ok {
				continue
			}
			fitted++
			mean += r.est[term]
			if r.covered[term] {
				covered++
			}
		}
		t.Logf("%s: planted %+.4f per SD (seed 900); mean estimate %+.4f; the jackknife 95%% interval covers it in %d of %d seeds",
			term, planted[term], mean/float64(max(1, fitted)), covered, fitted)
		if fitted != seeds {
			t.Errorf("%s: fitted in %d of %d seeds", term, fitted, seeds)
		}
		if planted[term] != 0 {
			// The planted gradient: each coefficient on its own.
			if covered < 44 {
				t.Errorf("%s: covered in %d of %d seeds (want ≥ 44)", term, covered, seeds)
			}
		} else {
			zeroCovered, zeroFitted = zeroCovered+covered, zeroFitted+fitted
		}
	}
	// The five terms planted at zero, pooled at the same rate (44 in 50).
	t.Logf("terms planted at zero: covered in %d of %d intervals", zeroCovered, zeroFitted)
	if zeroCovered*50 < zeroFitted*44 {
		t.Errorf("terms planted at zero: covered in %d of %d intervals (want ≥ 88%%)", zeroCovered, zeroFitted)
	}
	var firstN, firstCovered int
	var firstMean float64
	for _, r := range runs {
		firstN += len(r.firstDiffs)
		firstCovered += r.firstCovered
		for _, d := range r.firstDiffs {
			firstMean += d
		}
	}
	t.Logf("who reports first: the income fifths' intervals cover the planted zero difference in %d of %d (mean difference %+.4f)",
		firstCovered, firstN, firstMean/float64(max(1, firstN)))
	if firstN != 5*seeds || firstCovered*50 < firstN*44 {
		t.Errorf("who reports first: %d of %d fifths' intervals cover the planted zero (want all %d fifths with an interval, ≥ 88%% covering)",
			firstCovered, firstN, 5*seeds)
	}
	for s, r := range runs {
		if r.minInc < 20 {
			t.Errorf("seed %d: a tract with %d incidents (the design wants at least 20)", 900+s, r.minInc)
		}
	}
}

// TestReportingRatesByArea: on the default demo city (100,000 requests,
// 12 weeks, seed 1), each tract's shrunken reporting rate ratio — its
// duplicates over those expected for its incidents' types and days open
// — correlates with the planted tract rate at 0.9 or more, and the
// richest fifth's planted rate is 3× the poorest's from income alone.
func TestReportingRatesByArea(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the default demo city takes about 15 s; the full suite builds it")
	}
	city, st, ok := reportingCity(t, synthcity.Options{Seed: 1, End: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)})
	if !ok {
		return
	}
	defer st.Close()
	planted := map[string]float64{}
	for _, tr := range city.Tracts {
		planted[tr.GEOID] = tr.ReportRate
	}
	rows, err := st.DB().Query(`SELECT area_id, eb_rate_ratio, rate_ratio, incidents FROM analysis_reporting_areas WHERE layer = 'tracts'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var est, raw, truth []float64
	var minInc int64 = math.MaxInt64
	for rows.Next() {
		var id string
		var eb, r float64
		var n int64
		if err := rows.Scan(&id, &eb, &r, &n); err != nil {
			t.Fatal(err)
		}
		if p, ok := planted[id]; ok {
			est, raw, truth = append(est, eb), append(raw, r), append(truth, p)
			minInc = min(minInc, n)
		}
	}
	if len(est) < len(city.Tracts)*9/10 {
		t.Fatalf("%d tracts with a reporting rate of %d", len(est), len(city.Tracts))
	}
	cEB, cRaw := stat.Correlation(est, truth, nil), stat.Correlation(raw, truth, nil)
	t.Logf("%d tracts (fewest incidents %d): correlation with the planted rates %.3f shrunken, %.3f raw; planted fifth ratio %.1f",
		len(est), minInc, cEB, cRaw, city.Truth.Reporting.FifthRatio)
	if cEB < 0.9 {
		t.Errorf("shrunken tract rates correlate %.3f with the planted ones, want ≥ 0.9", cEB)
	}
	if minInc < 20 {
		t.Errorf("a tract with %d incidents", minInc)
	}
	// Duplicates are planted through the same channel model as first
	// reports: at the same types, the app's share of first reports and of
	// duplicates differ by nothing but noise.
	var groups, covered int
	rows2, err := st.DB().Query(`SELECT difference, difference_lo, difference_hi FROM analysis_first_reports WHERE layer = 'tracts'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows2.Close()
	for rows2.Next() {
		var d, lo, hi float64
		if err := rows2.Scan(&d, &lo, &hi); err != nil {
			t.Fatal(err)
		}
		groups++
		if lo <= 0 && 0 <= hi {
			covered++
		}
		t.Logf("first-report app share − duplicates' at the same types: %+.4f (%+.4f to %+.4f)", d, lo, hi)
	}
	if groups != 5 || covered < 4 {
		t.Errorf("%d income fifths, %d of whose intervals cover the planted zero difference (want 5 and ≥ 4)", groups, covered)
	}
}

// pipelineStore runs the pipeline as the CLI's demo does, with its
// defaults — ingest dump (profile auto), boundaries, census, assign,
// analyze (pipeline.Run) — on files, into a new database at db, and
// returns the open store.
//
// It runs on the CLI tests' clock (26 November 2026, noon UTC): a load
// refuses requests more than 48 hours after it, so the default demo city,
// which runs to 30 November, loses its last days, as it did when these
// tests ran through the CLI.
func pipelineStore(t *testing.T, db string, seed uint64, files pipeline.Files, analyze analysis.Options) (*store.Store, bool) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Error(err)
		return nil, false
	}
	now := func() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) }
	st.SetClock(now)
	if _, err := pipeline.Run(ctx, st, files, pipeline.Options{Env: source.Env{City: "synthetic", Now: now}, Analyze: analyze}); err != nil {
		t.Errorf("seed %d: %v", seed, err)
		st.Close()
		return nil, false
	}
	return st, true
}

// tractsOnly is a synthetic city's files without its neighborhoods.
func tractsOnly(f pipeline.Files) pipeline.Files {
	f.Boundaries = slices.DeleteFunc(slices.Clone(f.Boundaries), func(b pipeline.Boundary) bool { return b.Options.Layer != "tracts" })
	return f
}
