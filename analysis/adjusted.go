package analysis

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/paulmach/orb/planar"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/analysis/stats"
	"github.com/equity311/equity311/geo"
)

// Rules of the adjusted models.
const (
	// minTypeRequests: types with fewer requests in the period share one
	// "other types" level.
	minTypeRequests = 30
	// eventsPerParameter: at least this many of the rarer outcome (app or
	// other) per parameter, fixed effects included.
	eventsPerParameter = 10
	// areasPerCovariate: area-level parameters (the group indicators) must
	// number fewer than one per this many areas.
	areasPerCovariate = 5
)

// otherTypes is the level of the types with fewer than minTypeRequests.
const otherTypes = "\x00other types"

// cell is a model row: an area's requests of one type level in one year.
type cell struct {
	area, group, typ, year int
	app, base              float64
}

// adjustedModel is one dimension's grouped logit over area × type × year
// cells: its design, the fit, and the city's type × year mix.
type adjustedModel struct {
	cells      []cell
	cols       [][]int
	y, n       []float64
	cluster    []int
	typeLevels []string
	years      []int
	groupCol   []int // the column of each group's indicator, −1 for the reference (lowest) group
	mix        []stats.StandardizedCell
	k          int
	events     int64
	note       string // why it was not fitted, "" when it was
	fit        stats.IndicatorFit
	areaIDs    []string // area of each cluster id
}

// adjustedGaps writes, for each grouping of the layer and each pair its
// gaps compare, the type-and-year-adjusted gap: the difference in app
// share the two groups would have if both had the city's own mix of
// request types and years — a grouped logit of app vs other resident
// requests over area × type × year cells with the group indicators and
// type and year fixed effects (one model per dimension, so collinear
// demographics do not remove the dimension), its predictions averaged
// over the city's type × year mix, with errors clustered by area, and by
// the parent area too when the model's area residuals are spatially
// autocorrelated. A model the data cannot carry (too few events for its
// parameters) is not fitted, and says why.
func (c *cityData) adjustedGaps(p equity311.Period, opt Options, layer *geo.Layer, parents map[string]int, gs []grouped, out *tables) {
	for _, gr := range gs {
		pairs := gapPairs(gr.g, gr.metrics)
		if len(pairs) == 0 {
			continue
		}
		m := c.adjustedModel(layer.Name, gr)
		var moran stats.Moran
		moran.P = math.NaN()
		if m.note == "" {
			moran = c.residualMoran(opt, layer, m)
		}
		rng := c.rng(opt, "adjusted", layer.Name, gr.g.Name)
		for _, pr := range pairs {
			top, bottom := pr[0], pr[1]
			row := results.AdjustedGap{Key: results.Key{City: c.name, Period: p.Label}, Layer: layer.Name, Grouping: gr.g.Name,
				Top: gr.labels[top], Bottom: gr.labels[bottom], Note: m.note, TopShare: math.NaN(), BottomShare: math.NaN(),
				Gap: nanEstimate(), SECluster: math.NaN(), SEModel: math.NaN(), SpatialLo: math.NaN(), SpatialHi: math.NaN(), SESpatial: math.NaN(),
				RawGap: rawGap(gr, top, bottom, rng), Cells: int64(len(m.cells)), Events: m.events, Parameters: int64(m.k),
				Types: int64(len(m.typeLevels)), Years: int64(len(m.years)), Areas: int64(len(m.areaIDs)), MoranP: moran.P}
			if m.note == "" {
				c.fillGap(&row, m, top, bottom, parents, moran)
			}
			put(out, results.AdjustedGapsTable(), row)
		}
	}
}

// fillGap sets the fitted gap of one pair, its errors and its note.
func (c *cityData) fillGap(row *results.AdjustedGap, m *adjustedModel, top, bottom int, parents map[string]int, moran stats.Moran) {
	pt, gt := m.fit.Standardized(m.mix, m.groupCol[top])
	pb, gb := m.fit.Standardized(m.mix, m.groupCol[bottom])
	g := make([]float64, len(gt))
	for j := range g {
		g[j] = gt[j] - gb[j]
	}
	row.Fitted, row.TopShare, row.BottomShare = true, pt, pb
	row.SECluster, row.SEModel = stats.DeltaSE(g, m.fit.ClusterCov), stats.DeltaSE(g, m.fit.ModelCov)
	d := pt - pb
	row.Gap = results.Estimate{Value: d, Lo: d - stats.Z95*row.SECluster, Hi: d + stats.Z95*row.SECluster}
	row.Note = fmt.Sprintf("grouped logit over %d area × type × year cells: indicators of the groups, %d type levels and %d years as fixed effects; "+
		"predictions averaged over the city's mix of types and years; errors clustered by area (%d areas)", len(m.cells), len(m.typeLevels), len(m.years), m.fit.G)
	if moran.P < 0.05 && parents != nil {
		ids := make([]int, len(m.cluster))
		for i, a := range m.cluster {
			ids[i] = parents[m.areaIDs[a]]
		}
		if v := m.fit.Clustered(m.cols, m.y, m.n, ids); v != nil {
			row.SESpatial = stats.DeltaSE(g, v)
			row.SpatialLo, row.SpatialHi = d-stats.Z95*row.SESpatial, d+stats.Z95*row.SESpatial
			row.Note += fmt.Sprintf("; the model's area residuals are spatially autocorrelated (Moran's I %.2f, p %.3f), so errors clustered by the parent area are given too, and the wider interval is the headline's", moran.I, moran.P)
			if row.SESpatial > row.SECluster {
				row.Gap.Lo, row.Gap.Hi = row.SpatialLo, row.SpatialHi
			}
		}
	}
}

