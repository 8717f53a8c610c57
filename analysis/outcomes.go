package analysis

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/store"
)

// outcomes writes days to close and on-time rates of resident requests by
// channel, citywide and per area. days_ratio is the median over the
// channel's closed requests of their days to close divided by the
// citywide median of their type — under 1 when the channel's requests
// close faster than usual for their types, so that "app requests close
// faster" is not only "app requests are easier types" — with the
// distribution-free interval of a median (order statistics n/2 ∓
// 0.98·√n, read conservatively: see medianOffsets). A request counts for on-time when it has a target date and is
// closed or its target passed before the period's end (so the same data
// gives the same figures whenever it is analysed); the expected rate is the
// citywide on-time rate of each request's type, averaged: each rate to 18
// decimals, summed exactly (a DECIMAL sum, whose value does not depend on
// the order of its terms as a sum of doubles does: rounding that to 12
// decimals still left 2 of 832 rows differing between two runs on the
// same 1M-request city), then divided.
//
// Sources selected on status (an extract of open cases, a selection of
// closed ones) are left out: their censoring is informative. A request
// counts for on-time only when its target date has passed by the time its
// source last saw it (its snapshot) and by the period's end.
func outcomes(ctx context.Context, st *store.Store, p equity311.Period, minCount int, set sourceSet, layers []string, log *slog.Logger, out *tables) error {
	conn, err := st.Conn(ctx)
	if err != nil {
		return fmt.Errorf("outcomes: %w", err)
	}
	defer conn.Close()
	defer conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS outcome_requests`)
	// The requests with their days to close, ratio to their type's median
	// and on-time terms are staged once (a TEMP table, which DuckDB can
	// spill), then summarized citywide and for one layer at a time: the
	// exact quantiles are holistic aggregates that hold every value of
	// every group outside DuckDB's memory cap, so one query over the city
	// and all layers held three copies of each value at once (3.1 GiB at
	// 40M requests). The requests (d) are read twice, for their types'
	// medians and for the rows, rather than materialized once: DuckDB
	// otherwise keeps the whole CTE, which spilled 330 MB at 10M requests
	// and took 3.3 s against 2.5 s read twice. Each request carries its
	// place set (migration 19), so a layer's query joins the requests with
	// the few sets' areas, not with a row per request and layer: 1.9 s
	// instead of 3.3–3.6 s per layer of the 10M bench city, for a staging
	// 1.5 s longer (the join with one row per placed ticket).
	t := time.Now()
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE outcome_requests AS
	WITH snap AS (
		SELECT source_id, greatest(max(opened_at), max(updated_at), max(closed_at)) AS at FROM tickets GROUP BY 1),
	d AS NOT MATERIALIZED (
		SELECT t.city, t.ticket_no, coalesce(t.service_code, '') AS service, t.channel,
			CASE WHEN t.closed_at IS NOT NULL THEN (epoch(t.closed_at) - epoch(t.opened_at)) / 86400.0 END AS days,
			t.target_at IS NOT NULL AND t.target_at < least($3, snap.at) AS decided,
			t.closed_at IS NOT NULL AND t.closed_at <= t.target_at AS on_time
		FROM tickets t JOIN snap USING (source_id)
		WHERE t.opened_at >= $1 AND t.opened_at < $2 AND t.resident_initiated`+set.where("t.source_id")+statusSelected("t.source_id")+`),
	tm AS (
		SELECT city, service, median(days) AS m, avg(on_time::INTEGER) FILTER (WHERE decided) AS r FROM d GROUP BY ALL)
	SELECT d.city, s.set_no, d.channel, d.days, d.decided, d.on_time, d.days / nullif(tm.m, 0) AS ratio, tm.r AS type_rate
	FROM d JOIN tm USING (city, service) LEFT JOIN ticket_place_sets s ON s.ticket_no = d.ticket_no`, p.From, p.To, p.To); err != nil {
		return fmt.Errorf("outcomes: stage requests: %w", err)
	}
	log.Debug("outcomes step", "step", "stage requests", "seconds", time.Since(t).Seconds())
	// The citywide groups are few and large, where reading 31 quantiles
	// of each cost most: their sizes are counted first (n), and each
	// reads only the median and the pair of quantiles its size needs
	// (1.6 s instead of 2.4 s at 10M requests). The areas' groups are
	// small, where counting them first cost another join with the
	// places, so they read every pair and keep the one their size needs.
	var pairs []string
	for i, o := range medianOffsets {
		pairs = append(pairs, fmt.Sprintf("quantile_disc(ratio, [0.5, %s, %s]) FILTER (WHERE n.k = %d)", probability(0.5-o), probability(0.5+o), i))
	}
	aggs := func(ratios string) string {
		return `count(*), count(days), quantile_cont(days, [0.5, 0.9]), count(ratio), ` + ratios + `,
		count(*) FILTER (WHERE decided), count(*) FILTER (WHERE decided AND on_time), sum(type_rate::DECIMAL(38, 18)) FILTER (WHERE decided) / count(*) FILTER (WHERE decided)`
	}
	k := offsetIndexSQL("count(ratio)") // a group's offset, from its size
	type query struct {
		what, q string
		args    []any
	}
	queries := []query{{"city", `WITH n AS (SELECT city, channel, ` + k + ` AS k FROM outcome_requests GROUP BY ALL)
		SELECT x.city, 'city', x.city, x.channel, ` + aggs("coalesce("+strings.Join(pairs, ", ")+")") + `
		FROM outcome_requests x JOIN n USING (city, channel) GROUP BY x.city, x.channel`, nil}}
	areaRatios := `list_select(quantile_disc(ratio, ` + medianCIProbabilities() + `), [1, 2 + 2 * ` + k + `, 3 + 2 * ` + k + `])`
	for _, l := range layers {
		queries = append(queries, query{l, `SELECT g.city, a.layer, a.area_id, g.* EXCLUDE (city, area_no)
			FROM (SELECT x.city, ps.area_no, x.channel, ` + aggs(areaRatios) + `
				FROM outcome_requests x JOIN place_sets ps ON ps.set_no = x.set_no
				WHERE ps.area_no IN (SELECT area_no FROM areas WHERE layer = $1)
				GROUP BY ALL) g
			JOIN areas a ON a.area_no = g.area_no`, []any{l}})
	}
	var rows []results.Outcome
	for _, q := range queries {
		t := time.Now()
		if err := scanOutcomes(ctx, conn, q.q, q.args, p, minCount, &rows); err != nil {
			return fmt.Errorf("outcomes, %s: %w", q.what, err)
		}
		log.Debug("outcomes step", "step", q.what, "seconds", time.Since(t).Seconds())
	}
	slices.SortFunc(rows, func(a, b results.Outcome) int {
		return cmp.Or(cmp.Compare(a.City, b.City), cmp.Compare(a.Layer, b.Layer), cmp.Compare(a.AreaID, b.AreaID), cmp.Compare(a.Channel, b.Channel))
	})
	for _, r := range rows {
		put(out, results.OutcomesTable(), r)
	}
	return nil
}

