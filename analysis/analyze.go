package analysis

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/store"
)

// CityLayer is the layer name under which citywide totals are stored.
const CityLayer = "city"

// DefaultMinCount is the default number of resident requests below which an
// area's figures are flagged low_count and suppressed in reports.
const DefaultMinCount = 10

// Options configure Analyze.
type Options struct {
	// Period to analyse; nil means the whole range of tickets, from the
	// first day to the day after the last, in the city's time zone.
	Period   *equity311.Period
	MinCount int // default DefaultMinCount
	Log      *slog.Logger
}

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

// AreaMetrics are one area's figures for a period (a row of analysis_area_metrics).
type AreaMetrics struct {
	Layer, AreaID, Name string
	Population          float64 // NaN when unknown
	PopulationBasis     string
	Counts              Counts
	Tickets, Resident   int64
	App, Digital        int64
	AppShare            Estimate
	DigitalShare        Estimate
	ResidentPer1000     Estimate
	AppPer1000          Estimate
	LowCount            bool
}

// Estimate is a value with its 95% interval; NaN when undefined.
type Estimate struct{ Value, Lo, Hi float64 }

func share(k, n int64) Estimate {
	if n == 0 {
		return Estimate{math.NaN(), math.NaN(), math.NaN()}
	}
	lo, hi := Wilson(k, n, z95)
	return Estimate{float64(k) / float64(n), lo, hi}
}

func per1000(k int64, pop float64) Estimate {
	if math.IsNaN(pop) || pop <= 0 {
		return Estimate{math.NaN(), math.NaN(), math.NaN()}
	}
	lo, hi := PoissonExact(k, 0.95)
	return Estimate{float64(k) / pop * 1000, lo / pop * 1000, hi / pop * 1000}
}

// Result summarises an analysis run.
type Result struct {
	Period   equity311.Period
	Tickets  int64
	Resident int64
	Layers   []string
}

// Analyze computes the metrics for a period and replaces that period's
// rows in the analysis tables, in one transaction.
func Analyze(ctx context.Context, st *store.Store, opt Options) (Result, error) {
	var res Result
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opt.MinCount <= 0 {
		opt.MinCount = DefaultMinCount
	}
	p, err := resolvePeriod(ctx, st, opt.Period)
	if err != nil {
		return res, err
	}
	res.Period = p
	areas, err := computeAreas(ctx, st, p, opt.MinCount)
	if err != nil {
		return res, err
	}
	seen := map[string]bool{}
	for _, a := range areas {
		if a.Layer == CityLayer {
			res.Tickets += a.Tickets
			res.Resident += a.Resident
		} else if !seen[a.Layer] {
			seen[a.Layer] = true
			res.Layers = append(res.Layers, a.Layer)
		}
	}
	quality, err := qualityCounts(ctx, st, p)
	if err != nil {
		return res, err
	}
	if err := write(ctx, st, p, opt.MinCount, res, areas, quality); err != nil {
		return res, err
	}
	log.Info("analysed", "period", p.Label, "tickets", res.Tickets, "resident", res.Resident, "layers", res.Layers)
	return res, nil
}

// resolvePeriod returns p, or the whole range of tickets.
func resolvePeriod(ctx context.Context, st *store.Store, p *equity311.Period) (equity311.Period, error) {
	if p != nil {
		if !p.From.Before(p.To) {
			return equity311.Period{}, fmt.Errorf("period %s: from must be before to", p.Label)
		}
		return *p, nil
	}
	loc, err := st.Location(ctx)
	if err != nil {
		return equity311.Period{}, err
	}
	var lo, hi sql.NullTime
	if err := st.DB().QueryRowContext(ctx, "SELECT min(opened_at), max(opened_at) FROM tickets").Scan(&lo, &hi); err != nil {
		return equity311.Period{}, err
	}
	if !lo.Valid {
		return equity311.Period{}, errors.New("analyze: no tickets loaded (run ingest dump first)")
	}
	a, b := lo.Time.In(loc), hi.Time.In(loc)
	from := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, loc)
	to := time.Date(b.Year(), b.Month(), b.Day()+1, 0, 0, 0, 0, loc)
	return equity311.Range(from, to), nil
}

