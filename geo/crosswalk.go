package geo

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/paulmach/orb"

	"github.com/equity311/equity311/store"
)

// CrosswalkSamples is the default number of grid points laid over each
// source area's bounding box to estimate overlap shares.
const CrosswalkSamples = 4096

// Crosswalk estimates, for every area of from, how its area divides among
// the areas of to: a regular grid of about samples points over the area's
// box, kept where the point is inside the area, located in to. Weights are
// shares of the part that to covers, so they sum to 1 for every from-area
// that to touches at all: a tract half in the harbour gives its whole
// population to the neighborhood it shares land with. The area error of
// the sampling shrinks as 1/sqrt(samples); with the default it is a
// fraction of a percent of a tract.
func Crosswalk(from, to *Layer, samples int) map[[2]int]float64 {
	if samples <= 0 {
		samples = CrosswalkSamples
	}
	out := map[[2]int]float64{}
	for a, g := range from.Geoms {
		b := g.Bound()
		n := 1
		for n*n < samples {
			n++
		}
		var pts []orb.Point
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				p := orb.Point{b.Min[0] + (float64(i)+0.5)/float64(n)*(b.Max[0]-b.Min[0]), b.Min[1] + (float64(j)+0.5)/float64(n)*(b.Max[1]-b.Min[1])}
				if from.Index.Locate(p[0], p[1]) == a {
					pts = append(pts, p)
				}
			}
		}
		if len(pts) == 0 {
			continue
		}
		counts := map[int]int{}
		covered := 0
		for _, p := range pts {
			if t := to.Index.Locate(p[0], p[1]); t >= 0 {
				counts[t]++
				covered++
			}
		}
		for t, c := range counts {
			out[[2]int{a, t}] = float64(c) / float64(covered)
		}
	}
	return out
}

// BuildCrosswalks computes and stores the crosswalk for every ordered pair
// of layers that has none yet (loading a layer clears its crosswalks).
func BuildCrosswalks(ctx context.Context, st *store.Store, layers []*Layer) (int, error) {
	have := map[[2]string]bool{}
	rows, err := st.DB().QueryContext(ctx, "SELECT DISTINCT from_layer, to_layer FROM crosswalk")
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var f, t string
		if err := rows.Scan(&f, &t); err != nil {
			rows.Close()
			return 0, err
		}
		have[[2]string{f, t}] = true
	}
	rows.Close()
	var staged [][]driver.Value
	for _, f := range layers {
		for _, t := range layers {
			if f == t || have[[2]string{f.Name, t.Name}] {
				continue
			}
			for k, w := range Crosswalk(f, t, 0) {
				staged = append(staged, []driver.Value{f.Name, f.IDs[k[0]], t.Name, t.IDs[k[1]], w, nil}) // basis: the polygon overlap
			}
		}
	}
	if len(staged) == 0 {
		return 0, nil
	}
	conn, err := st.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE stage_xw AS SELECT * FROM crosswalk LIMIT 0"); err != nil {
		return 0, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS stage_xw")
	if err := store.AppendRows(ctx, conn, "stage_xw", staged); err != nil {
		return 0, err
	}
	err = store.InTx(ctx, conn, func() error {
		_, err := conn.ExecContext(ctx, "INSERT OR REPLACE INTO crosswalk SELECT * FROM stage_xw")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store crosswalks: %w", err)
	}
	return len(staged), nil
}
