// Package reports writes the HTML report of an analysed period: one
// self-contained file (echarts and all data inline, nothing fetched from the
// network) that opens offline in any browser and prints, with its tables as
// CSV files beside it.
package reports

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/csv"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis"
	"github.com/equity311/equity311/store"
)

//go:embed assets/echarts.min.js
var echartsJS string

//go:embed report.html.tmpl
var pageTemplate string

// Options configure Write.
type Options struct {
	// Title heads the report.
	Title string
	// MainLayer is the layer of the headline map and ranking; "" picks the
	// layer with the fewest areas (neighborhoods rather than tracts).
	MainLayer string
	// Now stamps the report (default time.Now).
	Now func() time.Time
}

// Files are what Write produced.
type Files struct {
	HTML     string
	Areas    string // areas.csv
	Channels string // channels.csv
	Quality  string // quality.csv
}

// Write renders the report for res into dir (created if needed).
func Write(ctx context.Context, st *store.Store, res *analysis.Results, dir string, opt Options) (Files, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Title == "" {
		opt.Title = "Who reports problems through the app?"
	}
	f := Files{
		HTML:     filepath.Join(dir, "index.html"),
		Areas:    filepath.Join(dir, "areas.csv"),
		Channels: filepath.Join(dir, "channels.csv"),
		Quality:  filepath.Join(dir, "quality.csv"),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return f, err
	}
	page, err := buildPage(ctx, st, res, opt)
	if err != nil {
		return f, err
	}
	tpl, err := template.New("report").Funcs(template.FuncMap{
		"pct": pct, "num": num, "ci": ci, "rate": rate,
	}).Parse(pageTemplate)
	if err != nil {
		return f, err
	}
	var buf bytes.Buffer
	if err := tpl.Execute(&buf, page); err != nil {
		return f, fmt.Errorf("render report: %w", err)
	}
	if err := writeAtomic(f.HTML, buf.Bytes()); err != nil {
		return f, err
	}
	if err := writeCSVs(res, f); err != nil {
		return f, err
	}
	return f, nil
}

// writeAtomic writes data to path through a temporary file and a rename, so
// a reader never sees half a report.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// page is what the template renders.
type page struct {
	Title, City, Period, Generated string
	From, To                       string
	ECharts                        template.JS
	Findings                       []string
	City_                          *analysis.AreaMetrics
	MinCount                       int
	Main                           *layerView
	Others                         []*layerView
	Quality                        []qualityRow
	Charts                         []chartSpec
	Channels                       []channelRow
	PeriodBasis                    string // how the period was chosen
	Sources                        []sourceRow
}

// sourceRow is one source's resident requests by channel, for the data
// quality section: which sources the shares rest on.
type sourceRow struct {
	Source, Profile string
	RecordsApp      bool
	Resident        int64
	ByChannel       string // "app 120, phone 80, ..."
}

type layerView struct {
	Name, Title       string
	MapID, RankID     string
	Rows              []*analysis.AreaMetrics
	HasPopulation     bool
	Shown, Suppressed int
	PopulationBasis   string
	MinCount          int
}

type qualityRow struct {
	Label string
	N     int64
	Note  string
}

type channelRow struct {
	Channel  string
	N        int64
	Share    float64
	Resident string
	Meaning  string
}

// chartSpec is one chart: the echarts option (built with go-echarts), the
// polygons to register for a map, and per-item details for tooltips. It
// reaches the page as JSON escaped by html/template, so no string from the
// data can end the script.
type chartSpec struct {
	ID      string         `json:"id"`
	Kind    string         `json:"kind"` // map, rank
	MapName string         `json:"mapName,omitempty"`
	GeoJSON any            `json:"geojson,omitempty"`
	Option  map[string]any `json:"option"`
	Details []itemDetail   `json:"details"`
	Height  int            `json:"height"`
}

type itemDetail struct {
	Name     string  `json:"name"`
	Resident int64   `json:"resident"`
	App      int64   `json:"app"`
	Share    float64 `json:"share"`
	Lo       float64 `json:"lo"`
	Hi       float64 `json:"hi"`
	Low      bool    `json:"low"`
}