func computeAreas(ctx context.Context, st *store.Store, p equity311.Period, minCount int) ([]*AreaMetrics, error) {
	db := st.DB()
	byKey := map[[2]string]*AreaMetrics{}
	var order []*AreaMetrics
	get := func(layer, id, name string) *AreaMetrics {
		k := [2]string{layer, id}
		if a, ok := byKey[k]; ok {
			return a
		}
		a := &AreaMetrics{Layer: layer, AreaID: id, Name: name, Population: math.NaN(), Counts: Counts{}}
		byKey[k] = a
		order = append(order, a)
		return a
	}
	// Every area, even those without requests.
	rows, err := db.QueryContext(ctx, "SELECT layer, area_id, coalesce(name, area_id) FROM areas ORDER BY layer, area_id")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var l, id, name string
		if err := rows.Scan(&l, &id, &name); err != nil {
			rows.Close()
			return nil, err
		}
		get(l, id, name)
	}
	rows.Close()
	scanCounts := func(q string, args ...any) error {
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l, id, ch string
			var n int64
			if err := rows.Scan(&l, &id, &ch, &n); err != nil {
				return err
			}
			get(l, id, id).Counts[equity311.Channel(ch)] += n
		}
		return rows.Err()
	}
	if err := scanCounts(`SELECT 'city', city, channel, count(*) FROM tickets
		WHERE opened_at >= ? AND opened_at < ? GROUP BY ALL`, p.From, p.To); err != nil {
		return nil, fmt.Errorf("citywide counts: %w", err)
	}
	if err := scanCounts(`SELECT ta.layer, ta.area_id, t.channel, count(*)
		FROM tickets t JOIN ticket_areas ta ON ta.city = t.city AND ta.ticket_id = t.ticket_id
		WHERE t.opened_at >= ? AND t.opened_at < ? GROUP BY ALL`, p.From, p.To); err != nil {
		return nil, fmt.Errorf("area counts: %w", err)
	}
	if err := populations(ctx, db, byKey); err != nil {
		return nil, err
	}
	for _, a := range order {
		a.Tickets, a.Resident = a.Counts.Total(), a.Counts.Resident()
		a.App, a.Digital = a.Counts[equity311.App], a.Counts.Digital()
		a.AppShare, a.DigitalShare = share(a.App, a.Resident), share(a.Digital, a.Resident)
		a.ResidentPer1000, a.AppPer1000 = per1000(a.Resident, a.Population), per1000(a.App, a.Population)
		a.LowCount = a.Resident < int64(minCount)
	}
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].Layer != order[j].Layer {
			return order[i].Layer < order[j].Layer
		}
		return order[i].AreaID < order[j].AreaID
	})
	return order, nil
}

// PopulationVariables are the census variables read as total population,
// in order of preference: equity311's own name, ACS B01003 (total
// population), the 2020 redistricting file's P1 and P2 totals, BARI's name.
func PopulationVariables() []string {
	return []string{"population", "B01003_001", "P1_001N", "P0010001", "P2_001N", "P0020001", "total_pop"}
}

func populationVariables() string {
	var parts []string
	for i, v := range PopulationVariables() {
		parts = append(parts, fmt.Sprintf("('%s', %d)", v, i))
	}
	return strings.Join(parts, ", ")
}

