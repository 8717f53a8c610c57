package stats

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// TestPoissonMatchesStatsmodels fits the reporting-rate model — duplicate
// reports per incident, offset log(days open), income, share Black and
// problem type — on testdata/poisson_data.csv and compares it with
// statsmodels (testdata/poisson_reference.py) to 1e-6: the coefficients,
// the model-based and area-clustered errors (GLM cov_type="cluster"), the
// deviance, Pearson chi-square and log likelihood; and the NB2 check's
// coefficients and α (statsmodels' NegativeBinomial, nb2). The cluster
// jackknife (ClusterJackknife, by one Newton step) agrees with the exact
// one, refitted with each area left out, to 3%.
func TestPoissonMatchesStatsmodels(t *testing.T) {
	recs := testdataCSV(t, "poisson_data.csv")
	var x [][]float64
	var y, offset []float64
	var cluster []int
	for i, r := range recs[1:] {
		v := make([]float64, len(r))
		for j, s := range r {
			var err error
			if v[j], err = strconv.ParseFloat(s, 64); err != nil {
				t.Fatalf("poisson_data.csv line %d field %d: %v", i+2, j+1, err)
			}
		}
		typ := int(v[1])
		row := []float64{1, v[2], v[3], 0, 0, 0}
		if typ > 0 {
			row[2+typ] = 1
		}
		x = append(x, row)
		offset = append(offset, math.Log(v[4]))
		y = append(y, v[5])
		cluster = append(cluster, int(v[0]))
	}
	b, err := os.ReadFile("testdata/poisson_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Terms   []string `json:"terms"`
		N       int      `json:"n"`
		Poisson struct {
			Params    []float64 `json:"params"`
			SEModel   []float64 `json:"se_model"`
			SECluster []float64 `json:"se_cluster"`
			Deviance  float64   `json:"deviance"`
			Pearson   float64   `json:"pearson_chi2"`
			LogLik    float64   `json:"loglik"`
		} `json:"poisson"`
		NB2 struct {
			Params []float64 `json:"params"`
			Alpha  float64   `json:"alpha"`
			LogLik float64   `json:"loglik"`
		} `json:"nb2"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	pois := ref.Poisson
	if len(y) != ref.N {
		t.Fatalf("%d incidents read, reference has %d", len(y), ref.N)
	}
	close := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %.10g, statsmodels %.10g", what, got, want)
		}
	}
	fit, err := FitPoisson(x, y, offset)
	if err != nil {
		t.Fatal(err)
	}
	for j, term := range ref.Terms {
		close("poisson "+term, fit.Beta[j], pois.Params[j])
		close("poisson model se "+term, fit.ModelSE[j], pois.SEModel[j])
	}
	close("poisson deviance", fit.Deviance, pois.Deviance)
	close("poisson Pearson chi2", fit.Dispersion*float64(fit.N-fit.K), pois.Pearson)
	close("poisson log likelihood", fit.LogLik, pois.LogLik)
	if err := fit.Clustered(cluster); err != nil {
		t.Fatal(err)
	}
	for j, term := range ref.Terms {
		close("poisson cluster se "+term, fit.SE[j], pois.SECluster[j])
	}
	// The cluster jackknife by one Newton step against the exact one:
	// the model refitted with each area left out.
	if err := fit.ClusterJackknife(cluster); err != nil {
		t.Fatal(err)
	}
	exact := exactJackknife(t, x, y, offset, cluster, fit.K)
	for j, term := range ref.Terms {
		if math.Abs(fit.SE[j]-exact[j]) > 0.03*exact[j] {
			t.Errorf("jackknife se %s: one-step %.6g, exact refits %.6g", term, fit.SE[j], exact[j])
		}
		if fit.SE[j] < pois.SECluster[j] {
			t.Logf("jackknife se %s %.6g below CR1 %.6g", term, fit.SE[j], pois.SECluster[j])
		}
	}
	nb, err := FitNB2(x, y, offset)
	if err != nil {
		t.Fatal(err)
	}
	for j, term := range ref.Terms {
		close("nb2 "+term, nb.Beta[j], ref.NB2.Params[j])
	}
	close("nb2 alpha", nb.Alpha, ref.NB2.Alpha)
	close("nb2 log likelihood", nb.LogLik, ref.NB2.LogLik)
}

// exactJackknife is the cluster jackknife's standard errors from refitting
// the Poisson model with each cluster left out.
func exactJackknife(t *testing.T, x [][]float64, y, offset []float64, cluster []int, k int) []float64 {
	t.Helper()
	full, err := FitPoisson(x, y, offset)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int]bool{}
	for _, c := range cluster {
		ids[c] = true
	}
	var ds [][]float64
	mean := make([]float64, k)
	for c := range ids {
		var xs [][]float64
		var ys, os []float64
		for i := range x {
			if cluster[i] != c {
				xs, ys, os = append(xs, x[i]), append(ys, y[i]), append(os, offset[i])
			}
		}
		f, err := FitPoisson(xs, ys, os)
		if err != nil {
			t.Fatal(err)
		}
		d := make([]float64, k)
		for j := range d {
			d[j] = f.Beta[j] - full.Beta[j]
			mean[j] += d[j] / float64(len(ids))
		}
		ds = append(ds, d)
	}
	se := make([]float64, k)
	g := float64(len(ids))
	for j := range se {
		var v float64
		for _, d := range ds {
			v += (d[j] - mean[j]) * (d[j] - mean[j])
		}
		se[j] = math.Sqrt(v * (g - 1) / g)
	}
	return se
}

// TestClusterJackknifeCoverage plants 100 cities of 185 areas whose sizes
// differ as tracts do (log-normal, SD 1), with an area random effect (SD
// 0.15), 40 request types and a covariate correlated with another: the
// 95% intervals from the cluster jackknife cover the planted coefficient
// in at least 92 of 100, while CR1's z-scores spread wider than 1 (the
// reason the reporting-rate model uses the jackknife).
func TestClusterJackknifeCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 100 planted fits take a few seconds; the full suite runs them")
	}
	const areas, types, seeds, planted = 185, 40, 100, 0.4
	var cr1SS float64
	covered3, covered1 := 0, 0
	for seed := 0; seed < seeds; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		xa := make([][]float64, areas)
		for g := range xa {
			a := rng.NormFloat64()
			xa[g] = []float64{a, 0.7*a + 0.7*rng.NormFloat64(), rng.NormFloat64()}
		}
		typeEff := make([]float64, types)
		for k := range typeEff {
			typeEff[k] = 0.4 * rng.NormFloat64()
		}
		var x [][]float64
		var y, off []float64
		var cl []int
		for g := 0; g < areas; g++ {
			noise, size := 0.15*rng.NormFloat64(), math.Exp(rng.NormFloat64())
			for k := 0; k < types; k++ {
				days := 50 * size * rng.ExpFloat64() * math.Exp(typeEff[k])
				mu := 0.008 * math.Exp(planted*xa[g][0]+typeEff[k]+noise) * days
				n, s := 0, rng.ExpFloat64()
				for s < mu {
					n++
					s += rng.ExpFloat64()
				}
				row := make([]float64, types+3)
				row[0] = 1
				if k > 0 {
					row[k] = 1
				}
				copy(row[types:], xa[g])
				x, y, off, cl = append(x, row), append(y, float64(n)), append(off, math.Log(days)), append(cl, g)
			}
		}
		f, err := FitPoisson(x, y, off)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Clustered(cl); err != nil {
			t.Fatal(err)
		}
		z1 := (f.Beta[types] - planted) / f.SE[types]
		cr1SS += z1 * z1
		if math.Abs(z1) <= Z95 {
			covered1++
		}
		if err := f.ClusterJackknife(cl); err != nil {
			t.Fatal(err)
		}
		if math.Abs(f.Beta[types]-planted) <= Z95*f.SE[types] {
			covered3++
		}
	}
	rms := math.Sqrt(cr1SS / seeds)
	t.Logf("jackknife intervals cover %d of %d; CR1 %d, its z-scores' RMS %.2f", covered3, seeds, covered1, rms)
	if covered3 < 92 {
		t.Errorf("the cluster jackknife covers the planted coefficient in %d of %d, want ≥ 92", covered3, seeds)
	}
}
