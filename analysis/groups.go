package analysis

import (
	"cmp"
	"fmt"
	"math"
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

// groups pools the layer's areas by each grouping and writes the groups
// and the gap between the top and bottom group.
func (c *cityData) groups(p equity311.Period, opt Options, layer string, ms []*results.AreaMetrics, demo demoTable, out *tables) {
	years := Years(p)
	for _, g := range results.Groupings() {
		labels, members := groupAreas(g, layer, ms, demo)
		if labels == nil {
			continue
		}
		var gs []GroupMetrics
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
			gm.AppShare = share(gm.App, gm.ShareBase)
			gm.StdAppRatio = stats.PoissonRatio(gm.App, expected)
			gm.AppPer1000 = per1000(gm.App, gm.Population, years)
			gm.LowCount = gm.ShareBase < int64(opt.MinCount)
			gs = append(gs, gm)
			put(out, results.GroupsTable(), results.Group{Key: results.Key{City: c.name, Period: p.Label}, Layer: layer, Grouping: g.Name, Label: gm.Label, Rank: int64(gm.Rank),
				Areas: int64(gm.Areas), Population: gm.Population, BoundLo: gm.BoundLo, BoundHi: gm.BoundHi, ShareBase: gm.ShareBase,
				App: gm.App, AppShare: gm.AppShare, StdAppRatio: gm.StdAppRatio, AppPer1000: gm.AppPer1000, LowCount: gm.LowCount})
		}
		top, bottom := gapEnds(g, gs)
		if top < 0 {
			continue
		}
		d, lo, hi := stats.NewcombeDifference(gs[top].App, gs[top].ShareBase, gs[bottom].App, gs[bottom].ShareBase)
		put(out, results.GapsTable(), results.Gap{Key: results.Key{City: c.name, Period: p.Label}, Layer: layer, Grouping: g.Name, Top: gs[top].Label, Bottom: gs[bottom].Label,
			Difference: results.Estimate{Value: d, Lo: lo, Hi: hi}})
	}
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

// associations writes the correlations of area app share with each
// census variable, and the concentration index of app use over income.
func (c *cityData) associations(p equity311.Period, layer string, ms []*results.AreaMetrics, demo demoTable, out *tables) {
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
			put(out, results.CorrelationsTable(), results.Association{Key: results.Key{City: c.name, Period: p.Label}, Layer: layer, Variable: v, Method: r.method, N: int64(r.c.N),
				R: r.c.R, Lo: r.c.Lo, Hi: r.c.Hi, P: r.c.P})
		}
	}
	var income, h, pop []float64
	var ids []string
	for _, m := range ms {
		d, ok := demo.get(layer, m.AreaID, "median_income")
		if !ok || math.IsNaN(m.Population) || m.Population <= 0 {
			continue
		}
		income, h, pop = append(income, d.est), append(h, float64(m.App)/m.Population), append(pop, m.Population)
		ids = append(ids, m.AreaID)
	}
	if len(h) < 5 {
		return
	}
	ci := stats.ConcentrationIndex(income, h, pop)
	put(out, results.ConcentrationTable(), results.Concentration{Key: results.Key{City: c.name, Period: p.Label}, Layer: layer, Areas: int64(len(h)), Index: ci.Index, SE: ci.SE, Lo: ci.Lo, Hi: ci.Hi})
	for k, i := range ci.Order {
		put(out, results.ConcentrationCurveTable(), results.ConcentrationPoint{Key: results.Key{City: c.name, Period: p.Label}, Layer: layer, Point: int64(k + 1), AreaID: ids[i],
			CumPopulation: ci.CumPopulation[k], CumApp: ci.CumMeasure[k]})
	}
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
