package analysis

import (
	"maps"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/analysis/stats"
	"github.com/equity311/equity311/geo"
)

// analyse computes every figure of one city and adds its rows to out.
func (c *cityData) analyse(p equity311.Period, opt Options, demo demoTable, open311Types map[string]bool, layers []*geo.Layer, out *tables) {
	typeShare, offered := c.appTypes(p, opt, open311Types, out)
	metrics := map[string][]*results.AreaMetrics{}
	metric := func(a *areaData) *results.AreaMetrics {
		m := &results.AreaMetrics{City: c.name, Layer: a.Layer, AreaID: a.ID, Name: a.Name, Population: math.NaN(), Counts: a.Counts}
		m.Tickets, m.Resident = a.Counts.Total(), a.Counts.Resident()
		m.ShareBase = a.AppCounts.Resident()
		m.App, m.Digital = a.AppCounts[equity311.App], a.AppCounts.Digital()
		m.AppShare, m.DigitalShare = share(m.App, m.ShareBase), share(m.Digital, m.ShareBase)
		// In type order: a float sum in map order differs in its last
		// digits from run to run, and data.json must not.
		for _, t := range slices.Sorted(maps.Keys(a.types)) {
			tp := a.types[t]
			m.ExpectedApp += float64(tp.base) * typeShare[t]
			if offered[t] {
				m.OfferedBase += tp.base
				m.OfferedApp += tp.app
			}
		}
		m.OfferedAppShare = share(m.OfferedApp, m.OfferedBase)
		m.StdAppRatio = stats.PoissonRatio(m.App, m.ExpectedApp)
		m.LowCount = m.ShareBase < int64(opt.MinCount)
		if v, ok := demo.get(a.Layer, a.ID, "population"); ok {
			m.Population, m.PopulationBasis = v.est, v.basis
		}
		return m
	}
	city := metric(c.city)
	for _, l := range c.layerNames() {
		for _, a := range c.layers[l] {
			metrics[l] = append(metrics[l], metric(a))
		}
	}
	// The city's population: the sum over its most populous layer, of the
	// areas inside the city — those whose centroid lies in the coarsest
	// layer (a county's tract layer holds neighbours' tracts too).
	geoms := map[string]*geo.Layer{}
	for _, l := range layers {
		geoms[l.Name] = l
	}
	best := 0.0
	for _, l := range c.layerNames() {
		inside := insideCity(geoms[l], geoms[c.parentLayer(l)])
		sum := 0.0
		for _, m := range metrics[l] {
			if !math.IsNaN(m.Population) && (inside == nil || inside[m.AreaID]) {
				sum += m.Population
			}
		}
		if sum > best {
			best, city.Population, city.PopulationBasis = sum, sum, "sum of "+l
		}
	}
	// Rates per resident, and representation, only when the sources can
	// carry them (none a sample or an extract), over the weeks with data.
	for _, ms := range append(slices.Collect(mapValues(metrics)), []*results.AreaMetrics{city}) {
		for _, m := range ms {
			m.ResidentPer1000, m.AppPer1000, m.RepresentationRatio = nanEstimate(), nanEstimate(), nanEstimate()
			if c.run.Rates {
				m.ResidentPer1000, m.AppPer1000 = per1000(m.Resident, m.Population, c.exposure(p)), per1000(m.App, m.Population, c.exposure(p))
			}
		}
	}
	for _, l := range c.layerNames() {
		if c.run.Rates {
			representation(metrics[l])
		}
		shrink(metrics[l])
		clearlyBelow(metrics[l])
	}
	city.EBAppShare = city.AppShare
	if c.run.Rates {
		city.RepresentationRatio = results.Estimate{Value: 1, Lo: 1, Hi: 1}
	}
	for _, m := range append([]*results.AreaMetrics{city}, flatten(metrics, c.layerNames())...) {
		m.Period = p.Label
		put(out, results.MetricsTable(), *m)
		for _, ch := range equity311.Channels() {
			if n := m.Counts[ch]; n > 0 {
				put(out, results.ChannelsTable(), results.AreaChannel{Key: results.Key{City: m.City, Period: p.Label}, Layer: m.Layer, AreaID: m.AreaID, Channel: ch, N: n})
			}
		}
	}
	for _, l := range c.layerNames() {
		for _, a := range c.layers[l] {
			for _, v := range Variables() {
				if d, ok := demo.get(l, a.ID, v); ok {
					put(out, results.DemographicsTable(), results.AreaDemographic{Key: results.Key{City: c.name, Period: p.Label}, Layer: l, AreaID: a.ID, Variable: v, Estimate: d.est, MOE: d.moe, Basis: d.basis})
				}
			}
		}
	}
	var assoc []results.Association
	for _, l := range c.layerNames() {
		gs := c.groups(p, opt, l, metrics[l], demo, out)
		c.yearShares(p, opt, l, gs, out)
		if geoms[l] != nil {
			c.adjustedGaps(p, opt, geoms[l], parentClusters(geoms[l], geoms[c.parentLayer(l)]), gs, out)
		}
		assoc = append(assoc, c.associations(p, l, metrics[l], demo, out)...)
		c.incomeCurve(p, l, metrics[l], demo, out)
		resid := c.models(p, opt, l, metrics[l], demo, offered, out)
		c.spatial(p, opt, geoms[l], metrics[l], resid, out)
	}
	// The correlation screen, controlled across every variable, method and
	// layer of the run: only those with q < 0.05 may become findings.
	ps := make([]float64, len(assoc))
	for i, a := range assoc {
		ps[i] = a.P
	}
	for i, q := range stats.BenjaminiHochberg(ps) {
		assoc[i].Q = q
		put(out, results.CorrelationsTable(), assoc[i])
	}
	c.yearShares(p, opt, results.CityLayer, nil, out)
	c.trends(p, opt, demo, out)
	for _, l := range c.layerNames() {
		c.changes(p, opt, l, out)
	}
}

