package reports

import (
	"fmt"
	"math"
	"strconv"

	"github.com/equity311/equity311/analysis/results"
)

// The maps' echarts options are written here by hand, the one place a
// chart option is assembled from maps: go-echarts cannot register a
// layer's own GeoJSON as a map, and its map data items carry neither a
// style (the hatch of a suppressed area) nor a tooltip.

// mapMetric is one metric a map can show: its data and legend.
type mapMetric struct {
	Key       string         `json:"key"`
	Label     string         `json:"label"`
	Data      []any          `json:"data"`
	VisualMap map[string]any `json:"visualMap"`
}

// diverging is a colour-blind-safe purple–orange scale around the city's
// own figure (1 for ratios, 0 for residuals).
var diverging = [...]string{"#b35806", "#f1a340", "#fee0b6", "#d8daeb", "#998ec3", "#542788"}

// suppressedColour is the grey of areas with too few requests; they also
// carry a hatch so that they read as "no figure", never as a low value.
const suppressedColour = "#d9d9d9"

func suppressedStyle() map[string]any {
	return map[string]any{"areaColor": suppressedColour, "color": suppressedColour,
		"decal": map[string]any{"symbol": "rect", "dashArrayX": []any{1, 0}, "dashArrayY": []any{2, 4}, "rotation": 0.785, "color": "rgba(0,0,0,0.35)"}}
}

// mapBaseOption is what every map shares: no animation (stable
// screenshots), rich-text tooltips (data never renders as HTML).
func mapBaseOption() map[string]any {
	return map[string]any{
		"animation": false,
		"tooltip":   map[string]any{"show": true, "renderMode": "richText", "confine": true},
	}
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
func mapChart(id string, v *layerView, gj []byte, minCount int, city *results.AreaMetrics) chartSpec {
	var share, std, rt []any
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
			std = append(std, mapItem(label, round2(a.StdAppRatio.Value), !math.IsNaN(a.StdAppRatio.Value),
				fmt.Sprintf("%s\napp use for its request types: %s × the city's\n(95%% interval %s)", label, dec(a.StdAppRatio.Value, 2), ratioInterval(a.StdAppRatio))))
		}
		switch {
		case a.LowCount:
			rt = append(rt, mapItem(label, 0, false, few)) // a suppressed area shows no rate either
		case math.IsNaN(a.ResidentPer1000.Value):
			rt = append(rt, mapItem(label, 0, false, label+"\nno population figure"))
		default:
			rt = append(rt, mapItem(label, round2(a.ResidentPer1000.Value), true,
				fmt.Sprintf("%s\n%s resident requests per 1,000 residents a year\n(95%% interval %s–%s)", label, rate(a.ResidentPer1000.Value), rate(a.ResidentPer1000.Lo), rate(a.ResidentPer1000.Hi))))
		}
	}
	vm := func(ps []any) map[string]any {
		return map[string]any{"type": "piecewise", "pieces": ps, "left": "left", "bottom": 10, "orient": "vertical",
			"itemWidth": 16, "itemHeight": 12, "textStyle": map[string]any{"fontSize": 11}}
	}
	pctf := func(x float64) string { return niceFormat(x) + "%" }
	metrics := []mapMetric{
		{"share", "App share (% of resident requests)", share, vm(centredPieces(100*city.AppShare.Value, pctf, "too few requests"))},
		{"std", "Type-standardized app use (× the city's, for the same request types)", std, vm(stdPieces(stdBounds))},
		{"rate", "Resident requests per 1,000 residents a year", rt, vm(centredPieces(city.ResidentPer1000.Value, niceFormat, "no population or too few requests"))},
	}
	o := mapBaseOption()
	o["visualMap"] = metrics[0].VisualMap
	o["title"] = map[string]any{"text": metrics[0].Label, "left": 0, "top": 0, "textStyle": map[string]any{"fontSize": 13, "fontWeight": "normal"}}
	showLabels := len(v.Rows) <= 40
	o["series"] = []any{map[string]any{"type": "map", "map": id, "name": metrics[0].Label, "data": metrics[0].Data,
		"roam": false, "showLegendSymbol": false, "nameProperty": "name",
		"labelLayout": map[string]any{"hideOverlap": true}, // names that would collide are left to the tooltip
		"label":       map[string]any{"show": showLabels, "fontSize": 9, "color": "#1b1b1b", "textBorderColor": "#fff", "textBorderWidth": 2},
		"emphasis":    map[string]any{"label": map[string]any{"show": true}},
		"itemStyle":   map[string]any{"borderColor": "#555", "borderWidth": 0.5}}}
	return chartSpec{ID: id, Kind: "map", MapName: id, GeoJSON: rawJSON(gj), Option: o, Metrics: metrics, Height: 560}
}

// stdBounds are the map classes of a ratio to the city's figure:
// centred on 1 (as the city), the same for every layer.
var stdBounds = [...]float64{0, 0.6, 0.8, 0.95, 1.05, 1.25, 1.6}

// centredPieces are the classes of a figure centred on the city's own
// value c (0.6, 0.8, 0.95, 1.05, 1.25 and 1.6 times it), so that every
// layer's map uses the same bins and the middle one is "like the city";
// without a city figure, stdPieces' ratios serve.
func centredPieces(c float64, f func(float64) string, suppressedLabel string) []any {
	if math.IsNaN(c) || c <= 0 {
		c = 1
	}
	b := make([]float64, len(stdBounds))
	for i, r := range stdBounds {
		b[i] = niceRound(r * c)
	}
	var out []any
	for i := 0; i+1 < len(b); i++ {
		out = append(out, map[string]any{"gte": b[i], "lt": b[i+1], "label": f(b[i]) + "–" + f(b[i+1]), "color": diverging[i]})
	}
	out = append(out, map[string]any{"gte": b[len(b)-1], "label": f(b[len(b)-1]) + " and over", "color": diverging[len(diverging)-1]})
	return append(out, map[string]any{"value": -1e9, "label": suppressedLabel, "color": suppressedColour})
}

// niceRound rounds x to two significant digits.
func niceRound(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	p := math.Pow(10, math.Floor(math.Log10(math.Abs(x)))-1)
	return math.Round(x/p) * p
}

// niceFormat writes a class bound with the decimals its size needs.
func niceFormat(x float64) string {
	switch a := math.Abs(x); {
	case a == 0 || a >= 10:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case a >= 1:
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}

func stdPieces(b [len(stdBounds)]float64) []any {
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
	o := mapBaseOption()
	o["visualMap"] = map[string]any{"type": "piecewise", "pieces": ps, "left": "left", "bottom": 10, "orient": "vertical"}
	o["title"] = map[string]any{"text": "Pearson residual of the logit (observed − fitted, in standard errors)", "left": 0, "top": 0, "textStyle": map[string]any{"fontSize": 13, "fontWeight": "normal"}}
	o["series"] = []any{map[string]any{"type": "map", "map": id, "data": data, "showLegendSymbol": false,
		"itemStyle": map[string]any{"borderColor": "#555", "borderWidth": 0.5}}}
	return chartSpec{ID: id, Kind: "map", MapName: id, GeoJSON: rawJSON(gj), Option: o, Height: 520}
}

// rawJSON keeps pre-encoded JSON (a layer's GeoJSON) as it is inside the
// chart spec.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }
