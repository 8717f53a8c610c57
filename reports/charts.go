package reports

import (
	"math"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/types"

	"github.com/equity311/equity311/analysis/results"
)

// chartSpec is one chart: its echarts option (data included), the
// polygons to register for a map, and for maps the other metrics the
// reader can switch to. It reaches the page as JSON escaped by
// html/template, so no string from the data can end the script. The
// page's script draws every chart as SVG with rich-text tooltips confined
// to the chart (tooltip.renderMode "richText": data never renders as
// HTML), whatever the option says.
//
// The bar, line and scatter charts are built with go-echarts' typed
// options (charts.NewBar, NewLine, NewScatter and their series options);
// the maps cannot be (go-echarts registers only its bundled maps, not a
// layer's own GeoJSON, and its map data items carry no style or
// tooltip), so their option is written by hand in maps.go, the one place.
type chartSpec struct {
	ID      string         `json:"id"`
	Kind    string         `json:"kind"` // map, bar, line, scatter
	MapName string         `json:"mapName,omitempty"`
	GeoJSON any            `json:"geojson,omitempty"`
	Option  map[string]any `json:"option"`
	Metrics []mapMetric    `json:"metrics,omitempty"`
	Height  int            `json:"height"`
}

// Colours: the estimate, the interval, reference lines, the fitted curve.
const (
	estimateColour  = "#08306b"
	intervalColour  = "#9ecae1"
	referenceColour = "#b35806"
	bandColour      = "#f1a340"
	pointColour     = "#3b528b"
)

// globalOpts are what every typed chart shares: no animation (stable
// screenshots and prints), a tooltip, and the legend at the top.
func globalOpts(legend ...string) []charts.GlobalOpts {
	l := opts.Legend{Show: opts.Bool(true), Top: "0"}
	if len(legend) > 0 {
		l.Data = legend
	}
	return []charts.GlobalOpts{charts.WithAnimation(false), charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
		charts.WithLegendOpts(l)}
}

// intervalItem is one row of an interval chart.
type intervalItem struct {
	Label       string
	Est, Lo, Hi float64 // in the chart's units
	Tip         string
}

// labelWidth is the most characters of a category label on an interval
// chart's axis; longer labels end in "…" (the tooltip names them whole).
const labelWidth = 26

// intervalChart draws estimates with their 95% intervals, one row each:
// an invisible bar up to the lower bound, a visible bar across the
// interval, a dot at the estimate, and a reference line (the citywide
// figure).
func intervalChart(id string, items []intervalItem, ref float64, refLabel, axis string) chartSpec {
	return intervalChartTo(id, items, ref, refLabel, axis, 0)
}

// intervalChartTo is intervalChart with the value axis ending at top (0:
// from the items), so that charts read side by side share one scale.
func intervalChartTo(id string, items []intervalItem, ref float64, refLabel, axis string, top float64) chartSpec {
	var names []string
	var base, span []opts.BarData
	var dots []opts.ScatterData
	hi := 0.0
	for _, it := range items {
		names = append(names, shorten(it.Label, labelWidth))
		base = append(base, opts.BarData{Value: round2(it.Lo), Tooltip: &opts.Tooltip{Show: opts.Bool(false)}})
		span = append(span, opts.BarData{Value: round2(it.Hi - it.Lo), Tooltip: &opts.Tooltip{Formatter: types.FuncStr(it.Tip)}})
		dots = append(dots, opts.ScatterData{Value: []any{round2(it.Est), shorten(it.Label, labelWidth), it.Tip}})
		hi = math.Max(hi, it.Hi)
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(append(globalOpts("95% interval", "estimate"),
		charts.WithGridOpts(opts.Grid{Left: "10", Right: "30", Top: "40", Bottom: "45", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Min: 0, Max: niceMax(math.Max(hi, top)), Name: axis, NameLocation: "middle", NameGap: 28}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: names, Inverse: opts.Bool(true), AxisLabel: &opts.AxisLabel{Interval: "0"}}),
	)...)
	bar.AddSeries("lower", base, charts.WithBarChartOpts(opts.BarChart{Stack: "ci", BarWidth: "55%"}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: "transparent"}))
	bar.AddSeries("95% interval", span, charts.WithBarChartOpts(opts.BarChart{Stack: "ci"}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: intervalColour}))
	dot := charts.NewScatter()
	dot.AddSeries("estimate", dots, charts.WithScatterChartOpts(opts.ScatterChart{SymbolSize: 9}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: estimateColour}),
		charts.WithSeriesTooltipOpts(opts.SeriesTooltip{Formatter: "{@[2]}"}))
	if !math.IsNaN(ref) {
		dot.SetSeriesOptions(
			charts.WithMarkLineNameXAxisItemOpts(opts.MarkLineNameXAxisItem{Name: refLabel, XAxis: round2(ref)}),
			charts.WithMarkLineStyleOpts(opts.MarkLineStyle{Symbol: []string{"none", "none"},
				Label: &opts.Label{Show: opts.Bool(true), Formatter: refLabel}, LineStyle: &opts.LineStyle{Color: referenceColour, Type: "dashed"}}))
	}
	bar.Overlap(dot)
	return chartSpec{ID: id, Kind: "bar", Option: optionOf(bar), Height: 90 + 26*len(items)}
}

