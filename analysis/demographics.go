package analysis

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/equity311/equity311/analysis/stats"
	"github.com/equity311/equity311/geo"
	"github.com/equity311/equity311/store"
)

// Variables are the canonical census variables analysis reports per area,
// as ingest/census derives them.
func Variables() []string {
	return []string{"population", "median_income", "per_capita_income", "share_65plus", "share_limited_english",
		"share_other_language", "share_broadband", "share_no_internet", "share_smartphone", "share_white",
		"share_black", "share_hispanic", "share_asian", "share_renter", "share_bachelor_plus", "share_poverty",
		"share_foreign_born"}
}

// demoValue is one area's value of a variable, with its margin of error
// (NaN when unknown) and where it comes from.
type demoValue struct {
	est, moe float64
	basis    string
}

// demoTable holds values by layer, area and variable.
type demoTable map[string]map[string]map[string]demoValue

func (d demoTable) get(layer, area, variable string) (demoValue, bool) {
	v, ok := d[layer][area][variable]
	return v, ok && !math.IsNaN(v.est)
}

func (d demoTable) set(layer, area, variable string, v demoValue) {
	if d[layer] == nil {
		d[layer] = map[string]map[string]demoValue{}
	}
	if d[layer][area] == nil {
		d[layer][area] = map[string]demoValue{}
	}
	d[layer][area][variable] = v
}

// populationMeasures rank the census variables a population can be: the
// decennial counts, then ACS B01003 (BARI's total_pop is B01003), then a
// file's own "population" column.
func populationMeasures(from string) []string {
	decennial := []string{"P1_001N", "P0010001", "P2_001N", "P0020001"}
	acs := []string{"B01003_001", "total_pop"}
	if from == "acs" {
		return slices.Concat(acs, decennial, []string{"population"})
	}
	return slices.Concat(decennial, acs, []string{"population"})
}

// incomeBrackets are the variables of ACS table B19001's brackets.
func incomeBrackets() []string {
	var out []string
	for i := 2; i <= 17; i++ {
		out = append(out, fmt.Sprintf("B19001_%03d", i))
	}
	return out
}

