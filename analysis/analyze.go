package analysis

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
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
	// Period to analyse; nil means DefaultWeeks complete weeks up to the
	// latest week of the data (DefaultPeriod).
	Period   *equity311.Period
	MinCount int // default DefaultMinCount
	// PopulationFrom picks the census program that gives each area's
	// population when several do: "decennial" (the default: the decennial
	// count, else ACS B01003) or "acs" (ACS first).
	PopulationFrom string
	Log            *slog.Logger
}

// DefaultWeeks is the length of the default period: the last 52 complete
// weeks of the data (a year, so that seasons do not bias the figures).
const DefaultWeeks = 52

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
	Counts              Counts // requests by channel, every source
	// AppCounts are the requests by channel from sources that can record
	// the app: the basis of the shares.
	AppCounts         Counts
	Tickets, Resident int64
	// ShareBase is the resident requests from sources that can record the
	// app; App and Digital count those sources' requests.
	ShareBase       int64
	App, Digital    int64
	AppShare        Estimate
	DigitalShare    Estimate
	ResidentPer1000 Estimate // per 1,000 residents per year
	AppPer1000      Estimate // per 1,000 residents per year
	LowCount        bool
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

// per1000 is the rate of k requests per 1,000 residents per year over a
// period of the given length, with the exact Poisson interval.
func per1000(k int64, pop, years float64) Estimate {
	if math.IsNaN(pop) || pop <= 0 || years <= 0 {
		return Estimate{math.NaN(), math.NaN(), math.NaN()}
	}
	lo, hi := PoissonExact(k, 0.95)
	f := 1000 / pop / years
	return Estimate{float64(k) * f, lo * f, hi * f}
}

// Years is the length of p in years of 365.25 days.
func Years(p equity311.Period) float64 { return p.To.Sub(p.From).Hours() / 24 / 365.25 }

// Result summarises an analysis run.
type Result struct {
	Period      equity311.Period
	PeriodBasis string // "requested" or how the default period was chosen
	Tickets     int64
	Resident    int64
	Layers      []string
}

// Analyze computes the metrics for a period and replaces that period's
// rows in the analysis tables, in one transaction.
func Analyze(ctx context.Context, st *store.Store, opt Options) (Result, error) {
	var res Result
	log := cmp.Or(opt.Log, slog.New(slog.DiscardHandler))
	if opt.MinCount <= 0 {
		opt.MinCount = DefaultMinCount
	}
	p, basis, err := resolvePeriod(ctx, st, opt.Period)
	if err != nil {
		return res, err
	}
	res.Period, res.PeriodBasis = p, basis
	areas, err := computeAreas(ctx, st, p, opt)
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
	if err := write(ctx, st, opt.MinCount, res, areas, quality); err != nil {
		return res, err
	}
	log.Info("analysed", "period", p.Label, "tickets", res.Tickets, "resident", res.Resident, "layers", res.Layers)
	return res, nil
}

// DefaultPeriodBasis describes the default period.
const DefaultPeriodBasis = "the last 52 complete weeks of the data"

// resolvePeriod returns p, or the default period.
func resolvePeriod(ctx context.Context, st *store.Store, p *equity311.Period) (equity311.Period, string, error) {
	if p != nil {
		if !p.From.Before(p.To) {
			return equity311.Period{}, "", fmt.Errorf("period %s: from must be before to", p.Label)
		}
		return *p, "requested", nil
	}
	d, err := DefaultPeriod(ctx, st)
	if err != nil {
		return d, "", err
	}
	if weeks := int(math.Round(d.To.Sub(d.From).Hours() / 24 / 7)); weeks < DefaultWeeks {
		return d, fmt.Sprintf("all %d complete weeks of the data, fewer than %d", weeks, DefaultWeeks), nil
	}
	return d, DefaultPeriodBasis, nil
}

// DefaultPeriod is the last DefaultWeeks complete ISO weeks of the data, in
// the city's time zone. The week of the latest request counts as complete
// when that request falls on its Sunday, and the week of the earliest when
// it falls on its Monday; the period never starts before the first
// complete week, so that annual rates are not diluted by weeks without data.
func DefaultPeriod(ctx context.Context, st *store.Store) (equity311.Period, error) {
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
	first, last := lo.Time.In(loc), hi.Time.In(loc)
	end := equity311.Week(last).From
	if last.Weekday() == time.Sunday {
		end = equity311.Week(last).To
	}
	start := equity311.Week(first).From
	if first.Weekday() != time.Monday {
		start = equity311.Week(first).To
	}
	from := end.AddDate(0, 0, -7*DefaultWeeks)
	if from.Before(start) {
		from = start
	}
	if !from.Before(end) {
		return equity311.Period{}, fmt.Errorf("analyze: the data (%s to %s) holds no complete week; give --from and --to",
			first.Format("2006-01-02"), last.Format("2006-01-02"))
	}
	return equity311.Range(from, end), nil
}

