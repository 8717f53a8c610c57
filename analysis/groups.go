package analysis

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/analysis/stats"
)

// raceVariables are the groups of majority_race, in rank order.
var raceVariables = []string{"share_white", "share_black", "share_hispanic", "share_asian"}

// groupMember is an area in a group.
type groupMember struct {
	m     *results.AreaMetrics
	value float64
}

// groupAreas assigns the layer's areas with a population and the variable
// to the grouping's groups: population-weighted quantiles (each group
// holds about an equal share of residents; an area goes by the midpoint of
// its cumulative population), or the largest of the race and ethnicity
// shares. It returns the groups' labels and members, lowest first.
func groupAreas(g results.Grouping, layer string, ms []*results.AreaMetrics, demo demoTable) ([]string, [][]groupMember) {
	if g.Groups == 0 {
		labels := []string{"white", "black", "hispanic", "asian"}
		members := make([][]groupMember, len(labels))
		for _, m := range ms {
			best, bestV := -1, -1.0
			for i, v := range raceVariables {
				if d, ok := demo.get(layer, m.AreaID, v); ok && d.est > bestV {
					best, bestV = i, d.est
				}
			}
			if best >= 0 {
				members[best] = append(members[best], groupMember{m, bestV})
			}
		}
		return labels, members
	}
	var in []groupMember
	total := 0.0
	for _, m := range ms {
		d, ok := demo.get(layer, m.AreaID, g.Variable)
		if !ok || math.IsNaN(m.Population) || m.Population <= 0 {
			continue
		}
		in = append(in, groupMember{m, d.est})
		total += m.Population
	}
	if len(in) < g.Groups {
		return nil, nil
	}
	slices.SortStableFunc(in, func(a, b groupMember) int {
		return cmp.Or(cmp.Compare(a.value, b.value), cmp.Compare(a.m.AreaID, b.m.AreaID))
	})
	labels := make([]string, g.Groups)
	prefix := "T"
	if g.Groups == 5 {
		prefix = "Q"
	}
	for i := range labels {
		labels[i] = fmt.Sprintf("%s%d", prefix, i+1)
	}
	members := make([][]groupMember, g.Groups)
	cum := 0.0
	for _, x := range in {
		mid := (cum + x.m.Population/2) / total
		k := min(g.Groups-1, int(mid*float64(g.Groups)))
		members[k] = append(members[k], x)
		cum += x.m.Population
	}
	return labels, members
}

// GroupMetrics are a group's pooled figures (a row of analysis_groups).
type GroupMetrics struct {
	Grouping, Label  string
	Rank, Areas      int
	Population       float64
	BoundLo, BoundHi float64
	ShareBase, App   int64
	AppShare         results.Estimate
	StdAppRatio      results.Estimate
	AppPer1000       results.Estimate
	LowCount         bool
}

// grouped is one grouping of a layer's areas: its labels and members,
// lowest first, and their pooled figures.
type grouped struct {
	g       results.Grouping
	labels  []string
	members [][]groupMember
	metrics []GroupMetrics
}

// bootstrapReplicates is how many area resamples make a bootstrap interval.
const bootstrapReplicates = 999

// intervalBasis says how group intervals are made.
const intervalBasis = "area-cluster bootstrap (999 resamples of the group's areas, percentile interval): requests in one area are not independent"

