package analysis

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/analysis/stats"
	"github.com/equity311/equity311/internal/storetest"
	"github.com/equity311/equity311/store"
)

func TestCounts(t *testing.T) {
	c := results.Counts{equity311.App: 3, equity311.Web: 2, equity311.Online: 1, equity311.Phone: 4,
		equity311.Employee: 5, equity311.Unknown: 6, equity311.Other: 7}
	if got := c.Total(); got != 28 {
		t.Errorf("total %d, want 28", got)
	}
	if got := c.Resident(); got != 10 {
		t.Errorf("resident %d, want 10 (app, web, online, phone)", got)
	}
	if got := c.Digital(); got != 6 {
		t.Errorf("digital %d, want 6", got)
	}
}

func TestShareAndRateUndefined(t *testing.T) {
	if e := share(0, 0); !math.IsNaN(e.Value) || !math.IsNaN(e.Lo) {
		t.Errorf("share of nothing: %+v, want NaN", e)
	}
	if e := per1000(5, math.NaN(), 1); !math.IsNaN(e.Value) {
		t.Errorf("rate without population: %+v", e)
	}
	if e := per1000(5, 0, 1); !math.IsNaN(e.Value) {
		t.Errorf("rate over zero population: %+v", e)
	}
	lo, hi := stats.Wilson(3, 5, stats.Z95)
	if e := share(3, 5); e.Value != 0.6 || e.Lo != lo || e.Hi != hi {
		t.Errorf("share(3, 5) = %+v", e)
	}
	plo, phi := stats.PoissonExact(5, 0.95)
	if e := per1000(5, 250, 0.5); e.Value != 40 || math.Abs(e.Lo-plo*8) > 1e-12 || math.Abs(e.Hi-phi*8) > 1e-12 {
		t.Errorf("per1000(5, 250, half a year) = %+v, want 40 a year", e)
	}
}

