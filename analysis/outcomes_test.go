package analysis

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/internal/storetest"
)

// TestOutcomesDoNotDependOnRowOrder checks that the outcomes of the same
// requests are the same, to the bit, whatever order they are stored in:
// the expected on-time rate once averaged the requests' type rates as
// doubles, whose sum depends on the order of its terms (rows and threads),
// and rounding it to 12 decimals did not hide every difference — on the
// 1M-request demo city two runs of analyze differed in 2 of 832 rows.
func TestOutcomesDoNotDependOnRowOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("two stores of 300k requests; run without -short")
	}
	ctx := context.Background()
	p := equity311.Period{Label: "p", From: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 6, 0, 0, 0, 0, time.UTC)}
	const n = 300_000
	var got [2]string
	for k, order := range []string{"hash(i)", "hash(i) DESC"} {
		st := storetest.Open(t)
		exec(t, st, `INSERT INTO cities VALUES ('c', 'UTC')`)
		exec(t, st, `INSERT INTO sources (source_id, kind, name, loaded_at) VALUES (1, 'dump', 'd.csv', now())`)
		// Opened over 13 weeks; targets 1 to 5 days on, closes 0 to 7 days
		// on: each of 97 types has its own irregular on-time rate.
		exec(t, st, fmt.Sprintf(`INSERT INTO tickets (city, ticket_id, opened_at, closed_at, target_at, service_code, channel, channel_basis, resident_initiated, source_id)
			SELECT 'c', 't' || i, o, o + to_seconds((i * 7919 %% 604800)::BIGINT), o + to_days((1 + i %% 5)::INTEGER),
				'type ' || (i %% 97), ['app', 'phone', 'web'][1 + (i // 97) %% 3], 'reported', true, 1
			FROM (SELECT i, ?::TIMESTAMPTZ + to_seconds((i * 5 %% 7862400)::BIGINT) AS o FROM range(%d) r(i))
			ORDER BY %s`, n, order), p.From)
		exec(t, st, `INSERT INTO areas (layer, area_id, geometry) SELECT 'tracts', 'A' || i, ''::BLOB FROM range(300) r(i)`)
		storetest.Number(t, st)
		exec(t, st, `INSERT INTO place_sets SELECT area_no, area_no, 'point' FROM areas`) // a set per area
		exec(t, st, fmt.Sprintf(`INSERT INTO ticket_place_sets SELECT t.ticket_no, a.area_no
			FROM range(%d) r(i) JOIN tickets t ON t.ticket_id = 't' || i JOIN areas a ON a.area_id = 'A' || (i %% 300) ORDER BY %s`, n, order))
		out := &tables{}
		if err := outcomes(ctx, st, p, 10, sourceSet{}, []string{"tracts"}, slog.New(slog.DiscardHandler), out); err != nil {
			t.Fatal(err)
		}
		rows := out.rows[results.OutcomesTable().Name()]
		if len(rows) != 3+300*3 {
			t.Fatalf("%d outcome rows; want 3 channels citywide and in each of 300 areas", len(rows))
		}
		got[k] = fmt.Sprintf("%v", rows)
	}
	if got[0] != got[1] {
		a, b := got[0], got[1]
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		t.Errorf("the same requests in another order give other outcomes, from byte %d:\n%.300s\n%.300s", i, a[max(0, i-150):], b[max(0, i-150):])
	}
}

