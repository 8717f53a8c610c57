package reports

import (
	"cmp"
	"fmt"
	"html/template"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
)

// tableView is a table as the page shows it (and as a screen reader or a
// printer reads a chart): a caption, headings and formatted cells.
type tableView struct {
	ID, Caption, Note string
	Empty             string // shown instead of a table without rows: why it has none
	Head              []string
	Rows              [][]string
	Muted             []bool // rows shown greyed (too few requests)
	Tall              bool   // scroll inside a box on screen; printed whole
}

// MutedRows counts the rows shown greyed.
func (t tableView) MutedRows() int {
	n := 0
	for _, m := range t.Muted {
		if m {
			n++
		}
	}
	return n
}

func (t *tableView) add(muted bool, cells ...string) {
	t.Rows = append(t.Rows, cells)
	t.Muted = append(t.Muted, muted)
}

// Numeric reports whether column i holds figures (right-aligned, kept on
// one line) rather than words: every non-empty cell starts like a number.
func (t tableView) Numeric(i int) bool {
	seen := false
	for _, r := range t.Rows {
		if i >= len(r) || r[i] == "" || r[i] == "—" {
			continue
		}
		seen = true
		c := r[i][0]
		if !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '$' && c != '<' && !strings.HasPrefix(r[i], "−") {
			return false
		}
	}
	return seen
}

// layerView is one layer's areas with their display labels.
type layerView struct {
	Name, Title, MapID string
	Labels             map[string]string
	Rows               []*results.AreaMetrics
	Table              tableView
	Shown, Suppressed  int
	PopulationBasis    string
}

// groupView is one grouping's chart and table.
type groupView struct {
	Title, Caption, ChartID string
	Table                   tableView
}

// page is what the template renders.
type page struct {
	Kind, Title, City, Period, From, To, PeriodBasis string
	Version, Generated                               string
	ECharts, Notice, License                         template.JS
	MinCount                                         int
	Warnings                                         []string // what the data cannot tell, with the mend
	Findings                                         []string
	WhoLayer, AreaNoun                               string
	Below                                            string
	Associations                                     []string
	Groups                                           []groupView
	Layers                                           []*layerView
	Main                                             *layerView
	RankID                                           string
	IncomeChart, IncomeCaption                       string
	Week                                             *weekView
	Outcomes                                         tableView
	OutcomesChart                                    string
	Quality, Rejects, Unmapped, Sources, Channels    tableView
	Research                                         *researchView
	Provenance                                       tableView
	CSVs                                             []string
	Charts                                           []chartSpec
}

// weekView is the "this week" section.
type weekView struct {
	Week, ChartID, Caption, Summary string
	Changes                         tableView
}

// researchView holds what only the research report shows.
type researchView struct {
	Types                        tableView
	Models                       []tableView
	Fits                         tableView
	Spatial                      tableView
	ResidualMap, ResidualCaption string
	Concentration                tableView
	ConcentrationChart           string
	Shrinkage                    tableView
	Sensitivity                  tableView
	Correlations                 tableView
	Reporting                    *reportingView
}

// dataWarnings are what the results themselves show they cannot tell: a
// layer without census figures, a last week only partly in the period.
func dataWarnings(res *results.Analysis) []string {
	var out []string
	withCensus := map[string]bool{}
	for _, d := range res.Demographics {
		withCensus[d.Layer] = true
	}
	if len(withCensus) > 0 {
		for _, l := range res.Layers {
			if !withCensus[l] {
				out = append(out, fmt.Sprintf("The layer %s has no census figures, so who uses the app is told on %s only there. Load a census table for it (equity311 ingest census --layer %s FILE), then run analyze and report again.",
					l, strings.Join(slices.Sorted(maps.Keys(withCensus)), " and "), l))
			}
		}
	}
	if from := res.Period.From; !from.IsZero() && from.Weekday() != time.Monday {
		out = append(out, fmt.Sprintf("The period starts on a %s: its first week is only partly in it (%d of 7 days).", from.Format("Monday"), 7-(int(from.Weekday())+6)%7))
	}
	if to := res.Period.To; !to.IsZero() {
		if days := (int(to.Weekday()) + 6) % 7; days != 0 {
			out = append(out, fmt.Sprintf("The period ends on a %s: its last week is only partly in it (%d of 7 days), so that week's figures rest on fewer days than the others. Ask for whole weeks (report --week YYYY-Www, or --from and --to on Mondays).",
				to.Add(-time.Second).Format("Monday"), days))
		}
	}
	return out
}