// TestAnalyzeHandBuilt analyses a store built by hand: two neighborhoods
// without their own census figures, two tracts with populations and a
// crosswalk between them, and tickets on several channels, one outside the
// period. Every figure is checked against hand arithmetic.
func TestAnalyzeHandBuilt(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	day := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	exec(t, st, `INSERT INTO cities VALUES ('c', 'UTC')`)
	exec(t, st, `INSERT INTO areas (layer, area_id, name, area_m2, geometry) VALUES ('hoods', 'A', 'Alpha', 1, ?), ('hoods', 'B', 'Beta', 1, ?),
		('tracts', 'T1', 'T1', 1, ?), ('tracts', 'T2', 'T2', 1, ?)`, square(0), square(1), square(0), square(1))
	exec(t, st, `INSERT INTO sources (source_id, kind, name, loaded_at) VALUES (1, 'dump', 'd.csv', now()), (2, 'census', 'c.csv', now())`)
	exec(t, st, `INSERT INTO demographics VALUES ('tracts', 'T1', 'population', 100, NULL, '', 2, 'P0020001'), ('tracts', 'T2', 'population', 300, NULL, '', 2, 'P0020001')`)
	exec(t, st, `INSERT INTO crosswalk (from_layer, from_id, to_layer, to_id, weight) VALUES ('tracts', 'T1', 'hoods', 'A', 1.0), ('tracts', 'T2', 'hoods', 'A', 0.5), ('tracts', 'T2', 'hoods', 'B', 0.5)`)
	n := 0
	add := func(area, channel string, k int, at time.Time) {
		res := "NULL"
		if r, ok := equity311.Channel(channel).ResidentInitiated(); ok {
			res = fmt.Sprint(r)
		}
		for i := 0; i < k; i++ {
			n++
			exec(t, st, fmt.Sprintf(`INSERT INTO tickets (city, ticket_id, opened_at, channel, channel_basis, resident_initiated, source_id)
				VALUES ('c', 't%d', ?, '%s', 'reported', %s, 1)`, n, channel, res), at)
			storetest.Place(t, st, "c", fmt.Sprint("t", n), "hoods", area, "point")
		}
	}
	add("A", "app", 3, day)
	add("A", "phone", 2, day)
	add("A", "employee", 1, day)
	add("B", "web", 1, day)
	add("B", "phone", 9, day)
	add("B", "app", 4, day.AddDate(0, 1, 0)) // after the period
	p := equity311.Range(day.Truncate(24*time.Hour), day.Truncate(24*time.Hour).AddDate(0, 0, 7))
	res, err := Analyze(ctx, st, Options{Period: &p})
	if err != nil {
		t.Fatal(err)
	}
	if res.Tickets != 16 || res.Resident != 15 {
		t.Errorf("run: %d tickets, %d resident; want 16, 15", res.Tickets, res.Resident)
	}
	r, err := Load(ctx, st, p.Label)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*results.AreaMetrics{}
	for _, a := range r.Areas["hoods"] {
		got[a.AreaID] = a
	}
	a, b := got["A"], got["B"]
	if a == nil || b == nil {
		t.Fatalf("areas %v", got)
	}
	check := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	check("A resident", float64(a.Resident), 5)
	check("A tickets", float64(a.Tickets), 6)
	check("A app share", a.AppShare.Value, 0.6)
	check("A population (100 + 300/2 through the crosswalk)", a.Population, 250)
	check("A resident per 1000 per year (5 requests in a week)", a.ResidentPer1000.Value, 5/0.25/(7/365.25))
	check("B population", b.Population, 150)
	check("B digital share", b.DigitalShare.Value, 0.1)
	check("B app share", b.AppShare.Value, 0)
	if !strings.HasPrefix(a.PopulationBasis, "crosswalk from tracts") {
		t.Errorf("A population basis %q, want crosswalk", a.PopulationBasis)
	}
	if a.ShareBase != 5 || b.ShareBase != 10 {
		t.Errorf("share bases %d, %d", a.ShareBase, b.ShareBase)
	}
	if !a.LowCount || b.LowCount {
		t.Errorf("low_count A %v (5 < 10) B %v (10)", a.LowCount, b.LowCount)
	}
	city := r.CityRow()
	check("city resident", float64(city.Resident), 15)
	check("city app share", city.AppShare.Value, 3.0/15)
	check("city population (sum of the most populous layer)", city.Population, 400)
	if lo, hi := stats.Wilson(3, 15, stats.Z95); city.AppShare.Lo != lo || city.AppShare.Hi != hi {
		t.Errorf("city app share interval %+v, want stats.Wilson (%v, %v)", city.AppShare, lo, hi)
	}
}

