package analysis

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"

	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/store"
)

// read reads a table's rows of the period (and the city, for the tables
// keyed by city), ordered by their columns.
func read[T any](ctx context.Context, db *sql.DB, t *results.Spec[T], period, city string) ([]T, error) {
	q := fmt.Sprintf("SELECT %s FROM %s WHERE period = ? AND city = ? ORDER BY ALL", strings.Join(t.Columns(), ", "), t.Name())
	args := []any{period, city}
	if t.Columns()[0] != "city" {
		q = fmt.Sprintf("SELECT %s FROM %s WHERE period = ? ORDER BY ALL", strings.Join(t.Columns(), ", "), t.Name())
		args = args[:1]
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", t.Name(), err)
	}
	defer rows.Close()
	var out []T
	vals := make([]any, len(t.Columns()))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("read %s: %w", t.Name(), err)
		}
		out = append(out, t.Row(vals))
	}
	return out, rows.Err()
}

// anyTable is what writing needs of a table of any row type.
type anyTable interface {
	Name() string
	Columns() []string
}

// allTables are every analysis table analyze writes.
func allTables() []anyTable {
	return []anyTable{results.RunsTable(), results.MetricsTable(), results.ChannelsTable(), results.DemographicsTable(),
		results.GroupsTable(), results.GapsTable(), results.AppTypesTable(), results.CorrelationsTable(), results.ConcentrationTable(),
		results.ConcentrationCurveTable(), results.ModelsTable(), results.FitsTable(), results.SpatialTable(), results.TrendsTable(),
		results.ChangesTable(), results.OutcomesTable(), results.QualityTable(), results.SourcesTable(), results.IncomeCurveTable(),
		results.ResidualsTable(), results.CitiesTable(), results.SourceUseTable(), results.YearsTable(), results.AdjustedGapsTable(),
		results.SurvivalTable(), results.ReportingFitTable(), results.ReportingModelTable(), results.ReportingAreasTable(),
		results.FirstReportsTable()}
}

// tables collects an analysis run's rows by table.
type tables struct {
	rows map[string][][]driver.Value
}

// put adds a row to its table.
func put[T any](out *tables, t *results.Spec[T], row T) {
	if out.rows == nil {
		out.rows = map[string][][]driver.Value{}
	}
	out.rows[t.Name()] = append(out.rows[t.Name()], t.Values(&row))
}

// add appends the rows of o to t, table by table, after t's own.
func (t *tables) add(o *tables) {
	if t.rows == nil {
		t.rows = map[string][][]driver.Value{}
	}
	for name, rows := range o.rows {
		t.rows[name] = append(t.rows[name], rows...)
	}
}

// write replaces the period's rows of every analysis table, in one
// transaction: staged first into TEMP tables, then moved.
func (t *tables) write(ctx context.Context, st *store.Store, period string) error {
	conn, err := st.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, spec := range allTables() {
		name, list := spec.Name(), strings.Join(spec.Columns(), ", ")
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE stage_%s AS SELECT %s FROM %s LIMIT 0", name, list, name)); err != nil {
			return fmt.Errorf("stage %s: %w", name, err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS stage_"+name)
		if err := store.AppendRows(ctx, conn, "stage_"+name, t.rows[name]); err != nil {
			return fmt.Errorf("stage %s: %w", name, err)
		}
	}
	return store.InTx(ctx, conn, func() error {
		for _, spec := range allTables() {
			name, list := spec.Name(), strings.Join(spec.Columns(), ", ")
			if _, err := conn.ExecContext(ctx, "DELETE FROM "+name+" WHERE period = ?", period); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if _, err := conn.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM stage_%s", name, list, list, name)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	})
}