// build makes the page for one city's results.
func build(res *results.Analysis, opt Options) (*page, error) {
	city := res.CityRow()
	p := &page{
		Kind: opt.Kind, Title: opt.Title, City: cityTitle(res.City), Period: res.Period.Label, PeriodBasis: res.PeriodBasis,
		From: res.Period.From.Format("2 January 2006"), To: res.Period.To.Add(-time.Second).Format("2 January 2006"),
		Version: equity311.Version, ECharts: template.JS(echartsJS), Notice: template.JS(echartsNotice), License: template.JS(echartsLicense),
		MinCount: res.MinCount,
	}
	if !opt.Generated.IsZero() {
		p.Generated = opt.Generated.Format("2 January 2006 15:04 MST")
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
	parents := res.Parents[main]
	for i, l := range res.Layers {
		v := &layerView{Name: l, Title: layerTitle(l), MapID: fmt.Sprintf("map-%d", i), Rows: res.Areas[l]}
		v.Labels = areaLabels(v.Rows, parents[l])
		for _, a := range v.Rows {
			if a.LowCount {
				v.Suppressed++
			} else {
				v.Shown++
			}
			if v.PopulationBasis == "" && a.PopulationBasis != "" {
				v.PopulationBasis = a.PopulationBasis
			}
		}
		v.Table = areaTable(v, res.MinCount)
		gj, err := layerGeoJSON(res.Shapes[l], v.Labels)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", l, err)
		}
		p.Charts = append(p.Charts, mapChart(v.MapID, v, gj, res.MinCount, city))
		p.Layers = append(p.Layers, v)
		if l == main {
			p.Main = v
		}
	}
	if p.Main != nil {
		p.RankID = "chart-rank"
		p.Charts = append(p.Charts, rankChart(p.RankID, p.Main, city))
	}
	p.WhoLayer = whoLayer(res, main)
	p.AreaNoun = layerNoun(p.WhoLayer)
	p.groups(res)
	p.below(res, city)
	p.associations(res)
	p.income(res)
	p.week(res, main)
	p.outcomes(res)
	p.quality(res)
	p.findings(res, city)
	p.Warnings = append(slices.Clone(opt.Warnings), dataWarnings(res)...)
	if opt.Kind == KindResearch {
		if err := p.research(res); err != nil {
			return nil, err
		}
	}
	p.provenance(res, opt)
	return p, nil
}

// whoLayer is the layer whose areas the "who" comparisons group: the
// layer with the most areas in income groups (census tracts, where the
// demographics are published, rather than neighborhoods, whose averages
// blur them), the main layer on a tie.
func whoLayer(res *results.Analysis, main string) string {
	count := map[string]int{}
	for _, r := range res.Groups {
		if r.Grouping == "income_quintile" {
			count[r.Layer] += int(r.Areas)
		}
	}
	best := main
	for _, l := range res.Layers {
		if count[l] > count[best] {
			best = l
		}
	}
	return best
}

// areaLabels gives each area a display label, unique within its layer:
// its name, or for areas named by a bare id (census tracts) "Tract
// 010300 (Fenway)" with the main-layer area it lies in.
func areaLabels(rows []*results.AreaMetrics, parent map[string]string) map[string]string {
	count := map[string]int{}
	for _, a := range rows {
		count[a.Name]++
	}
	out := map[string]string{}
	for _, a := range rows {
		name := a.Name
		if name == a.AreaID && parent[a.AreaID] != "" {
			short := a.AreaID
			if len(short) == 11 && strings.Trim(short, "0123456789") == "" {
				short = "Tract " + short[5:]
			}
			name = fmt.Sprintf("%s (%s)", short, parent[a.AreaID])
		} else if count[a.Name] > 1 || a.Name == "" {
			name = fmt.Sprintf("%s (%s)", a.Name, a.AreaID)
		}
		out[a.AreaID] = name
	}
	return out
}

