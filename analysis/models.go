package analysis

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/analysis/stats"
	"github.com/equity311/equity311/geo"
)

// minModelAreas is the fewest areas a model is fitted on.
const minModelAreas = 20

// models fits both models on the layer's areas with census covariates and
// writes their terms and fit statistics. It returns the logit's stats.Pearson

// areaFit is a model fitted over areas: the fit, and each row's area id.
type areaFit struct {
	stats.Fit
	ids []string
}

// residuals by area, for Moran's I.
func (c *cityData) models(p equity311.Period, opt Options, layer string, ms []*results.AreaMetrics, demo demoTable, out *tables) map[string]float64 {
	withPop := 0
	for _, m := range ms {
		if !math.IsNaN(m.Population) && m.Population > 0 {
			withPop++
		}
	}
	covs := modelCovariates(demo, layer, withPop)
	if len(covs) == 0 {
		return nil
	}
	type row struct {
		m *results.AreaMetrics
		x []float64
	}
	var rows []row
	for _, m := range ms {
		if math.IsNaN(m.Population) || m.Population <= 0 {
			continue
		}
		x := make([]float64, len(covs))
		ok := true
		for j, cv := range covs {
			if x[j], ok = cv.value(demo, layer, m.AreaID); !ok {
				break
			}
		}
		if ok {
			rows = append(rows, row{m, x})
		}
	}
	fit := func(name string, keep func(*results.AreaMetrics) bool, do func(x [][]float64, ms []*results.AreaMetrics) (stats.Fit, error)) *areaFit {
		var sel []row
		for _, r := range rows {
			if keep(r.m) {
				sel = append(sel, r)
			}
		}
		if len(sel) < max(minModelAreas, len(covs)+10) {
			return nil
		}
		cols := make([][]float64, len(covs))
		var sm []*results.AreaMetrics
		for _, r := range sel {
			for j := range covs {
				cols[j] = append(cols[j], r.x[j])
			}
			sm = append(sm, r.m)
		}
		x, means, sds := stats.Standardize(cols)
		for _, sd := range sds {
			if sd == 0 || math.IsNaN(sd) {
				return nil
			}
		}
		f, err := do(x, sm)
		if err != nil {
			return nil
		}
		terms := append([]string{"intercept"}, termNames(covs)...)
		for j, t := range terms {
			lo, hi, z, pv := stats.ZTest(f.Beta[j], f.SE[j])
			mean, sd := math.NaN(), math.NaN()
			if j > 0 {
				mean, sd = means[j-1], sds[j-1]
			}
			put(out, results.ModelsTable(), results.ModelTerm{Key: results.Key{City: c.name, Period: p.Label}, Layer: layer, Model: name, Term: t, Estimate: f.Beta[j], SE: f.SE[j],
				Lo: lo, Hi: hi, Z: z, P: pv, Ratio: math.Exp(f.Beta[j]), RatioLo: math.Exp(lo), RatioHi: math.Exp(hi),
				CovariateMean: mean, CovariateSD: sd})
		}
		alpha := math.NaN()
		if name == results.ModelNB2 {
			alpha = f.Alpha
		}
		put(out, results.FitsTable(), results.ModelFit{Key: results.Key{City: c.name, Period: p.Label}, Layer: layer, Model: name, N: int64(f.N), Deviance: f.Deviance, NullDeviance: f.NullDev,
			AIC: f.AIC, Dispersion: f.Dispersion, Alpha: alpha, Iterations: int64(f.Iterations), Converged: f.Converged})
		ids := make([]string, len(sm))
		for i, m := range sm {
			ids[i] = m.AreaID
			obs, fitted := float64(m.App), f.Mu[i]
			if name == results.ModelLogit {
				obs, fitted = float64(m.OfferedApp)/float64(m.OfferedBase), f.Mu[i]/float64(m.OfferedBase)
			}
			put(out, results.ResidualsTable(), results.Residual{Key: results.Key{City: c.name, Period: p.Label}, Layer: layer, Model: name, AreaID: m.AreaID, Observed: obs, Fitted: fitted, Residual: f.Pearson[i]})
		}
		return &areaFit{Fit: f, ids: ids}
	}
	lf := fit(results.ModelLogit, func(m *results.AreaMetrics) bool { return m.OfferedBase > 0 }, func(x [][]float64, sm []*results.AreaMetrics) (stats.Fit, error) {
		y, n := make([]float64, len(sm)), make([]float64, len(sm))
		for i, m := range sm {
			y[i], n[i] = float64(m.OfferedApp), float64(m.OfferedBase)
		}
		return stats.FitLogit(x, y, n)
	})
	fit(results.ModelNB2, func(m *results.AreaMetrics) bool { return true }, func(x [][]float64, sm []*results.AreaMetrics) (stats.Fit, error) {
		y, off := make([]float64, len(sm)), make([]float64, len(sm))
		for i, m := range sm {
			y[i], off[i] = float64(m.App), math.Log(m.Population)
		}
		return stats.FitNB2(x, y, off)
	})
	if lf == nil {
		return nil
	}
	resid := map[string]float64{}
	for i, id := range lf.ids {
		resid[id] = lf.Pearson[i]
	}
	return resid
}