// groups pools the layer's areas by each grouping and writes the groups
// and the gap between the top and bottom group, with intervals from an
// area-cluster bootstrap (requests of one area are not independent: the
// areas are resampled, fixed seed). It returns the groupings for the
// adjusted models.
func (c *cityData) groups(p equity311.Period, opt Options, layer string, ms []*results.AreaMetrics, demo demoTable, out *tables) []grouped {
	var all []grouped
	for _, g := range results.Groupings() {
		labels, members := groupAreas(g, layer, ms, demo)
		if labels == nil {
			continue
		}
		rng := c.rng(opt, "groups", layer, g.Name)
		gr := grouped{g: g, labels: labels, members: members}
		for i, mem := range members {
			gm := GroupMetrics{Grouping: g.Name, Label: labels[i], Rank: i + 1, Areas: len(mem), BoundLo: math.NaN(), BoundHi: math.NaN()}
			expected := 0.0
			for _, x := range mem {
				gm.ShareBase += x.m.ShareBase
				gm.App += x.m.App
				expected += x.m.ExpectedApp
				if !math.IsNaN(x.m.Population) {
					gm.Population += x.m.Population
				}
				gm.BoundLo = minNaN(gm.BoundLo, x.value)
				gm.BoundHi = maxNaN(gm.BoundHi, x.value)
			}
			app, base, exp := memberCounts(mem)
			gm.AppShare = share(gm.App, gm.ShareBase)
			gm.AppShare.Lo, gm.AppShare.Hi = stats.BootstrapRatio(app, base, bootstrapReplicates, rng)
			gm.StdAppRatio = stats.PoissonRatio(gm.App, expected)
			gm.StdAppRatio.Lo, gm.StdAppRatio.Hi = stats.BootstrapRatio(app, exp, bootstrapReplicates, rng)
			gm.AppPer1000 = nanEstimate()
			if c.run.Rates {
				gm.AppPer1000 = per1000(gm.App, gm.Population, c.exposure(p))
			}
			gm.LowCount = gm.ShareBase < int64(opt.MinCount)
			gr.metrics = append(gr.metrics, gm)
			put(out, results.GroupsTable(), results.Group{Key: results.Key{City: c.name, Period: p.Label}, Layer: layer, Grouping: g.Name, Label: gm.Label, Rank: int64(gm.Rank),
				Areas: int64(gm.Areas), Population: gm.Population, BoundLo: gm.BoundLo, BoundHi: gm.BoundHi, ShareBase: gm.ShareBase,
				App: gm.App, AppShare: gm.AppShare, StdAppRatio: gm.StdAppRatio, AppPer1000: gm.AppPer1000, LowCount: gm.LowCount,
				IntervalBasis: intervalBasis})
		}
		all = append(all, gr)
		for _, e := range gapPairs(g, gr.metrics) {
			d := rawGap(gr, e[0], e[1], rng)
			put(out, results.GapsTable(), results.Gap{Key: results.Key{City: c.name, Period: p.Label}, Layer: layer, Grouping: g.Name,
				Top: gr.metrics[e[0]].Label, Bottom: gr.metrics[e[1]].Label, Difference: d, IntervalBasis: intervalBasis})
		}
	}
	return all
}

// memberCounts are the members' app and base requests and expected app
// requests, area by area.
func memberCounts(mem []groupMember) (app, base, exp []float64) {
	for _, x := range mem {
		app, base, exp = append(app, float64(x.m.App)), append(base, float64(x.m.ShareBase)), append(exp, x.m.ExpectedApp)
	}
	return app, base, exp
}

// rawGap is the top group's app share minus the bottom group's, with the
// area-cluster bootstrap interval (each group's areas resampled apart).
func rawGap(gr grouped, top, bottom int, rng *rand.Rand) results.Estimate {
	t, b := gr.metrics[top], gr.metrics[bottom]
	d := results.Estimate{Value: float64(t.App)/float64(t.ShareBase) - float64(b.App)/float64(b.ShareBase)}
	ta, tb, _ := memberCounts(gr.members[top])
	ba, bb, _ := memberCounts(gr.members[bottom])
	d.Lo, d.Hi = stats.BootstrapRatioDiff(ta, tb, ba, bb, bootstrapReplicates, rng)
	return d
}

// gapPairs are the group pairs a dimension's gaps compare: the top and
// bottom quantile groups; for race, majority-white areas against each
// other majority group. Both groups must have at least the minimum count.
func gapPairs(g results.Grouping, gs []GroupMetrics) [][2]int {
	if g.Groups == 0 {
		if len(gs) == 0 || gs[0].LowCount || gs[0].ShareBase == 0 {
			return nil
		}
		var out [][2]int
		for i := 1; i < len(gs); i++ {
			if !gs[i].LowCount && gs[i].ShareBase > 0 {
				out = append(out, [2]int{0, i})
			}
		}
		return out
	}
	if top, bottom := gapEnds(g, gs); top >= 0 {
		return [][2]int{{top, bottom}}
	}
	return nil
}

// rng is a random source seeded by the run's seed and what it is for, so
// that every figure's draws are the same whatever else was computed (and
// the same for two cities with the same data).
func (c *cityData) rng(opt Options, parts ...string) *rand.Rand {
	h := fnv.New64a()
	for _, s := range parts {
		h.Write([]byte{0})
		h.Write([]byte(s))
	}
	return rand.New(rand.NewPCG(opt.Seed, h.Sum64()))
}

