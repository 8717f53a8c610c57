package results

import (
	"time"

	"github.com/equity311/equity311"
)

// The rows of the analysis tables. Each struct's `col` tags name the
// table's columns — the one place they are written (the schema itself is
// in store/migrations): an Estimate field is three columns (name, name_lo,
// name_hi); ",null" stores "" or a nil *bool as NULL; "-" is not a column.
// Floats store NaN as NULL and read NULL as NaN.

// AreaMetrics are one area's figures for a period (a row of
// analysis_area_metrics). Shares count resident requests from sources
// that can record the app (ShareBase); rates count every resident request.
type AreaMetrics struct {
	City                string   `col:"city"`
	Period              string   `col:"period"`
	Layer               string   `col:"layer"`
	AreaID              string   `col:"area_id"`
	Name                string   `col:"name"`
	Population          float64  `col:"population"` // NaN when unknown
	PopulationBasis     string   `col:"population_basis,null"`
	Counts              Counts   `col:"-"` // every request, by channel (analysis_area_channels)
	Tickets             int64    `col:"tickets"`
	Resident            int64    `col:"resident"`
	ShareBase           int64    `col:"share_base"`
	App                 int64    `col:"app"`
	Digital             int64    `col:"digital"`
	AppShare            Estimate `col:"app_share"`
	DigitalShare        Estimate `col:"digital_share"`
	ResidentPer1000     Estimate `col:"resident_per_1000"` // per 1,000 residents per year
	AppPer1000          Estimate `col:"app_per_1000"`
	OfferedBase         int64    `col:"offered_base"` // of app-offered types
	OfferedApp          int64    `col:"offered_app"`
	OfferedAppShare     Estimate `col:"offered_app_share"`
	ExpectedApp         float64  `col:"expected_app"` // from the citywide app share of each type
	StdAppRatio         Estimate `col:"std_app_ratio"`
	RepresentationRatio Estimate `col:"representation_ratio"`
	EBAppShare          Estimate `col:"eb_app_share"`
	LowCount            bool     `col:"low_count"`
	// Below: the area's type-standardized ratio is clearly under 1 — a
	// one-sided test allowing the layer's overdispersion, Benjamini–
	// Hochberg over the layer's areas (BelowQ < 0.05).
	BelowP float64 `col:"below_p"`
	BelowQ float64 `col:"below_q"`
	Below  bool    `col:"below"`
}

// Run is a row of analysis_runs: one analysed period.
type Run struct {
	Period     string    `col:"period"`
	From       time.Time `col:"period_from"`
	To         time.Time `col:"period_to"`
	Basis      string    `col:"period_basis"` // "requested", or how the default period was chosen
	Years      float64   `col:"years"`
	MinCount   int64     `col:"min_count"`
	ComputedAt time.Time `col:"computed_at"`
	Tickets    int64     `col:"tickets"`
	Resident   int64     `col:"resident"`
	Seed       int64     `col:"seed"`
}

// Key are the columns every per-city row begins with.
type Key struct {
	City   string `col:"city"`
	Period string `col:"period"`
}

// AreaChannel is a row of analysis_area_channels: an area's requests on
// one channel.
type AreaChannel struct {
	Key
	Layer   string            `col:"layer"`
	AreaID  string            `col:"area_id"`
	Channel equity311.Channel `col:"channel"`
	N       int64             `col:"n"`
}

// AreaDemographic is a row of analysis_area_demographics: a canonical
// census variable of an area with its margin of error and basis.
type AreaDemographic struct {
	Key
	Layer    string  `col:"layer"`
	AreaID   string  `col:"area_id"`
	Variable string  `col:"variable"`
	Estimate float64 `col:"estimate"`
	MOE      float64 `col:"moe"`
	Basis    string  `col:"basis"`
}

// Group is a row of analysis_groups: app use in a group of areas (an
// income fifth, a majority race, a tercile).
type Group struct {
	Key
	Layer       string   `col:"layer"`
	Grouping    string   `col:"grouping"`
	Label       string   `col:"group_label"`
	Rank        int64    `col:"group_rank"` // 1 = lowest
	Areas       int64    `col:"areas"`
	Population  float64  `col:"population"`
	BoundLo     float64  `col:"bound_lo"` // the covariate's range in the group
	BoundHi     float64  `col:"bound_hi"`
	ShareBase   int64    `col:"share_base"`
	App         int64    `col:"app"`
	AppShare    Estimate `col:"app_share"`
	StdAppRatio Estimate `col:"std_app_ratio"`
	AppPer1000  Estimate `col:"app_per_1000"`
	LowCount    bool     `col:"low_count"`
	// IntervalBasis says how AppShare's and StdAppRatio's intervals were
	// made (an area-cluster bootstrap).
	IntervalBasis string `col:"interval_basis"`
}

// Gap is a row of analysis_group_gaps: the top group's app share minus
// the bottom group's.
type Gap struct {
	Key
	Layer         string   `col:"layer"`
	Grouping      string   `col:"grouping"`
	Top           string   `col:"top_label"`
	Bottom        string   `col:"bottom_label"`
	Difference    Estimate `col:"difference"`
	IntervalBasis string   `col:"interval_basis"`
}

// AppType is a row of analysis_app_types: a request type, whether the app
// offers it and its app share.
type AppType struct {
	Key
	ServiceCode string   `col:"service_code"`
	Offered     bool     `col:"offered"`
	Basis       string   `col:"basis"`
	ShareBase   int64    `col:"share_base"`
	App         int64    `col:"app"`
	AppShare    Estimate `col:"app_share"`
}

// Association is a row of analysis_correlations: the correlation of area
// app share with a census variable.
type Association struct {
	Key
	Layer    string  `col:"layer"`
	Variable string  `col:"variable"`
	Method   string  `col:"method"` // pearson, spearman
	N        int64   `col:"n"`
	R        float64 `col:"r"`
	Lo       float64 `col:"r_lo"`
	Hi       float64 `col:"r_hi"`
	P        float64 `col:"p"`
	Q        float64 `col:"q"` // Benjamini–Hochberg over every variable, method and layer of the run
}

// Concentration is a row of analysis_concentration: the concentration
// index of app requests per resident over income rank.
type Concentration struct {
	Key
	Layer string  `col:"layer"`
	Areas int64   `col:"areas"`
	Index float64 `col:"ci"`
	SE    float64 `col:"se"`
	Lo    float64 `col:"ci_lo"`
	Hi    float64 `col:"ci_hi"`
	// The volume part: the concentration index of all resident requests
	// per resident (the app's index if every area had the city's app
	// share); Channel = Index − Volume, the part due to channel choice.
	Volume   float64 `col:"volume_ci,null"`
	VolumeSE float64 `col:"volume_se,null"`
	VolumeLo float64 `col:"volume_lo,null"`
	VolumeHi float64 `col:"volume_hi,null"`
	Channel  float64 `col:"channel_ci,null"`
}

// ConcentrationPoint is a row of analysis_concentration_curve.
type ConcentrationPoint struct {
	Key
	Layer         string  `col:"layer"`
	Point         int64   `col:"point"` // areas in income order, poorest first
	AreaID        string  `col:"area_id"`
	CumPopulation float64 `col:"cum_population"`
	CumApp        float64 `col:"cum_app"`
}

// ModelTerm is a row of analysis_models: one term of a fitted model, per
// standard deviation of its covariate.
type ModelTerm struct {
	Key
	Layer         string  `col:"layer"`
	Model         string  `col:"model"` // ModelLogit, ModelNB2
	Term          string  `col:"term"`
	Estimate      float64 `col:"estimate"`
	SE            float64 `col:"se"`
	Lo            float64 `col:"lo"`
	Hi            float64 `col:"hi"`
	Z             float64 `col:"z"`
	P             float64 `col:"p"`
	Ratio         float64 `col:"ratio"` // odds or rate ratio per SD
	RatioLo       float64 `col:"ratio_lo"`
	RatioHi       float64 `col:"ratio_hi"`
	CovariateMean float64 `col:"covariate_mean"`
	CovariateSD   float64 `col:"covariate_sd"`
	VIF           float64 `col:"vif"` // variance inflation factor of the covariate among the model's others
}