// populations fills each area's population: the layer's own census
// figure, else the sum over a crosswalk from a layer that has one. A city's
// population is the sum over the most populous fully known layer.
func populations(ctx context.Context, db *sql.DB, byKey map[[2]string]*AreaMetrics) error {
	q := `WITH names(variable, priority) AS (VALUES ` + populationVariables() + `),
	pop AS (
		SELECT layer, area_id, estimate FROM demographics JOIN names USING (variable) WHERE estimate IS NOT NULL
		QUALIFY row_number() OVER (PARTITION BY layer, area_id ORDER BY priority, vintage DESC) = 1)
	SELECT layer, area_id, estimate, 'census' FROM pop
	UNION ALL
	SELECT c.to_layer, c.to_id, list_sum(list(c.weight * p.estimate ORDER BY c.from_id)), 'crosswalk'
	FROM crosswalk c JOIN pop p ON p.layer = c.from_layer AND p.area_id = c.from_id
	WHERE c.to_layer NOT IN (SELECT layer FROM pop)
	GROUP BY ALL
	ORDER BY 1, 2, 4` // a fixed order: sums of floats must not depend on the plan
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("populations: %w", err)
	}
	defer rows.Close()
	layerPop := map[string]float64{}
	for rows.Next() {
		var l, id, basis string
		var v float64
		if err := rows.Scan(&l, &id, &v, &basis); err != nil {
			return err
		}
		if a, ok := byKey[[2]string{l, id}]; ok && math.IsNaN(a.Population) {
			a.Population, a.PopulationBasis = v, basis
			layerPop[l] += v
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// Citywide: only when there is one city.
	var cities []*AreaMetrics
	for k, a := range byKey {
		if k[0] == CityLayer {
			cities = append(cities, a)
		}
	}
	if len(cities) == 1 {
		best := ""
		for l, v := range layerPop {
			if best == "" || v > layerPop[best] || v == layerPop[best] && l < best {
				best = l
			}
		}
		if best != "" {
			cities[0].Population, cities[0].PopulationBasis = layerPop[best], "sum of "+best
		}
	}
	return nil
}

// qualityCounts returns the period's data-quality figures.
func qualityCounts(ctx context.Context, st *store.Store, p equity311.Period) (map[string]int64, error) {
	out := map[string]int64{}
	queries := []string{
		`SELECT 'geo:' || coalesce(geo_quality, 'unassigned'), count(*) FROM tickets WHERE opened_at >= $1 AND opened_at < $2 GROUP BY ALL`,
		`SELECT 'channel_basis:' || channel_basis, count(*) FROM tickets WHERE opened_at >= $1 AND opened_at < $2 GROUP BY ALL`,
		`SELECT 'channel:unknown_unmapped', count(*) FROM tickets WHERE opened_at >= $1 AND opened_at < $2 AND channel = 'unknown' AND channel_raw IS NOT NULL`,
		`SELECT 'channel:unknown', count(*) FROM tickets WHERE opened_at >= $1 AND opened_at < $2 AND channel = 'unknown'`,
		`SELECT 'tickets', count(*) FROM tickets WHERE opened_at >= $1 AND opened_at < $2`,
		`SELECT unnest(['load:rows_read', 'load:rows_loaded', 'load:rows_rejected', 'load:rows_excluded', 'load:rows_superseded']),
			unnest([sum(rows_read), sum(rows_loaded), sum(rows_rejected), sum(rows_excluded), sum(rows_superseded)])
		 FROM sources WHERE kind NOT IN ('boundaries', 'census') AND $1 <= $2`,
	}
	for _, q := range queries {
		rows, err := st.DB().QueryContext(ctx, q, p.From, p.To)
		if err != nil {
			return nil, fmt.Errorf("quality: %w", err)
		}
		for rows.Next() {
			var item string
			var n sql.NullInt64
			if err := rows.Scan(&item, &n); err != nil {
				rows.Close()
				return nil, err
			}
			out[item] = n.Int64
		}
		rows.Close()
	}
	return out, nil
}

func write(ctx context.Context, st *store.Store, p equity311.Period, minCount int, res Result, areas []*AreaMetrics, quality map[string]int64) error {
	conn, err := st.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `
		CREATE OR REPLACE TEMP TABLE stage_channels AS SELECT * FROM analysis_area_channels LIMIT 0;
		CREATE OR REPLACE TEMP TABLE stage_metrics AS SELECT period, `+columnList(metricColumns())+` FROM analysis_area_metrics LIMIT 0;
		CREATE OR REPLACE TEMP TABLE stage_quality AS SELECT * FROM analysis_quality LIMIT 0;`); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS stage_channels; DROP TABLE IF EXISTS stage_metrics; DROP TABLE IF EXISTS stage_quality")
	var chRows [][]driver.Value
	for _, a := range areas {
		for _, ch := range equity311.Channels() {
			if n := a.Counts[ch]; n > 0 {
				chRows = append(chRows, []driver.Value{p.Label, a.Layer, a.AreaID, string(ch), n})
			}
		}
	}
	if err := store.AppendRows(ctx, conn, "stage_channels", chRows); err != nil {
		return err
	}
	cols := metricColumns()
	var mRows [][]driver.Value
	for _, a := range areas {
		row := []driver.Value{p.Label}
		for _, c := range cols {
			row = append(row, c.get(a))
		}
		mRows = append(mRows, row)
	}
	if err := store.AppendRows(ctx, conn, "stage_metrics", mRows); err != nil {
		return err
	}
	var qRows [][]driver.Value
	keys := make([]string, 0, len(quality))
	for k := range quality {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		qRows = append(qRows, []driver.Value{p.Label, k, quality[k]})
	}
	if err := store.AppendRows(ctx, conn, "stage_quality", qRows); err != nil {
		return err
	}
	return store.InTx(ctx, conn, func() error {
		for _, t := range []string{"analysis_area_channels", "analysis_area_metrics", "analysis_quality", "analysis_runs"} {
			if _, err := conn.ExecContext(ctx, "DELETE FROM "+t+" WHERE period = ?", p.Label); err != nil {
				return err
			}
		}
		for _, s := range []string{
			"INSERT INTO analysis_area_channels SELECT * FROM stage_channels",
			"INSERT INTO analysis_area_metrics (period, " + columnList(cols) + ") SELECT period, " + columnList(cols) + " FROM stage_metrics",
			"INSERT INTO analysis_quality SELECT * FROM stage_quality",
		} {
			if _, err := conn.ExecContext(ctx, s); err != nil {
				return err
			}
		}
		_, err := conn.ExecContext(ctx, "INSERT INTO analysis_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
			p.Label, p.From, p.To, minCount, st.Now(), res.Tickets, res.Resident)
		return err
	})
}
