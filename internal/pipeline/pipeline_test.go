package pipeline

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/equity311/equity311/analysis"
	"github.com/equity311/equity311/geo"
	"github.com/equity311/equity311/geo/boundary"
	"github.com/equity311/equity311/ingest/census"
	"github.com/equity311/equity311/ingest/dump"
	"github.com/equity311/equity311/ingest/source"
	"github.com/equity311/equity311/internal/storetest"
	"github.com/equity311/equity311/internal/synthcity"
)

// TestRunObservesEveryStepInOrder runs a small synthetic city through the
// pipeline and checks that each step reports once, in the order the data
// flows, with what it did; and that a failing step stops the run and is
// named in the error.
func TestRunObservesEveryStepInOrder(t *testing.T) {
	ctx := context.Background()
	end := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	city, err := synthcity.New(synthcity.Options{Seed: 3, Tickets: 4000, Weeks: 4, End: end})
	if err != nil {
		t.Fatal(err)
	}
	files, err := city.Write(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t)
	now := func() time.Time { return end.Add(24 * time.Hour) }
	st.SetClock(now)
	var steps []string
	res, err := Run(ctx, st, Synthetic(files), Options{Env: source.Env{City: "synthetic", Now: now}, Observe: Observer{
		Dump: func(r dump.Result) { steps = append(steps, "dump "+filepath.Base(r.File)) },
		Boundaries: func(file string, r boundary.Result) {
			steps = append(steps, "boundaries "+r.Layer)
		},
		Census:  func(file string, r census.Result) { steps = append(steps, "census "+r.Layer) },
		Assign:  func(r geo.AssignResult) { steps = append(steps, "assign") },
		Analyze: func(r analysis.Result) { steps = append(steps, "analyze") },
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := "dump " + filepath.Base(files.Dump) + ", boundaries neighborhoods, boundaries tracts, census tracts, assign, analyze"
	if got := strings.Join(steps, ", "); got != want {
		t.Errorf("steps %s; want %s", got, want)
	}
	if res.Tickets == 0 || len(res.Layers) != 2 {
		t.Errorf("analysed %d tickets in layers %v; want the city's requests in both layers", res.Tickets, res.Layers)
	}

	broken := Synthetic(files)
	broken.Census[0].File = filepath.Join(t.TempDir(), "missing.csv")
	steps = nil
	_, err = Run(ctx, storetest.Open(t), broken, Options{Env: source.Env{City: "synthetic", Now: now}, Observe: Observer{
		Assign: func(geo.AssignResult) { steps = append(steps, "assign") },
	}})
	if err == nil || !strings.Contains(err.Error(), "ingest census missing.csv") {
		t.Errorf("a missing census file gave %v; want an error naming the census step and file", err)
	}
	if len(steps) > 0 {
		t.Errorf("steps after the failure ran: %v", steps)
	}
}