func areaTable(v *layerView, minCount int) tableView {
	t := tableView{ID: "table-" + v.Name, Caption: fmt.Sprintf("%s: app use, with 95%% intervals", v.Title), Tall: len(v.Rows) > 30,
		// The key figures first, so that a phone shows them beside the pinned area name.
		Head: []string{"Area", "App share", "Type-standardized app use (× city)", "Resident requests", "App", "Population", "Resident requests per 1,000 a year"}}
	for _, a := range v.Rows {
		label := v.Labels[a.AreaID]
		pop := "no figure"
		if !math.IsNaN(a.Population) {
			pop = num(a.Population)
		}
		if a.LowCount {
			t.add(true, label, "too few requests", "—", fmt.Sprintf("fewer than %d", minCount), "—", pop, "—") // no rate from too few requests
			continue
		}
		t.add(false, label, shareWithCI(a.AppShare), ratioWithCI(a.StdAppRatio), num(a.Resident), num(a.App), pop, rateWithCI(a.ResidentPer1000))
	}
	return t
}

// rankChart ranks the main layer's areas by app share.
func rankChart(id string, v *layerView, city *results.AreaMetrics) chartSpec {
	var items []intervalItem
	for _, a := range v.Rows {
		if a.LowCount || math.IsNaN(a.AppShare.Value) {
			continue
		}
		items = append(items, intervalItem{Label: v.Labels[a.AreaID], Est: 100 * a.AppShare.Value, Lo: 100 * a.AppShare.Lo, Hi: 100 * a.AppShare.Hi,
			Tip: fmt.Sprintf("%s\napp share %s (95%% interval %s)", v.Labels[a.AreaID], pct(a.AppShare.Value), ci(a.AppShare))})
	}
	slices.SortStableFunc(items, func(a, b intervalItem) int { return cmp.Compare(b.Est, a.Est) })
	return intervalChart(id, items, 100*city.AppShare.Value, "citywide "+pct(city.AppShare.Value), "% of resident requests made in the app")
}

// groups makes a chart and a table per grouping of the who layer.
func (p *page) groups(res *results.Analysis) {
	city := res.CityRow()
	byGrouping := map[string][]results.Group{}
	for _, r := range res.Groups {
		if r.Layer == p.WhoLayer {
			byGrouping[r.Grouping] = append(byGrouping[r.Grouping], r)
		}
	}
	var groupItems [][]intervalItem // per p.Groups entry
	for i, g := range results.Groupings() {
		rows := byGrouping[g.Name]
		if len(rows) == 0 {
			continue
		}
		slices.SortStableFunc(rows, func(a, b results.Group) int { return cmp.Compare(a.Rank, b.Rank) })
		gv := groupView{Title: "By " + g.Label, ChartID: fmt.Sprintf("group-%d", i),
			Caption: fmt.Sprintf("App share of resident requests in %s grouped by %s, with 95%% intervals; the line is the citywide share.", p.AreaNoun, g.Label)}
		gv.Table = tableView{ID: "table-group-" + g.Name, Caption: fmt.Sprintf("%s grouped by %s: the numbers", capitalize(p.AreaNoun), g.Label),
			Head: []string{"Group", "App share", "Type-standardized app use (× city)", "Areas", "Residents", "Range", "Requests"}}
		var items []intervalItem
		for _, r := range rows {
			label := groupLabel(g.Name, r.Label)
			rng := ""
			if g.Variable == "median_income" {
				rng = money(r.BoundLo) + "–" + money(r.BoundHi)
			} else if g.Variable != "" {
				rng = pct0(r.BoundLo) + "–" + pct0(r.BoundHi)
			}
			s := r.AppShare
			if r.LowCount {
				gv.Table.add(true, label, "too few requests", "—", num(r.Areas), num(r.Population), rng, num(r.ShareBase))
				continue
			}
			gv.Table.add(false, label, shareWithCI(s), ratioWithCI(r.StdAppRatio), num(r.Areas), num(r.Population), rng, num(r.ShareBase))
			items = append(items, intervalItem{Label: label, Est: 100 * s.Value, Lo: 100 * s.Lo, Hi: 100 * s.Hi,
				Tip: fmt.Sprintf("%s\napp share %s (95%% interval %s)\n%s areas", label, pct(s.Value), ci(s), num(r.Areas))})
		}
		if len(items) == 0 {
			gv.ChartID = ""
		}
		p.Groups = append(p.Groups, gv)
		groupItems = append(groupItems, items)
	}
	// Every grouping's chart on one scale, so that gaps compare by eye.
	top := 0.0
	for _, items := range groupItems {
		for _, it := range items {
			top = math.Max(top, it.Hi)
		}
	}
	for i, gv := range p.Groups {
		if gv.ChartID != "" {
			p.Charts = append(p.Charts, intervalChartTo(gv.ChartID, groupItems[i], 100*city.AppShare.Value, "citywide", "% of resident requests made in the app", top))
		}
	}
}