// ModelFit is a row of analysis_model_fit.
type ModelFit struct {
	Key
	Layer        string  `col:"layer"`
	Model        string  `col:"model"`
	N            int64   `col:"n"`
	Deviance     float64 `col:"deviance"`
	NullDeviance float64 `col:"null_deviance"`
	AIC          float64 `col:"aic"`
	Dispersion   float64 `col:"dispersion"`
	Alpha        float64 `col:"alpha"`
	Iterations   int64   `col:"iterations"`
	Converged    bool    `col:"converged"`
	Note         string  `col:"note,null"` // why the model was not fitted, "" when it was
}

// Spatial is a row of analysis_spatial: Moran's I of a measure over
// queen contiguity.
type Spatial struct {
	Key
	Layer        string   `col:"layer"`
	Measure      string   `col:"measure"` // app_share, logit_residual
	Areas        int64    `col:"areas"`
	MoranI       float64  `col:"moran_i"`
	Expected     float64  `col:"expected"`
	P            float64  `col:"p_value"`
	Permutations int64    `col:"permutations"`
	Islands      []string `col:"islands"` // areas without neighbours, left out
}

// Trend is a row of analysis_trends: a week's share of one channel.
type Trend struct {
	Key
	Grouping  string            `col:"grouping"` // city, income_quintile
	Label     string            `col:"group_label"`
	Week      string            `col:"week"`
	WeekStart time.Time         `col:"week_start"`
	Channel   equity311.Channel `col:"channel"`
	N         int64             `col:"n"`
	Total     int64             `col:"total"`
	Share     Estimate          `col:"share"`
	LowCount  bool              `col:"low_count"` // Total under the run's minimum count
}

// Change is a row of analysis_changes: an area's last week against its
// trailing weeks.
type Change struct {
	Key
	Layer      string   `col:"layer"`
	AreaID     string   `col:"area_id"`
	Week       string   `col:"week"`
	WeekBase   int64    `col:"week_base"`
	WeekApp    int64    `col:"week_app"`
	WeekShare  float64  `col:"week_share"`
	BaseWeeks  int64    `col:"base_weeks"`
	TrailBase  int64    `col:"trail_base"`
	TrailApp   int64    `col:"trail_app"`
	TrailShare float64  `col:"trail_share"`
	Difference Estimate `col:"difference"`
	Z          float64  `col:"z"`
	P          float64  `col:"p"`
	Q          float64  `col:"q"`
	Flagged    bool     `col:"flagged"`
	LowCount   bool     `col:"low_count"` // either cell under the run's minimum count
}

// Outcome is a row of analysis_outcomes: how fast a channel's requests
// close in an area (layer CityLayer: citywide).
type Outcome struct {
	Key
	Layer              string            `col:"layer"`
	AreaID             string            `col:"area_id"`
	Channel            equity311.Channel `col:"channel"`
	Requests           int64             `col:"requests"`
	Closed             int64             `col:"closed"`
	MedianDays         float64           `col:"median_days"`
	P90Days            float64           `col:"p90_days"`
	DaysRatio          Estimate          `col:"days_ratio"`
	WithTarget         int64             `col:"with_target"`
	OnTime             int64             `col:"on_time"`
	OnTimeRate         Estimate          `col:"on_time_rate"`
	ExpectedOnTimeRate float64           `col:"expected_on_time_rate"`
	LowCount           bool              `col:"low_count"`
	OnTimeBasis        string            `col:"on_time_basis"`
}

// IncomePoint is a row of analysis_income_curve: the fitted app share at
// a median income, with its band.
type IncomePoint struct {
	Key
	Layer        string   `col:"layer"`
	Point        int64    `col:"point"`
	MedianIncome float64  `col:"median_income"`
	Fitted       Estimate `col:"fitted"`
}

// Residual is a row of analysis_model_residuals.
type Residual struct {
	Key
	Layer    string  `col:"layer"`
	Model    string  `col:"model"`
	AreaID   string  `col:"area_id"`
	Observed float64 `col:"observed"`
	Fitted   float64 `col:"fitted"`
	Residual float64 `col:"residual"` // Pearson
}