// TestOffsetIndexSQL checks the SQL choice of a median's interval against
// the rule in Go — the first offset at least 0.98/√n, else the last — at
// every offset's boundary and on either side of it.
func TestOffsetIndexSQL(t *testing.T) {
	st := storetest.Open(t)
	want := func(n int64) int {
		need := 0.98 / math.Sqrt(float64(n))
		for i, o := range medianOffsets {
			if o >= need {
				return i
			}
		}
		return len(medianOffsets) - 1
	}
	ns := []int64{1, 2, 3, 4, 5, 10, 100}
	for _, o := range medianOffsets {
		b := int64(math.Ceil(0.98 * 0.98 / (o * o)))
		ns = append(ns, b-2, b-1, b, b+1, b+2)
	}
	for _, n := range ns {
		if n < 1 {
			continue
		}
		var got int
		if err := st.DB().QueryRow(`SELECT ` + offsetIndexSQL(strconv.FormatInt(n, 10))).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want(n) {
			t.Errorf("n = %d: SQL picks offset %d (%g), Go's rule %d (%g)", n, got, medianOffsets[got], want(n), medianOffsets[want(n)])
		}
	}
}

// TestCityAndAreaMediansAgree checks that the two ways the queries read a
// median's interval — the citywide groups only the pair they need, the
// areas every pair and then theirs — give the same figures: with every
// request in one area, each channel's area row equals its city row.
func TestCityAndAreaMediansAgree(t *testing.T) {
	ctx := context.Background()
	p := equity311.Period{Label: "p", From: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 6, 0, 0, 0, 0, time.UTC)}
	st := storetest.Open(t)
	exec(t, st, `INSERT INTO cities VALUES ('c', 'UTC')`)
	exec(t, st, `INSERT INTO sources (source_id, kind, name, loaded_at) VALUES (1, 'dump', 'd.csv', now())`)
	// 860 app requests (the size at which a DOUBLE probability once gave
	// another rank than the decimal one), 37 by phone, 5000 on the web.
	exec(t, st, fmt.Sprintf(`INSERT INTO tickets (city, ticket_id, opened_at, closed_at, target_at, service_code, channel, channel_basis, resident_initiated, source_id)
		SELECT 'c', 't' || i, o, o + to_seconds((i * 7919 %% 604800)::BIGINT), o + to_days((1 + i %% 5)::INTEGER),
			'type ' || (i %% 7), CASE WHEN i < 860 THEN 'app' WHEN i < 897 THEN 'phone' ELSE 'web' END, 'reported', true, 1
		FROM (SELECT i, ?::TIMESTAMPTZ + to_seconds((i * 5 %% 7862400)::BIGINT) AS o FROM range(%d) r(i))`, 5897), p.From)
	exec(t, st, `INSERT INTO areas (layer, area_id, geometry) VALUES ('tracts', 'A', ''::BLOB)`)
	storetest.Number(t, st)
	exec(t, st, `INSERT INTO place_sets SELECT area_no, area_no, 'point' FROM areas`)
	exec(t, st, `INSERT INTO ticket_place_sets SELECT t.ticket_no, a.area_no FROM tickets t, areas a`)
	out := &tables{}
	if err := outcomes(ctx, st, p, 10, sourceSet{}, []string{"tracts"}, slog.New(slog.DiscardHandler), out); err != nil {
		t.Fatal(err)
	}
	byChannel := map[string][]results.Outcome{}
	for _, r := range out.rows[results.OutcomesTable().Name()] {
		vals := make([]any, len(r))
		for i, v := range r {
			vals[i] = v
		}
		o := results.OutcomesTable().Row(vals)
		byChannel[string(o.Channel)] = append(byChannel[string(o.Channel)], o)
	}
	if len(byChannel) != 3 {
		t.Fatalf("outcomes for channels %v; want app, phone and web", byChannel)
	}
	for ch, rows := range byChannel {
		if len(rows) != 2 {
			t.Fatalf("%s: %d rows; want the city's and the area's", ch, len(rows))
		}
		c, a := rows[0].DaysRatio, rows[1].DaysRatio
		if math.IsNaN(c.Lo) || c.Lo >= c.Value || c.Hi <= c.Value {
			t.Errorf("%s: city days ratio %v has no interval around it", ch, c)
		}
		if c != a {
			t.Errorf("%s: city days ratio %v, area's %v from the same requests", ch, c, a)
		}
	}
}
