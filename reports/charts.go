package reports

import (
	"fmt"
	"math"
	"strconv"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/equity311/equity311/analysis/results"
)

// chartSpec is one chart: its echarts option (data included), the
// polygons to register for a map, and for maps the other metrics the
// reader can switch to. It reaches the page as JSON escaped by
// html/template, so no string from the data can end the script; tooltips
// render as rich text, never as HTML.
type chartSpec struct {
	ID      string         `json:"id"`
	Kind    string         `json:"kind"` // map, bar, line, scatter
	MapName string         `json:"mapName,omitempty"`
	GeoJSON any            `json:"geojson,omitempty"`
	Option  map[string]any `json:"option"`
	Metrics []mapMetric    `json:"metrics,omitempty"`
	Height  int            `json:"height"`
}

// mapMetric is one metric a map can show: its data and legend.
type mapMetric struct {
	Key       string         `json:"key"`
	Label     string         `json:"label"`
	Data      []any          `json:"data"`
	VisualMap map[string]any `json:"visualMap"`
}

// Colour-blind-safe scales: viridis for magnitudes (light is low), a
// purple–orange diverging scale around 1 for ratios and 0 for residuals.
var (
	sequential = []string{"#fde725", "#5ec962", "#21918c", "#3b528b", "#440154"}
	diverging  = []string{"#b35806", "#f1a340", "#fee0b6", "#d8daeb", "#998ec3", "#542788"}
)

// suppressedColour is the grey of areas with too few requests; they also
// carry a hatch so that they read as "no figure", never as a low value.
const suppressedColour = "#d9d9d9"

func suppressedStyle() map[string]any {
	return map[string]any{"areaColor": suppressedColour, "color": suppressedColour,
		"decal": map[string]any{"symbol": "rect", "dashArrayX": []any{1, 0}, "dashArrayY": []any{2, 4}, "rotation": 0.785, "color": "rgba(0,0,0,0.35)"}}
}

// baseOption is what every chart shares: SVG, no animation (stable
// screenshots), rich-text tooltips (data never renders as HTML).
func baseOption() map[string]any {
	return map[string]any{
		"animation": false,
		"tooltip":   map[string]any{"show": true, "renderMode": "richText", "confine": true},
	}
}

// classes returns n equal classes from 0 to a rounded maximum.
func classes(maxV float64, n int, step float64) []float64 {
	top := math.Max(step, math.Ceil(maxV/step)*step)
	out := make([]float64, n+1)
	for i := range out {
		out[i] = top * float64(i) / float64(n)
	}
	return out
}

// pieces makes a piecewise visual map's pieces over bounds with labels
// formatted by f, and the "too few requests" piece.
func pieces(bounds []float64, colours []string, f func(float64) string, suppressedLabel string) []any {
	var out []any
	for i := 0; i+1 < len(bounds); i++ {
		p := map[string]any{"gte": bounds[i], "lt": bounds[i+1], "label": f(bounds[i]) + "–" + f(bounds[i+1]), "color": colours[i%len(colours)]}
		if i+2 == len(bounds) {
			delete(p, "lt")
			p["lte"] = bounds[i+1] * 1e6
			p["label"] = f(bounds[i]) + " and over"
		}
		out = append(out, p)
	}
	out = append(out, map[string]any{"value": -1e9, "label": suppressedLabel, "color": suppressedColour})
	return out
}

// mapItem is one area of a map: its value, or −1e9 (the suppressed
// piece) and a hatch when it has no figure, with its tooltip text.
func mapItem(name string, v float64, ok bool, tip string) map[string]any {
	it := map[string]any{"name": name, "tooltip": map[string]any{"formatter": tip}}
	if ok && !math.IsNaN(v) {
		it["value"] = v
	} else {
		it["value"] = -1e9
		it["itemStyle"] = suppressedStyle()
	}
	return it
}