// appTypes decides which request types the app offers — the types of the
// city's Open311 service list when a feed was synced, else the types whose
// citywide app share reaches opt.OfferedThreshold (with at least
// opt.MinCount requests) — writes them with their app shares, and returns
// each type's citywide app share and the offered set.
func (c *cityData) appTypes(p equity311.Period, opt Options, open311Types map[string]bool, out *tables) (map[string]float64, map[string]bool) {
	shares := map[string]float64{}
	offered := map[string]bool{}
	basis := "threshold: citywide app share at least " + pctString(opt.OfferedThreshold)
	if len(open311Types) > 0 {
		basis = "the city's Open311 service list"
	}
	for _, t := range sortedKeys(c.city.types) {
		tp := c.city.types[t]
		if tp.base > 0 {
			shares[t] = float64(tp.app) / float64(tp.base)
		}
		if len(open311Types) > 0 {
			offered[t] = open311Types[t]
		} else {
			offered[t] = tp.base >= int64(opt.MinCount) && shares[t] >= opt.OfferedThreshold
		}
		put(out, results.AppTypesTable(), results.AppType{Key: results.Key{City: c.name, Period: p.Label}, ServiceCode: t, Offered: offered[t], Basis: basis,
			ShareBase: tp.base, App: tp.app, AppShare: share(tp.app, tp.base)})
	}
	return shares, offered
}

// representation sets each area's share of the layer's app requests over
// its share of the layer's population, with the stats.Wilson interval of the
// first share.
func representation(ms []*results.AreaMetrics) {
	var app int64
	var pop float64
	for _, m := range ms {
		if !math.IsNaN(m.Population) && m.Population > 0 {
			app += m.App
			pop += m.Population
		}
	}
	for _, m := range ms {
		m.RepresentationRatio = nanEstimate()
		if math.IsNaN(m.Population) || m.Population <= 0 || app == 0 {
			continue
		}
		s := share(m.App, app)
		ps := m.Population / pop
		m.RepresentationRatio = results.Estimate{Value: s.Value / ps, Lo: s.Lo / ps, Hi: s.Hi / ps}
	}
}

