package analysis

import (
	"context"
	"fmt"
	"math"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/analysis/stats"
	"github.com/equity311/equity311/store"
)

// survival writes days to close by channel, citywide, as Kaplan–Meier
// estimates: a request still open is censored at its source's snapshot
// time (the newest time the source holds: when it was last seen open);
// sources selected on status (open cases only, closed cases only) are left
// out, because their censoring is informative. Times are counted to the
// minute.
func survival(ctx context.Context, st *store.Store, p equity311.Period, minCount int, set sourceSet, out *tables) error {
	q := `WITH snap AS (
		SELECT source_id, greatest(max(opened_at), max(updated_at), max(closed_at)) AS at FROM tickets GROUP BY 1),
	d AS (
		SELECT t.city, t.channel, t.closed_at IS NOT NULL AS closed,
			round((epoch(coalesce(t.closed_at, snap.at)) - epoch(t.opened_at)) / 60) / 1440 AS days
		FROM tickets t JOIN snap USING (source_id)
		WHERE t.opened_at >= $1 AND t.opened_at < $2 AND t.resident_initiated` + set.where("t.source_id") + statusSelected("t.source_id") + `)
	SELECT city, channel, greatest(days, 0), count(*) FILTER (WHERE closed), count(*) FILTER (WHERE NOT closed)
	FROM d GROUP BY ALL ORDER BY 1, 2, 3`
	rows, err := st.DB().QueryContext(ctx, q, p.From, p.To)
	if err != nil {
		return fmt.Errorf("survival: %w", err)
	}
	defer rows.Close()
	type group struct {
		city    string
		channel equity311.Channel
		t       []float64
		d, c    []int64
	}
	var gs []*group
	for rows.Next() {
		var city, channel string
		var days float64
		var d, c int64
		if err := rows.Scan(&city, &channel, &days, &d, &c); err != nil {
			return err
		}
		if len(gs) == 0 || gs[len(gs)-1].city != city || string(gs[len(gs)-1].channel) != channel {
			gs = append(gs, &group{city: city, channel: equity311.Channel(channel)})
		}
		g := gs[len(gs)-1]
		g.t, g.d, g.c = append(g.t, days), append(g.d, d), append(g.c, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, g := range gs {
		s := stats.KaplanMeierCounts(g.t, g.d, g.c)
		lo, hi := s.QuantileCI(0.5)
		if math.IsInf(hi, 1) {
			hi = math.NaN() // unbounded: stored as NULL
		}
		put(out, results.SurvivalTable(), results.Survival{Key: results.Key{City: g.city, Period: p.Label}, Channel: g.channel,
			Requests: int64(s.N), Closed: int64(s.Events), Censored: int64(s.N - s.Events),
			MedianDays: results.Estimate{Value: s.Quantile(0.5), Lo: lo, Hi: hi}, P90Days: s.Quantile(0.9),
			LowCount: s.Events < minCount})
	}
	return nil
}
