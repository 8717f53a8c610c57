package analysis

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/analysis/stats"
	"github.com/equity311/equity311/geo"
)

// minModelAreas is the fewest areas a model is fitted on.
const minModelAreas = 20

// models fits both models on the layer's areas with census covariates and
// writes their terms and fit statistics. It returns the logit's stats.Pearson

// areaFit is a fitted area model and its Pearson residuals by area (each
// area's rows pooled).
type areaFit struct {
	stats.Fit
	areaResiduals map[string]float64
}

// areaYear is a model row: an area's requests in one calendar year.
type areaYear struct {
	m               *results.AreaMetrics
	x               []float64 // the area's covariates
	year            int
	offApp, offBase float64 // of app-offered types (the logit)
	app, base       float64 // every type (the channel model)
}

// models fits the area models of the layer's areas with census
// covariates, over area × year rows with year fixed effects and errors
// clustered by area: a grouped logit of app vs other resident requests of
// app-offered types (odds ratios per SD), a negative binomial of app
// requests with log(resident requests) as offset (channel choice), and,
// when the sources can carry rates, one of resident requests with
// log(population × weeks) as offset (volume). A model is fitted only with
// at least 10 of its rarer outcome per parameter and fewer area-level
// covariates than one per 5 areas; otherwise its fit row says why. It
// returns the logit's Pearson residuals by area, for Moran's I.
func (c *cityData) models(p equity311.Period, opt Options, layer string, ms []*results.AreaMetrics, demo demoTable, offered map[string]bool, out *tables) map[string]float64 {
	withPop := 0
	for _, m := range ms {
		if !math.IsNaN(m.Population) && m.Population > 0 {
			withPop++
		}
	}
	covs, dropped := modelCovariates(demo, layer, withPop)
	if len(covs) == 0 {
		return nil
	}
	years := c.years()
	var rows []areaYear
	var areas []*results.AreaMetrics
	var areaX [][]float64
	for _, m := range ms {
		a := c.byID[layer][m.AreaID]
		if a == nil || math.IsNaN(m.Population) || m.Population <= 0 {
			continue
		}
		x := make([]float64, len(covs))
		ok := true
		for j, cv := range covs {
			if x[j], ok = cv.value(demo, layer, m.AreaID); !ok {
				break
			}
		}
		if !ok {
			continue
		}
		areas, areaX = append(areas, m), append(areaX, x)
		byYear := map[int]*areaYear{}
		for ty, pr := range a.typeYears {
			r := byYear[ty.year]
			if r == nil {
				r = &areaYear{m: m, x: x, year: ty.year}
				byYear[ty.year] = r
			}
			r.app, r.base = r.app+float64(pr.app), r.base+float64(pr.base)
			if offered[ty.service] {
				r.offApp, r.offBase = r.offApp+float64(pr.app), r.offBase+float64(pr.base)
			}
		}
		for _, y := range years {
			if r := byYear[y]; r != nil {
				rows = append(rows, *r)
			}
		}
	}
	note := ""
	if len(dropped) > 0 {
		note = "left out for covering too few areas: " + strings.Join(dropped, ", ")
	}
	vif := vifs(areaX)
	fit := func(name string, keep func(areaYear) bool, do func(x [][]float64, rs []areaYear) (stats.Fit, error), events func([]areaYear) float64) *areaFit {
		return c.fitAreaModel(p, layer, name, covs, vif, note, rows, len(areas), years, keep, do, events, out)
	}
	lf := fit(results.ModelLogit, func(r areaYear) bool { return r.offBase > 0 }, func(x [][]float64, rs []areaYear) (stats.Fit, error) {
		y, n := make([]float64, len(rs)), make([]float64, len(rs))
		for i, r := range rs {
			y[i], n[i] = r.offApp, r.offBase
		}
		return stats.FitLogit(x, y, n)
	}, func(rs []areaYear) float64 {
		var app, other float64
		for _, r := range rs {
			app, other = app+r.offApp, other+r.offBase-r.offApp
		}
		return math.Min(app, other)
	})
	fit(results.ModelNB2, func(r areaYear) bool { return r.base > 0 }, func(x [][]float64, rs []areaYear) (stats.Fit, error) {
		y, off := make([]float64, len(rs)), make([]float64, len(rs))
		for i, r := range rs {
			y[i], off[i] = r.app, math.Log(r.base)
		}
		return stats.FitNB2(x, y, off)
	}, func(rs []areaYear) float64 {
		var app float64
		for _, r := range rs {
			app += r.app
		}
		return app
	})
	if c.run.Rates {
		weeks := c.weeksByYear()
		fit(results.ModelVolume, func(r areaYear) bool { return weeks[r.year] > 0 }, func(x [][]float64, rs []areaYear) (stats.Fit, error) {
			y, off := make([]float64, len(rs)), make([]float64, len(rs))
			for i, r := range rs {
				y[i], off[i] = r.base, math.Log(r.m.Population*float64(weeks[r.year])/52.1775)
			}
			return stats.FitNB2(x, y, off)
		}, func(rs []areaYear) float64 {
			var n float64
			for _, r := range rs {
				n += r.base
			}
			return n
		})
	}
	if lf == nil {
		return nil
	}
	return lf.areaResiduals
}

