package analysis

import (
	"slices"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
)

// yearShares writes app share by calendar year: citywide (layer
// CityLayer, gs nil) or for each group of the layer's groupings. A pooled
// share over several years is never the headline without them.
func (c *cityData) yearShares(p equity311.Period, opt Options, layer string, gs []grouped, out *tables) {
	row := func(grouping, label string, years map[int]*pair) {
		for _, y := range slices.Sorted(mapKeys(years)) {
			pr := years[y]
			put(out, results.YearsTable(), results.YearShare{Key: results.Key{City: c.name, Period: p.Label}, Layer: layer, Grouping: grouping,
				Label: label, Year: int64(y), ShareBase: pr.base, App: pr.app, AppShare: share(pr.app, pr.base), LowCount: pr.base < int64(opt.MinCount)})
		}
	}
	if layer == results.CityLayer {
		row("city", c.name, c.city.years)
		return
	}
	for _, gr := range gs {
		for i, mem := range gr.members {
			years := map[int]*pair{}
			for _, x := range mem {
				a := c.byID[layer][x.m.AreaID]
				if a == nil {
					continue
				}
				for y, pr := range a.years {
					if years[y] == nil {
						years[y] = &pair{}
					}
					years[y].base += pr.base
					years[y].app += pr.app
				}
			}
			row(gr.g.Name, gr.labels[i], years)
		}
	}
}

// mapKeys lists a map's keys.
func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
