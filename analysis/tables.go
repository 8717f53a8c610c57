package analysis

import (
	"context"
	"database/sql/driver"
	"fmt"
	"math"
	"strings"

	"github.com/equity311/equity311/store"
)

// tableSpec names an analysis table and the columns analysis writes, in
// the order rows hold them: the one list of each table's columns (the
// schema itself is store/migrations/0009_city_analysis.sql).
type tableSpec struct {
	name string
	cols []string
}

// est lists the three columns of an estimate with its interval.
func est(name string) []string { return []string{name, name + "_lo", name + "_hi"} }

func cols(parts ...any) []string {
	var out []string
	for _, p := range parts {
		switch x := p.(type) {
		case string:
			out = append(out, x)
		case []string:
			out = append(out, x...)
		}
	}
	return out
}

var (
	runsTable = tableSpec{"analysis_runs", cols("period", "period_from", "period_to", "period_basis", "years", "min_count",
		"computed_at", "tickets", "resident", "seed")}
	metricsTable = tableSpec{"analysis_area_metrics", cols("city", "period", "layer", "area_id", "name", "population", "population_basis",
		"tickets", "resident", "share_base", "app", "digital", est("app_share"), est("digital_share"), est("resident_per_1000"),
		est("app_per_1000"), "offered_base", "offered_app", est("offered_app_share"), "expected_app", est("std_app_ratio"),
		est("representation_ratio"), est("eb_app_share"), "low_count")}
	channelsTable     = tableSpec{"analysis_area_channels", cols("city", "period", "layer", "area_id", "channel", "n")}
	demographicsTable = tableSpec{"analysis_area_demographics", cols("city", "period", "layer", "area_id", "variable", "estimate", "moe", "basis")}
	groupsTable       = tableSpec{"analysis_groups", cols("city", "period", "layer", "grouping", "group_label", "group_rank", "areas",
		"population", "bound_lo", "bound_hi", "share_base", "app", est("app_share"), est("std_app_ratio"), est("app_per_1000"), "low_count")}
	gapsTable          = tableSpec{"analysis_group_gaps", cols("city", "period", "layer", "grouping", "top_label", "bottom_label", est("difference"))}
	typesTable         = tableSpec{"analysis_app_types", cols("city", "period", "service_code", "offered", "basis", "share_base", "app", est("app_share"))}
	correlationsTable  = tableSpec{"analysis_correlations", cols("city", "period", "layer", "variable", "method", "n", "r", "r_lo", "r_hi", "p")}
	concentrationTable = tableSpec{"analysis_concentration", cols("city", "period", "layer", "areas", "ci", "se", "ci_lo", "ci_hi")}
	curveTable         = tableSpec{"analysis_concentration_curve", cols("city", "period", "layer", "point", "area_id", "cum_population", "cum_app")}
	modelsTable        = tableSpec{"analysis_models", cols("city", "period", "layer", "model", "term", "estimate", "se", "lo", "hi", "z", "p",
		"ratio", "ratio_lo", "ratio_hi", "covariate_mean", "covariate_sd")}
	fitTable = tableSpec{"analysis_model_fit", cols("city", "period", "layer", "model", "n", "deviance", "null_deviance", "aic",
		"dispersion", "alpha", "iterations", "converged")}
	spatialTable = tableSpec{"analysis_spatial", cols("city", "period", "layer", "measure", "areas", "moran_i", "expected", "p_value",
		"permutations", "islands")}
	trendsTable = tableSpec{"analysis_trends", cols("city", "period", "grouping", "group_label", "week", "week_start", "channel", "n",
		"total", est("share"))}
	changesTable = tableSpec{"analysis_changes", cols("city", "period", "layer", "area_id", "week", "week_base", "week_app", "week_share",
		"base_weeks", "trail_base", "trail_app", "trail_share", est("difference"), "z", "p", "q", "flagged")}
	outcomesTable = tableSpec{"analysis_outcomes", cols("city", "period", "layer", "area_id", "channel", "requests", "closed",
		"median_days", "p90_days", est("days_ratio"), "with_target", "on_time", est("on_time_rate"), "expected_on_time_rate", "low_count")}
	curveIncomeTable = tableSpec{"analysis_income_curve", cols("city", "period", "layer", "point", "median_income", est("fitted"))}
	residualsTable   = tableSpec{"analysis_model_residuals", cols("city", "period", "layer", "model", "area_id", "observed", "fitted", "residual")}
	qualityTable     = tableSpec{"analysis_quality", cols("city", "period", "item", "n")}
	sourcesTable     = tableSpec{"analysis_source_channels", cols("city", "period", "source_id", "source", "profile", "records_app",
		"channel", "resident", "n")}
	allTables = []tableSpec{runsTable, metricsTable, channelsTable, demographicsTable, groupsTable, gapsTable, typesTable,
		correlationsTable, concentrationTable, curveTable, modelsTable, fitTable, spatialTable, trendsTable, changesTable,
		outcomesTable, qualityTable, sourcesTable, curveIncomeTable, residualsTable}
)

// tables collects an analysis run's rows by table.
type tables struct {
	rows map[string][][]driver.Value
}

// add appends a row; its values are flattened (an Estimate is three
// columns) and NaN becomes NULL.
func (t *tables) add(spec tableSpec, values []any) {
	var row []driver.Value
	for _, v := range values {
		switch x := v.(type) {
		case Estimate:
			row = append(row, nan2nil(x.Value), nan2nil(x.Lo), nan2nil(x.Hi))
		case float64:
			row = append(row, nan2nil(x))
		case int:
			row = append(row, int64(x))
		default:
			row = append(row, x)
		}
	}
	if len(row) != len(spec.cols) {
		panic(fmt.Sprintf("analysis: a row of %s has %d values for %d columns", spec.name, len(row), len(spec.cols)))
	}
	if t.rows == nil {
		t.rows = map[string][][]driver.Value{}
	}
	t.rows[spec.name] = append(t.rows[spec.name], row)
}

func nan2nil(v float64) driver.Value {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// write replaces the period's rows of every analysis table, in one
// transaction: staged first into TEMP tables, then moved.
func (t *tables) write(ctx context.Context, st *store.Store, period string) error {
	conn, err := st.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, spec := range allTables {
		list := strings.Join(spec.cols, ", ")
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE stage_%s AS SELECT %s FROM %s LIMIT 0", spec.name, list, spec.name)); err != nil {
			return fmt.Errorf("stage %s: %w", spec.name, err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS stage_"+spec.name)
		if err := store.AppendRows(ctx, conn, "stage_"+spec.name, t.rows[spec.name]); err != nil {
			return fmt.Errorf("stage %s: %w", spec.name, err)
		}
	}
	return store.InTx(ctx, conn, func() error {
		for _, spec := range allTables {
			list := strings.Join(spec.cols, ", ")
			if _, err := conn.ExecContext(ctx, "DELETE FROM "+spec.name+" WHERE period = ?", period); err != nil {
				return fmt.Errorf("%s: %w", spec.name, err)
			}
			if _, err := conn.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM stage_%s", spec.name, list, list, spec.name)); err != nil {
				return fmt.Errorf("%s: %w", spec.name, err)
			}
		}
		return nil
	})
}
