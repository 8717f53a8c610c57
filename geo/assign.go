package geo

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"github.com/equity311/equity311"
)

// Layer is one loaded polygon layer with its index.
type Layer struct {
	Name  string
	IDs   []string
	Names []string
	Geoms []orb.MultiPolygon
	Index *Index
}

// LoadLayers reads every layer in the store and indexes it.
func LoadLayers(ctx context.Context, st *equity311.Store) ([]*Layer, error) {
	rows, err := st.DB().QueryContext(ctx, `SELECT layer, area_id, coalesce(name, area_id), geometry FROM areas ORDER BY layer, area_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var layers []*Layer
	for rows.Next() {
		var name, id, aname string
		var g []byte
		if err := rows.Scan(&name, &id, &aname, &g); err != nil {
			return nil, err
		}
		if len(layers) == 0 || layers[len(layers)-1].Name != name {
			layers = append(layers, &Layer{Name: name})
		}
		l := layers[len(layers)-1]
		geom, err := wkb.Unmarshal(g)
		if err != nil {
			return nil, fmt.Errorf("layer %s area %s: %w", name, id, err)
		}
		var mp orb.MultiPolygon
		switch x := geom.(type) {
		case orb.MultiPolygon:
			mp = x
		case orb.Polygon:
			mp = orb.MultiPolygon{x}
		default:
			return nil, fmt.Errorf("layer %s area %s: geometry %T", name, id, geom)
		}
		l.IDs, l.Names, l.Geoms = append(l.IDs, id), append(l.Names, aname), append(l.Geoms, mp)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, l := range layers {
		l.Index = NewIndex(l.Geoms, 0)
	}
	return layers, nil
}

// AssignOptions configure Assign.
type AssignOptions struct {
	// All re-places every ticket; otherwise only tickets not yet placed
	// (new, updated, or marked when a layer was reloaded).
	All bool
	Log *slog.Logger
}

// AssignResult counts what Assign did.
type AssignResult struct {
	Layers  []string
	Tickets int64            // tickets placed in this run
	Placed  map[string]int64 // per layer: tickets inside one of its areas
	Outside int64            // tickets inside no area of any layer
}

// Assign puts every ticket with usable coordinates into its area of every
// layer (ticket_areas) and sets its geo_quality to ok or outside. Tickets
// flagged missing, default_point or invalid at ingest are left unplaced.
// It runs in one transaction.
func Assign(ctx context.Context, st *equity311.Store, opt AssignOptions) (AssignResult, error) {
	res := AssignResult{Placed: map[string]int64{}}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	layers, err := LoadLayers(ctx, st)
	if err != nil {
		return res, err
	}
	if len(layers) == 0 {
		return res, errors.New("assign: no boundaries loaded (run ingest boundaries first)")
	}
	conn, err := st.Conn(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Close()
	// Each layer's index becomes a SQL function locate_N(lon, lat) → area
	// number, so DuckDB places the tickets in parallel without shipping
	// them to Go and back. Names are unique per run: a registration lives
	// as long as the database, and must not answer for an older layer.
	run := time.Now().UnixNano()
	fn := make([]string, len(layers))
	for li, l := range layers {
		fn[li] = fmt.Sprintf("e311_locate_%d_%d", run, li)
		if err := duckdb.RegisterScalarUDF(conn, fn[li], locateUDF{l.Index}); err != nil {
			return res, fmt.Errorf("register %s: %w", fn[li], err)
		}
		res.Layers = append(res.Layers, l.Name)
	}
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE stage_layer_areas (layer_no INTEGER, area_no INTEGER, layer VARCHAR, area_id VARCHAR)`); err != nil {
		return res, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS stage_placed; DROP TABLE IF EXISTS stage_layer_areas")
	li, ai := 0, 0
	if _, err := equity311.Append(ctx, conn, "stage_layer_areas", 4, func(row []driver.Value) (bool, error) {
		for li < len(layers) && ai == len(layers[li].IDs) {
			li, ai = li+1, 0
		}
		if li == len(layers) {
			return false, nil
		}
		row[0], row[1], row[2], row[3] = int32(li), int32(ai), layers[li].Name, layers[li].IDs[ai]
		ai++
		return true, nil
	}); err != nil {
		return res, err
	}
	where := "geo_quality IS NULL"
	if opt.All {
		where = "(geo_quality IS NULL OR geo_quality IN ('ok', 'outside'))"
	}
	var cols, anyIn, counts []string
	for li := range layers {
		cols = append(cols, fmt.Sprintf("%s(lon, lat) AS a%d", fn[li], li))
		anyIn = append(anyIn, fmt.Sprintf("a%d >= 0", li))
		counts = append(counts, fmt.Sprintf("count(*) FILTER (WHERE a%d >= 0)", li))
	}
	inside := strings.Join(anyIn, " OR ")
	err = equity311.InTx(ctx, conn, func() error {
		steps := []struct{ what, q string }{
			{"locate", `CREATE OR REPLACE TEMP TABLE stage_placed AS
				SELECT rowid AS rid, city, ticket_id, ` + strings.Join(cols, ", ") + `
				FROM tickets WHERE lat IS NOT NULL AND lon IS NOT NULL AND ` + where},
			{"clear old places", `DELETE FROM ticket_areas WHERE (city, ticket_id) IN (SELECT city, ticket_id FROM stage_placed)`},
		}
		if opt.All {
			// Every placeable ticket is placed again: clear all places at once.
			steps[1].q = `DELETE FROM ticket_areas`
		}
		for li := range layers {
			steps = append(steps, struct{ what, q string }{"place in " + layers[li].Name, fmt.Sprintf(`INSERT INTO ticket_areas
				SELECT p.city, p.ticket_id, la.layer, la.area_id, 'point'
				FROM stage_placed p JOIN stage_layer_areas la ON la.layer_no = %d AND la.area_no = p.a%d`, li, li)})
		}
		steps = append(steps, struct{ what, q string }{"set geo quality", `UPDATE tickets
			SET geo_quality = CASE WHEN ` + inside + ` THEN 'ok' ELSE 'outside' END
			FROM stage_placed p WHERE tickets.rowid = p.rid`})
		for _, s := range steps {
			start := time.Now()
			if _, err := conn.ExecContext(ctx, s.q); err != nil {
				return fmt.Errorf("assign: %s: %w", s.what, err)
			}
			log.Debug("assign step", "step", s.what, "seconds", time.Since(start).Seconds())
		}
		per := make([]int64, len(layers))
		dest := []any{&res.Tickets, &res.Outside}
		for i := range per {
			dest = append(dest, &per[i])
		}
		if err := conn.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE NOT (`+inside+`)), `+
			strings.Join(counts, ", ")+` FROM stage_placed`).Scan(dest...); err != nil {
			return err
		}
		for i, l := range layers {
			res.Placed[l.Name] = per[i]
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if _, err := BuildCrosswalks(ctx, st, layers); err != nil {
		return res, err
	}
	log.Info("assigned tickets", "tickets", res.Tickets, "layers", res.Layers, "outside", res.Outside)
	return res, nil
}

// locateUDF is a DuckDB scalar function (lon DOUBLE, lat DOUBLE) → INTEGER
// answering with the index's area number, -1 outside. The index is
// read-only, so DuckDB may call it from several threads.
type locateUDF struct{ ix *Index }

// Config declares the function's types.
func (u locateUDF) Config() duckdb.ScalarFuncConfig {
	d, _ := duckdb.NewTypeInfo(duckdb.TYPE_DOUBLE)
	i, _ := duckdb.NewTypeInfo(duckdb.TYPE_INTEGER)
	return duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{d, d}, ResultTypeInfo: i}
}

// Executor locates one point.
func (u locateUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(v []driver.Value) (any, error) {
		return int32(u.ix.Locate(v[0].(float64), v[1].(float64))), nil
	}}
}

// LocateAll locates every point, splitting the work across the CPUs.
func LocateAll(ix *Index, pts []orb.Point) []int32 {
	out := make([]int32, len(pts))
	workers := runtime.GOMAXPROCS(0)
	chunk := (len(pts) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(pts))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				out[i] = int32(ix.Locate(pts[i][0], pts[i][1]))
			}
		}()
	}
	wg.Wait()
	return out
}
