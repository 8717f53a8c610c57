package analysis

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/store"
)

// Results are a period's stored analysis, as reports read them.
type Results struct {
	Period      equity311.Period
	PeriodBasis string  // "requested", or how the default period was chosen
	Years       float64 // the period's length: rates are per 1,000 residents per year
	MinCount    int
	Tickets     int64
	Resident    int64
	// Areas by layer, in area id order; CityLayer holds citywide totals.
	Areas   map[string][]*AreaMetrics
	Layers  []string // polygon layers, in name order
	Quality map[string]int64
	// Sources are the period's requests by source and channel.
	Sources []SourceChannel
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

// Load reads a period's results from the analysis tables.
func Load(ctx context.Context, st *store.Store, period string) (*Results, error) {
	db := st.DB()
	r := &Results{Areas: map[string][]*AreaMetrics{}, Quality: map[string]int64{}}
	r.Period.Label = period
	var years sql.NullFloat64
	err := db.QueryRowContext(ctx, `SELECT period_from, period_to, min_count, tickets, resident, coalesce(period_basis, 'requested'), years
		FROM analysis_runs WHERE period = ?`, period).
		Scan(&r.Period.From, &r.Period.To, &r.MinCount, &r.Tickets, &r.Resident, &r.PeriodBasis, &years)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s (run analyze for it first)", ErrNoAnalysis, period)
	}
	if err != nil {
		return nil, err
	}
	r.Years = cmp.Or(years.Float64, Years(r.Period))
	if loc, err := st.Location(ctx); err == nil {
		r.Period.From, r.Period.To = r.Period.From.In(loc), r.Period.To.In(loc)
	}
	cols := metricColumns()
	rows, err := db.QueryContext(ctx, `SELECT `+columnList(cols)+` FROM analysis_area_metrics WHERE period = ? ORDER BY layer, area_id`, period)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byKey := map[[2]string]*AreaMetrics{}
	for rows.Next() {
		a := &AreaMetrics{Counts: Counts{}}
		floats := make([]sql.NullFloat64, len(cols))
		dest := make([]any, len(cols))
		for i, c := range cols {
			if c.dest != nil {
				dest[i] = c.dest(a)
			} else {
				dest[i] = &floats[i]
			}
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		for i, c := range cols {
			if c.set != nil {
				v := math.NaN()
				if floats[i].Valid {
					v = floats[i].Float64
				}
				c.set(a, v)
			}
		}
		if a.Name == "" {
			a.Name = a.AreaID
		}
		if len(r.Areas[a.Layer]) == 0 && a.Layer != CityLayer {
			r.Layers = append(r.Layers, a.Layer)
		}
		r.Areas[a.Layer] = append(r.Areas[a.Layer], a)
		byKey[[2]string{a.Layer, a.AreaID}] = a
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	crows, err := db.QueryContext(ctx, "SELECT layer, area_id, channel, n FROM analysis_area_channels WHERE period = ?", period)
	if err != nil {
		return nil, err
	}
	defer crows.Close()
	for crows.Next() {
		var l, id, ch string
		var n int64
		if err := crows.Scan(&l, &id, &ch, &n); err != nil {
			return nil, err
		}
		if a := byKey[[2]string{l, id}]; a != nil {
			a.Counts[equity311.Channel(ch)] = n
		}
	}
	if err := crows.Err(); err != nil {
		return nil, err
	}
	qrows, err := db.QueryContext(ctx, "SELECT item, n FROM analysis_quality WHERE period = ?", period)
	if err != nil {
		return nil, err
	}
	defer qrows.Close()
	for qrows.Next() {
		var item string
		var n int64
		if err := qrows.Scan(&item, &n); err != nil {
			return nil, err
		}
		r.Quality[item] = n
	}
	if err := qrows.Err(); err != nil {
		return nil, err
	}
	srows, err := db.QueryContext(ctx, `SELECT city, source_id, source, coalesce(profile, ''), records_app, channel, resident, n
		FROM analysis_source_channels WHERE period = ? ORDER BY city, source_id, n DESC, channel`, period)
	if err != nil {
		return nil, err
	}
	defer srows.Close()
	for srows.Next() {
		var sc SourceChannel
		var ch string
		if err := srows.Scan(&sc.City, &sc.SourceID, &sc.Source, &sc.Profile, &sc.RecordsApp, &ch, &sc.Resident, &sc.N); err != nil {
			return nil, err
		}
		sc.Channel = equity311.Channel(ch)
		r.Sources = append(r.Sources, sc)
	}
	return r, srows.Err()
}

// City returns the citywide totals (the first city when there are several).
func (r *Results) City() *AreaMetrics {
	if c := r.Areas[CityLayer]; len(c) > 0 {
		return c[0]
	}
	return &AreaMetrics{Counts: Counts{}, Population: math.NaN()}
}
