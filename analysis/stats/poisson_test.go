package stats

import (
	"encoding/csv"
	"encoding/json"
	"math"
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
// coefficients and α (statsmodels' NegativeBinomial, nb2).
func TestPoissonMatchesStatsmodels(t *testing.T) {
	f, err := os.Open("testdata/poisson_data.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var x [][]float64
	var y, offset []float64
	var cluster []int
	for i, r := range recs[1:] {
		v := make([]float64, len(r))
		for j, s := range r {
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