// resolveDemographics gives every area of every layer its canonical
// variables. A layer with census figures of its own uses them: of several
// files giving a variable, population by the rank of its measure
// (populationMeasures), every variable then by the latest vintage, then by
// file name — never by the load order. A layer without a variable takes
// it through the area-overlap crosswalk from the layer that has it for
// the most areas (tracts rather than neighborhoods, 2010 tracts into 2020
// ones): counts summed, shares population-weighted, medians from bracket
// counts where the source has them and otherwise a population-weighted
// mean of the medians, said so in the basis.
func resolveDemographics(ctx context.Context, st *store.Store, layers []*geo.Layer, popFrom string) (demoTable, error) {
	rank := map[string]int{}
	for i, m := range populationMeasures(popFrom) {
		rank[m] = i
	}
	wanted := map[string]bool{}
	for _, v := range slices.Concat(Variables(), incomeBrackets()) {
		wanted[v] = true
	}
	rows, err := st.DB().QueryContext(ctx, `SELECT d.layer, d.area_id, d.variable, d.estimate, d.moe, d.vintage, d.measure, s.name, d.source_id
		FROM demographics d JOIN sources s USING (source_id) WHERE d.estimate IS NOT NULL
		ORDER BY d.layer, d.area_id, d.variable, d.vintage DESC, s.name, d.source_id`)
	if err != nil {
		return nil, fmt.Errorf("demographics: %w", err)
	}
	defer rows.Close()
	isArea := map[[2]string]bool{}
	for _, l := range layers {
		for _, id := range l.IDs {
			isArea[[2]string{l.Name, id}] = true
		}
	}
	own := demoTable{}
	ownRank := map[[3]string]int{}
	for rows.Next() {
		var layer, area, variable, vintage, measure, name string
		var est float64
		var moe *float64
		var src int64
		if err := rows.Scan(&layer, &area, &variable, &est, &moe, &vintage, &measure, &name, &src); err != nil {
			return nil, err
		}
		if !wanted[variable] || !isArea[[2]string{layer, area}] {
			continue // not a canonical variable, or an id with no area (another county's tract)
		}
		k := [3]string{layer, area, variable}
		r := 0
		if variable == "population" {
			r = 99
			if x, ok := rank[measure]; ok {
				r = x
			}
		}
		if prev, seen := ownRank[k]; seen && prev <= r {
			continue // the rows come best vintage first; a population keeps its best measure
		}
		ownRank[k] = r
		m := math.NaN()
		if moe != nil {
			m = *moe
		}
		basis := "census " + measure + " (" + filepath.Base(name)
		if vintage != "" {
			basis += ", " + vintage
		}
		own.set(layer, area, variable, demoValue{est, m, basis + ")"})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	xw, err := crosswalks(ctx, st)
	if err != nil {
		return nil, err
	}
	out := demoTable{}
	for _, l := range layers {
		for _, v := range Variables() {
			if coverage(own, l.Name, v) > 0 {
				for _, id := range l.IDs {
					if val, ok := own.get(l.Name, id, v); ok {
						out.set(l.Name, id, v, val)
					}
				}
				continue
			}
			src := bestSource(own, xw, l.Name, v)
			if src == "" {
				continue
			}
			for _, id := range l.IDs {
				if val, ok := combine(own, xw[[2]string{src, l.Name}][id], src, v); ok {
					out.set(l.Name, id, v, val)
				}
			}
		}
	}
	return out, nil
}

// coverage counts the areas of a layer with a value of the variable.
func coverage(d demoTable, layer, variable string) int {
	n := 0
	for _, vars := range d[layer] {
		if v, ok := vars[variable]; ok && !math.IsNaN(v.est) {
			n++
		}
	}
	return n
}

// weight is one crosswalk weight: the share of the source area in the target.
type weight struct {
	from  string
	w     float64
	basis string // where the weights come from: the polygon overlap, or a published file
}

// xwName names the crosswalk from src that the weights ws belong to, for a
// figure's basis: "crosswalk from tracts2010 (polygon overlap)".
func xwName(src string, ws []weight) string {
	return "crosswalk from " + src + " (" + ws[0].basis + ")"
}

// crosswalks returns weights by (from layer, to layer) and target area.
func crosswalks(ctx context.Context, st *store.Store) (map[[2]string]map[string][]weight, error) {
	rows, err := st.DB().QueryContext(ctx, `SELECT from_layer, from_id, to_layer, to_id, weight, coalesce(basis, 'polygon overlap') FROM crosswalk ORDER BY 1, 3, 4, 2`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[[2]string]map[string][]weight{}
	for rows.Next() {
		var fl, fid, tl, tid, basis string
		var w float64
		if err := rows.Scan(&fl, &fid, &tl, &tid, &w, &basis); err != nil {
			return nil, err
		}
		k := [2]string{fl, tl}
		if out[k] == nil {
			out[k] = map[string][]weight{}
		}
		out[k][tid] = append(out[k][tid], weight{fid, w, basis})
	}
	return out, rows.Err()
}

// bestSource picks the layer with its own values of variable for the most
// areas that has a crosswalk to layer.
func bestSource(own demoTable, xw map[[2]string]map[string][]weight, layer, variable string) string {
	best, bestN := "", 0
	for _, src := range sortedKeys(own) {
		if src == layer || xw[[2]string{src, layer}] == nil {
			continue
		}
		if n := coverage(own, src, variable); n > bestN {
			best, bestN = src, n
		}
	}
	return best
}

// combine makes a target area's value of variable from the source areas'
// values through the crosswalk weights.
func combine(own demoTable, ws []weight, src, variable string) (demoValue, bool) {
	if len(ws) == 0 {
		return demoValue{}, false
	}
	var sum, wsum, moe2 float64
	n := 0
	switch {
	case variable == "population":
		for _, w := range ws {
			if v, ok := own.get(src, w.from, variable); ok {
				sum += w.w * v.est
				if !math.IsNaN(v.moe) {
					moe2 += (w.w * v.moe) * (w.w * v.moe)
				}
				n++
			}
		}
		if n == 0 {
			return demoValue{}, false
		}
		return demoValue{sum, math.Sqrt(moe2), xwName(src, ws) + ": sum of weighted populations"}, true
	case variable == "median_income":
		if v, ok := medianFromBrackets(own, ws, src); ok {
			return v, true
		}
	}
	// Shares, medians without brackets, per-capita figures: weighted by
	// each source area's population where it has one, else by area alone.
	for _, w := range ws {
		v, ok := own.get(src, w.from, variable)
		if !ok {
			continue
		}
		pw := w.w
		if p, ok := own.get(src, w.from, "population"); ok {
			pw *= p.est
		}
		sum += pw * v.est
		wsum += pw
		if !math.IsNaN(v.moe) {
			moe2 += (pw * v.moe) * (pw * v.moe)
		}
		n++
	}
	if n == 0 || wsum == 0 {
		return demoValue{}, false
	}
	basis := xwName(src, ws) + ": population-weighted mean"
	if variable == "median_income" {
		basis = xwName(src, ws) + ": population-weighted mean of medians (no income bracket counts: an approximation)"
	}
	return demoValue{sum / wsum, math.Sqrt(moe2) / wsum, basis}, true
}

// medianFromBrackets combines B19001 bracket counts through the weights
// and takes their median, as the Census Bureau does for combined areas.
func medianFromBrackets(own demoTable, ws []weight, src string) (demoValue, bool) {
	names := incomeBrackets()
	counts := make([]float64, len(names))
	any := false
	for _, w := range ws {
		for i, n := range names {
			if v, ok := own.get(src, w.from, n); ok {
				counts[i] += w.w * v.est
				any = true
			}
		}
	}
	if !any {
		return demoValue{}, false
	}
	m, approx := stats.MedianFromBrackets(stats.IncomeBrackets(), counts)
	if math.IsNaN(m) {
		return demoValue{}, false
	}
	basis := xwName(src, ws) + ": median of summed income brackets (B19001)"
	if approx {
		basis += "; in the open top bracket: its lower bound"
	}
	return demoValue{m, math.NaN(), basis}, true
}

// modelCovariates are the covariates of the models, in order, with the
// variable each is made from and how: the log of median income, the rest
// as shares. A covariate no area has is left out; limited English falls
// back to speaking a language other than English at home.
func modelCovariates(d demoTable, layer string, areas int) (out []covariate, dropped []string) {
	all := []covariate{
		{"log_median_income", "median_income", true},
		{"share_65plus", "share_65plus", false},
		{"share_limited_english", "share_limited_english", false},
		{"share_broadband", "share_broadband", false},
		{"share_black", "share_black", false},
		{"share_hispanic", "share_hispanic", false},
		{"share_asian", "share_asian", false},
	}
	for _, c := range all {
		if c.variable == "share_limited_english" && coverage(d, layer, c.variable) < areas*9/10 {
			c = covariate{"share_other_language", "share_other_language", false}
		}
		if n := coverage(d, layer, c.variable); n >= areas*9/10 && areas > 0 {
			out = append(out, c)
		} else if n > 0 {
			dropped = append(dropped, fmt.Sprintf("%s (%d of %d areas)", c.variable, n, areas))
		}
	}
	return out, dropped
}

// covariate is one model term made from a census variable.
type covariate struct {
	term, variable string
	log            bool
}

func (c covariate) value(d demoTable, layer, area string) (float64, bool) {
	v, ok := d.get(layer, area, c.variable)
	if !ok {
		return 0, false
	}
	if c.log {
		if v.est <= 0 {
			return 0, false
		}
		return math.Log(v.est), true
	}
	return v.est, true
}

// describe names a term for people.
func describe(term string) string {
	return strings.ReplaceAll(strings.TrimPrefix(term, "share_"), "_", " ")
}