func computeAreas(ctx context.Context, st *store.Store, p equity311.Period, opt Options) ([]*AreaMetrics, error) {
	db := st.DB()
	byKey := map[[2]string]*AreaMetrics{}
	var order []*AreaMetrics
	get := func(layer, id, name string) *AreaMetrics {
		k := [2]string{layer, id}
		if a, ok := byKey[k]; ok {
			return a
		}
		a := &AreaMetrics{Layer: layer, AreaID: id, Name: name, Population: math.NaN(), Counts: Counts{}, AppCounts: Counts{}}
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
	if err := rows.Close(); err != nil {
		return nil, err
	}
	scanCounts := func(q string, args ...any) error {
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l, id, ch string
			var n, capable int64
			if err := rows.Scan(&l, &id, &ch, &n, &capable); err != nil {
				return err
			}
			a := get(l, id, id)
			a.Counts[equity311.Channel(ch)] += n
			a.AppCounts[equity311.Channel(ch)] += capable
		}
		return rows.Err()
	}
	// Requests from a source that can record the app (records_app; NULL
	// for sources loaded before it was recorded counts as able).
	const capable = `count(*) FILTER (WHERE coalesce(s.records_app, true))`
	if err := scanCounts(`SELECT 'city', t.city, t.channel, count(*), `+capable+` FROM tickets t
		LEFT JOIN sources s ON s.source_id = t.source_id
		WHERE t.opened_at >= ? AND t.opened_at < ? GROUP BY ALL`, p.From, p.To); err != nil {
		return nil, fmt.Errorf("citywide counts: %w", err)
	}
	if err := scanCounts(`SELECT ta.layer, ta.area_id, t.channel, count(*), `+capable+`
		FROM tickets t JOIN ticket_areas ta ON ta.city = t.city AND ta.ticket_id = t.ticket_id
		LEFT JOIN sources s ON s.source_id = t.source_id
		WHERE t.opened_at >= ? AND t.opened_at < ? GROUP BY ALL`, p.From, p.To); err != nil {
		return nil, fmt.Errorf("area counts: %w", err)
	}
	if err := populations(ctx, db, byKey, opt.PopulationFrom); err != nil {
		return nil, err
	}
	years := Years(p)
	for _, a := range order {
		a.Tickets, a.Resident = a.Counts.Total(), a.Counts.Resident()
		a.ShareBase = a.AppCounts.Resident()
		a.App, a.Digital = a.AppCounts[equity311.App], a.AppCounts.Digital()
		a.AppShare, a.DigitalShare = share(a.App, a.ShareBase), share(a.Digital, a.ShareBase)
		a.ResidentPer1000, a.AppPer1000 = per1000(a.Resident, a.Population, years), per1000(a.App, a.Population, years)
		a.LowCount = a.ShareBase < int64(opt.MinCount)
	}
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].Layer != order[j].Layer {
			return order[i].Layer < order[j].Layer
		}
		return order[i].AreaID < order[j].AreaID
	})
	return order, nil
}

// populationMeasures rank the census variables a population can be: the
// decennial counts, then ACS B01003 (BARI's total_pop is B01003), then a
// file's own "population" column.
func populationMeasures(from string) []string {
	decennial := []string{"P1_001N", "P0010001", "P2_001N", "P0020001"}
	acs := []string{"B01003_001", "total_pop"}
	if from == "acs" {
		return slices.Concat(acs, decennial, []string{"population"})
	}
	return slices.Concat(decennial, acs, []string{"population"})
}