// QualityItem is a row of analysis_quality: a data-quality count.
type QualityItem struct {
	Key
	Item string `col:"item"`
	N    int64  `col:"n"`
}

// SourceChannel is a row of analysis_source_channels: one source's
// requests on one channel in the period.
type SourceChannel struct {
	Key
	SourceID   int64             `col:"source_id"`
	Source     string            `col:"source"`
	Profile    string            `col:"profile,null"`
	RecordsApp bool              `col:"records_app"`
	Channel    equity311.Channel `col:"channel"`
	Resident   *bool             `col:"resident,null"` // nil: the channel's resident status is not known
	N          int64             `col:"n"`
}

// CityRun is a row of analysis_cities: what one city's analysis of the
// period rests on.
type CityRun struct {
	Key
	Weeks        int64  `col:"weeks"`
	CoveredWeeks int64  `col:"covered_weeks"` // weeks with requests from the app-recording sources used
	FirstWeek    string `col:"first_week,null"`
	LastWeek     string `col:"last_week,null"`
	Years        string `col:"years,null"` // e.g. "2015–2024"
	Design       string `col:"design"`     // DesignComplete, DesignAssumedComplete, DesignSamples
	DesignNote   string `col:"design_note"`
	Rates        bool   `col:"rates"` // per-resident rates and volume figures computed
	SourceFilter string `col:"source_filter"`
}

// The designs of a city's sources in a period, taken together.
const (
	DesignComplete        = "complete"         // every source used is declared complete
	DesignAssumedComplete = "assumed_complete" // none is a sample or an extract, but not every one is declared complete
	DesignSamples         = "samples"          // at least one is a sample or an extract: no rates
)

// SourceUse is a row of analysis_sources: a source with requests in the
// period, what it is and what it covers.
type SourceUse struct {
	Key
	SourceID      int64     `col:"source_id"`
	Source        string    `col:"source"`
	Kind          string    `col:"kind"`
	Profile       string    `col:"profile,null"`
	RecordsApp    bool      `col:"records_app"`
	Used          bool      `col:"used"`
	Design        string    `col:"design,null"`  // complete, sample, extract; "" when neither declared nor detected
	DesignBasis   string    `col:"design_basis"` // declared, detected, not declared
	Frame         string    `col:"frame,null"`
	Filters       string    `col:"filters,null"`
	Requests      int64     `col:"requests"`
	Resident      int64     `col:"resident"`
	ShareBase     int64     `col:"share_base"`
	App           int64     `col:"app"`
	FirstOpened   time.Time `col:"first_opened"`
	LastOpened    time.Time `col:"last_opened"`
	SnapshotAt    time.Time `col:"snapshot_at"`
	WeeksWithData int64     `col:"weeks_with_data"` // weeks of the period (local Monday to Monday) with a request
}

// YearShare is a row of analysis_years: app share in one calendar year,
// citywide or in a group of areas.
type YearShare struct {
	Key
	Layer     string   `col:"layer"`
	Grouping  string   `col:"grouping"`
	Label     string   `col:"group_label"`
	Year      int64    `col:"year"`
	ShareBase int64    `col:"share_base"`
	App       int64    `col:"app"`
	AppShare  Estimate `col:"app_share"`
	LowCount  bool     `col:"low_count"`
}

// AdjustedGap is a row of analysis_adjusted_gaps: a dimension's top group
// against its bottom group for the same request types and years.
type AdjustedGap struct {
	Key
	Layer       string   `col:"layer"`
	Grouping    string   `col:"grouping"`
	Top         string   `col:"top_label"`
	Bottom      string   `col:"bottom_label"`
	Fitted      bool     `col:"fitted"`
	Note        string   `col:"note"`
	TopShare    float64  `col:"top_share"`
	BottomShare float64  `col:"bottom_share"`
	Gap         Estimate `col:"gap"` // errors clustered by area
	SECluster   float64  `col:"se_cluster"`
	SEModel     float64  `col:"se_model"` // as if requests were independent
	SpatialLo   float64  `col:"spatial_lo"`
	SpatialHi   float64  `col:"spatial_hi"`
	SESpatial   float64  `col:"se_spatial"`
	RawGap      Estimate `col:"raw_gap"`
	Cells       int64    `col:"cells"`
	Events      int64    `col:"events"`
	Parameters  int64    `col:"parameters"`
	Types       int64    `col:"types"`
	Years       int64    `col:"years"`
	Areas       int64    `col:"areas"`
	MoranP      float64  `col:"moran_p"`
}