// below names the main layer's areas whose whole interval lies below the
// citywide share.
func (p *page) below(res *results.Analysis, city *results.AreaMetrics) {
	if p.Main == nil || math.IsNaN(city.AppShare.Value) {
		return
	}
	var low []*results.AreaMetrics
	for _, a := range p.Main.Rows {
		if !a.LowCount && a.Below {
			low = append(low, a)
		}
	}
	slices.SortStableFunc(low, func(a, b *results.AreaMetrics) int { return cmp.Compare(a.StdAppRatio.Value, b.StdAppRatio.Value) })
	var names []string
	for i, a := range low {
		if i == 8 {
			names = append(names, plural(len(low)-8, "more"))
			break
		}
		names = append(names, fmt.Sprintf("%s (%s × the city's)", p.Main.Labels[a.AreaID], dec(a.StdAppRatio.Value, 2)))
	}
	noun := strings.ToLower(p.Main.Title)
	if len(names) == 0 {
		p.Below = fmt.Sprintf("No %s uses the app clearly less than the city for the same kinds of requests.", strings.TrimSuffix(noun, "s"))
		return
	}
	p.Below = fmt.Sprintf("For the same kinds of requests, app use is clearly below the city's in %s (allowing for how much areas vary, and for testing every area).", listAnd(names))
}

// associations says which demographics go with lower app use: rank
// correlations across the who layer's areas that are clear (p < 0.05) and
// not small (|r| ≥ 0.2), strongest first.
func (p *page) associations(res *results.Analysis) {
	var rs []results.Association
	for _, r := range res.Correlations {
		if r.Layer == p.WhoLayer && r.Method == "spearman" && r.Q < 0.05 && math.Abs(r.R) >= 0.2 {
			rs = append(rs, r)
		}
	}
	slices.SortStableFunc(rs, func(a, b results.Association) int { return cmp.Compare(math.Abs(b.R), math.Abs(a.R)) })
	for i, r := range rs {
		if i == 4 {
			break
		}
		dir := "more"
		if r.R < 0 {
			dir = "less"
		}
		p.Associations = append(p.Associations, fmt.Sprintf("%s with %s use the app %s (Spearman r = %s, 95%% interval %s to %s, across %d %s).",
			capitalize(p.AreaNoun), variableWords(r.Variable), dir, dec(r.R, 2), dec(r.Lo, 2), dec(r.Hi, 2), r.N, p.AreaNoun))
	}
}

// income is the scatter of app share against median income.
func (p *page) income(res *results.Analysis) {
	var curve []results.IncomePoint
	for _, r := range res.IncomeCurve {
		if r.Layer == p.WhoLayer {
			curve = append(curve, r)
		}
	}
	if len(curve) == 0 {
		return
	}
	income := map[string]float64{}
	for _, r := range res.Demographics {
		if r.Layer == p.WhoLayer && r.Variable == "median_income" {
			income[r.AreaID] = r.Estimate
		}
	}
	var labels map[string]string
	for _, v := range p.Layers {
		if v.Name == p.WhoLayer {
			labels = v.Labels
		}
	}
	var pts []scatterPoint
	for _, a := range res.Areas[p.WhoLayer] {
		x, ok := income[a.AreaID]
		if !ok || a.LowCount || math.IsNaN(a.AppShare.Value) {
			continue
		}
		pts = append(pts, scatterPoint{Name: labels[a.AreaID], X: x, Y: 100 * a.AppShare.Value, Size: float64(a.ShareBase),
			Tip: fmt.Sprintf("%s\nmedian income %s\napp share %s of %s requests", labels[a.AreaID], money(x), pct(a.AppShare.Value), num(a.ShareBase))})
	}
	p.IncomeChart = "chart-income"
	p.IncomeCaption = fmt.Sprintf("App share against median household income, one dot per area of %s sized by its requests; the curve is a logistic fit of app share on log income with its 95%% band.", p.AreaNoun)
	p.Charts = append(p.Charts, incomeScatter(p.IncomeChart, pts, curve))
}