// mapChart is a choropleth of one layer with three metrics to switch
// between: app share, type-standardized ratio, and requests per 1,000
// residents a year. Areas with too few requests are grey and hatched.
func mapChart(id string, v *layerView, gj []byte, minCount int) chartSpec {
	var share, std, rt []any
	maxShare, maxRate := 0.0, 0.0
	for _, a := range v.Rows {
		label := v.Labels[a.AreaID]
		low := a.LowCount || math.IsNaN(a.AppShare.Value)
		few := fmt.Sprintf("%s\nfewer than %d resident requests: no figure", label, minCount)
		if low {
			share = append(share, mapItem(label, 0, false, few))
			std = append(std, mapItem(label, 0, false, few))
		} else {
			share = append(share, mapItem(label, round1(100*a.AppShare.Value), true,
				fmt.Sprintf("%s\napp share %s (95%% interval %s)\n%s app of %s resident requests", label, pct(a.AppShare.Value), ci(a.AppShare), num(a.App), num(a.ShareBase))))
			maxShare = math.Max(maxShare, 100*a.AppShare.Value)
			std = append(std, mapItem(label, round2(a.StdAppRatio.Value), !math.IsNaN(a.StdAppRatio.Value),
				fmt.Sprintf("%s\napp use for its request types: %s × the city's\n(95%% interval %s)", label, dec(a.StdAppRatio.Value, 2), ratioInterval(a.StdAppRatio))))
		}
		if math.IsNaN(a.ResidentPer1000.Value) {
			rt = append(rt, mapItem(label, 0, false, label+"\nno population figure"))
		} else {
			rt = append(rt, mapItem(label, round1(a.ResidentPer1000.Value), true,
				fmt.Sprintf("%s\n%s resident requests per 1,000 residents a year\n(95%% interval %s–%s)", label, rate(a.ResidentPer1000.Value), rate(a.ResidentPer1000.Lo), rate(a.ResidentPer1000.Hi))))
			maxRate = math.Max(maxRate, a.ResidentPer1000.Value)
		}
	}
	vm := func(ps []any) map[string]any {
		return map[string]any{"type": "piecewise", "pieces": ps, "left": "left", "bottom": 10, "orient": "vertical",
			"itemWidth": 16, "itemHeight": 12, "textStyle": map[string]any{"fontSize": 11}}
	}
	pctf := func(x float64) string { return strconv.FormatFloat(x, 'f', 0, 64) + "%" }
	ratef := func(x float64) string { return strconv.FormatFloat(x, 'f', 0, 64) }
	stdBounds := []float64{0, 0.6, 0.8, 0.95, 1.05, 1.25, 1.6}
	metrics := []mapMetric{
		{"share", "App share (% of resident requests)", share, vm(pieces(classes(maxShare, 5, 10), sequential, pctf, "too few requests"))},
		{"std", "Type-standardized app use (× the city's, for the same request types)", std, vm(stdPieces(stdBounds))},
		{"rate", "Resident requests per 1,000 residents a year", rt, vm(pieces(classes(maxRate, 5, 50), sequential, ratef, "no population or too few requests"))},
	}
	o := baseOption()
	o["visualMap"] = metrics[0].VisualMap
	o["title"] = map[string]any{"text": metrics[0].Label, "left": 0, "top": 0, "textStyle": map[string]any{"fontSize": 13, "fontWeight": "normal"}}
	showLabels := len(v.Rows) <= 40
	o["series"] = []any{map[string]any{"type": "map", "map": id, "name": metrics[0].Label, "data": metrics[0].Data,
		"roam": false, "showLegendSymbol": false, "nameProperty": "name",
		"label":     map[string]any{"show": showLabels, "fontSize": 9, "color": "#1b1b1b", "textBorderColor": "#fff", "textBorderWidth": 2},
		"emphasis":  map[string]any{"label": map[string]any{"show": true}},
		"itemStyle": map[string]any{"borderColor": "#555", "borderWidth": 0.5}}}
	return chartSpec{ID: id, Kind: "map", MapName: id, GeoJSON: rawJSON(gj), Option: o, Metrics: metrics, Height: 560}
}