func exec(t *testing.T, st *store.Store, q string, args ...any) {
	t.Helper()
	if _, err := st.DB().Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestPopulationRule: of two census files giving a layer's population, the
// decennial count wins by default and the ACS one when asked, whichever
// was loaded first; a source that cannot record the app stays out of the
// shares but counts in the rates.
func TestPopulationRule(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	p := equity311.Range(day.Truncate(24*time.Hour), day.Truncate(24*time.Hour).AddDate(0, 0, 7))
	for _, order := range [][2]int{{2, 3}, {3, 2}} {
		st := storetest.Open(t)
		exec(t, st, `INSERT INTO cities VALUES ('c', 'UTC')`)
		exec(t, st, `INSERT INTO areas (layer, area_id, name, area_m2, geometry) VALUES ('tracts', 'T1', 'T1', 1, ?)`, square(0))
		exec(t, st, `INSERT INTO sources (source_id, kind, name, loaded_at, records_app) VALUES
			(1, 'dump', 'app.csv', now(), true), (4, 'dump', 'calls.csv', now(), false),
			(?, 'census', 'census2020.csv', now(), NULL), (?, 'census', 'acs.csv', now(), NULL)`, order[0], order[1])
		exec(t, st, `INSERT INTO demographics VALUES ('tracts', 'T1', 'population', 1000, NULL, '2020', ?, 'P0020001'),
			('tracts', 'T1', 'population', 900, 50, 'acs2019', ?, 'B01003_001')`, order[0], order[1])
		for i, c := range []struct{ ch, src string }{{"app", "1"}, {"phone", "1"}, {"phone", "4"}, {"online", "4"}} {
			exec(t, st, fmt.Sprintf(`INSERT INTO tickets (city, ticket_id, opened_at, channel, channel_basis, resident_initiated, source_id)
				VALUES ('c', 't%d', ?, '%s', 'reported', true, %s)`, i, c.ch, c.src), day)
			storetest.Place(t, st, "c", fmt.Sprint("t", i), "tracts", "T1", "point")
		}
		for from, want := range map[string]float64{"": 1000, "decennial": 1000, "acs": 900} {
			if _, err := Analyze(ctx, st, Options{Period: &p, PopulationFrom: from, MinCount: 1}); err != nil {
				t.Fatal(err)
			}
			r, err := Load(ctx, st, p.Label)
			if err != nil {
				t.Fatal(err)
			}
			a := r.Areas["tracts"][0]
			if a.Population != want {
				t.Errorf("sources in order %v, population from %q: %v (%s), want %v", order, from, a.Population, a.PopulationBasis, want)
			}
			if a.Resident != 4 || a.ShareBase != 2 || a.AppShare.Value != 0.5 || a.DigitalShare.Value != 0.5 {
				t.Errorf("resident %d, share base %d, app share %v, digital share %v; want 4, 2, 0.5, 0.5 (calls.csv cannot record the app)",
					a.Resident, a.ShareBase, a.AppShare.Value, a.DigitalShare.Value)
			}
		}
	}
}

// TestDefaultPeriod: the last 52 complete weeks of the data, never before
// its first complete week.
func TestDefaultPeriod(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		first, last string // dates of the earliest and latest requests
		from, to    string
	}{
		{"2026-01-05", "2026-03-01", "2026-01-05", "2026-03-02"}, // Monday to Sunday: all of it
		{"2026-01-07", "2026-03-03", "2026-01-12", "2026-03-02"}, // partial weeks at both ends are left out
		{"2020-01-06", "2026-03-01", "2025-03-03", "2026-03-02"}, // six years: the last 52 weeks
	} {
		st := storetest.Open(t)
		exec(t, st, `INSERT INTO cities VALUES ('c', 'UTC')`)
		for i, d := range []string{c.first, c.last} {
			exec(t, st, fmt.Sprintf(`INSERT INTO tickets (city, ticket_id, opened_at, channel, channel_basis, source_id)
				VALUES ('c', 't%d', TIMESTAMPTZ '%s 12:00:00+00', 'phone', 'reported', 1)`, i, d))
		}
		p, err := DefaultPeriod(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.From.Format("2006-01-02") + ".." + p.To.Format("2006-01-02"); got != c.from+".."+c.to {
			t.Errorf("data %s..%s: period %s, want %s..%s", c.first, c.last, got, c.from, c.to)
		}
	}
}

// square is the WKB of a unit square x degrees east of the origin.
func square(x float64) []byte {
	b, err := wkb.Marshal(orb.Polygon{{{x, 0}, {x + 1, 0}, {x + 1, 1}, {x, 1}, {x, 0}}})
	if err != nil {
		panic(err)
	}
	return b
}

// A source's weeks with data are the city's weeks (Monday to Monday in its
// time zone), not the database session's: a request late on a Sunday in
// Boston is past midnight in UTC, and must not start a week of its own.
func TestWeeksWithDataAreLocalWeeks(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	exec(t, st, `INSERT INTO cities VALUES ('c', 'America/New_York')`)
	exec(t, st, `INSERT INTO areas (layer, area_id, name, area_m2, geometry) VALUES ('hoods', 'A', 'Alpha', 1, ?)`, square(0))
	exec(t, st, `INSERT INTO sources (source_id, kind, name, loaded_at) VALUES (1, 'dump', 'd.csv', now())`)
	at := []time.Time{
		time.Date(2026, 3, 2, 1, 0, 0, 0, ny),    // Monday 01:00 EST, 06:00 UTC
		time.Date(2026, 3, 8, 23, 0, 0, 0, ny),   // Sunday 23:00 EDT, Monday 03:00 UTC
		time.Date(2026, 3, 15, 23, 30, 0, 0, ny), // the next Sunday, late
	}
	for i, a := range at {
		exec(t, st, `INSERT INTO tickets (city, ticket_id, opened_at, channel, channel_basis, resident_initiated, source_id)
			VALUES ('c', ?, ?, 'app', 'reported', true, 1)`, fmt.Sprint("t", i), a)
		storetest.Place(t, st, "c", fmt.Sprint("t", i), "hoods", "A", "point")
	}
	for _, tc := range []struct {
		from, to time.Time
		weeks    int64
	}{
		{time.Date(2026, 3, 2, 0, 0, 0, 0, ny), time.Date(2026, 3, 9, 0, 0, 0, 0, ny), 1},
		{time.Date(2026, 3, 2, 0, 0, 0, 0, ny), time.Date(2026, 3, 16, 0, 0, 0, 0, ny), 2},
	} {
		p := equity311.Range(tc.from, tc.to)
		if _, err := Analyze(ctx, st, Options{Period: &p}); err != nil {
			t.Fatal(err)
		}
		r, err := Load(ctx, st, p.Label)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.SourceUses) != 1 || r.SourceUses[0].WeeksWithData != tc.weeks {
			t.Errorf("%s: source uses %+v, want one with %d weeks with data", p.Label, r.SourceUses, tc.weeks)
		}
	}
}