// week is this week against the trailing weeks, by income quintile, and
// the areas whose last week changed beyond chance.
func (p *page) week(res *results.Analysis, main string) {
	series := map[string][]float64{}
	weekIdx := map[string]int{}
	var weeks []string
	for _, r := range res.Trends {
		if r.Channel != equity311.App {
			continue
		}
		w := r.Week
		if _, ok := weekIdx[w]; !ok {
			weekIdx[w] = len(weeks)
			weeks = append(weeks, w)
		}
	}
	if len(weeks) < 2 {
		return
	}
	slices.Sort(weeks)
	for i, w := range weeks {
		weekIdx[w] = i
	}
	var order []string
	rank := map[string]string{"citywide": ""} // series name → sort key: citywide first, then Q1..Q5
	for _, r := range res.Trends {
		if r.Channel != equity311.App {
			continue
		}
		name := "citywide"
		if r.Grouping == "income_quintile" {
			name = groupLabel("income_quintile", r.Label)
			rank[name] = r.Label
		}
		if series[name] == nil {
			series[name] = make([]float64, len(weeks))
			for i := range series[name] {
				series[name][i] = math.NaN()
			}
			order = append(order, name)
		}
		if r.Total >= int64(p.MinCount) {
			series[name][weekIdx[r.Week]] = 100 * r.Share.Value
		}
	}
	slices.SortStableFunc(order, func(a, b string) int { return strings.Compare(rank[a], rank[b]) })
	starts := map[string]time.Time{}
	for _, r := range res.Trends {
		starts[r.Week] = r.WeekStart.In(res.Period.From.Location())
	}
	var axis []string
	for _, wk := range weeks {
		axis = append(axis, starts[wk].Format("2 Jan"))
	}
	w := &weekView{Week: weekDates(starts[weeks[len(weeks)-1]]), ChartID: "chart-trend"}
	w.Caption = "Weekly app share of resident requests, citywide and by income fifth of areas, by the week's Monday (weeks with fewer than " + fmt.Sprint(p.MinCount) + " requests left blank)."
	p.Charts = append(p.Charts, lineChart(w.ChartID, axis, series, order, "app share (%)"))
	w.Changes = tableView{ID: "table-changes", Caption: "Areas whose app share in the last week differs from their earlier weeks beyond chance (controlled for testing every area: Benjamini–Hochberg at 5%)",
		Head: []string{"Layer", "Area", "Last week", "Earlier weeks", "Difference (95% interval)", "Adjusted p"}}
	flagged, flaggedMain := 0, 0
	var names []string
	labels := map[string]map[string]string{}
	for _, v := range p.Layers {
		labels[v.Name] = v.Labels
	}
	for _, r := range res.Changes {
		if !r.Flagged {
			continue
		}
		flagged++
		label := labels[r.Layer][r.AreaID]
		d := r.Difference
		w.Changes.add(false, layerTitle(r.Layer), label, fmt.Sprintf("%s of %s", pct(r.WeekShare), num(r.WeekBase)),
			fmt.Sprintf("%s of %s (%d weeks)", pct(r.TrailShare), num(r.TrailBase), r.BaseWeeks),
			fmt.Sprintf("%s points (%s to %s)", points(d.Value), points(d.Lo), points(d.Hi)), dec(r.Q, 3))
		if r.Layer == main {
			flaggedMain++
			dir := "up"
			if d.Value < 0 {
				dir = "down"
			}
			names = append(names, fmt.Sprintf("%s (%s %s)", label, dir, pointsWord(d.Value)))
		}
	}
	lw := res.LastWeek()
	last, trail, n := 100*lw.Share, 100*lw.TrailMean, lw.TrailWeeks
	switch {
	case math.IsNaN(last):
		w.Summary = fmt.Sprintf("In the week of %s, the last of the period, fewer than %d resident requests came from sources that record the app: too few for a weekly share.", w.Week, p.MinCount)
	case n == 0:
		w.Summary = fmt.Sprintf("In the week of %s, %s of resident requests came through the app; no earlier week of the period had enough requests to compare it with.", w.Week, pctPoints(last))
	default:
		w.Summary = fmt.Sprintf("In the week of %s, %s of resident requests came through the app, against an average of %s a week over the %s with enough requests before it.",
			w.Week, pctPoints(last), pctPoints(trail), plural(n, "earlier week"))
	}
	noun := strings.ToLower(layerTitle(main))
	switch {
	case flagged == 0:
		w.Summary += " No area's app share changed beyond chance."
	case len(names) > 0 && flaggedMain == flagged:
		w.Summary += fmt.Sprintf(" App use changed beyond chance in %s: %s.", plural(flagged, strings.TrimSuffix(noun, "s")), listAnd(names))
	case len(names) > 0:
		w.Summary += fmt.Sprintf(" App use changed beyond chance in %s, among them %s: %s (the others in the table below).", plural(flagged, "area"), plural(flaggedMain, strings.TrimSuffix(noun, "s")), listAnd(names))
	default:
		w.Summary += fmt.Sprintf(" App use changed beyond chance in %s (see the table below).", plural(flagged, "area"))
	}
	p.Week = w
}