func buildPage(ctx context.Context, st *store.Store, res *analysis.Results, opt Options) (*page, error) {
	city := res.CityRow()
	p := &page{
		Title:     opt.Title,
		City:      city.AreaID,
		Period:    res.Period.Label,
		From:      res.Period.From.Format("2 January 2006"),
		To:        res.Period.To.Add(-time.Second).Format("2 January 2006"),
		Generated: opt.Now().Format("2 January 2006 15:04 MST"),
		ECharts:   template.JS(echartsJS),
		City_:     city,
		MinCount:  res.MinCount,
	}
	if len(res.Areas[analysis.CityLayer]) > 1 {
		var names []string
		for _, c := range res.Areas[analysis.CityLayer] {
			names = append(names, c.AreaID)
		}
		p.City = strings.Join(names, ", ")
	}
	main := opt.MainLayer
	if main != "" && !slices.Contains(res.Layers, main) {
		return nil, fmt.Errorf("report: no layer %q in the analysis; the layers are %s", main, strings.Join(res.Layers, ", "))
	}
	if main == "" {
		for _, l := range res.Layers {
			if n := len(res.Areas[l]); n > 1 && (main == "" || n < len(res.Areas[main])) {
				main = l
			}
		}
	}
	for i, l := range res.Layers {
		v := &layerView{Name: l, Title: layerTitle(l), MapID: fmt.Sprintf("map-%d", i), RankID: fmt.Sprintf("rank-%d", i), Rows: res.Areas[l], MinCount: res.MinCount}
		for _, a := range v.Rows {
			if !math.IsNaN(a.Population) {
				v.HasPopulation = true
				v.PopulationBasis = a.PopulationBasis
			}
			if a.LowCount {
				v.Suppressed++
			} else {
				v.Shown++
			}
		}
		labels := areaLabels(v.Rows)
		gj, err := layerGeoJSON(ctx, st, l, labels)
		if err != nil {
			return nil, err
		}
		p.Charts = append(p.Charts, mapChart(v, labels, gj, city))
		if l == main {
			p.Main = v
			p.Charts = append(p.Charts, rankChart(v, labels, city))
		} else {
			p.Others = append(p.Others, v)
		}
	}
	p.Findings = findings(res, p.Main)
	p.Quality = quality(res)
	total := city.Tickets
	for _, ch := range equity311.Channels() {
		n := city.Counts[ch]
		if n == 0 {
			continue
		}
		r := "no"
		if ri, ok := ch.ResidentInitiated(); !ok {
			r = "not known"
		} else if ri {
			r = "yes"
		}
		p.Channels = append(p.Channels, channelRow{Channel: string(ch), N: n, Share: float64(n) / float64(total), Resident: r, Meaning: ch.Meaning()})
	}
	p.PeriodBasis = res.PeriodBasis
	p.Sources = sourceRows(res)
	return p, nil
}

// sourceRows sums each source's resident requests by channel.
func sourceRows(res *analysis.Results) []sourceRow {
	var out []sourceRow
	idx := map[int64]int{}
	var parts [][]string
	for _, sc := range res.Sources {
		if !sc.Resident.Valid || !sc.Resident.Bool {
			continue
		}
		k, ok := idx[sc.SourceID]
		if !ok {
			k = len(out)
			idx[sc.SourceID] = k
			out = append(out, sourceRow{Source: filepath.Base(sc.Source), Profile: sc.Profile, RecordsApp: sc.RecordsApp})
			parts = append(parts, nil)
		}
		out[k].Resident += sc.N
		parts[k] = append(parts[k], fmt.Sprintf("%s %s", sc.Channel, num(sc.N)))
	}
	for k := range out {
		out[k].ByChannel = strings.Join(parts[k], ", ")
	}
	return out
}

func layerTitle(l string) string {
	if l == "" {
		return l
	}
	return strings.ToUpper(l[:1]) + l[1:]
}

// areaLabels gives each area a display label, unique within its layer.
func areaLabels(rows []*analysis.AreaMetrics) map[string]string {
	count := map[string]int{}
	for _, a := range rows {
		count[a.Name]++
	}
	out := map[string]string{}
	for _, a := range rows {
		if count[a.Name] > 1 || a.Name == "" {
			out[a.AreaID] = fmt.Sprintf("%s (%s)", a.Name, a.AreaID)
		} else {
			out[a.AreaID] = a.Name
		}
	}
	return out
}