// scanOutcomes reads the rows of one outcomes query (city, layer, area,
// channel and the aggregates of outcomes) into rows.
func scanOutcomes(ctx context.Context, conn *sql.Conn, q string, args []any, p equity311.Period, minCount int, out *[]results.Outcome) error {
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var city, layer, area, channel string
		var requests, closed, nr, withTarget, onTime int64
		var days, ratios floatList
		var expected sql.NullFloat64
		if err := rows.Scan(&city, &layer, &area, &channel, &requests, &closed, &days, &nr, &ratios, &withTarget, &onTime, &expected); err != nil {
			return err
		}
		*out = append(*out, results.Outcome{Key: results.Key{City: city, Period: p.Label}, Layer: layer, AreaID: area, Channel: equity311.Channel(channel),
			Requests: requests, Closed: closed, MedianDays: days.at(0), P90Days: days.at(1), DaysRatio: medianCI(ratios, nr),
			WithTarget: withTarget, OnTime: onTime, OnTimeRate: share(onTime, withTarget), ExpectedOnTimeRate: nf(expected),
			LowCount: closed < int64(minCount), OnTimeBasis: onTimeBasis})
	}
	return rows.Err()
}

func nf(v sql.NullFloat64) float64 {
	if !v.Valid {
		return math.NaN()
	}
	return v.Float64
}