// pctPoints formats a percentage already in points.
func pctPoints(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return dec(v, 1) + "%"
}

// outcomes is the citywide table (and chart) of days to close by channel.
func (p *page) outcomes(res *results.Analysis) {
	p.Outcomes = tableView{ID: "table-outcomes", Caption: "How fast resident requests close, by channel (citywide)",
		Head: []string{"Channel", "Requests", "Closed", "Median days to close", "90th percentile", "Days vs the usual for their types (× median)", "On time", "On time expected from the types"},
		Note: "Days vs the usual: the median over the channel's closed requests of each one's days to close divided by the citywide median for its type; under 1 means faster than usual for the same types. On time: closed by the target date, among requests that have one and are closed or past it."}
	var items []intervalItem
	for _, r := range res.Outcomes {
		if r.Layer != results.CityLayer {
			continue
		}
		ch := string(r.Channel)
		ratio := r.DaysRatio
		onTime := "—"
		if r.WithTarget > 0 {
			onTime = shareWithCI(r.OnTimeRate)
		}
		p.Outcomes.add(r.LowCount, ch, num(r.Requests), num(r.Closed), dec(r.MedianDays, 1), dec(r.P90Days, 1),
			ratioWithCI(ratio), onTime, pct(r.ExpectedOnTimeRate))
		if !r.LowCount && !math.IsNaN(ratio.Value) {
			items = append(items, intervalItem{Label: ch, Est: ratio.Value, Lo: ratio.Lo, Hi: ratio.Hi,
				Tip: fmt.Sprintf("%s\n%s × the usual days to close for its types", ch, ratioWithCI(ratio))})
		}
	}
	if len(items) > 0 {
		p.OutcomesChart = "chart-outcomes"
		p.Charts = append(p.Charts, intervalChart(p.OutcomesChart, items, 1, "usual for the types", "days to close × the usual for the same types"))
	}
}

