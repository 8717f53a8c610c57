package analysis

import (
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/analysis/stats"
	"github.com/equity311/equity311/geo"
)

// analyse computes every figure of one city and adds its rows to out.
func (c *cityData) analyse(p equity311.Period, opt Options, demo demoTable, open311Types map[string]bool, layers []*geo.Layer, out *tables) {
	years := Years(p)
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
	// The city's population: the sum over its most populous layer.
	best := 0.0
	for _, l := range c.layerNames() {
		sum := 0.0
		for _, m := range metrics[l] {
			if !math.IsNaN(m.Population) {
				sum += m.Population
			}
		}
		if sum > best {
			best, city.Population, city.PopulationBasis = sum, sum, "sum of "+l
		}
	}
	for _, ms := range append(slices.Collect(mapValues(metrics)), []*results.AreaMetrics{city}) {
		for _, m := range ms {
			m.ResidentPer1000, m.AppPer1000 = per1000(m.Resident, m.Population, years), per1000(m.App, m.Population, years)
		}
	}
	for _, l := range c.layerNames() {
		representation(metrics[l])
		shrink(metrics[l])
	}
	city.RepresentationRatio, city.EBAppShare = results.Estimate{Value: 1, Lo: 1, Hi: 1}, city.AppShare
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
	geoms := map[string]*geo.Layer{}
	for _, l := range layers {
		geoms[l.Name] = l
	}
	for _, l := range c.layerNames() {
		c.groups(p, opt, l, metrics[l], demo, out)
		c.associations(p, l, metrics[l], demo, out)
		c.incomeCurve(p, l, metrics[l], demo, out)
		resid := c.models(p, opt, l, metrics[l], demo, out)
		c.spatial(p, opt, geoms[l], metrics[l], resid, out)
	}
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
