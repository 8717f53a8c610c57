package results

import (
	"database/sql/driver"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
)

// Spec is an analysis table whose rows are T: its name and, read from
// T's `col` tags, its columns in the order Values gives them. An Estimate
// field is three columns (name, name_lo, name_hi); ",null" stores "" or a
// nil *bool as NULL; "-" is not a column; floats store NaN as NULL.
type Spec[T any] struct {
	name   string
	cols   []string
	fields []column
}

// column is one tagged field of a row type.
type column struct {
	index []int // the field, through embedded structs
	est   bool  // an Estimate: three columns
	null  bool  // "" or a nil *bool is NULL
}

var estimateType = reflect.TypeFor[Estimate]()

// NewSpec reads the columns of T's `col` tags.
func NewSpec[T any](name string) *Spec[T] {
	t := &Spec[T]{name: name}
	var walk func(rt reflect.Type, index []int)
	walk = func(rt reflect.Type, index []int) {
		for i := 0; i < rt.NumField(); i++ {
			sf := rt.Field(i)
			idx := append(append([]int(nil), index...), i)
			tag, opt, _ := strings.Cut(sf.Tag.Get("col"), ",")
			if sf.Anonymous && tag == "" {
				walk(sf.Type, idx)
				continue
			}
			if tag == "" || tag == "-" {
				continue
			}
			c := column{index: idx, est: sf.Type == estimateType, null: opt == "null"}
			t.fields = append(t.fields, c)
			if c.est {
				t.cols = append(t.cols, tag, tag+"_lo", tag+"_hi")
			} else {
				t.cols = append(t.cols, tag)
			}
		}
	}
	walk(reflect.TypeFor[T](), nil)
	return t
}

// Name is the table's name.
func (t *Spec[T]) Name() string { return t.name }

// Columns are the table's columns, in the order Values gives them.
func (t *Spec[T]) Columns() []string { return t.cols }

// Values flattens a row into its column values: nil for NULL (NaN and ±Inf,
// and "" or nil in ",null" columns), else int64, float64, string, bool or
// time.Time.
func (t *Spec[T]) Values(row *T) []driver.Value {
	rv := reflect.ValueOf(row).Elem()
	out := make([]driver.Value, 0, len(t.cols))
	for _, c := range t.fields {
		f := rv.FieldByIndex(c.index)
		if c.est {
			e := f.Interface().(Estimate)
			out = append(out, nan2nil(e.Value), nan2nil(e.Lo), nan2nil(e.Hi))
			continue
		}
		out = append(out, cellValue(f, c.null))
	}
	return out
}

func cellValue(f reflect.Value, null bool) driver.Value {
	switch f.Kind() {
	case reflect.String:
		if null && f.String() == "" {
			return nil
		}
		return f.String()
	case reflect.Float64:
		return nan2nil(f.Float())
	case reflect.Int, reflect.Int64, reflect.Int32:
		return f.Int()
	case reflect.Bool:
		return f.Bool()
	case reflect.Pointer:
		if f.IsNil() {
			return nil
		}
		return f.Elem().Interface()
	case reflect.Slice:
		if f.IsNil() {
			return nil
		}
		return f.Interface()
	}
	if tm, ok := f.Interface().(time.Time); ok {
		return tm
	}
	panic(fmt.Sprintf("results: column of type %s", f.Type()))
}

// Row builds a row from column values as database/sql scans them (nil for
// NULL: NaN in a float, "" in a string, nil in a *bool).
func (t *Spec[T]) Row(vals []any) T {
	var out T
	rv := reflect.ValueOf(&out).Elem()
	i := 0
	for _, c := range t.fields {
		f := rv.FieldByIndex(c.index)
		if c.est {
			f.Set(reflect.ValueOf(Estimate{Value: asFloat(vals[i]), Lo: asFloat(vals[i+1]), Hi: asFloat(vals[i+2])}))
			i += 3
			continue
		}
		setCell(f, vals[i])
		i++
	}
	return out
}

func setCell(f reflect.Value, v any) {
	switch f.Kind() {
	case reflect.String:
		s, _ := v.(string)
		f.SetString(s)
	case reflect.Float64:
		f.SetFloat(asFloat(v))
	case reflect.Int, reflect.Int64, reflect.Int32:
		f.SetInt(asInt(v))
	case reflect.Bool:
		b, _ := v.(bool)
		f.SetBool(b)
	case reflect.Pointer:
		if b, ok := v.(bool); ok {
			f.Set(reflect.ValueOf(&b))
		}
	case reflect.Slice:
		if xs, ok := v.([]any); ok {
			out := make([]string, 0, len(xs))
			for _, x := range xs {
				s, _ := x.(string)
				out = append(out, s)
			}
			f.Set(reflect.ValueOf(out))
		}
	default:
		if tm, ok := v.(time.Time); ok {
			f.Set(reflect.ValueOf(tm))
		}
	}
}

func asFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	}
	return math.NaN()
}

func asInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case float64:
		return int64(x)
	}
	return 0
}

