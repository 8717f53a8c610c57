package stats

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"testing"
)

// modelReference holds the values testdata/models_reference.py computed
// with statsmodels and numpy on testdata/models_data.csv.
type modelReference struct {
	Generator     string    `json:"generator"`
	Terms         []string  `json:"terms"`
	CovariateMean []float64 `json:"covariate_mean"`
	CovariateSD   []float64 `json:"covariate_sd"`
	Logit         struct {
		Params, SE          []float64
		Deviance, Disp, AIC float64
	} `json:"-"`
	RawLogit struct {
		Params     []float64 `json:"params"`
		SE         []float64 `json:"se_hc1"`
		Deviance   float64   `json:"deviance"`
		Dispersion float64   `json:"dispersion"`
		AIC        float64   `json:"aic"`
	} `json:"logit"`
	NB2 struct {
		Params []float64 `json:"params"`
		SE     []float64 `json:"se_hc1"`
		Alpha  float64   `json:"alpha"`
		LogLik float64   `json:"loglik"`
	} `json:"nb2"`
	Moran         float64 `json:"moran_i_app_share"`
	Concentration float64 `json:"concentration_index"`
	ConcentrSE    float64 `json:"concentration_se"`
}

// modelData is the fixed data set: 64 areas on an 8×8 grid.
type modelData struct {
	row, col                        []int
	pop, income, s65, lep, bb, y, n []float64
}

func readModelData(t *testing.T) (modelData, modelReference) {
	t.Helper()
	recs := testdataCSV(t, "models_data.csv")
	var d modelData
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, r := range recs[1:] {
		d.row = append(d.row, int(num(r[1])))
		d.col = append(d.col, int(num(r[2])))
		d.pop = append(d.pop, num(r[3]))
		d.income = append(d.income, num(r[4]))
		d.s65 = append(d.s65, num(r[5]))
		d.lep = append(d.lep, num(r[6]))
		d.bb = append(d.bb, num(r[7]))
		d.y = append(d.y, num(r[8]))
		d.n = append(d.n, num(r[9]))
	}
	b, err := os.ReadFile("testdata/models_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref modelReference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return d, ref
}

func relClose(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-5*math.Max(math.Abs(want), 1e-3) {
		t.Errorf("%s = %.10g, reference %.10g (%s)", what, got, want, "1e-5 relative")
	}
}

// TestModelsMatchStatsmodels fits both models, the concentration index
// and Moran's I on the fixed data set and compares them with statsmodels
// and numpy to 1e-5 relative.
func TestModelsMatchStatsmodels(t *testing.T) {
	d, ref := readModelData(t)
	cols := [][]float64{logs(d.income), d.s65, d.lep, d.bb}
	x, means, sds := Standardize(cols)
	for j := range means {
		relClose(t, "mean of "+ref.Terms[j+1], means[j], ref.CovariateMean[j])
		relClose(t, "sd of "+ref.Terms[j+1], sds[j], ref.CovariateSD[j])
	}
	lf, err := FitLogit(x, d.y, d.n)
	if err != nil {
		t.Fatal(err)
	}
	for j, term := range ref.Terms {
		relClose(t, "logit "+term, lf.Beta[j], ref.RawLogit.Params[j])
		relClose(t, "logit HC1 se "+term, lf.SE[j], ref.RawLogit.SE[j])
	}
	relClose(t, "logit deviance", lf.Deviance, ref.RawLogit.Deviance)
	relClose(t, "logit dispersion", lf.Dispersion, ref.RawLogit.Dispersion)
	relClose(t, "logit AIC", lf.AIC, ref.RawLogit.AIC)
	offset := make([]float64, len(d.pop))
	for i, p := range d.pop {
		offset[i] = math.Log(p)
	}
	nb, err := FitNB2(x, d.y, offset)
	if err != nil {
		t.Fatal(err)
	}
	relClose(t, "nb2 alpha", nb.Alpha, ref.NB2.Alpha)
	relClose(t, "nb2 log likelihood", nb.LogLik, ref.NB2.LogLik)
	for j, term := range ref.Terms {
		relClose(t, "nb2 "+term, nb.Beta[j], ref.NB2.Params[j])
		relClose(t, "nb2 HC1 se "+term, nb.SE[j], ref.NB2.SE[j])
	}
	h := make([]float64, len(d.y))
	share := make([]float64, len(d.y))
	for i := range h {
		h[i] = d.y[i] / d.pop[i]
		share[i] = d.y[i] / d.n[i]
	}
	c := ConcentrationIndex(d.income, h, d.pop)
	relClose(t, "concentration index", c.Index, ref.Concentration)
	relClose(t, "concentration index se", c.SE, ref.ConcentrSE)
	nbs := make([][]int, len(d.row))
	for i := range nbs {
		for j := range nbs {
			if i != j && abs(d.row[i]-d.row[j]) <= 1 && abs(d.col[i]-d.col[j]) <= 1 {
				nbs[i] = append(nbs[i], j)
			}
		}
	}
	relClose(t, "Moran's I", MoransI(share, nbs, 0, nil).I, ref.Moran)
	t.Logf("reference: %s", ref.Generator)
}

func logs(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Log(v)
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