// incomeCurve writes the fitted curve of app share against median income
// across the layer's areas: a grouped logit of app vs other resident
// requests (from sources that record the app) on log median income, at 30
// incomes across the observed range, with the 95% band of its linear
// predictor (HC1 covariance, delta method).
func (c *cityData) incomeCurve(p equity311.Period, layer string, ms []*results.AreaMetrics, demo demoTable, out *tables) {
	var x [][]float64
	var y, n []float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, m := range ms {
		d, ok := demo.get(layer, m.AreaID, "median_income")
		if !ok || d.est <= 0 || m.ShareBase == 0 {
			continue
		}
		x = append(x, []float64{1, math.Log(d.est)})
		y, n = append(y, float64(m.App)), append(n, float64(m.ShareBase))
		lo, hi = math.Min(lo, d.est), math.Max(hi, d.est)
	}
	if len(x) < 5 || lo == hi {
		return
	}
	f, err := stats.FitLogit(x, y, n)
	if err != nil {
		return
	}
	const points = 30
	logistic := func(e float64) float64 { return 1 / (1 + math.Exp(-e)) }
	for k := 0; k < points; k++ {
		inc := math.Exp(math.Log(lo) + (math.Log(hi)-math.Log(lo))*float64(k)/(points-1))
		xv := math.Log(inc)
		eta := f.Beta[0] + f.Beta[1]*xv
		se := math.Sqrt(f.Cov[0][0] + 2*xv*f.Cov[0][1] + xv*xv*f.Cov[1][1])
		put(out, results.IncomeCurveTable(), results.IncomePoint{Key: results.Key{City: c.name, Period: p.Label}, Layer: layer, Point: int64(k + 1), MedianIncome: inc,
			Fitted: results.Estimate{Value: logistic(eta), Lo: logistic(eta - stats.Z95*se), Hi: logistic(eta + stats.Z95*se)}})
	}
}

func termNames(covs []covariate) []string {
	var out []string
	for _, c := range covs {
		out = append(out, c.term)
	}
	return out
}

// spatial writes Moran's I of app share (areas with enough requests) and
// of the logit's residuals over the layer's queen contiguity.
func (c *cityData) spatial(p equity311.Period, opt Options, l *geo.Layer, ms []*results.AreaMetrics, resid map[string]float64, out *tables) {
	if l == nil {
		return
	}
	measure := func(name string, values map[string]float64) {
		mi, islands, ok := c.moran(opt, l, values, name)
		if !ok {
			return
		}
		put(out, results.SpatialTable(), results.Spatial{Key: results.Key{City: c.name, Period: p.Label}, Layer: l.Name, Measure: name,
			Areas: int64(len(values) - len(islands)), MoranI: mi.I, Expected: mi.Expected, P: mi.P, Permutations: int64(mi.Permutations), Islands: islands})
	}
	shares := map[string]float64{}
	for _, m := range ms {
		if !m.LowCount && !math.IsNaN(m.AppShare.Value) {
			shares[m.AreaID] = m.AppShare.Value
		}
	}
	measure("app_share", shares)
	if resid != nil {
		measure("logit_residual", resid)
	}
}

// moran is Moran's I of values by area over the layer's queen contiguity,
// with a seeded permutation p-value, and the areas without neighbours
// (left out); ok is false with fewer than 8 areas that have neighbours.
func (c *cityData) moran(opt Options, l *geo.Layer, values map[string]float64, name string) (stats.Moran, []string, bool) {
	if c.contiguity == nil {
		c.contiguity = map[string][][]int{}
	}
	nb, seen := c.contiguity[l.Name]
	if !seen {
		nb = geo.Contiguity(l, geo.DefaultContiguityMetres)
		c.contiguity[l.Name] = nb
	}
	index := map[string]int{}
	for i, id := range l.IDs {
		index[id] = i
	}
	var ids []string
	for _, id := range l.IDs {
		if _, ok := values[id]; ok {
			ids = append(ids, id)
		}
	}
	pos := map[string]int{}
	for k, id := range ids {
		pos[id] = k
	}
	var islands []string
	var x []float64
	var lists [][]int
	for _, id := range ids {
		var ns []int
		for _, j := range nb[index[id]] {
			if k, ok := pos[l.IDs[j]]; ok {
				ns = append(ns, k)
			}
		}
		if len(ns) == 0 {
			islands = append(islands, id)
		}
		x = append(x, values[id])
		lists = append(lists, ns)
	}
	if len(ids)-len(islands) < 8 {
		return stats.Moran{}, nil, false
	}
	h := fnv.New64a()
	h.Write([]byte(c.name + "|" + l.Name + "|" + name))
	rng := rand.New(rand.NewPCG(opt.Seed, h.Sum64()))
	mi := stats.MoransI(x, lists, opt.Permutations, rng)
	slices.Sort(islands)
	return mi, islands, true
}
