package analysis

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/store"
)

// Results are one city's stored analysis of a period, as reports read
// them: the area metrics typed, every other analysis table as rows.
type Results struct {
	Period      equity311.Period
	PeriodBasis string  // "requested", or how the default period was chosen
	Years       float64 // the period's length: rates are per 1,000 residents per year
	MinCount    int
	Seed        int64
	City        string   // the city of these results
	Cities      []string // every city analysed for the period
	Tickets     int64    // the city's requests in the period
	Resident    int64
	// Areas by layer, in area id order; CityLayer holds the citywide row.
	Areas   map[string][]*AreaMetrics
	Layers  []string // polygon layers, in name order
	Quality map[string]int64
	Sources []SourceChannel
	// Tables holds the city's rows of every other analysis table, by table
	// name (analysis_groups, analysis_models, ...), in key order.
	Tables map[string][]Row
}

// SourceChannel is a row of analysis_source_channels: one source's
// requests on one channel in the period.
type SourceChannel struct {
	City, Source, Profile string
	SourceID              int64
	RecordsApp            bool
	Channel               equity311.Channel
	Resident              sql.NullBool
	N                     int64
}

// Row is one row of an analysis table, by column.
type Row map[string]any

// Float returns a numeric column, NaN for NULL.
func (r Row) Float(col string) float64 {
	switch v := r[col].(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	case int32:
		return float64(v)
	}
	return math.NaN()
}

// Int returns an integer column, 0 for NULL.
func (r Row) Int(col string) int64 {
	switch v := r[col].(type) {
	case int64:
		return v
	case int32:
		return int64(v)
	case float64:
		return int64(v)
	}
	return 0
}

// String returns a text column, "" for NULL.
func (r Row) String(col string) string {
	if v, ok := r[col].(string); ok {
		return v
	}
	return ""
}

// Bool returns a boolean column, false for NULL.
func (r Row) Bool(col string) bool {
	v, _ := r[col].(bool)
	return v
}

// Estimate returns the estimate in columns col, col_lo and col_hi.
func (r Row) Estimate(col string) Estimate {
	return Estimate{Value: r.Float(col), Lo: r.Float(col + "_lo"), Hi: r.Float(col + "_hi")}
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
func Load(ctx context.Context, st *store.Store, period string) (*Results, error) {
	return LoadCity(ctx, st, period, "")
}

// LoadCity reads a period's results for a city ("" for the first).
func LoadCity(ctx context.Context, st *store.Store, period, city string) (*Results, error) {
	db := st.DB()
	r := &Results{Areas: map[string][]*AreaMetrics{}, Quality: map[string]int64{}, Tables: map[string][]Row{}}
	r.Period.Label = period
	err := db.QueryRowContext(ctx, `SELECT period_from, period_to, period_basis, years, min_count, seed FROM analysis_runs WHERE period = ?`, period).
		Scan(&r.Period.From, &r.Period.To, &r.PeriodBasis, &r.Years, &r.MinCount, &r.Seed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s (run analyze for it first)", ErrNoAnalysis, period)
	}
	if err != nil {
		return nil, err
	}
	if loc, err := st.Location(ctx); err == nil {
		r.Period.From, r.Period.To = r.Period.From.In(loc), r.Period.To.In(loc)
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
	for _, spec := range allTables {
		if spec.name == runsTable.name {
			continue
		}
		rs, err := readRows(ctx, db, spec, period, city)
		if err != nil {
			return nil, err
		}
		r.Tables[spec.name] = rs
	}
	byKey := map[[2]string]*AreaMetrics{}
	for _, row := range r.Tables[metricsTable.name] {
		a := &AreaMetrics{City: city, Layer: row.String("layer"), AreaID: row.String("area_id"), Name: row.String("name"),
			Population: row.Float("population"), PopulationBasis: row.String("population_basis"), Counts: Counts{},
			Tickets: row.Int("tickets"), Resident: row.Int("resident"), ShareBase: row.Int("share_base"), App: row.Int("app"),
			Digital: row.Int("digital"), AppShare: row.Estimate("app_share"), DigitalShare: row.Estimate("digital_share"),
			ResidentPer1000: row.Estimate("resident_per_1000"), AppPer1000: row.Estimate("app_per_1000"),
			OfferedBase: row.Int("offered_base"), OfferedApp: row.Int("offered_app"), OfferedAppShare: row.Estimate("offered_app_share"),
			ExpectedApp: row.Float("expected_app"), StdAppRatio: row.Estimate("std_app_ratio"),
			RepresentationRatio: row.Estimate("representation_ratio"), EBAppShare: row.Estimate("eb_app_share"), LowCount: row.Bool("low_count")}
		if a.Name == "" {
			a.Name = a.AreaID
		}
		if len(r.Areas[a.Layer]) == 0 && a.Layer != CityLayer {
			r.Layers = append(r.Layers, a.Layer)
		}
		r.Areas[a.Layer] = append(r.Areas[a.Layer], a)
		byKey[[2]string{a.Layer, a.AreaID}] = a
	}
	for _, row := range r.Tables[channelsTable.name] {
		if a := byKey[[2]string{row.String("layer"), row.String("area_id")}]; a != nil {
			a.Counts[equity311.Channel(row.String("channel"))] = row.Int("n")
		}
	}
	for _, row := range r.Tables[qualityTable.name] {
		r.Quality[row.String("item")] = row.Int("n")
	}
	for _, row := range r.Tables[sourcesTable.name] {
		sc := SourceChannel{City: city, SourceID: row.Int("source_id"), Source: row.String("source"), Profile: row.String("profile"),
			RecordsApp: row.Bool("records_app"), Channel: equity311.Channel(row.String("channel")), N: row.Int("n")}
		if v, ok := row["resident"].(bool); ok {
			sc.Resident = sql.NullBool{Bool: v, Valid: true}
		}
		r.Sources = append(r.Sources, sc)
	}
	c := r.CityRow()
	r.Tickets, r.Resident = c.Tickets, c.Resident
	return r, nil
}

// readRows reads a table's rows of the period and city, ordered by its
// leading columns.
func readRows(ctx context.Context, db *sql.DB, spec tableSpec, period, city string) ([]Row, error) {
	q := fmt.Sprintf("SELECT %s FROM %s WHERE period = ? AND city = ? ORDER BY ALL", strings.Join(spec.cols, ", "), spec.name)
	rows, err := db.QueryContext(ctx, q, period, city)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", spec.name, err)
	}
	defer rows.Close()
	var out []Row
	vals := make([]any, len(spec.cols))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		r := make(Row, len(vals))
		for i, c := range spec.cols {
			if t, ok := vals[i].(time.Time); ok {
				r[c] = t
				continue
			}
			r[c] = vals[i]
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CityRow returns the citywide row.
func (r *Results) CityRow() *AreaMetrics {
	if c := r.Areas[CityLayer]; len(c) > 0 {
		return c[0]
	}
	return &AreaMetrics{Counts: Counts{}, Population: math.NaN(), AppShare: nanEstimate()}
}