// shrink sets empirical-Bayes app shares: a beta-binomial prior fitted to
// the layer's areas, each area's posterior mean and interval. Small areas
// move most towards the layer's share.
func shrink(ms []*results.AreaMetrics) {
	k := make([]int64, len(ms))
	n := make([]int64, len(ms))
	for i, m := range ms {
		k[i], n[i] = m.App, m.ShareBase
	}
	a, b, ok := stats.BetaBinomialPrior(k, n)
	for _, m := range ms {
		switch {
		case m.ShareBase == 0:
			m.EBAppShare = nanEstimate()
		case !ok: // no spread beyond chance: every area is the pooled share
			var sk, sn int64
			for i := range k {
				sk, sn = sk+k[i], sn+n[i]
			}
			m.EBAppShare = share(sk, sn)
		default:
			m.EBAppShare = stats.ShrunkShare(m.App, m.ShareBase, a, b)
		}
	}
}

func flatten(m map[string][]*results.AreaMetrics, order []string) []*results.AreaMetrics {
	var out []*results.AreaMetrics
	for _, l := range order {
		out = append(out, m[l]...)
	}
	return out
}

func mapValues[K comparable, V any](m map[K]V) func(func(V) bool) {
	return func(yield func(V) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func pctString(v float64) string {
	return strconv.FormatFloat(100*v, 'f', -1, 64) + "%"
}

// exposure is the period's length in years for rates: its weeks with data
// from the app-recording sources used (a week without data is not a week
// without requests).
func (c *cityData) exposure(p equity311.Period) float64 {
	if c.run.Weeks > 0 && c.run.CoveredWeeks < c.run.Weeks {
		return float64(c.run.CoveredWeeks) * 7 / 365.25
	}
	return Years(p)
}

// clearlyBelow flags the areas whose type-standardized ratio is clearly
// under 1, allowing overdispersion: the layer's dispersion φ (Pearson
// χ² of observed against expected app requests over its areas, over n − 1,
// at least 1) scales each area's variance; a one-sided test of ratio 1
// then Benjamini–Hochberg over the layer's areas. The ratio's interval is
// widened the same way (quasi-Poisson).
func clearlyBelow(ms []*results.AreaMetrics) {
	var chi2 float64
	var n int
	for _, m := range ms {
		if !m.LowCount && m.ExpectedApp > 0 {
			d := float64(m.App) - m.ExpectedApp
			chi2 += d * d / m.ExpectedApp
			n++
		}
	}
	phi := 1.0
	if n > 1 {
		phi = math.Max(1, chi2/float64(n-1))
	}
	var idx []int
	var ps []float64
	for i, m := range ms {
		m.BelowP, m.BelowQ = math.NaN(), math.NaN()
		if m.LowCount || m.ExpectedApp <= 0 {
			continue
		}
		o, e := float64(m.App), m.ExpectedApp
		if phi > 1 {
			r := o / e
			se := math.Sqrt(phi / math.Max(o, 0.5))
			m.StdAppRatio = results.Estimate{Value: r, Lo: r * math.Exp(-stats.Z95*se), Hi: r * math.Exp(stats.Z95*se)}
			if o == 0 {
				m.StdAppRatio.Lo = 0
			}
		}
		m.BelowP = distuv.UnitNormal.CDF((o - e) / math.Sqrt(phi*e))
		idx, ps = append(idx, i), append(ps, m.BelowP)
	}
	for k, q := range stats.BenjaminiHochberg(ps) {
		m := ms[idx[k]]
		m.BelowQ = q
		m.Below = q < 0.05 && m.StdAppRatio.Value < 1
	}
}

// parentLayer is the layer whose areas cluster those of layer l for the
// spatially clustered errors: the one with the fewest areas (at least 2)
// other than l, "" when there is none.
func (c *cityData) parentLayer(l string) string {
	best := ""
	for _, name := range c.layerNames() {
		if n := len(c.layers[name]); name != l && n >= 2 && n < len(c.layers[l]) && (best == "" || n < len(c.layers[best])) {
			best = name
		}
	}
	return best
}