func detail(a *analysis.AreaMetrics, label string) itemDetail {
	d := itemDetail{Name: label, Resident: a.Resident, App: a.App, Low: a.LowCount}
	if !a.LowCount && !math.IsNaN(a.AppShare.Value) {
		d.Share, d.Lo, d.Hi = round1(100*a.AppShare.Value), round1(100*a.AppShare.Lo), round1(100*a.AppShare.Hi)
	} else {
		d.Resident, d.App = -1, -1 // suppressed
	}
	return d
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// mapChart is a choropleth of app share over the layer's polygons.
func mapChart(v *layerView, labels map[string]string, gj []byte, city *analysis.AreaMetrics) chartSpec {
	m := charts.NewMap()
	m.RegisterMapType(v.MapID)
	hi := 0.0
	var data []opts.MapData
	var details []itemDetail
	for _, a := range v.Rows {
		d := detail(a, labels[a.AreaID])
		details = append(details, d)
		var val any = "-"
		if d.Resident >= 0 {
			val = d.Share
			hi = math.Max(hi, d.Share)
		}
		data = append(data, opts.MapData{Name: labels[a.AreaID], Value: val})
	}
	top := float32(math.Max(10, math.Ceil(hi/10)*10))
	m.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithVisualMapOpts(opts.VisualMap{
			Calculable: opts.Bool(true), Min: 0, Max: top, Text: []string{fmt.Sprintf("%.0f%%", top), "0%"},
			InRange: &opts.VisualMapInRange{Color: []string{"#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"}},
			Left:    "left", Bottom: "5%",
		}),
		charts.WithInitializationOpts(opts.Initialization{Renderer: "svg"}),
		charts.WithAnimation(false),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
	)
	m.AddSeries("App share of resident requests (%)", data)
	m.Validate()
	return chartSpec{ID: v.MapID, Kind: "map", MapName: v.MapID, GeoJSON: rawJSON(gj), Option: m.JSON(), Details: details, Height: 560}
}

// rankChart ranks areas by app share with their 95% intervals: an
// invisible bar up to the lower bound, a visible bar across the interval,
// and a dot at the estimate, with the citywide share as a line.
func rankChart(v *layerView, labels map[string]string, city *analysis.AreaMetrics) chartSpec {
	var rows []*analysis.AreaMetrics
	for _, a := range v.Rows {
		if !a.LowCount && !math.IsNaN(a.AppShare.Value) {
			rows = append(rows, a)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].AppShare.Value < rows[j].AppShare.Value })
	var names []string
	var base, span []opts.BarData
	var dots []opts.ScatterData
	var details []itemDetail
	hi := 0.0
	for _, a := range rows {
		d := detail(a, labels[a.AreaID])
		details = append(details, d)
		names = append(names, d.Name)
		base = append(base, opts.BarData{Value: d.Lo})
		span = append(span, opts.BarData{Value: round1(d.Hi - d.Lo)})
		dots = append(dots, opts.ScatterData{Value: d.Share, SymbolSize: 9})
		hi = math.Max(hi, d.Hi)
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0"}),
		charts.WithInitializationOpts(opts.Initialization{Renderer: "svg"}),
		charts.WithAnimation(false),
		charts.WithGridOpts(opts.Grid{Left: "190", Right: "40", Top: "50", Bottom: "40"}),
	)
	bar.SetXAxis(names)
	bar.AddSeries("lower", base, charts.WithBarChartOpts(opts.BarChart{Stack: "ci", BarWidth: "55%"}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: "transparent"}))
	bar.AddSeries("95% interval", span, charts.WithBarChartOpts(opts.BarChart{Stack: "ci"}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: "#9ecae1"}))
	sc := charts.NewScatter()
	sc.AddSeries("app share", dots, charts.WithItemStyleOpts(opts.ItemStyle{Color: "#08306b"}))
	if !math.IsNaN(city.AppShare.Value) {
		sc.SetSeriesOptions(charts.WithMarkLineNameXAxisItemOpts(opts.MarkLineNameXAxisItem{Name: "citywide", XAxis: round1(100 * city.AppShare.Value)}),
			charts.WithMarkLineStyleOpts(opts.MarkLineStyle{Symbol: []string{"none", "none"}, Label: &opts.Label{Show: opts.Bool(true), Formatter: "citywide {c}%"}}))
	}
	bar.Overlap(sc)
	bar.Validate()
	option := bar.JSON()
	// Horizontal: areas on the y axis, shares on the x axis.
	option["yAxis"] = []any{map[string]any{"type": "category", "data": names, "axisLabel": map[string]any{"interval": 0}}}
	option["xAxis"] = []any{map[string]any{"type": "value", "min": 0, "max": math.Max(10, math.Ceil(hi/10)*10),
		"name": "% of resident requests made in the app", "nameLocation": "middle", "nameGap": 25}}
	return chartSpec{ID: v.RankID, Kind: "rank", Option: option, Details: details, Height: 100 + 22*len(rows)}
}