// adjustedModel builds and fits one grouping's model.
func (c *cityData) adjustedModel(layer string, gr grouped) *adjustedModel {
	m := &adjustedModel{}
	// Type levels: each type with enough requests citywide, the rest pooled.
	level := map[string]string{}
	count := map[string]int64{}
	for t, pr := range c.city.types {
		l := t
		if pr.base < minTypeRequests {
			l = otherTypes
		}
		level[t] = l
		count[l] += pr.base
	}
	m.typeLevels = slices.Collect(mapKeys(count))
	slices.SortFunc(m.typeLevels, func(a, b string) int { return cmp.Or(cmp.Compare(count[b], count[a]), cmp.Compare(a, b)) })
	typeIdx := map[string]int{}
	for i, l := range m.typeLevels {
		typeIdx[l] = i
	}
	m.years = c.years()
	yearIdx := map[int]int{}
	for i, y := range m.years {
		yearIdx[y] = i
	}
	// Cells: every area of the grouping's groups.
	type key struct{ area, typ, year int }
	pooled := map[key]*cell{}
	var keys []key
	for gi, mem := range gr.members {
		for _, x := range mem {
			a := c.byID[layer][x.m.AreaID]
			if a == nil || len(a.typeYears) == 0 {
				continue
			}
			ai := len(m.areaIDs)
			m.areaIDs = append(m.areaIDs, x.m.AreaID)
			for ty, pr := range a.typeYears {
				if pr.base == 0 {
					continue
				}
				k := key{ai, typeIdx[level[ty.service]], yearIdx[ty.year]}
				if pooled[k] == nil {
					pooled[k] = &cell{area: ai, group: gi, typ: k.typ, year: k.year}
					keys = append(keys, k)
				}
				pooled[k].app += float64(pr.app)
				pooled[k].base += float64(pr.base)
			}
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.area, b.area), cmp.Compare(a.typ, b.typ), cmp.Compare(a.year, b.year))
	})
	for _, k := range keys {
		m.cells = append(m.cells, *pooled[k])
	}
	c.design(m, gr)
	if m.note != "" {
		return m
	}
	fit, err := stats.IndicatorLogit(m.k, m.cols, m.y, m.n, m.cluster)
	if err != nil || !fit.Converged {
		m.note = fmt.Sprintf("not fitted: the model did not converge (%v)", cmp.Or[any](err, "no convergence"))
		return m
	}
	m.fit = fit
	return m
}