// lineChart draws series over shared categories (weeks); NaN is a gap.
func lineChart(id string, x []string, series map[string][]float64, order []string, axis string) chartSpec {
	line := charts.NewLine()
	line.SetGlobalOptions(append(globalOpts(),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0", Type: "scroll"}),
		charts.WithGridOpts(opts.Grid{Left: "50", Right: "20", Top: "40", Bottom: "40", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", AxisLabel: &opts.AxisLabel{Rotate: 45}}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: axis, Min: 0}),
	)...)
	line.SetXAxis(x)
	dashes := []string{"solid", "dashed", "dotted"}
	for i, name := range order {
		var data []opts.LineData
		for _, v := range series[name] {
			if math.IsNaN(v) {
				data = append(data, opts.LineData{Value: nil})
			} else {
				data = append(data, opts.LineData{Value: round1(v)})
			}
		}
		line.AddSeries(name, data, charts.WithLineChartOpts(opts.LineChart{ConnectNulls: opts.Bool(false), SymbolSize: 5}),
			charts.WithLineStyleOpts(opts.LineStyle{Width: 2, Type: dashes[i%len(dashes)]}))
	}
	return chartSpec{ID: id, Kind: "line", Option: optionOf(line), Height: 360}
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
	sc := charts.NewScatter()
	sc.SetGlobalOptions(append(globalOpts("areas (size: requests)", "fitted", "95% band"),
		charts.WithGridOpts(opts.Grid{Left: "50", Right: "20", Top: "40", Bottom: "50", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "log", Name: "median household income ($, log scale)", NameLocation: "middle", NameGap: 30,
			Min: "dataMin", Max: "dataMax"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "app share (%)", Min: 0}),
	)...)
	maxN := 1.0
	for _, p := range pts {
		maxN = math.Max(maxN, p.Size)
	}
	var data []opts.ScatterData
	for _, p := range pts {
		data = append(data, opts.ScatterData{Name: p.Name, Value: []any{math.Round(p.X), round1(p.Y), p.Tip},
			SymbolSize: int(math.Round(4 + 16*math.Sqrt(p.Size/maxN)))})
	}
	sc.AddSeries("areas (size: requests)", data, charts.WithItemStyleOpts(opts.ItemStyle{Color: pointColour, Opacity: opts.Float(0.7)}),
		charts.WithSeriesTooltipOpts(opts.SeriesTooltip{Formatter: "{@[2]}"}))
	var fit, lo, hi []opts.LineData
	for _, r := range curve {
		x := math.Round(r.MedianIncome)
		fit = append(fit, opts.LineData{Value: []any{x, round1(100 * r.Fitted.Value)}})
		lo = append(lo, opts.LineData{Value: []any{x, round1(100 * r.Fitted.Lo)}})
		hi = append(hi, opts.LineData{Value: []any{x, round1(100 * r.Fitted.Hi)}})
	}
	line := charts.NewLine()
	line.AddSeries("fitted", fit, charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false)}),
		charts.WithLineStyleOpts(opts.LineStyle{Width: 2, Color: referenceColour}), charts.WithItemStyleOpts(opts.ItemStyle{Color: referenceColour}))
	for _, band := range [][]opts.LineData{lo, hi} {
		line.AddSeries("95% band", band, charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false)}),
			charts.WithLineStyleOpts(opts.LineStyle{Width: 1, Type: "dashed", Color: bandColour}), charts.WithItemStyleOpts(opts.ItemStyle{Color: bandColour}))
	}
	sc.Overlap(line)
	return chartSpec{ID: id, Kind: "scatter", Option: optionOf(sc), Height: 420}
}

// concentrationChart draws the concentration curve of app requests over
// residents ranked by income, with the line of equality.
func concentrationChart(id string, curve []results.ConcentrationPoint) chartSpec {
	line := charts.NewLine()
	line.SetGlobalOptions(append(globalOpts(),
		charts.WithGridOpts(opts.Grid{Left: "50", Right: "20", Top: "40", Bottom: "50", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Min: 0, Max: 100, Name: "residents, poorest areas first (cumulative %)", NameLocation: "middle", NameGap: 30}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Min: 0, Max: 100, Name: "app requests (cumulative %)"}),
	)...)
	data := []opts.LineData{{Value: []any{0, 0}}}
	for _, r := range curve {
		data = append(data, opts.LineData{Value: []any{round1(100 * r.CumPopulation), round1(100 * r.CumApp)}})
	}
	line.AddSeries("concentration curve", data, charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false)}),
		charts.WithLineStyleOpts(opts.LineStyle{Width: 2, Color: pointColour}))
	line.AddSeries("equal use", []opts.LineData{{Value: []any{0, 0}}, {Value: []any{100, 100}}},
		charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false)}), charts.WithLineStyleOpts(opts.LineStyle{Type: "dashed", Color: "#777"}))
	return chartSpec{ID: id, Kind: "line", Option: optionOf(line), Height: 380}
}

// validator is a go-echarts chart that fills its axes before export.
type validator interface {
	Validate()
	JSON() map[string]any
}

// optionOf is a typed chart's echarts option.
func optionOf(c validator) map[string]any {
	c.Validate()
	return c.JSON()
}

// shorten cuts s to at most n characters, ending in "…".
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

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
