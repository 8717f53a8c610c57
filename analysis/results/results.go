// Package results is the analysis read model: the rows of every analysis
// table as Go types, each table's columns named once (in the rows' `col`
// tags), and one city's stored analysis of a period (Analysis) with what
// reports need to draw and name it. It imports no store and no database
// driver: package analysis computes and loads an Analysis, and package
// reports renders one, so a report can be made from values in a test.
package results

import (
	"math"
	"slices"
	"strings"

	"github.com/paulmach/orb"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/stats"
)

// CityLayer is the layer name under which citywide rows are stored (their
// area_id is the city).
const CityLayer = "city"

// Models are the models fitted on a layer's areas.
const (
	ModelLogit  = "logit"      // app vs other resident requests of app-offered types, grouped binomial
	ModelNB2    = "nb2"        // app requests, negative binomial with log(resident requests) as offset: channel choice
	ModelVolume = "nb2_volume" // resident requests, negative binomial with log(population × weeks) as offset: volume
)

// Estimate is a value with its 95% interval; NaN when undefined.
type Estimate = stats.Estimate

// Counts are requests by channel.
type Counts map[equity311.Channel]int64

// Total returns all requests.
func (c Counts) Total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// Resident returns resident-initiated requests.
func (c Counts) Resident() int64 {
	var n int64
	for ch, v := range c {
		if r, ok := ch.ResidentInitiated(); ok && r {
			n += v
		}
	}
	return n
}

// Digital returns app, web and online requests.
func (c Counts) Digital() int64 { return c[equity311.App] + c[equity311.Web] + c[equity311.Online] }

// Grouping is one way of grouping areas by their demographics.
type Grouping struct {
	Name     string // income_quintile, majority_race, ...
	Variable string // the census variable
	Groups   int    // quantile groups; 0 for majority_race
	Label    string // for people: "median household income"
}

// Groupings are the groupings of DESIGN.md §5, in report order.
func Groupings() []Grouping {
	return []Grouping{
		{"income_quintile", "median_income", 5, "median household income"},
		{"majority_race", "", 0, "largest racial or ethnic group"},
		{"limited_english_tercile", "share_limited_english", 3, "share of households with limited English"},
		{"broadband_tercile", "share_broadband", 3, "share with a broadband subscription"},
		{"age_tercile", "share_65plus", 3, "share of residents 65 and over"},
	}
}

// Analysis is one city's stored analysis of a period: every analysis
// table's rows, typed, and what reports also need from the store to draw
// and name them (area shapes, parent areas, request type names). Reports
// are a function of an Analysis alone.
type Analysis struct {
	Period      equity311.Period
	PeriodBasis string  // "requested", or how the default period was chosen
	Years       float64 // the period's length: rates are per 1,000 residents per year
	MinCount    int
	Seed        int64
	City        string   // the city of these results
	Cities      []string // every city analysed for the period
	Tickets     int64    // the city's requests in the period
	Resident    int64
	// Metrics are the area rows in key order (layer, area id); Areas
	// holds them by layer, in area id order, CityLayer the citywide row.
	Metrics []AreaMetrics
	Areas   map[string][]*AreaMetrics
	Layers  []string         // polygon layers, in name order
	Quality map[string]int64 // QualityItems by item
	Sources []SourceChannel

	Channels           []AreaChannel // folded into each area's Counts too
	QualityItems       []QualityItem
	Demographics       []AreaDemographic
	Groups             []Group
	Gaps               []Gap
	AppTypes           []AppType
	Correlations       []Association
	Concentration      []Concentration
	ConcentrationCurve []ConcentrationPoint
	Models             []ModelTerm
	Fits               []ModelFit
	Spatial            []Spatial
	Trends             []Trend
	Changes            []Change
	Outcomes           []Outcome
	IncomeCurve        []IncomePoint
	Residuals          []Residual
	// Run is what the city's analysis of the period rests on: its sources'
	// design and coverage; SourceUses are those sources one by one.
	Run          CityRun
	SourceUses   []SourceUse
	YearShares   []YearShare
	AdjustedGaps []AdjustedGap
	Survival     []Survival
	// Reporting rates from duplicate reports: the model's fit (or why it
	// was not computed) and terms, each area's rate, who reports first.
	ReportingFits  []ReportingFit
	ReportingTerms []ReportingTerm
	ReportingAreas []ReportingArea
	FirstReports   []FirstReport

	// Shapes are each layer's area polygons (WGS84), in area id order.
	Shapes map[string][]AreaShape
	// Parents names each area by the area of another layer it overlaps
	// most: Parents[toLayer][fromLayer][areaID] (a tract by its
	// neighborhood), from the crosswalk.
	Parents map[string]map[string]map[string]string
	// TypeNames are each request type's commonest name and department.
	TypeNames map[string]TypeName
}