// gapEnds picks the groups whose app shares the gap compares: the top
// and bottom quantile groups, or for race the groups with the highest
// and lowest app share; both must have at least the minimum count.
func gapEnds(g results.Grouping, gs []GroupMetrics) (top, bottom int) {
	var ok []int
	for i, x := range gs {
		if !x.LowCount && x.ShareBase > 0 {
			ok = append(ok, i)
		}
	}
	if len(ok) < 2 {
		return -1, -1
	}
	if g.Groups > 0 {
		if ok[0] != 0 || ok[len(ok)-1] != len(gs)-1 {
			return -1, -1
		}
		return len(gs) - 1, 0
	}
	top, bottom = ok[0], ok[0]
	for _, i := range ok {
		if gs[i].AppShare.Value > gs[top].AppShare.Value {
			top = i
		}
		if gs[i].AppShare.Value < gs[bottom].AppShare.Value {
			bottom = i
		}
	}
	return top, bottom
}

// associations returns the correlations of area app share with each
// census variable (their q-values come from the whole run's screen), and
// writes the concentration index of app use over income when the sources
// allow rates per resident.
func (c *cityData) associations(p equity311.Period, layer string, ms []*results.AreaMetrics, demo demoTable, out *tables) []results.Association {
	var assoc []results.Association
	for _, v := range Variables() {
		if v == "population" {
			continue
		}
		var x, y []float64
		for _, m := range ms {
			d, ok := demo.get(layer, m.AreaID, v)
			if !ok || m.LowCount || math.IsNaN(m.AppShare.Value) {
				continue
			}
			x, y = append(x, d.est), append(y, m.AppShare.Value)
		}
		if len(x) < 5 {
			continue
		}
		for _, r := range []struct {
			method string
			c      stats.Correlation
		}{{"pearson", stats.Pearson(x, y)}, {"spearman", stats.Spearman(x, y)}} {
			assoc = append(assoc, results.Association{Key: results.Key{City: c.name, Period: p.Label}, Layer: layer, Variable: v, Method: r.method, N: int64(r.c.N),
				R: r.c.R, Lo: r.c.Lo, Hi: r.c.Hi, P: r.c.P})
		}
	}
	if !c.run.Rates {
		return assoc // concentration per resident needs the city's whole volume
	}
	var income, h, vol, pop []float64
	var ids []string
	for _, m := range ms {
		d, ok := demo.get(layer, m.AreaID, "median_income")
		if !ok || math.IsNaN(m.Population) || m.Population <= 0 {
			continue
		}
		income, h, pop = append(income, d.est), append(h, float64(m.App)/m.Population), append(pop, m.Population)
		vol = append(vol, float64(m.ShareBase)/m.Population) // the requests the app share is of
		ids = append(ids, m.AreaID)
	}
	if len(h) < 5 {
		return assoc
	}
	ci := stats.ConcentrationIndex(income, h, pop)
	if math.IsNaN(ci.Index) {
		return assoc // no app request in any area
	}
	v := stats.ConcentrationIndex(income, vol, pop)
	put(out, results.ConcentrationTable(), results.Concentration{Key: results.Key{City: c.name, Period: p.Label}, Layer: layer, Areas: int64(len(h)), Index: ci.Index, SE: ci.SE, Lo: ci.Lo, Hi: ci.Hi,
		Volume: v.Index, VolumeSE: v.SE, VolumeLo: v.Lo, VolumeHi: v.Hi, Channel: ci.Index - v.Index})
	for k, i := range ci.Order {
		put(out, results.ConcentrationCurveTable(), results.ConcentrationPoint{Key: results.Key{City: c.name, Period: p.Label}, Layer: layer, Point: int64(k + 1), AreaID: ids[i],
			CumPopulation: ci.CumPopulation[k], CumApp: ci.CumMeasure[k]})
	}
	return assoc
}

func minNaN(a, b float64) float64 {
	if math.IsNaN(a) {
		return b
	}
	return math.Min(a, b)
}

func maxNaN(a, b float64) float64 {
	if math.IsNaN(a) {
		return b
	}
	return math.Max(a, b)
}