// quality writes each city's data-quality counts for the period and its
// requests by source and channel.
// onTimeBasis says which requests the on-time rate counts.
const onTimeBasis = "requests with a target date that had passed by the period's end and by the time their source last saw them; sources selected on status left out"

// statusSelected is an SQL condition leaving out the sources selected on
// status (declared or detected).
func statusSelected(col string) string {
	return " AND " + col + " NOT IN (SELECT source_id FROM source_filters WHERE kind = 'status')"
}

func quality(ctx context.Context, st *store.Store, p equity311.Period, set sourceSet, out *tables) error {
	queries := []string{
		`SELECT city, 'geo:' || coalesce(geo_quality, 'unassigned'), count(*) FROM tickets WHERE opened_at >= $1 AND opened_at < $2` + set.where("source_id") + ` GROUP BY ALL`,
		`SELECT city, 'channel_basis:' || channel_basis, count(*) FROM tickets WHERE opened_at >= $1 AND opened_at < $2` + set.where("source_id") + ` GROUP BY ALL`,
		`SELECT city, 'channel:unknown_unmapped', count(*) FROM tickets WHERE opened_at >= $1 AND opened_at < $2` + set.where("source_id") + ` AND channel = 'unknown' AND channel_raw IS NOT NULL GROUP BY ALL`,
		`SELECT city, 'channel:unknown', count(*) FROM tickets WHERE opened_at >= $1 AND opened_at < $2` + set.where("source_id") + ` AND channel = 'unknown' GROUP BY ALL`,
		// The 20 commonest channel values no profile maps, per city.
		`SELECT city, 'unmapped:' || channel_raw, count(*) AS n FROM tickets WHERE opened_at >= $1 AND opened_at < $2 AND channel = 'unknown' AND channel_raw IS NOT NULL` + set.where("source_id") + `
		 GROUP BY city, channel_raw QUALIFY row_number() OVER (PARTITION BY city ORDER BY n DESC, channel_raw) <= 20`,
		`SELECT city, 'tickets', count(*) FROM tickets WHERE opened_at >= $1 AND opened_at < $2` + set.where("source_id") + ` GROUP BY ALL`,
		// Rejected rows by reason (quoted values and numbers folded), over every load of the city.
		`SELECT s.city, 'reject:' || regexp_replace(regexp_replace(r.reason, '"[^"]*"', '"…"', 'g'), '[0-9]+', 'N', 'g'), count(*)
		 FROM rejects r JOIN sources s USING (source_id) WHERE s.city IS NOT NULL AND $1 <= $2 GROUP BY ALL`,
		`SELECT city, unnest(['load:rows_read', 'load:rows_loaded', 'load:rows_rejected', 'load:rows_excluded', 'load:rows_superseded']),
			unnest([sum(rows_read), sum(rows_loaded), sum(rows_rejected), sum(rows_excluded), sum(rows_superseded)])
		 FROM sources WHERE kind NOT IN ('boundaries', 'census') AND city IS NOT NULL AND $1 <= $2 GROUP BY city`,
	}
	for _, q := range queries {
		rows, err := st.DB().QueryContext(ctx, q, p.From, p.To)
		if err != nil {
			return fmt.Errorf("quality: %w", err)
		}
		for rows.Next() {
			var city, item string
			var n sql.NullInt64
			if err := rows.Scan(&city, &item, &n); err != nil {
				rows.Close()
				return err
			}
			put(out, results.QualityTable(), results.QualityItem{Key: results.Key{City: city, Period: p.Label}, Item: item, N: n.Int64})
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	rows, err := st.DB().QueryContext(ctx, `SELECT t.city, t.source_id, s.name, s.profile, coalesce(s.records_app, true), t.channel, t.resident_initiated, count(*)
		FROM tickets t JOIN sources s USING (source_id) WHERE t.opened_at >= $1 AND t.opened_at < $2`+set.where("t.source_id")+` GROUP BY ALL ORDER BY ALL`, p.From, p.To)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var city, name, channel string
		var profile sql.NullString
		var id, n int64
		var app bool
		var resident sql.NullBool
		if err := rows.Scan(&city, &id, &name, &profile, &app, &channel, &resident, &n); err != nil {
			return err
		}
		sc := results.SourceChannel{Key: results.Key{City: city, Period: p.Label}, SourceID: id, Source: name, Profile: profile.String,
			RecordsApp: app, Channel: equity311.Channel(channel), N: n}
		if resident.Valid {
			sc.Resident = &resident.Bool
		}
		put(out, results.SourcesTable(), sc)
	}
	return rows.Err()
}

// medianOffsets are the distances from the median at which quantiles of
// a distribution are read to bound its median's 95% interval: the
// order-statistic interval lies at 0.5 ∓ 0.98/√n, and the offset used is
// the smallest of these at least as wide (the last when none is) — a
// conservative interval read from one sort per group.
var medianOffsets = []float64{0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.49}

// medianCIProbabilities lists the probabilities quantile_disc reads for
// every offset: the median and 0.5 ∓ each offset, as SQL.
func medianCIProbabilities() string {
	ps := []string{"0.5"}
	for _, o := range medianOffsets {
		ps = append(ps, probability(0.5-o), probability(0.5+o))
	}
	return "[" + strings.Join(ps, ", ") + "]"
}

// offsetIndexSQL is the SQL of the 0-based index in medianOffsets of the
// offset a median of n values uses: the first at least 0.98/√n. Its
// arithmetic is IEEE doubles', as Go's would be.
func offsetIndexSQL(n string) string {
	var b strings.Builder
	b.WriteString("CASE")
	for i, o := range medianOffsets[:len(medianOffsets)-1] {
		fmt.Fprintf(&b, " WHEN %s / sqrt((%s)::DOUBLE) <= %s THEN %d", sqlFloat(0.98), n, sqlFloat(o), i)
	}
	fmt.Fprintf(&b, " ELSE %d END", len(medianOffsets)-1)
	return b.String()
}

// probability writes a quantile's probability as a decimal literal
// ("0.55"): DuckDB finds the rank of a DECIMAL probability in exact
// integer arithmetic, and of a DOUBLE one (0.55000000000000004) in
// doubles, which for 860 values gives the next rank.
func probability(p float64) string { return strconv.FormatFloat(p, 'f', -1, 64) }

// sqlFloat writes x as an SQL DOUBLE literal that reads back as x.
func sqlFloat(x float64) string { return strconv.FormatFloat(x, 'e', -1, 64) + "::DOUBLE" }

// medianCI is the median of n values with its conservative 95% interval,
// from the quantiles [median, lower, upper] the queries read.
func medianCI(q floatList, n int64) results.Estimate {
	if n == 0 || len(q) == 0 {
		return nanEstimate()
	}
	return results.Estimate{Value: q.at(0), Lo: q.at(1), Hi: q.at(2)}
}

// floatList scans a DuckDB LIST of DOUBLE (NULL as an empty list).
type floatList []float64

func (l *floatList) Scan(v any) error {
	*l = (*l)[:0]
	xs, ok := v.([]any)
	if !ok {
		return nil
	}
	for _, x := range xs {
		f, _ := x.(float64)
		if x == nil {
			f = math.NaN()
		}
		*l = append(*l, f)
	}
	return nil
}

func (l floatList) at(i int) float64 {
	if i < len(l) {
		return l[i]
	}
	return math.NaN()
}
