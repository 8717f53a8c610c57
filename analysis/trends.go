package analysis

import (
	"math"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/analysis/stats"
)

// TrailingWeeks is the most weeks before the latest that its comparison uses.
const TrailingWeeks = equity311.TrailingWeeks

// residentChannels are the channels whose weekly shares trends report.
func residentChannels() []equity311.Channel {
	var out []equity311.Channel
	for _, c := range equity311.Channels() {
		if r, ok := c.ResidentInitiated(); ok && r {
			out = append(out, c)
		}
	}
	return out
}

// trends writes weekly channel shares (of resident requests from sources
// that can record the app), citywide and by income quintile of the layer
// with the most areas that have an income.
func (c *cityData) trends(p equity311.Period, opt Options, demo demoTable, out *tables) {
	var present []equity311.Channel
	for _, ch := range residentChannels() {
		if c.city.AppCounts[ch] > 0 {
			present = append(present, ch)
		}
	}
	emit := func(grouping, label string, areas []*areaData) {
		for _, wk := range c.weeks {
			var total int64
			n := results.Counts{}
			for _, a := range areas {
				if w := a.weeks[wk.Unix()]; w != nil {
					total += w.base
					for ch, k := range w.channels {
						n[ch] += k
					}
				}
			}
			for _, ch := range present {
				put(out, results.TrendsTable(), results.Trend{Key: results.Key{City: c.name, Period: p.Label}, Grouping: grouping, Label: label, Week: weekLabel(wk), WeekStart: wk,
					Channel: ch, N: n[ch], Total: total, Share: share(n[ch], total), LowCount: total < int64(opt.MinCount)})
			}
		}
	}
	emit("city", c.name, []*areaData{c.city})
	layer, best := "", 0
	for _, l := range c.layerNames() {
		if n := coverage(demo, l, "median_income"); n > best {
			layer, best = l, n
		}
	}
	if layer == "" {
		return
	}
	var ms []*results.AreaMetrics
	for _, a := range c.layers[layer] {
		m := &results.AreaMetrics{AreaID: a.ID, Population: math.NaN()}
		if v, ok := demo.get(layer, a.ID, "population"); ok {
			m.Population = v.est
		}
		ms = append(ms, m)
	}
	g := results.Groupings()[0]
	labels, members := groupAreas(g, layer, ms, demo)
	for i, mem := range members {
		var areas []*areaData
		for _, x := range mem {
			areas = append(areas, c.byID[layer][x.m.AreaID])
		}
		emit(g.Name, labels[i], areas)
	}
}

// changes compares each area's app share in the period's last week with
// its trailing weeks (up to TrailingWeeks): a pooled two-proportion z
// test, Benjamini–Hochberg over the layer's areas with at least the
// minimum count in both cells, and a flag where q < 0.05.
func (c *cityData) changes(p equity311.Period, opt Options, layer string, out *tables) {
	if len(c.weeks) < 2 {
		return
	}
	last := c.weeks[len(c.weeks)-1]
	trail := c.weeks[max(0, len(c.weeks)-1-TrailingWeeks) : len(c.weeks)-1]
	type row struct {
		a          *areaData
		week, base pair
		z, p       float64
		d          results.Estimate
	}
	var rows []row
	var ps []float64
	for _, a := range c.layers[layer] {
		r := row{a: a, z: math.NaN(), p: math.NaN(), d: nanEstimate()}
		if w := a.weeks[last.Unix()]; w != nil {
			r.week = w.pair
		}
		for _, wk := range trail {
			if w := a.weeks[wk.Unix()]; w != nil {
				r.base.base += w.base
				r.base.app += w.app
			}
		}
		if r.week.base >= int64(opt.MinCount) && r.base.base >= int64(opt.MinCount) {
			r.z, r.p = stats.TwoProportionZ(r.week.app, r.week.base, r.base.app, r.base.base)
			d, lo, hi := stats.NewcombeDifference(r.week.app, r.week.base, r.base.app, r.base.base)
			r.d = results.Estimate{Value: d, Lo: lo, Hi: hi}
		}
		rows = append(rows, r)
		ps = append(ps, r.p)
	}
	q := stats.BenjaminiHochberg(ps)
	for i, r := range rows {
		put(out, results.ChangesTable(), results.Change{Key: results.Key{City: c.name, Period: p.Label}, Layer: layer, AreaID: r.a.ID, Week: weekLabel(last), WeekBase: r.week.base,
			WeekApp: r.week.app, WeekShare: share(r.week.app, r.week.base).Value, BaseWeeks: int64(len(trail)), TrailBase: r.base.base,
			TrailApp: r.base.app, TrailShare: share(r.base.app, r.base.base).Value, Difference: r.d, Z: r.z, P: r.p, Q: q[i],
			Flagged: !math.IsNaN(q[i]) && q[i] < 0.05, LowCount: r.week.base < int64(opt.MinCount) || r.base.base < int64(opt.MinCount)})
	}
}