// rawJSON keeps pre-encoded JSON as it is inside the chart spec.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// findings are the plain-language key findings, computed from the numbers.
func findings(res *analysis.Results, main *layerView) []string {
	c := res.CityRow()
	var out []string
	if c.Resident == 0 {
		return []string{"No resident-initiated requests were recorded in this period."}
	}
	if c.ShareBase == 0 {
		out = append(out, fmt.Sprintf("None of the %s resident requests came from a source that can record the app, so no app share can be given.", num(c.Resident)))
	} else {
		out = append(out, fmt.Sprintf("Across the city, %s of resident requests (%s of %s) came through the smartphone app (95%% interval %s); %s came through the app or the web.",
			pct(c.AppShare.Value), num(c.App), num(c.ShareBase), ci(c.AppShare), pct(c.DigitalShare.Value)))
	}
	if left := c.Resident - c.ShareBase; left > 0 {
		out = append(out, fmt.Sprintf("%s resident requests came from sources whose records cannot tell app requests from others (see Data quality); they count in the rates but not in the app and digital shares.",
			num(left)))
	}
	if main != nil {
		var shown []*analysis.AreaMetrics
		for _, a := range main.Rows {
			if !a.LowCount && !math.IsNaN(a.AppShare.Value) {
				shown = append(shown, a)
			}
		}
		if len(shown) >= 2 {
			sort.SliceStable(shown, func(i, j int) bool { return shown[i].AppShare.Value > shown[j].AppShare.Value })
			hi, lo := shown[0], shown[len(shown)-1]
			out = append(out, fmt.Sprintf("Among %d %s with at least %d resident requests, app share ranged from %s in %s (%s) to %s in %s (%s).",
				len(shown), strings.ToLower(main.Title), res.MinCount, pct(hi.AppShare.Value), hi.Name, ci(hi.AppShare), pct(lo.AppShare.Value), lo.Name, ci(lo.AppShare)))
			above, below := 0, 0
			for _, a := range shown {
				switch {
				case a.AppShare.Lo > c.AppShare.Value:
					above++
				case a.AppShare.Hi < c.AppShare.Value:
					below++
				}
			}
			out = append(out, fmt.Sprintf("%d of them use the app clearly more than the city as a whole (the whole 95%% interval lies above the citywide share) and %d clearly less.", above, below))
		}
		if main.Suppressed > 0 {
			out = append(out, fmt.Sprintf("%d of the %d %s had fewer than %d resident requests; their figures are not shown.", main.Suppressed, len(main.Rows), strings.ToLower(main.Title), res.MinCount))
		}
	}
	if !math.IsNaN(c.ResidentPer1000.Value) {
		out = append(out, fmt.Sprintf("Residents made %s requests per 1,000 residents a year, %s of them through the app.",
			rate(c.ResidentPer1000.Value), rate(c.AppPer1000.Value)))
	}
	q := res.Quality
	unplaced := q["geo:missing"] + q["geo:default_point"] + q["geo:outside"] + q["geo:invalid"] + q["geo:unassigned"]
	if unplaced > 0 {
		out = append(out, fmt.Sprintf("%s of %s requests (%s) could not be placed in an area (no coordinates, a placeholder point, or outside the boundaries); they count in the citywide figures only.",
			num(unplaced), num(q["tickets"]), pct(float64(unplaced)/float64(max(1, q["tickets"])))))
	}
	if u := q["channel:unknown"]; u > 0 {
		out = append(out, fmt.Sprintf("%s requests (%s) have no known channel and are left out of the shares.", num(u), pct(float64(u)/float64(max(1, q["tickets"])))))
	}
	out = append(out, "App share also reflects which problems an area reports: the app offers only some request types, so compare it with care across areas whose problems differ.")
	return out
}