func nan2nil(v float64) driver.Value {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// The analysis tables, each with its row type: read once from the tags,
// and handed out by the functions below (a Spec cannot be changed).
var (
	runsTable               = NewSpec[Run]("analysis_runs")
	metricsTable            = NewSpec[AreaMetrics]("analysis_area_metrics")
	channelsTable           = NewSpec[AreaChannel]("analysis_area_channels")
	demographicsTable       = NewSpec[AreaDemographic]("analysis_area_demographics")
	groupsTable             = NewSpec[Group]("analysis_groups")
	gapsTable               = NewSpec[Gap]("analysis_group_gaps")
	appTypesTable           = NewSpec[AppType]("analysis_app_types")
	correlationsTable       = NewSpec[Association]("analysis_correlations")
	concentrationTable      = NewSpec[Concentration]("analysis_concentration")
	concentrationCurveTable = NewSpec[ConcentrationPoint]("analysis_concentration_curve")
	modelsTable             = NewSpec[ModelTerm]("analysis_models")
	fitsTable               = NewSpec[ModelFit]("analysis_model_fit")
	spatialTable            = NewSpec[Spatial]("analysis_spatial")
	trendsTable             = NewSpec[Trend]("analysis_trends")
	changesTable            = NewSpec[Change]("analysis_changes")
	outcomesTable           = NewSpec[Outcome]("analysis_outcomes")
	qualityTable            = NewSpec[QualityItem]("analysis_quality")
	sourcesTable            = NewSpec[SourceChannel]("analysis_source_channels")
	incomeCurveTable        = NewSpec[IncomePoint]("analysis_income_curve")
	residualsTable          = NewSpec[Residual]("analysis_model_residuals")
	citiesTable             = NewSpec[CityRun]("analysis_cities")
	sourceUseTable          = NewSpec[SourceUse]("analysis_sources")
	yearsTable              = NewSpec[YearShare]("analysis_years")
	adjustedGapsTable       = NewSpec[AdjustedGap]("analysis_adjusted_gaps")
	survivalTable           = NewSpec[Survival]("analysis_survival")
)

// CitiesTable is analysis_cities.
func CitiesTable() *Spec[CityRun] { return citiesTable }

// SourceUseTable is analysis_sources.
func SourceUseTable() *Spec[SourceUse] { return sourceUseTable }

// YearsTable is analysis_years.
func YearsTable() *Spec[YearShare] { return yearsTable }

// AdjustedGapsTable is analysis_adjusted_gaps.
func AdjustedGapsTable() *Spec[AdjustedGap] { return adjustedGapsTable }

// SurvivalTable is analysis_survival.
func SurvivalTable() *Spec[Survival] { return survivalTable }

// RunsTable is analysis_runs.
func RunsTable() *Spec[Run] { return runsTable }

// MetricsTable is analysis_area_metrics.
func MetricsTable() *Spec[AreaMetrics] { return metricsTable }

// ChannelsTable is analysis_area_channels.
func ChannelsTable() *Spec[AreaChannel] { return channelsTable }

// DemographicsTable is analysis_area_demographics.
func DemographicsTable() *Spec[AreaDemographic] { return demographicsTable }

// GroupsTable is analysis_groups.
func GroupsTable() *Spec[Group] { return groupsTable }

// GapsTable is analysis_group_gaps.
func GapsTable() *Spec[Gap] { return gapsTable }

// AppTypesTable is analysis_app_types.
func AppTypesTable() *Spec[AppType] { return appTypesTable }

// CorrelationsTable is analysis_correlations.
func CorrelationsTable() *Spec[Association] { return correlationsTable }

// ConcentrationTable is analysis_concentration.
func ConcentrationTable() *Spec[Concentration] { return concentrationTable }

// ConcentrationCurveTable is analysis_concentration_curve.
func ConcentrationCurveTable() *Spec[ConcentrationPoint] { return concentrationCurveTable }

// ModelsTable is analysis_models.
func ModelsTable() *Spec[ModelTerm] { return modelsTable }

// FitsTable is analysis_model_fit.
func FitsTable() *Spec[ModelFit] { return fitsTable }

// SpatialTable is analysis_spatial.
func SpatialTable() *Spec[Spatial] { return spatialTable }

// TrendsTable is analysis_trends.
func TrendsTable() *Spec[Trend] { return trendsTable }

// ChangesTable is analysis_changes.
func ChangesTable() *Spec[Change] { return changesTable }

// OutcomesTable is analysis_outcomes.
func OutcomesTable() *Spec[Outcome] { return outcomesTable }

// QualityTable is analysis_quality.
func QualityTable() *Spec[QualityItem] { return qualityTable }

// SourcesTable is analysis_source_channels.
func SourcesTable() *Spec[SourceChannel] { return sourcesTable }

// IncomeCurveTable is analysis_income_curve.
func IncomeCurveTable() *Spec[IncomePoint] { return incomeCurveTable }

// ResidualsTable is analysis_model_residuals.
func ResidualsTable() *Spec[Residual] { return residualsTable }

// Table is one analysis table's rows, for export: column names and values
// (as Spec.Values gives them).
type Table struct {
	Name    string
	Columns []string
	Rows    [][]any
}

// tableOf exports rows through their spec.
func tableOf[T any](t *Spec[T], rows []T) Table {
	out := Table{Name: t.name, Columns: t.cols}
	for i := range rows {
		vals := t.Values(&rows[i])
		row := make([]any, len(vals))
		for j, v := range vals {
			row[j] = v
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}

var (
	reportingFitTable  = NewSpec[ReportingFit]("analysis_reporting_fit")
	reportingTermTable = NewSpec[ReportingTerm]("analysis_reporting_model")
	reportingAreaTable = NewSpec[ReportingArea]("analysis_reporting_areas")
	firstReportsTable  = NewSpec[FirstReport]("analysis_first_reports")
)

// ReportingFitTable is analysis_reporting_fit.
func ReportingFitTable() *Spec[ReportingFit] { return reportingFitTable }

// ReportingModelTable is analysis_reporting_model.
func ReportingModelTable() *Spec[ReportingTerm] { return reportingTermTable }

// ReportingAreasTable is analysis_reporting_areas.
func ReportingAreasTable() *Spec[ReportingArea] { return reportingAreaTable }

// FirstReportsTable is analysis_first_reports.
func FirstReportsTable() *Spec[FirstReport] { return firstReportsTable }