func stdPieces(b []float64) []any {
	var out []any
	for i := 0; i+1 < len(b); i++ {
		out = append(out, map[string]any{"gte": b[i], "lt": b[i+1], "label": dec(b[i], 2) + "–" + dec(b[i+1], 2) + " ×", "color": diverging[i]})
	}
	out = append(out, map[string]any{"gte": b[len(b)-1], "label": dec(b[len(b)-1], 2) + " × and over", "color": diverging[len(diverging)-1]})
	out = append(out, map[string]any{"value": -1e9, "label": "too few requests", "color": suppressedColour})
	return out
}

// residualMap maps the logit's Pearson residuals: above 0, more app use
// than the model predicts from the covariates.
func residualMap(id string, v *layerView, gj []byte, resid map[string]float64) chartSpec {
	var data []any
	for _, a := range v.Rows {
		label := v.Labels[a.AreaID]
		r, ok := resid[a.AreaID]
		data = append(data, mapItem(label, round2(r), ok,
			fmt.Sprintf("%s\nPearson residual %s", label, dec(r, 2))))
	}
	b := []float64{-1e9 + 1, -3, -1.5, 0, 1.5, 3}
	var ps []any
	labels := []string{"under −3", "−3 to −1.5", "−1.5 to 0", "0 to 1.5", "1.5 to 3", "3 and over"}
	for i := range b {
		p := map[string]any{"gte": b[i], "label": labels[i], "color": diverging[i]}
		if i+1 < len(b) {
			p["lt"] = b[i+1]
		}
		ps = append(ps, p)
	}
	ps = append(ps, map[string]any{"value": -1e9, "label": "not in the model", "color": suppressedColour})
	o := baseOption()
	o["visualMap"] = map[string]any{"type": "piecewise", "pieces": ps, "left": "left", "bottom": 10, "orient": "vertical"}
	o["title"] = map[string]any{"text": "Pearson residual of the logit (observed − fitted, in standard errors)", "left": 0, "top": 0, "textStyle": map[string]any{"fontSize": 13, "fontWeight": "normal"}}
	o["series"] = []any{map[string]any{"type": "map", "map": id, "data": data, "showLegendSymbol": false,
		"itemStyle": map[string]any{"borderColor": "#555", "borderWidth": 0.5}}}
	return chartSpec{ID: id, Kind: "map", MapName: id, GeoJSON: rawJSON(gj), Option: o, Height: 520}
}

// intervalItem is one row of an interval chart.
type intervalItem struct {
	Label       string
	Est, Lo, Hi float64 // in the chart's units
	Tip         string
}

