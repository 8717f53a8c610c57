package analysis

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/paulmach/orb/encoding/wkb"

	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/store"
)

// LoadCity reads a period's results for a city ("" for the first).
func LoadCity(ctx context.Context, st *store.Store, period, city string) (*results.Analysis, error) {
	db := st.DB()
	r := &results.Analysis{Areas: map[string][]*results.AreaMetrics{}, Quality: map[string]int64{}}
	r.Period.Label = period
	err := db.QueryRowContext(ctx, `SELECT period_from, period_to, period_basis, years, min_count, seed FROM analysis_runs WHERE period = ?`, period).
		Scan(&r.Period.From, &r.Period.To, &r.PeriodBasis, &r.Years, &r.MinCount, &r.Seed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s (run analyze for it first)", ErrNoAnalysis, period)
	}
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT city FROM analysis_area_metrics WHERE period = ? ORDER BY 1`, period)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return nil, err
		}
		r.Cities = append(r.Cities, c)
	}
	rows.Close()
	if city == "" && len(r.Cities) > 0 {
		city = r.Cities[0]
	}
	r.City = city
	// The period's dates in the city's own time zone (several cities may
	// keep several zones).
	var zone string
	if err := db.QueryRowContext(ctx, `SELECT timezone FROM cities WHERE city = ?`, city).Scan(&zone); err == nil {
		if loc, err := time.LoadLocation(zone); err == nil {
			r.Period.From, r.Period.To = r.Period.From.In(loc), r.Period.To.In(loc)
		}
	} else if loc, err := st.Location(ctx); err == nil {
		r.Period.From, r.Period.To = r.Period.From.In(loc), r.Period.To.In(loc)
	}
	if err := loadTables(ctx, db, r, period, city); err != nil {
		return nil, err
	}
	if err := loadStore(ctx, db, r); err != nil {
		return nil, err
	}
	c := r.CityRow()
	r.Tickets, r.Resident = c.Tickets, c.Resident
	return r, nil
}

// loadTables reads the city's rows of every analysis table.
func loadTables(ctx context.Context, db *sql.DB, r *results.Analysis, period, city string) error {
	var errs []error
	r.Metrics = load(ctx, db, results.MetricsTable(), period, city, &errs)
	r.Channels = load(ctx, db, results.ChannelsTable(), period, city, &errs)
	r.QualityItems = load(ctx, db, results.QualityTable(), period, city, &errs)
	r.Sources = load(ctx, db, results.SourcesTable(), period, city, &errs)
	r.Demographics = load(ctx, db, results.DemographicsTable(), period, city, &errs)
	r.Groups = load(ctx, db, results.GroupsTable(), period, city, &errs)
	r.Gaps = load(ctx, db, results.GapsTable(), period, city, &errs)
	r.AppTypes = load(ctx, db, results.AppTypesTable(), period, city, &errs)
	r.Correlations = load(ctx, db, results.CorrelationsTable(), period, city, &errs)
	r.Concentration = load(ctx, db, results.ConcentrationTable(), period, city, &errs)
	r.ConcentrationCurve = load(ctx, db, results.ConcentrationCurveTable(), period, city, &errs)
	r.Models = load(ctx, db, results.ModelsTable(), period, city, &errs)
	r.Fits = load(ctx, db, results.FitsTable(), period, city, &errs)
	r.Spatial = load(ctx, db, results.SpatialTable(), period, city, &errs)
	r.Trends = load(ctx, db, results.TrendsTable(), period, city, &errs)
	r.Changes = load(ctx, db, results.ChangesTable(), period, city, &errs)
	r.Outcomes = load(ctx, db, results.OutcomesTable(), period, city, &errs)
	r.IncomeCurve = load(ctx, db, results.IncomeCurveTable(), period, city, &errs)
	r.Residuals = load(ctx, db, results.ResidualsTable(), period, city, &errs)
	r.SourceUses = load(ctx, db, results.SourceUseTable(), period, city, &errs)
	r.YearShares = load(ctx, db, results.YearsTable(), period, city, &errs)
	r.AdjustedGaps = load(ctx, db, results.AdjustedGapsTable(), period, city, &errs)
	r.Survival = load(ctx, db, results.SurvivalTable(), period, city, &errs)
	r.ReportingFits = load(ctx, db, results.ReportingFitTable(), period, city, &errs)
	r.ReportingTerms = load(ctx, db, results.ReportingModelTable(), period, city, &errs)
	r.ReportingAreas = load(ctx, db, results.ReportingAreasTable(), period, city, &errs)
	r.FirstReports = load(ctx, db, results.FirstReportsTable(), period, city, &errs)
	if runs := load(ctx, db, results.CitiesTable(), period, city, &errs); len(runs) == 1 {
		r.Run = runs[0]
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	byKey := map[[2]string]*results.AreaMetrics{}
	for i := range r.Metrics {
		a := &r.Metrics[i]
		a.Counts = results.Counts{}
		if a.Name == "" {
			a.Name = a.AreaID
		}
		if len(r.Areas[a.Layer]) == 0 && a.Layer != results.CityLayer {
			r.Layers = append(r.Layers, a.Layer)
		}
		r.Areas[a.Layer] = append(r.Areas[a.Layer], a)
		byKey[[2]string{a.Layer, a.AreaID}] = a
	}
	for _, c := range r.Channels {
		if a := byKey[[2]string{c.Layer, c.AreaID}]; a != nil {
			a.Counts[c.Channel] = c.N
		}
	}
	for _, q := range r.QualityItems {
		r.Quality[q.Item] = q.N
	}
	return nil
}

// load reads one table's rows of the period and city.
func load[T any](ctx context.Context, db *sql.DB, t *results.Spec[T], period, city string, errs *[]error) []T {
	rows, err := read(ctx, db, t, period, city)
	if err != nil {
		*errs = append(*errs, err)
	}
	return rows
}

// loadStore reads what reports draw and name: every layer's shapes, each
// area's parent in every other layer, and the request types' names.
func loadStore(ctx context.Context, db *sql.DB, r *results.Analysis) error {
	r.Shapes, r.Parents, r.TypeNames = map[string][]results.AreaShape{}, map[string]map[string]map[string]string{}, map[string]results.TypeName{}
	if err := loadShapes(ctx, db, r); err != nil {
		return err
	}
	if err := loadParents(ctx, db, r); err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, `SELECT service_code, first(service_name ORDER BY n DESC, service_name NULLS LAST), first(department ORDER BY n DESC, department NULLS LAST)
		FROM (SELECT service_code, service_name, department, count(*) AS n FROM tickets WHERE city = ? GROUP BY ALL) GROUP BY ALL`, r.City)
	if err != nil {
		return fmt.Errorf("request type names: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var code, name, dept sql.NullString
		if err := rows.Scan(&code, &name, &dept); err != nil {
			return err
		}
		r.TypeNames[code.String] = results.TypeName{Name: name.String, Department: dept.String}
	}
	return rows.Err()
}

func loadShapes(ctx context.Context, db *sql.DB, r *results.Analysis) error {
	rows, err := db.QueryContext(ctx, "SELECT layer, area_id, geometry FROM areas ORDER BY layer, area_id")
	if err != nil {
		return fmt.Errorf("area shapes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var layer, id string
		var b []byte
		if err := rows.Scan(&layer, &id, &b); err != nil {
			return err
		}
		g, err := wkb.Unmarshal(b)
		if err != nil {
			return fmt.Errorf("layer %s area %s: %w", layer, id, err)
		}
		r.Shapes[layer] = append(r.Shapes[layer], results.AreaShape{ID: id, Geometry: g})
	}
	return rows.Err()
}

func loadParents(ctx context.Context, db *sql.DB, r *results.Analysis) error {
	rows, err := db.QueryContext(ctx, `SELECT c.to_layer, c.from_layer, c.from_id, coalesce(a.name, c.to_id) FROM crosswalk c
		JOIN areas a ON a.layer = c.to_layer AND a.area_id = c.to_id
		QUALIFY row_number() OVER (PARTITION BY c.to_layer, c.from_layer, c.from_id ORDER BY c.weight DESC, c.to_id) = 1`)
	if err != nil {
		return fmt.Errorf("parent areas: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var to, from, id, name string
		if err := rows.Scan(&to, &from, &id, &name); err != nil {
			return err
		}
		if r.Parents[to] == nil {
			r.Parents[to] = map[string]map[string]string{}
		}
		if r.Parents[to][from] == nil {
			r.Parents[to][from] = map[string]string{}
		}
		r.Parents[to][from][id] = name
	}
	return rows.Err()
}

// ErrNoAnalysis is returned by Load when a period has not been analysed.
var ErrNoAnalysis = errors.New("period not analysed")

// LatestPeriod returns the label of the most recently computed period.
func LatestPeriod(ctx context.Context, st *store.Store) (string, error) {
	var label string
	err := st.DB().QueryRowContext(ctx, "SELECT period FROM analysis_runs ORDER BY computed_at DESC, period DESC LIMIT 1").Scan(&label)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%w: no analysis in the database (run analyze first)", ErrNoAnalysis)
	}
	return label, err
}

// Load reads a period's results for its first city (by name).
func Load(ctx context.Context, st *store.Store, period string) (*results.Analysis, error) {
	return LoadCity(ctx, st, period, "")
}