// quality makes the data-quality, sources and channel tables.
func (p *page) quality(res *results.Analysis) {
	q := res.Quality
	p.Quality = tableView{ID: "table-quality", Caption: "Data quality", Head: []string{"Item", "Count", "Note"}}
	for _, r := range []struct {
		label, key, note string
	}{
		{"Rows read from dumps and feeds (all loads)", "load:rows_read", ""},
		{"Rows loaded", "load:rows_loaded", ""},
		{"Rows rejected", "load:rows_rejected", "each in the rejects table with its line and reason; by reason below"},
		{"Rows superseded by a more recent version of the same request", "load:rows_superseded", ""},
		{"Rows excluded as not service requests", "load:rows_excluded", ""},
		{"Requests in this period", "tickets", ""},
		{"… placed in an area", "geo:ok", ""},
		{"… without coordinates", "geo:missing", "counted citywide, in no area"},
		{"… on a placeholder point (such as City Hall)", "geo:default_point", "counted citywide, in no area"},
		{"… outside every boundary", "geo:outside", ""},
		{"… with invalid coordinates", "geo:invalid", ""},
		{"… not yet placed (assign not run)", "geo:unassigned", ""},
		{"… with no known channel", "channel:unknown", fmt.Sprintf("%s of them carry a channel value no profile maps", num(q["channel:unknown_unmapped"]))},
		{"… with the channel inferred from the Open311 feed", "channel_basis:open311", ""},
	} {
		p.Quality.add(false, r.label, num(q[r.key]), r.note)
	}
	p.Rejects = countsTable(q, "reject:", 15, tableView{ID: "table-rejects", Caption: "Rejected rows by reason (every load of the city)", Head: []string{"Reason", "Rows"}})
	p.Unmapped = countsTable(q, "unmapped:", 20, tableView{ID: "table-unmapped", Caption: "Channel values no profile maps (counted as unknown; the 20 commonest)", Head: []string{"Value in the data", "Requests"}})
	p.Sources = tableView{ID: "table-sources", Caption: "Resident requests by source: app and digital shares use only the sources whose records can tell an app request from others",
		Head: []string{"Source", "Profile", "Records the app", "Resident requests", "By channel"}}
	type srcRow struct {
		name, profile string
		app           bool
		n             int64
		parts         []string
	}
	var srcs []*srcRow
	idx := map[int64]*srcRow{}
	for _, sc := range res.Sources {
		if sc.Resident == nil || !*sc.Resident {
			continue
		}
		s := idx[sc.SourceID]
		if s == nil {
			s = &srcRow{name: filepath.Base(sc.Source), profile: sc.Profile, app: sc.RecordsApp}
			idx[sc.SourceID] = s
			srcs = append(srcs, s)
		}
		s.n += sc.N
		s.parts = append(s.parts, fmt.Sprintf("%s %s", sc.Channel, num(sc.N)))
	}
	for _, s := range srcs {
		rec := "yes"
		if !s.app {
			rec = "no: left out of the shares"
		}
		p.Sources.add(false, s.name, s.profile, rec, num(s.n), strings.Join(s.parts, ", "))
	}
	city := res.CityRow()
	p.Channels = tableView{ID: "table-channels", Caption: "All requests by channel, and what each channel word means",
		Head: []string{"Channel", "Requests", "Share of all", "Resident-initiated", "Means"}}
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
		p.Channels.add(false, string(ch), num(n), pct(float64(n)/float64(max(1, city.Tickets))), r, ch.Meaning())
	}
}

// countsTable fills t with the quality items under prefix, commonest
// first, at most limit of them.
func countsTable(q map[string]int64, prefix string, limit int, t tableView) tableView {
	var keys []string
	for k := range q {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.SortStableFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(q[b], q[a]), strings.Compare(a, b)) })
	for i, k := range keys {
		if i == limit {
			break
		}
		t.add(false, strings.TrimPrefix(k, prefix), num(q[k]))
	}
	return t
}

// provenance lists what the report is made from.
func (p *page) provenance(res *results.Analysis, opt Options) {
	p.Provenance = tableView{ID: "table-provenance", Caption: "Provenance", Head: []string{"Item", "Value"}}
	p.Provenance.add(false, "City", res.City)
	p.Provenance.add(false, "Period", fmt.Sprintf("%s: %s to %s (%s)", res.Period.Label, p.From, p.To, res.PeriodBasis))
	p.Provenance.add(false, "Minimum count", fmt.Sprintf("%d resident requests (from sources that record the app) for a share to be shown", res.MinCount))
	p.Provenance.add(false, "Permutation seed", fmt.Sprint(res.Seed))
	p.Provenance.add(false, "Report", fmt.Sprintf("%s report, equity311 %s", opt.Kind, equity311.Version))
	if p.Generated != "" {
		p.Provenance.add(false, "Made", p.Generated)
	}
	seen := map[string]bool{}
	for _, sc := range res.Sources {
		if !seen[sc.Source] {
			seen[sc.Source] = true
			p.Provenance.add(false, "Source", filepath.Base(sc.Source)+" ("+sc.Profile+")")
		}
	}
}

// capitalize upper-cases the first letter of s.
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// weekDates names a week by its dates: "16–22 November 2026", or
// "30 November – 6 December 2026" across months.
func weekDates(monday time.Time) string {
	sunday := monday.AddDate(0, 0, 6)
	switch {
	case monday.Year() != sunday.Year():
		return monday.Format("2 January 2006") + " – " + sunday.Format("2 January 2006")
	case monday.Month() != sunday.Month():
		return monday.Format("2 January") + " – " + sunday.Format("2 January 2006")
	}
	return fmt.Sprintf("%d–%s", monday.Day(), sunday.Format("2 January 2006"))
}