// design lays out the columns — intercept, group indicators (the lowest
// group the reference), type and year levels (the commonest type and the
// first year the references) — leaving out the levels the data separate
// (no app request, or nothing else, wherever they occur: their
// probability is fixed at 0 or 1 in the mix), and checks that the data
// can carry the model.
func (c *cityData) design(m *adjustedModel, gr grouped) {
	var typeApp, typeBase = make([]float64, len(m.typeLevels)), make([]float64, len(m.typeLevels))
	var yearApp, yearBase = make([]float64, len(m.years)), make([]float64, len(m.years))
	groupApp := make([]float64, len(gr.members))
	for _, x := range m.cells {
		typeApp[x.typ], typeBase[x.typ] = typeApp[x.typ]+x.app, typeBase[x.typ]+x.base
		yearApp[x.year], yearBase[x.year] = yearApp[x.year]+x.app, yearBase[x.year]+x.base
		groupApp[x.group] += x.app
	}
	fixed := func(app, base float64) float64 {
		switch {
		case base > 0 && app == 0:
			return 0
		case base > 0 && app == base:
			return 1
		}
		return math.NaN()
	}
	k := 1
	m.groupCol = make([]int, len(gr.members))
	m.groupCol[0] = -1
	for gi := 1; gi < len(gr.members); gi++ {
		if groupBase(m.cells, gi) > 0 {
			m.groupCol[gi] = k
			k++
		}
	}
	// levels gives each level that is estimated (not separated, with
	// data) a column, but the first such level: the reference.
	levels := func(app, base []float64) (cols []int, fix []float64) {
		cols, fix = make([]int, len(app)), make([]float64, len(app))
		ref := false
		for i := range app {
			cols[i], fix[i] = -1, fixed(app[i], base[i])
			if !math.IsNaN(fix[i]) || base[i] == 0 {
				continue
			}
			if ref {
				cols[i] = k
				k++
			}
			ref = true
		}
		return cols, fix
	}
	typeCol, typeFixed := levels(typeApp, typeBase)
	yearCol, yearFixed := levels(yearApp, yearBase)
	m.k = k
	var app, other float64
	for _, x := range m.cells {
		if !math.IsNaN(typeFixed[x.typ]) || !math.IsNaN(yearFixed[x.year]) {
			continue
		}
		cs := []int{0}
		for _, j := range []int{m.groupCol[x.group], typeCol[x.typ], yearCol[x.year]} {
			if j >= 0 {
				cs = append(cs, j)
			}
		}
		m.cols, m.y, m.n, m.cluster = append(m.cols, cs), append(m.y, x.app), append(m.n, x.base), append(m.cluster, x.area)
		app, other = app+x.app, other+x.base-x.app
	}
	m.events = int64(math.Min(app, other))
	// The city's mix of type levels and years.
	mix := map[[2]int]float64{}
	levelOf := map[string]int{}
	for i, l := range m.typeLevels {
		levelOf[l] = i
	}
	for ty, pr := range c.city.typeYears {
		l := ty.service
		if c.city.types[l] == nil || c.city.types[l].base < minTypeRequests {
			l = otherTypes
		}
		if yi := slices.Index(m.years, ty.year); yi >= 0 {
			mix[[2]int{levelOf[l], yi}] += float64(pr.base)
		}
	}
	for _, key := range slices.SortedFunc(mapKeys(mix), func(a, b [2]int) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) }) {
		sc := stats.StandardizedCell{Weight: mix[key], Cols: []int{0}, Fixed: typeFixed[key[0]]}
		if math.IsNaN(sc.Fixed) {
			sc.Fixed = yearFixed[key[1]]
		}
		if j := typeCol[key[0]]; j >= 0 {
			sc.Cols = append(sc.Cols, j)
		}
		if j := yearCol[key[1]]; j >= 0 {
			sc.Cols = append(sc.Cols, j)
		}
		m.mix = append(m.mix, sc)
	}
	groupParams := len(gr.members) - 1
	switch {
	case len(m.cols) <= m.k:
		m.note = fmt.Sprintf("not fitted: %d cells for %d parameters", len(m.cols), m.k)
	case m.events < int64(eventsPerParameter*m.k):
		m.note = fmt.Sprintf("not fitted: too few events — %d of the rarer outcome (app or other requests) for %d parameters, fixed effects included; %d needed (%d per parameter)",
			m.events, m.k, eventsPerParameter*m.k, eventsPerParameter)
	case groupParams*areasPerCovariate >= len(m.areaIDs):
		m.note = fmt.Sprintf("not fitted: %d areas for %d area-level parameters; fewer than one per %d areas needed", len(m.areaIDs), groupParams, areasPerCovariate)
	}
	for gi := range gr.members {
		if groupApp[gi] == 0 && m.note == "" && len(gr.members[gi]) > 0 {
			m.note = fmt.Sprintf("not fitted: group %s has no app request", gr.labels[gi])
		}
	}
}

// residualMoran is Moran's I of the model's area residuals (Pearson, each
// area's cells pooled) over the layer's queen contiguity.
func (c *cityData) residualMoran(opt Options, layer *geo.Layer, m *adjustedModel) stats.Moran {
	r := map[string][2]float64{}
	for i, cs := range m.cols {
		_ = cs
		id := m.areaIDs[m.cluster[i]]
		p := m.fit.P[i]
		v := r[id]
		r[id] = [2]float64{v[0] + m.y[i] - m.n[i]*p, v[1] + m.n[i]*p*(1-p)}
	}
	values := map[string]float64{}
	for id, v := range r {
		if v[1] > 0 {
			values[id] = v[0] / math.Sqrt(v[1])
		}
	}
	mi, _, ok := c.moran(opt, layer, values, "adjusted residuals")
	if !ok {
		return stats.Moran{P: math.NaN()}
	}
	return mi
}

// parentClusters numbers each area of the layer by the area of the parent
// layer its centroid lies in (the nearest one when it lies in none): the
// coarser clusters of the spatially clustered errors.
func parentClusters(layer, parent *geo.Layer) map[string]int {
	if layer == nil || parent == nil || layer == parent {
		return nil
	}
	ix := parent.Index
	out := map[string]int{}
	for i, id := range layer.IDs {
		pt, _ := planar.CentroidArea(layer.Geoms[i])
		a := ix.Locate(pt[0], pt[1])
		if a < 0 {
			a, _ = ix.Nearest(pt[0], pt[1])
		}
		out[id] = a
	}
	return out
}

// groupBase is a group's requests among the cells.
func groupBase(cells []cell, g int) float64 {
	var n float64
	for _, x := range cells {
		if x.group == g {
			n += x.base
		}
	}
	return n
}

// insideCity is the set of the layer's areas whose centroid lies in an
// area of the city layer; nil when there is no other layer to tell.
func insideCity(layer, city *geo.Layer) map[string]bool {
	if layer == nil || city == nil || layer == city {
		return nil
	}
	out := map[string]bool{}
	for i, id := range layer.IDs {
		pt, _ := planar.CentroidArea(layer.Geoms[i])
		if city.Index.Locate(pt[0], pt[1]) >= 0 {
			out[id] = true
		}
	}
	return out
}