// TestCityCellsDrawAgainOnCollision gives cityCells a hash that names every
// cell alike under the first two salts: it must draw again until each cell
// has its own, and fail when no salt separates them.
func TestCityCellsDrawAgainOnCollision(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	exec(t, st, `INSERT INTO sources (source_id, kind, name, loaded_at) VALUES (1, 'dump', 'd.csv', now())`)
	exec(t, st, `INSERT INTO tickets (city, ticket_id, opened_at, service_code, channel, channel_basis, source_id)
		SELECT 'c', 't' || i, TIMESTAMPTZ '2026-03-02 12:00:00+00', ['pothole', 'graffiti'][1 + i % 2], ['app', 'phone', 'web'][1 + i % 3], 'reported', 1 FROM range(12) r(i)`)
	p := equity311.Period{From: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)}
	base := `WITH tw AS (SELECT city, ticket_no, service_code AS service, channel, true AS capable, 2026 AS yr, 0 AS week
		FROM tickets WHERE opened_at >= $1 AND opened_at < $2) `
	got, err := cityCells(ctx, st, base, p, `CASE WHEN $3::BIGINT < 2 THEN 7::UBIGINT ELSE `+cellHash+` END`)
	if err != nil {
		t.Fatal(err)
	}
	if got.salt != 2 || len(got.list) != 6 || len(got.byHash) != 6 {
		t.Fatalf("salt %d, %d cells, %d hashes; want salt 2 and 6 cells with their own hashes", got.salt, len(got.list), len(got.byHash))
	}
	for _, c := range got.list {
		if c.n != 2 {
			t.Errorf("cell %s/%s: %d requests, want 2", c.service, c.channel, c.n)
		}
	}
	if _, err := cityCells(ctx, st, base, p, `7::UBIGINT + 0 * $3::BIGINT`); err == nil || !strings.Contains(err.Error(), "collide") {
		t.Errorf("a hash that never separates the cells: %v, want an error", err)
	}
}