// fitAreaModel fits one area model over the rows it keeps, if the data
// can carry it, and writes its terms, fit and residuals by area.
func (c *cityData) fitAreaModel(p equity311.Period, layer, name string, covs []covariate, vif []float64, note string, rows []areaYear, areas int, years []int,
	keep func(areaYear) bool, do func(x [][]float64, rs []areaYear) (stats.Fit, error), events func([]areaYear) float64, out *tables) *areaFit {
	key := results.Key{City: c.name, Period: p.Label}
	var sel []areaYear
	for _, r := range rows {
		if keep(r) {
			sel = append(sel, r)
		}
	}
	// Covariates standardized over the areas, year indicators (the first
	// year with rows the reference), the intercept.
	var ys []int
	seenArea := map[string]bool{}
	for _, r := range sel {
		if !slices.Contains(ys, r.year) {
			ys = append(ys, r.year)
		}
		seenArea[r.m.AreaID] = true
	}
	slices.Sort(ys)
	k := 1 + len(covs) + max(0, len(ys)-1)
	e := events(sel)
	fail := func(why string) *areaFit {
		if note != "" {
			why += "; " + note
		}
		put(out, results.FitsTable(), results.ModelFit{Key: key, Layer: layer, Model: name, N: int64(len(sel)), Deviance: math.NaN(),
			NullDeviance: math.NaN(), AIC: math.NaN(), Dispersion: math.NaN(), Alpha: math.NaN(), Note: why})
		return nil
	}
	switch {
	case len(seenArea) < minModelAreas:
		return fail(fmt.Sprintf("not fitted: %d areas with covariates; %d needed", len(seenArea), minModelAreas))
	case e < float64(eventsPerParameter*k):
		return fail(fmt.Sprintf("not fitted: too few events — %.0f of the rarer outcome for %d parameters (year effects included); %d needed", e, k, eventsPerParameter*k))
	case len(covs)*areasPerCovariate >= len(seenArea):
		return fail(fmt.Sprintf("not fitted: %d areas for %d area-level covariates; fewer than one per %d areas needed", len(seenArea), len(covs), areasPerCovariate))
	}
	cols := make([][]float64, len(covs))
	for _, r := range sel {
		for j := range covs {
			cols[j] = append(cols[j], r.x[j])
		}
	}
	_, means, sds := stats.Standardize(areaColumns(sel, len(covs)))
	for _, sd := range sds {
		if sd == 0 || math.IsNaN(sd) {
			return fail("not fitted: a covariate does not vary across the areas")
		}
	}
	x := make([][]float64, len(sel))
	cluster := make([]int, len(sel))
	areaIdx := map[string]int{}
	for i, r := range sel {
		x[i] = make([]float64, k)
		x[i][0] = 1
		for j := range covs {
			x[i][1+j] = (r.x[j] - means[j]) / sds[j]
		}
		if yi := slices.Index(ys, r.year); yi > 0 {
			x[i][len(covs)+yi] = 1
		}
		if _, ok := areaIdx[r.m.AreaID]; !ok {
			areaIdx[r.m.AreaID] = len(areaIdx)
		}
		cluster[i] = areaIdx[r.m.AreaID]
	}
	f, err := do(x, sel)
	if err == nil {
		err = f.Clustered(cluster)
	}
	if err != nil {
		return fail(fmt.Sprintf("not fitted: %v", err))
	}
	terms := append([]string{"intercept"}, termNames(covs)...)
	for _, y := range ys[min(1, len(ys)):] {
		terms = append(terms, fmt.Sprintf("year_%d", y))
	}
	for j, t := range terms {
		lo, hi, z, pv := stats.ZTest(f.Beta[j], f.SE[j])
		mean, sd, v := math.NaN(), math.NaN(), math.NaN()
		if j > 0 && j <= len(covs) {
			mean, sd, v = means[j-1], sds[j-1], vif[j-1]
		}
		put(out, results.ModelsTable(), results.ModelTerm{Key: key, Layer: layer, Model: name, Term: t, Estimate: f.Beta[j], SE: f.SE[j],
			Lo: lo, Hi: hi, Z: z, P: pv, Ratio: math.Exp(f.Beta[j]), RatioLo: math.Exp(lo), RatioHi: math.Exp(hi),
			CovariateMean: mean, CovariateSD: sd, VIF: v})
	}
	alpha := math.NaN()
	if name != results.ModelLogit {
		alpha = f.Alpha
	}
	fitNote := fmt.Sprintf("%d area × year rows, %d areas, %d years; errors clustered by area", len(sel), len(areaIdx), len(ys))
	if note != "" {
		fitNote += "; " + note
	}
	put(out, results.FitsTable(), results.ModelFit{Key: key, Layer: layer, Model: name, N: int64(f.N), Deviance: f.Deviance, NullDeviance: f.NullDev,
		AIC: f.AIC, Dispersion: f.Dispersion, Alpha: alpha, Iterations: int64(f.Iterations), Converged: f.Converged, Note: fitNote})
	// Residuals by area: each area's rows pooled.
	type acc struct{ y, mu, v, n float64 }
	byArea := map[string]*acc{}
	var order []string
	for i, r := range sel {
		a := byArea[r.m.AreaID]
		if a == nil {
			a = &acc{}
			byArea[r.m.AreaID] = a
			order = append(order, r.m.AreaID)
		}
		n := r.offBase
		if name != results.ModelLogit {
			n = 1
		}
		yv := r.offApp
		switch name {
		case results.ModelNB2:
			yv = r.app
		case results.ModelVolume:
			yv = r.base
		}
		a.y, a.mu, a.v, a.n = a.y+yv, a.mu+f.Mu[i], a.v+f.Var[i], a.n+n
	}
	res := &areaFit{Fit: f, areaResiduals: map[string]float64{}}
	for _, id := range order {
		a := byArea[id]
		r := (a.y - a.mu) / math.Sqrt(a.v)
		res.areaResiduals[id] = r
		put(out, results.ResidualsTable(), results.Residual{Key: key, Layer: layer, Model: name, AreaID: id, Observed: a.y / a.n, Fitted: a.mu / a.n, Residual: r})
	}
	return res
}