// Survival is a row of analysis_survival: a channel's days to close as a
// Kaplan–Meier estimate, open cases censored.
type Survival struct {
	Key
	Channel    equity311.Channel `col:"channel"`
	Requests   int64             `col:"requests"`
	Closed     int64             `col:"closed"`
	Censored   int64             `col:"censored"`
	MedianDays Estimate          `col:"median_days"`
	P90Days    float64           `col:"p90_days"`
	LowCount   bool              `col:"low_count"`
}

// ReportingFit is a row of analysis_reporting_fit: the reporting-rate
// model of one layer (duplicate reports per incident while it was open),
// or why it was not computed.
type ReportingFit struct {
	Key
	Layer        string  `col:"layer"`
	Status       string  `col:"status"` // ReportingComputed, or the reason it is not
	Note         string  `col:"note"`
	Incidents    int64   `col:"incidents"`  // first reports (resident requests that are no one's duplicate)
	Duplicates   int64   `col:"duplicates"` // resident duplicates linked to an incident while it was open
	Links        string  `col:"links"`      // the links used, by basis: "reported 175, text 53"
	ExposureDays float64 `col:"exposure_days"`
	Areas        int64   `col:"areas"`
	Types        int64   `col:"types"` // type levels, "other types" included
	Dispersion   float64 `col:"dispersion"`
	Alpha        float64 `col:"nb2_alpha"` // NB2 overdispersion over area × type cells
}

// ReportingComputed is ReportingFit.Status for a fitted model.
const ReportingComputed = "computed"

// ReportingTerm is a row of analysis_reporting_model: one covariate's
// effect on the reporting rate, per standard deviation across areas.
type ReportingTerm struct {
	Key
	Layer     string   `col:"layer"`
	Model     string   `col:"model"` // poisson (clustered by area) or nb2 (check)
	Term      string   `col:"term"`
	Estimate  Estimate `col:"estimate"`   // log rate ratio per SD
	SE        float64  `col:"se"`         // clustered by area (poisson), HC1 (nb2)
	RateRatio Estimate `col:"rate_ratio"` // exp(estimate)
	P         float64  `col:"p"`
}

// ReportingArea is a row of analysis_reporting_areas: an area's duplicate
// reports against those expected for its incidents' types and times open.
type ReportingArea struct {
	Key
	Layer      string   `col:"layer"`
	AreaID     string   `col:"area_id"`
	Incidents  int64    `col:"incidents"`
	Duplicates int64    `col:"duplicates"`
	Expected   float64  `col:"expected"`
	Ratio      Estimate `col:"rate_ratio"`    // observed ÷ expected, exact Poisson interval
	Shrunk     Estimate `col:"eb_rate_ratio"` // gamma–Poisson empirical Bayes (Marshall 1991)
	LowCount   bool     `col:"low_count"`
}

// FirstReport is a row of analysis_first_reports: in an income fifth of
// areas, how readily problems are reported again (against the city), and
// the app's share of first reports and of duplicates.
type FirstReport struct {
	Key
	Layer         string   `col:"layer"`
	Group         string   `col:"group_label"`
	Rank          int64    `col:"group_rank"` // 1 = lowest income
	Areas         int64    `col:"areas"`
	Incidents     int64    `col:"incidents"`
	IncidentsApp  int64    `col:"incidents_app"`
	FirstShare    Estimate `col:"first_app_share"`
	Duplicates    int64    `col:"duplicates"`
	DuplicatesApp int64    `col:"duplicates_app"`
	DupShare      Estimate `col:"duplicate_app_share"`
	Difference    Estimate `col:"difference"` // first (at the duplicates' type mix) − duplicate, area bootstrap
	RateRatio     Estimate `col:"rate_ratio"` // duplicates ÷ expected for the types and days open, area bootstrap
}