// populations fills each area's population. A layer with census figures
// of its own uses them: of several files, the one whose measure ranks
// first (populationMeasures), then the latest vintage, then by file name,
// so the choice does not depend on the order files were loaded. A layer
// without takes the sum over the crosswalk from the layer with the most
// areas that has its own (tracts rather than neighborhoods). A city's
// population is the sum over the most populous fully known layer.
func populations(ctx context.Context, db *sql.DB, byKey map[[2]string]*AreaMetrics, from string) error {
	if from != "" && from != "decennial" && from != "acs" {
		return fmt.Errorf("population source %q: want decennial or acs", from)
	}
	var ranks []string
	for i, m := range populationMeasures(from) {
		ranks = append(ranks, fmt.Sprintf("('%s', %d)", m, i))
	}
	q := `WITH ranks(measure, priority) AS (VALUES ` + strings.Join(ranks, ", ") + `),
	own AS (
		SELECT d.layer, d.area_id, d.estimate, d.measure, s.name
		FROM demographics d JOIN sources s USING (source_id) LEFT JOIN ranks r USING (measure)
		WHERE d.variable = 'population' AND d.estimate IS NOT NULL
		QUALIFY row_number() OVER (PARTITION BY d.layer, d.area_id
			ORDER BY coalesce(r.priority, 99), d.vintage DESC, s.name, d.source_id) = 1),
	via AS (
		SELECT layer FROM own SEMI JOIN areas USING (layer, area_id) GROUP BY layer ORDER BY count(*) DESC, layer LIMIT 1)
	SELECT layer, area_id, estimate, 'census ' || measure || ' (' || regexp_extract(name, '[^/\\]*$') || ')' FROM own
	UNION ALL
	SELECT c.to_layer, c.to_id, list_sum(list(c.weight * p.estimate ORDER BY c.from_id)), 'crosswalk from ' || c.from_layer
	FROM crosswalk c JOIN via v ON v.layer = c.from_layer JOIN own p ON p.layer = c.from_layer AND p.area_id = c.from_id
	WHERE c.to_layer NOT IN (SELECT layer FROM own)
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
		for _, l := range slices.Sorted(maps.Keys(layerPop)) {
			if best == "" || layerPop[l] > layerPop[best] {
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

func write(ctx context.Context, st *store.Store, minCount int, res Result, areas []*AreaMetrics, quality map[string]int64) error {
	p := res.Period
	conn, err := st.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `
		CREATE OR REPLACE TEMP TABLE stage_channels AS SELECT * FROM analysis_area_channels LIMIT 0;
		CREATE OR REPLACE TEMP TABLE stage_metrics AS SELECT period, `+columnList(metricColumns())+` FROM analysis_area_metrics LIMIT 0;
		CREATE OR REPLACE TEMP TABLE stage_quality AS SELECT * FROM analysis_quality LIMIT 0;
		CREATE OR REPLACE TEMP TABLE stage_sources AS SELECT * FROM analysis_source_channels LIMIT 0;`); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS stage_channels; DROP TABLE IF EXISTS stage_metrics; DROP TABLE IF EXISTS stage_quality; DROP TABLE IF EXISTS stage_sources")
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
	for _, k := range slices.Sorted(maps.Keys(quality)) {
		qRows = append(qRows, []driver.Value{p.Label, k, quality[k]})
	}
	if err := store.AppendRows(ctx, conn, "stage_quality", qRows); err != nil {
		return err
	}
	return store.InTx(ctx, conn, func() error {
		for _, t := range []string{"analysis_area_channels", "analysis_area_metrics", "analysis_quality", "analysis_source_channels", "analysis_runs"} {
			if _, err := conn.ExecContext(ctx, "DELETE FROM "+t+" WHERE period = ?", p.Label); err != nil {
				return err
			}
		}
		for _, s := range []string{
			"INSERT INTO analysis_area_channels SELECT * FROM stage_channels",
			"INSERT INTO analysis_area_metrics (period, " + columnList(cols) + ") SELECT period, " + columnList(cols) + " FROM stage_metrics",
			"INSERT INTO analysis_quality SELECT * FROM stage_quality",
			`INSERT INTO analysis_source_channels
			 SELECT $1, t.city, t.source_id, s.name, s.profile, coalesce(s.records_app, true), t.channel, t.resident_initiated, count(*)
			 FROM tickets t JOIN sources s USING (source_id)
			 WHERE t.opened_at >= $2 AND t.opened_at < $3 GROUP BY ALL`,
		} {
			var args []any
			if strings.Contains(s, "$1") {
				args = []any{p.Label, p.From, p.To}
			}
			if _, err := conn.ExecContext(ctx, s, args...); err != nil {
				return err
			}
		}
		_, err := conn.ExecContext(ctx, `INSERT INTO analysis_runs (period, period_from, period_to, min_count, computed_at, tickets, resident, period_basis, years)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.Label, p.From, p.To, minCount, st.Now(), res.Tickets, res.Resident, res.PeriodBasis, Years(p))
		return err
	})
}