func quality(res *analysis.Results) []qualityRow {
	q := res.Quality
	rows := []qualityRow{
		{"Rows read from dumps and feeds (all loads)", q["load:rows_read"], ""},
		{"Rows loaded", q["load:rows_loaded"], ""},
		{"Rows rejected (bad dates, ids, coordinates, encoding)", q["load:rows_rejected"], "listed in the rejects table with line and reason"},
		{"Rows superseded by a newer version of the same request", q["load:rows_superseded"], ""},
		{"Rows excluded as not service requests", q["load:rows_excluded"], ""},
		{"Requests in this period", q["tickets"], ""},
		{"… placed in an area", q["geo:ok"], ""},
		{"… without coordinates", q["geo:missing"], ""},
		{"… on a placeholder point (e.g. City Hall)", q["geo:default_point"], ""},
		{"… outside every boundary", q["geo:outside"], ""},
		{"… with invalid coordinates", q["geo:invalid"], ""},
		{"… not yet placed (assign not run)", q["geo:unassigned"], ""},
		{"… with no known channel", q["channel:unknown"], fmt.Sprintf("%d of them carry a channel value no profile maps", q["channel:unknown_unmapped"])},
		{"… with the channel inferred from the Open311 feed", q["channel_basis:open311"], ""},
	}
	return rows
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return strconv.FormatFloat(100*v, 'f', 1, 64) + "%"
}

func ci(e analysis.Estimate) string {
	if math.IsNaN(e.Lo) {
		return "—"
	}
	return strconv.FormatFloat(100*e.Lo, 'f', 1, 64) + "–" + strconv.FormatFloat(100*e.Hi, 'f', 1, 64) + "%"
}

func rate(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// num formats a count with thousands separators.
func num(v any) string {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case int:
		n = int64(x)
	case float64:
		if math.IsNaN(x) {
			return "—"
		}
		n = int64(math.Round(x))
	}
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// SpreadsheetSafe keeps a text cell from being read as a formula by a
// spreadsheet: a value that begins with =, +, @, a tab or a carriage
// return, or with - not followed by a number, gets a leading apostrophe
// (as OWASP advises against CSV injection). Numbers are left alone.
func SpreadsheetSafe(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '@', '\t', '\r':
		return "'" + v
	case '-':
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return "'" + v
		}
	}
	return v
}

// writeCSVs writes the report's tables. Areas under the minimum count keep
// their row with counts and shares blank, as in the report.
func writeCSVs(res *analysis.Results, f Files) error {
	fl := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 10, 64)
	}
	var areas [][]string
	areas = append(areas, []string{"period", "layer", "area_id", "name", "population", "population_basis", "tickets", "resident", "app", "digital",
		"app_share", "app_share_lo", "app_share_hi", "digital_share", "digital_share_lo", "digital_share_hi",
		"resident_per_1000", "resident_per_1000_lo", "resident_per_1000_hi", "app_per_1000", "app_per_1000_lo", "app_per_1000_hi", "suppressed"})
	var channels [][]string
	channels = append(channels, []string{"period", "layer", "area_id", "channel", "n"})
	layers := append([]string{analysis.CityLayer}, res.Layers...)
	for _, l := range layers {
		for _, a := range res.Areas[l] {
			if a.LowCount {
				areas = append(areas, []string{res.Period.Label, a.Layer, a.AreaID, a.Name, fl(a.Population), a.PopulationBasis,
					"", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "true"})
				continue
			}
			areas = append(areas, []string{res.Period.Label, a.Layer, a.AreaID, a.Name, fl(a.Population), a.PopulationBasis,
				strconv.FormatInt(a.Tickets, 10), strconv.FormatInt(a.Resident, 10), strconv.FormatInt(a.App, 10), strconv.FormatInt(a.Digital, 10),
				fl(a.AppShare.Value), fl(a.AppShare.Lo), fl(a.AppShare.Hi), fl(a.DigitalShare.Value), fl(a.DigitalShare.Lo), fl(a.DigitalShare.Hi),
				fl(a.ResidentPer1000.Value), fl(a.ResidentPer1000.Lo), fl(a.ResidentPer1000.Hi), fl(a.AppPer1000.Value), fl(a.AppPer1000.Lo), fl(a.AppPer1000.Hi), "false"})
			for _, ch := range equity311.Channels() {
				if n := a.Counts[ch]; n > 0 {
					channels = append(channels, []string{res.Period.Label, a.Layer, a.AreaID, string(ch), strconv.FormatInt(n, 10)})
				}
			}
		}
	}
	var q [][]string
	q = append(q, []string{"period", "item", "n"})
	keys := make([]string, 0, len(res.Quality))
	for k := range res.Quality {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q = append(q, []string{res.Period.Label, k, strconv.FormatInt(res.Quality[k], 10)})
	}
	for path, rows := range map[string][][]string{f.Areas: areas, f.Channels: channels, f.Quality: q} {
		for _, r := range rows {
			for i := range r {
				r[i] = SpreadsheetSafe(r[i])
			}
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		if err := w.WriteAll(rows); err != nil {
			return err
		}
		if err := writeAtomic(path, buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}