// intervalChart draws estimates with their 95% intervals, one row each:
// an invisible bar up to the lower bound, a visible bar across the
// interval, a dot at the estimate, and a reference line (the citywide
// figure). The frame (grid, legend, renderer) comes from go-echarts; the
// series carry per-item rich-text tooltips.
func intervalChart(id string, items []intervalItem, ref float64, refLabel, axis string) chartSpec {
	var names []string
	var base, span, dots []any
	hi := 0.0
	for _, it := range items {
		names = append(names, it.Label)
		tip := map[string]any{"formatter": it.Tip}
		base = append(base, map[string]any{"value": round2(it.Lo), "tooltip": map[string]any{"show": false}})
		span = append(span, map[string]any{"value": round2(it.Hi - it.Lo), "tooltip": tip})
		dots = append(dots, map[string]any{"value": []any{round2(it.Est), it.Label}, "tooltip": tip})
		hi = math.Max(hi, it.Hi)
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(
		charts.WithInitializationOpts(opts.Initialization{Renderer: "svg"}),
		charts.WithAnimation(false),
		charts.WithGridOpts(opts.Grid{Left: "10", Right: "30", Top: "40", Bottom: "45", ContainLabel: opts.Bool(true)}),
	)
	o := bar.JSON()
	for k, v := range baseOption() {
		o[k] = v
	}
	o["legend"] = map[string]any{"show": true, "top": 0, "data": []string{"95% interval", "estimate"}}
	o["yAxis"] = []any{map[string]any{"type": "category", "data": names, "inverse": true, "axisLabel": map[string]any{"interval": 0, "width": 160, "overflow": "truncate"}}}
	o["xAxis"] = []any{map[string]any{"type": "value", "min": 0, "max": niceMax(hi), "name": axis, "nameLocation": "middle", "nameGap": 28}}
	dot := map[string]any{"type": "scatter", "name": "estimate", "data": dots, "symbolSize": 9, "itemStyle": map[string]any{"color": "#08306b"}}
	if !math.IsNaN(ref) {
		dot["markLine"] = map[string]any{"symbol": []string{"none", "none"}, "silent": true, "data": []any{map[string]any{"xAxis": round2(ref), "name": refLabel}},
			"label": map[string]any{"show": true, "formatter": refLabel}, "lineStyle": map[string]any{"color": "#b35806", "type": "dashed"}}
	}
	o["series"] = []any{
		map[string]any{"type": "bar", "name": "lower", "stack": "ci", "data": base, "barWidth": "55%", "itemStyle": map[string]any{"color": "transparent"}, "silent": true},
		map[string]any{"type": "bar", "name": "95% interval", "stack": "ci", "data": span, "itemStyle": map[string]any{"color": "#9ecae1"}},
		dot,
	}
	return chartSpec{ID: id, Kind: "bar", Option: o, Height: 90 + 26*len(items)}
}

// lineChart draws series over shared categories (weeks); NaN is a gap.
func lineChart(id string, x []string, series map[string][]float64, order []string, axis string) chartSpec {
	o := baseOption()
	o["tooltip"] = map[string]any{"show": true, "trigger": "axis", "renderMode": "richText", "confine": true}
	o["legend"] = map[string]any{"show": true, "top": 0, "type": "scroll"}
	o["grid"] = map[string]any{"left": 50, "right": 20, "top": 40, "bottom": 40, "containLabel": true}
	o["xAxis"] = map[string]any{"type": "category", "data": x, "axisLabel": map[string]any{"rotate": 45}}
	o["yAxis"] = map[string]any{"type": "value", "name": axis, "min": 0}
	dashes := []string{"solid", "dashed", "dotted", "solid", "dashed", "dotted"}
	var ss []any
	for i, name := range order {
		var data []any
		for _, v := range series[name] {
			if math.IsNaN(v) {
				data = append(data, nil)
			} else {
				data = append(data, round1(v))
			}
		}
		ss = append(ss, map[string]any{"type": "line", "name": name, "data": data, "connectNulls": false, "symbolSize": 5,
			"lineStyle": map[string]any{"width": 2, "type": dashes[i%len(dashes)]}})
	}
	o["series"] = ss
	return chartSpec{ID: id, Kind: "line", Option: o, Height: 360}
}

// scatterPoint is one area on the income scatter.
type scatterPoint struct {
	Name       string
	X, Y, Size float64
	Tip        string
}

// incomeScatter draws areas' app share against median income (log axis),
// sized by requests, with the fitted curve and its band from the analysis.
func incomeScatter(id string, pts []scatterPoint, curve []results.IncomePoint) chartSpec {
	o := baseOption()
	o["legend"] = map[string]any{"show": true, "top": 0, "data": []string{"areas (size: requests)", "fitted", "95% band"}}
	o["grid"] = map[string]any{"left": 50, "right": 20, "top": 40, "bottom": 50, "containLabel": true}
	o["xAxis"] = map[string]any{"type": "log", "name": "median household income ($, log scale)", "nameLocation": "middle", "nameGap": 30, "min": "dataMin", "max": "dataMax"}
	o["yAxis"] = map[string]any{"type": "value", "name": "app share (%)", "min": 0}
	maxN := 1.0
	for _, p := range pts {
		maxN = math.Max(maxN, p.Size)
	}
	var data []any
	for _, p := range pts {
		data = append(data, map[string]any{"name": p.Name, "value": []any{math.Round(p.X), round1(p.Y)},
			"symbolSize": 4 + 16*math.Sqrt(p.Size/maxN), "tooltip": map[string]any{"formatter": p.Tip}})
	}
	var fit, lo, hi []any
	for _, r := range curve {
		x := math.Round(r.MedianIncome)
		fit = append(fit, []any{x, round1(100 * r.Fitted.Value)})
		lo = append(lo, []any{x, round1(100 * r.Fitted.Lo)})
		hi = append(hi, []any{x, round1(100 * r.Fitted.Hi)})
	}
	o["series"] = []any{
		map[string]any{"type": "scatter", "name": "areas (size: requests)", "data": data, "itemStyle": map[string]any{"color": "#3b528b", "opacity": 0.7}},
		map[string]any{"type": "line", "name": "fitted", "data": fit, "showSymbol": false, "lineStyle": map[string]any{"width": 2, "color": "#b35806"}, "itemStyle": map[string]any{"color": "#b35806"}},
		map[string]any{"type": "line", "name": "95% band", "data": lo, "showSymbol": false, "lineStyle": map[string]any{"width": 1, "type": "dashed", "color": "#f1a340"}, "itemStyle": map[string]any{"color": "#f1a340"}},
		map[string]any{"type": "line", "name": "95% band", "data": hi, "showSymbol": false, "lineStyle": map[string]any{"width": 1, "type": "dashed", "color": "#f1a340"}, "itemStyle": map[string]any{"color": "#f1a340"}},
	}
	return chartSpec{ID: id, Kind: "scatter", Option: o, Height: 420}
}

// concentrationChart draws the concentration curve of app requests over
// residents ranked by income, with the line of equality.
func concentrationChart(id string, curve []results.ConcentrationPoint) chartSpec {
	o := baseOption()
	o["legend"] = map[string]any{"show": true, "top": 0}
	o["grid"] = map[string]any{"left": 50, "right": 20, "top": 40, "bottom": 50, "containLabel": true}
	o["xAxis"] = map[string]any{"type": "value", "min": 0, "max": 100, "name": "residents, poorest areas first (cumulative %)", "nameLocation": "middle", "nameGap": 30}
	o["yAxis"] = map[string]any{"type": "value", "min": 0, "max": 100, "name": "app requests (cumulative %)"}
	data := []any{[]any{0, 0}}
	for _, r := range curve {
		data = append(data, []any{round1(100 * r.CumPopulation), round1(100 * r.CumApp)})
	}
	o["series"] = []any{
		map[string]any{"type": "line", "name": "concentration curve", "data": data, "showSymbol": false, "lineStyle": map[string]any{"width": 2, "color": "#3b528b"}},
		map[string]any{"type": "line", "name": "equal use", "data": []any{[]any{0, 0}, []any{100, 100}}, "showSymbol": false, "lineStyle": map[string]any{"type": "dashed", "color": "#777"}},
	}
	return chartSpec{ID: id, Kind: "line", Option: o, Height: 380}
}

// rawJSON keeps pre-encoded JSON as it is inside the chart spec.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

func round1(v float64) float64 { return math.Round(v*10) / 10 }
func round2(v float64) float64 { return math.Round(v*100) / 100 }

// niceMax rounds an axis maximum up to a round number.
func niceMax(v float64) float64 {
	switch {
	case v <= 0 || math.IsNaN(v):
		return 1
	case v <= 1:
		return math.Ceil(v*10) / 10
	case v <= 10:
		return math.Ceil(v)
	}
	return math.Ceil(v/10) * 10
}

func ratioInterval(e results.Estimate) string {
	if math.IsNaN(e.Lo) {
		return "—"
	}
	return dec(e.Lo, 2) + "–" + dec(e.Hi, 2)
}
