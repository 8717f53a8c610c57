package reports

import (
	"fmt"
	"math"
	"strconv"
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

// mapBaseOption is what every map shares: no animation (stable
// screenshots), rich-text tooltips (data never renders as HTML).
func mapBaseOption() map[string]any {
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
	o := mapBaseOption()
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
