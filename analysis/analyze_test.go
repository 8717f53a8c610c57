package analysis

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/internal/storetest"
	"github.com/equity311/equity311/store"
)

func TestCounts(t *testing.T) {
	c := Counts{equity311.App: 3, equity311.Web: 2, equity311.Online: 1, equity311.Phone: 4,
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
	if e := per1000(5, math.NaN()); !math.IsNaN(e.Value) {
		t.Errorf("rate without population: %+v", e)
	}
	if e := per1000(5, 0); !math.IsNaN(e.Value) {
		t.Errorf("rate over zero population: %+v", e)
	}
	lo, hi := Wilson(3, 5, z95)
	if e := share(3, 5); e.Value != 0.6 || e.Lo != lo || e.Hi != hi {
		t.Errorf("share(3, 5) = %+v", e)
	}
	plo, phi := PoissonExact(5, 0.95)
	if e := per1000(5, 250); e.Value != 20 || math.Abs(e.Lo-plo*4) > 1e-12 || math.Abs(e.Hi-phi*4) > 1e-12 {
		t.Errorf("per1000(5, 250) = %+v", e)
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
	exec(t, st, `INSERT INTO areas VALUES ('hoods', 'A', 'Alpha', 1, ''::BLOB), ('hoods', 'B', 'Beta', 1, ''::BLOB),
		('tracts', 'T1', 'T1', 1, ''::BLOB), ('tracts', 'T2', 'T2', 1, ''::BLOB)`)
	exec(t, st, `INSERT INTO demographics VALUES ('tracts', 'T1', 'population', 100, NULL, ''), ('tracts', 'T2', 'population', 300, NULL, '')`)
	exec(t, st, `INSERT INTO crosswalk VALUES ('tracts', 'T1', 'hoods', 'A', 1.0), ('tracts', 'T2', 'hoods', 'A', 0.5), ('tracts', 'T2', 'hoods', 'B', 0.5)`)
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
			exec(t, st, fmt.Sprintf(`INSERT INTO ticket_areas VALUES ('c', 't%d', 'hoods', '%s', 'point')`, n, area))
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
	got := map[string]*AreaMetrics{}
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
	check("A resident per 1000", a.ResidentPer1000.Value, 20)
	check("B population", b.Population, 150)
	check("B digital share", b.DigitalShare.Value, 0.1)
	check("B app share", b.AppShare.Value, 0)
	if a.PopulationBasis != "crosswalk" {
		t.Errorf("A population basis %q, want crosswalk", a.PopulationBasis)
	}
	if !a.LowCount || b.LowCount {
		t.Errorf("low_count A %v (5 < 10) B %v (10)", a.LowCount, b.LowCount)
	}
	city := r.City()
	check("city resident", float64(city.Resident), 15)
	check("city app share", city.AppShare.Value, 3.0/15)
	check("city population (sum of the most populous layer)", city.Population, 400)
	if lo, hi := Wilson(3, 15, z95); city.AppShare.Lo != lo || city.AppShare.Hi != hi {
		t.Errorf("city app share interval %+v, want Wilson (%v, %v)", city.AppShare, lo, hi)
	}
}

func exec(t *testing.T, st *store.Store, q string, args ...any) {
	t.Helper()
	if _, err := st.DB().Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