// AreaShape is an area's polygon, as stored.
type AreaShape struct {
	ID       string
	Geometry orb.Geometry
}

// TypeName is how the data names a request type: its commonest service
// name and department (ties broken by name).
type TypeName struct{ Name, Department string }

// Tables returns every analysis table of the results but analysis_runs,
// in name order, each with its rows in key order.
func (r *Analysis) Tables() []Table {
	out := []Table{tableOf(metricsTable, r.Metrics), tableOf(channelsTable, r.Channels), tableOf(qualityTable, r.QualityItems),
		tableOf(sourcesTable, r.Sources), tableOf(demographicsTable, r.Demographics), tableOf(groupsTable, r.Groups),
		tableOf(gapsTable, r.Gaps), tableOf(appTypesTable, r.AppTypes), tableOf(correlationsTable, r.Correlations),
		tableOf(concentrationTable, r.Concentration), tableOf(concentrationCurveTable, r.ConcentrationCurve),
		tableOf(modelsTable, r.Models), tableOf(fitsTable, r.Fits), tableOf(spatialTable, r.Spatial), tableOf(trendsTable, r.Trends),
		tableOf(changesTable, r.Changes), tableOf(outcomesTable, r.Outcomes), tableOf(incomeCurveTable, r.IncomeCurve),
		tableOf(residualsTable, r.Residuals), tableOf(citiesTable, []CityRun{r.Run}), tableOf(sourceUseTable, r.SourceUses),
		tableOf(yearsTable, r.YearShares), tableOf(adjustedGapsTable, r.AdjustedGaps), tableOf(survivalTable, r.Survival),
		tableOf(reportingFitTable, r.ReportingFits), tableOf(reportingTermTable, r.ReportingTerms),
		tableOf(reportingAreaTable, r.ReportingAreas), tableOf(firstReportsTable, r.FirstReports)}
	slices.SortFunc(out, func(a, b Table) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// CityRow returns the citywide row.
func (r *Analysis) CityRow() *AreaMetrics {
	if c := r.Areas[CityLayer]; len(c) > 0 {
		return c[0]
	}
	return &AreaMetrics{Counts: Counts{}, Population: math.NaN(), AppShare: stats.NaNEstimate()}
}

// WeekComparison is the period's last week against the weeks before it,
// citywide: the app share of each week with at least MinCount requests
// (NaN otherwise), and the plain average of the earlier weeks' shares.
type WeekComparison struct {
	Week       string  // the last week of the period, "" when there are fewer than two
	Share      float64 // its app share; NaN with too few requests
	TrailMean  float64 // the average weekly share of up to equity311.TrailingWeeks before it; NaN when none has enough requests
	TrailWeeks int     // the weeks in that average
}

// LastWeek compares the period's last week with the weeks before it,
// from the citywide app trend.
func (r *Analysis) LastWeek() WeekComparison {
	share := map[string]float64{}
	var weeks []string
	for _, t := range r.Trends {
		if t.Channel != equity311.App || t.Grouping != "city" {
			continue
		}
		weeks = append(weeks, t.Week)
		share[t.Week] = math.NaN()
		if t.Total >= int64(r.MinCount) {
			share[t.Week] = t.Share.Value
		}
	}
	slices.Sort(weeks)
	weeks = slices.Compact(weeks)
	out := WeekComparison{Share: math.NaN(), TrailMean: math.NaN()}
	if len(weeks) < 2 {
		return out
	}
	out.Week = weeks[len(weeks)-1]
	out.Share = share[out.Week]
	var sum float64
	for _, w := range weeks[max(0, len(weeks)-1-equity311.TrailingWeeks) : len(weeks)-1] {
		if v := share[w]; !math.IsNaN(v) {
			sum += v
			out.TrailWeeks++
		}
	}
	if out.TrailWeeks > 0 {
		out.TrailMean = sum / float64(out.TrailWeeks)
	}
	return out
}
