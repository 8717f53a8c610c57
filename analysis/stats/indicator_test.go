package stats

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"testing"
)

// TestIndicatorLogitMatchesStatsmodels fits testdata/cluster_data.csv
// (60 areas in 3 groups, 4 types, 3 years, with an area random effect)
// and compares the coefficients, their model-based and area-clustered
// errors and the standardized gap with statsmodels' GLM
// (cov_type="cluster") to 1e-6 (testdata/cluster_reference.py).
func TestIndicatorLogitMatchesStatsmodels(t *testing.T) {
	recs := testdataCSV(t, "cluster_data.csv")
	var cols [][]int
	var y, n []float64
	var cluster []int
	atoi := func(s string) int {
		v, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// Columns: intercept 0, groups 1–2, types 3–5, years 6–7.
	level := func(v, first int) []int {
		if v == 0 {
			return nil
		}
		return []int{first + v - 1}
	}
	for _, r := range recs[1:] {
		a, g, ty, yr := atoi(r[0]), atoi(r[1]), atoi(r[2]), atoi(r[3])
		c := append([]int{0}, level(g, 1)...)
		c = append(c, level(ty, 3)...)
		c = append(c, level(yr, 6)...)
		cols = append(cols, c)
		y, n = append(y, float64(atoi(r[4]))), append(n, float64(atoi(r[5])))
		cluster = append(cluster, a)
	}
	fit, err := IndicatorLogit(8, cols, y, n, cluster)
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Params, SEModel, SECluster []float64
		Mix                        [][]float64
		ShareTop, ShareBottom, Gap float64
		GapSECluster, GapSEModel   float64
	}
	b, err := os.ReadFile("testdata/cluster_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for key, dst := range map[string]any{"params": &ref.Params, "se_model": &ref.SEModel, "se_cluster": &ref.SECluster, "mix": &ref.Mix,
		"share_top": &ref.ShareTop, "share_bottom": &ref.ShareBottom, "gap": &ref.Gap, "gap_se_cluster": &ref.GapSECluster, "gap_se_model": &ref.GapSEModel} {
		if err := json.Unmarshal(raw[key], dst); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	close := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %.10g, statsmodels %.10g", what, got, want)
		}
	}
	for j := range ref.Params {
		close("beta["+strconv.Itoa(j)+"]", fit.Beta[j], ref.Params[j])
		close("model SE["+strconv.Itoa(j)+"]", math.Sqrt(fit.ModelCov.At(j, j)), ref.SEModel[j])
		close("cluster SE["+strconv.Itoa(j)+"]", math.Sqrt(fit.ClusterCov.At(j, j)), ref.SECluster[j])
	}
	var cells []StandardizedCell
	for _, m := range ref.Mix {
		c := append([]int{0}, level(int(m[0]), 3)...)
		c = append(c, level(int(m[1]), 6)...)
		cells = append(cells, StandardizedCell{Weight: m[2], Cols: c, Fixed: math.NaN()})
	}
	top, gTop := fit.Standardized(cells, 2)
	bottom, gBottom := fit.Standardized(cells, -1)
	grad := make([]float64, len(gTop))
	for j := range grad {
		grad[j] = gTop[j] - gBottom[j]
	}
	close("standardized share of group 2", top, ref.ShareTop)
	close("standardized share of group 0", bottom, ref.ShareBottom)
	close("standardized gap", top-bottom, ref.Gap)
	close("gap SE, clustered", DeltaSE(grad, fit.ClusterCov), ref.GapSECluster)
	close("gap SE, model", DeltaSE(grad, fit.ModelCov), ref.GapSEModel)
	// The dense fit with clustered errors agrees with the same reference.
	x := make([][]float64, len(cols))
	for i, cs := range cols {
		x[i] = make([]float64, 8)
		for _, c := range cs {
			x[i][c] = 1
		}
	}
	dense, err := FitLogit(x, y, n)
	if err != nil {
		t.Fatal(err)
	}
	if err := dense.Clustered(cluster); err != nil {
		t.Fatal(err)
	}
	for j := range ref.Params {
		close("dense beta["+strconv.Itoa(j)+"]", dense.Beta[j], ref.Params[j])
		close("dense cluster SE["+strconv.Itoa(j)+"]", dense.SE[j], ref.SECluster[j])
	}
	if fit.G != 60 || !fit.Converged {
		t.Errorf("%d clusters, converged %v", fit.G, fit.Converged)
	}
}