// areaColumns are the covariates of each area once (its first row), so
// that standardizing does not weight an area by its years.
func areaColumns(rows []areaYear, k int) [][]float64 {
	cols := make([][]float64, k)
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.m.AreaID] {
			continue
		}
		seen[r.m.AreaID] = true
		for j := range cols {
			cols[j] = append(cols[j], r.x[j])
		}
	}
	return cols
}

// vifs are the covariates' variance inflation factors across the areas:
// the diagonal of the inverse of their correlation matrix.
func vifs(x [][]float64) []float64 {
	k := 0
	if len(x) > 0 {
		k = len(x[0])
	}
	out := make([]float64, k)
	for j := range out {
		out[j] = math.NaN()
	}
	if len(x) <= k || k < 2 {
		if k == 1 {
			out[0] = 1
		}
		return out
	}
	data := mat.NewDense(len(x), k, nil)
	for i, r := range x {
		data.SetRow(i, r)
	}
	corr := mat.NewSymDense(k, nil)
	stat.CorrelationMatrix(corr, data, nil)
	var inv mat.Dense
	if err := inv.Inverse(corr); err != nil {
		return out
	}
	for j := range out {
		out[j] = inv.At(j, j)
	}
	return out
}

// weeksByYear are the covered weeks of each calendar year (by the week's
// Monday).
func (c *cityData) weeksByYear() map[int]int {
	out := map[int]int{}
	for _, w := range c.weeks {
		if wk := c.city.weeks[w.Unix()]; wk != nil && wk.base > 0 {
			out[w.Year()]++
		}
	}
	return out
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
