package geo

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/equity311/equity311/store"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// Layer is one loaded polygon layer with its index.
type Layer struct {
	Name  string
	IDs   []string
	Names []string
	Geoms []orb.MultiPolygon
	Index *Index
	// Nos are the areas' numbers (areas.area_no), the keys of their places.
	Nos []int32
}

// LoadLayers reads every layer in the store and indexes it.
func LoadLayers(ctx context.Context, st *store.Store) ([]*Layer, error) {
	rows, err := st.DB().QueryContext(ctx, `SELECT layer, area_id, coalesce(name, area_id), geometry, area_no FROM areas ORDER BY layer, area_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var layers []*Layer
	for rows.Next() {
		var name, id, aname string
		var g []byte
		var no int32
		if err := rows.Scan(&name, &id, &aname, &g, &no); err != nil {
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
		l.IDs, l.Names, l.Geoms, l.Nos = append(l.IDs, id), append(l.Names, aname), append(l.Geoms, mp), append(l.Nos, no)
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
	// SnapMetres places a point that lies outside a layer but within this
	// distance of one of its areas in that area (ticket_areas.basis
	// 'snapped'): a pier, a shoreline, a bridge. 0 snaps nothing.
	SnapMetres float64
	Log        *slog.Logger
}

// AssignResult counts what Assign did.
type AssignResult struct {
	Layers  []string
	Tickets int64            // tickets placed in this run
	Placed  map[string]int64 // per layer: tickets inside one of its areas
	// Overlaps counts, per layer, the tickets inside more than one of its
	// areas (its polygons overlap): each is placed in the smallest of
	// them (ticket_areas.basis 'overlap'), never dropped.
	Overlaps map[string]int64
	Outside  int64 // tickets inside no area of any layer (after snapping)
	Snapped  int64 // ticket-layer placements made by snapping
}

// Assign puts every ticket with usable coordinates into its area of every
// layer (ticket_places, which the view ticket_areas shows by ids) and sets
// its geo_quality to ok or outside. Tickets flagged missing, default_point
// or invalid at ingest are left unplaced.
// A ticket inside several areas of one layer (its polygons overlap) is
// placed in the smallest of them, with basis 'overlap', and counted in
// AssignResult.Overlaps. It runs in one transaction.
func Assign(ctx context.Context, st *store.Store, opt AssignOptions) (AssignResult, error) {
	res := AssignResult{Placed: map[string]int64{}, Overlaps: map[string]int64{}}
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
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS stage_placed")
	fn, err := registerLocators(conn, layers)
	if err != nil {
		return res, err
	}
	for _, l := range layers {
		res.Layers = append(res.Layers, l.Name)
	}
	// The points are located before the transaction opens: a TEMP table
	// written inside it is transaction-local, and inserting from one into
	// the places took twice as long (12 s instead of 6 s per layer at 10M,
	// when places were rows of strings).
	// Assign is the one writer, so the tickets to place do not change.
	if err := locateTickets(ctx, conn, layers, fn, opt.All, log); err != nil {
		return res, err
	}
	start := time.Now()
	err = store.InTx(ctx, conn, func() error {
		if err := placeTickets(ctx, conn, layers, opt.All, log); err != nil {
			return err
		}
		snap := time.Now()
		if err := snapOutside(ctx, conn, layers, opt.SnapMetres, &res); err != nil {
			return fmt.Errorf("assign: snap: %w", err)
		}
		log.Debug("assign step", "step", "snap", "seconds", time.Since(snap).Seconds())
		start = time.Now()
		if err := writePlaces(ctx, conn, layers); err != nil {
			return err
		}
		log.Debug("assign step", "step", "write places", "seconds", time.Since(start).Seconds())
		start = time.Now()
		return countPlaced(ctx, conn, layers, &res)
	})
	if err != nil {
		return res, err
	}
	log.Debug("assign step", "step", "count and commit", "seconds", time.Since(start).Seconds())
	start = time.Now()
	if _, err := BuildCrosswalks(ctx, st, layers); err != nil {
		return res, err
	}
	log.Debug("assign step", "step", "crosswalks", "seconds", time.Since(start).Seconds())
	log.Info("assigned tickets", "tickets", res.Tickets, "layers", res.Layers, "outside", res.Outside)
	for l, n := range res.Overlaps {
		log.Warn("tickets in overlapping areas, each placed in the smallest", "layer", l, "tickets", n)
	}
	return res, nil
}

// registerLocators makes each layer's index a SQL function locate_N(lon,
// lat) → area code on conn, so DuckDB places the tickets in parallel
// without shipping them to Go and back. Names are unique per run: a
// registration lives as long as the database, and must not answer for an
// older layer.
func registerLocators(conn *sql.Conn, layers []*Layer) ([]string, error) {
	run := time.Now().UnixNano()
	fn := make([]string, len(layers))
	for li, l := range layers {
		fn[li] = fmt.Sprintf("e311_locate_%d_%d", run, li)
		if err := duckdb.RegisterScalarUDF(conn, fn[li], locateUDF{l.Index}); err != nil {
			return nil, fmt.Errorf("register %s: %w", fn[li], err)
		}
	}
	return fn, nil
}

// locateTickets locates the tickets to place (all placeable ones with
// all) in every layer, into the TEMP table stage_placed: per ticket its
// rowid, number and area code in each layer (see locateUDF).
func locateTickets(ctx context.Context, conn *sql.Conn, layers []*Layer, fn []string, all bool, log *slog.Logger) error {
	var cols []string
	for li := range layers {
		cols = append(cols, fmt.Sprintf("%s(lon, lat) AS a%d", fn[li], li))
	}
	start := time.Now()
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE stage_placed AS
		SELECT rowid AS rid, ticket_no, `+strings.Join(cols, ", ")+`
		FROM tickets WHERE `+toPlace(all)); err != nil {
		return fmt.Errorf("assign: locate: %w", err)
	}
	log.Debug("assign step", "step", "locate", "seconds", time.Since(start).Seconds())
	return nil
}

// toPlace is the condition on tickets that selects those assign places:
// the placeable tickets not yet placed, or with all every placeable one.
func toPlace(all bool) string {
	if all {
		return "lat IS NOT NULL AND lon IS NOT NULL AND (geo_quality IS NULL OR geo_quality IN ('ok', 'outside'))"
	}
	return "lat IS NOT NULL AND lon IS NOT NULL AND geo_quality IS NULL"
}

// placeTickets replaces the places (ticket_places) of the located tickets
// (stage_placed) and sets their geo quality to ok or outside. It runs
// inside Assign's transaction.
func placeTickets(ctx context.Context, conn *sql.Conn, layers []*Layer, all bool, log *slog.Logger) error {
	var anyIn []string
	for li := range layers {
		anyIn = append(anyIn, fmt.Sprintf("a%d >= 0", li))
	}
	type step struct {
		what, q string
		every   bool // the step must touch every located ticket
	}
	steps := []step{
		{what: "clear old places", q: `DELETE FROM ticket_place_sets WHERE ticket_no IN (SELECT ticket_no FROM stage_placed)`},
	}
	// When every placed ticket is placed again (with all, or after a
	// boundary load reset them all), clear all places at once. At 40M
	// deleting them by a semi join with stage_placed ran out of memory
	// under the 1GB cap: the deleted rows fall all over the table.
	again := all
	if !all {
		if err := conn.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM tickets WHERE geo_quality IN ('ok', 'outside'))`).Scan(&again); err != nil {
			return fmt.Errorf("assign: find placed tickets: %w", err)
		}
	}
	if again {
		steps[0].q = `DELETE FROM ticket_place_sets; DELETE FROM place_sets`
	}
	// The located tickets are the ones toPlace selects (assign is the one
	// writer), so their quality is set by that condition, not by a join of
	// tickets with stage_placed on rowid: at 40M that join spilled and took
	// 142 s of the UPDATE's 151 s under the 1GB cap. Only the few tickets
	// outside every layer are joined; the count checks that the set held.
	steps = append(steps,
		step{what: "set geo quality", q: `UPDATE tickets SET geo_quality = 'ok' WHERE ` + toPlace(all), every: true},
		step{what: "mark outside", q: `UPDATE tickets SET geo_quality = 'outside'
			FROM (SELECT rid FROM stage_placed WHERE NOT (` + strings.Join(anyIn, " OR ") + `)) p
			WHERE tickets.rowid = p.rid`})
	var located int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM stage_placed`).Scan(&located); err != nil {
		return fmt.Errorf("assign: count located: %w", err)
	}
	for _, s := range steps {
		start := time.Now()
		r, err := conn.ExecContext(ctx, s.q)
		if err != nil {
			return fmt.Errorf("assign: %s: %w", s.what, err)
		}
		if s.every {
			if n, err := r.RowsAffected(); err != nil || n != located {
				return fmt.Errorf("assign: %s: %d tickets to place, %d located (was the store written during assign?): %v", s.what, n, located, err)
			}
		}
		log.Debug("assign step", "step", s.what, "seconds", time.Since(start).Seconds())
	}
	return nil
}

// placeCode reads a ticket's code in a layer (stage_placed.aN): the
// area's index in the layer shifted left by one, its low bit set for an
// overlap (locateUDF); -2 - the index when snapOutside snapped it there;
// -1 outside the layer. It returns the index and the place's basis, or
// false outside.
func placeCode(code int32) (int32, string, bool) {
	switch {
	case code >= 0 && code&1 == 1:
		return code >> 1, "overlap", true
	case code >= 0:
		return code >> 1, "point", true
	case code <= -2:
		return -2 - code, "snapped", true
	}
	return 0, "", false
}

// writePlaces writes the place set of every located ticket placed in some
// layer (ticket_place_sets): the located tickets share few combinations
// of codes, each named once as its set of places (store.PlaceSets), and
// the tickets are joined with those few. It runs inside Assign's
// transaction, after snapOutside has written the snapped codes.
func writePlaces(ctx context.Context, conn *sql.Conn, layers []*Layer) error {
	var cols, placed, on []string
	for li := range layers {
		cols = append(cols, fmt.Sprintf("a%d", li))
		placed = append(placed, fmt.Sprintf("a%d <> -1", li))
		on = append(on, fmt.Sprintf("c.a%[1]d = p.a%[1]d", li))
	}
	rows, err := conn.QueryContext(ctx, `SELECT DISTINCT `+strings.Join(cols, ", ")+` FROM stage_placed
		WHERE `+strings.Join(placed, " OR ")+` ORDER BY ALL`)
	if err != nil {
		return fmt.Errorf("assign: combinations of places: %w", err)
	}
	var combos [][]driver.Value
	var sets [][]store.Place
	for rows.Next() {
		codes := make([]int32, len(layers))
		dest := make([]any, len(codes))
		for i := range codes {
			dest[i] = &codes[i]
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return fmt.Errorf("assign: combinations of places: %w", err)
		}
		var set []store.Place
		combo := make([]driver.Value, 0, len(codes)+1)
		for li, c := range codes {
			combo = append(combo, c)
			ix, basis, ok := placeCode(c)
			if !ok {
				continue
			}
			if int(ix) >= len(layers[li].Nos) {
				rows.Close()
				return fmt.Errorf("assign: layer %s has no area %d", layers[li].Name, ix)
			}
			set = append(set, store.Place{Area: layers[li].Nos[ix], Basis: basis})
		}
		combos = append(combos, combo)
		sets = append(sets, set)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("assign: combinations of places: %w", err)
	}
	nos, err := store.PlaceSets(ctx, conn, sets)
	if err != nil {
		return fmt.Errorf("assign: %w", err)
	}
	for i := range combos {
		combos[i] = append(combos[i], nos[i])
	}
	var ddl []string
	for _, c := range cols {
		ddl = append(ddl, c+" INTEGER")
	}
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE stage_combo_sets (`+strings.Join(ddl, ", ")+`, set_no INTEGER)`); err != nil {
		return fmt.Errorf("assign: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS stage_combo_sets")
	if err := store.AppendRows(ctx, conn, "stage_combo_sets", combos); err != nil {
		return fmt.Errorf("assign: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO ticket_place_sets SELECT p.ticket_no, c.set_no
		FROM stage_placed p JOIN stage_combo_sets c ON `+strings.Join(on, " AND ")); err != nil {
		return fmt.Errorf("assign: write places: %w", err)
	}
	return nil
}

// countPlaced counts the tickets this run placed and the placements per
// layer from the located codes (stage_placed), and adds them to what
// snapOutside counted (the snapped placements and the tickets still
// outside every layer): one scan of the staged codes, not a join of
// ticket_places.
func countPlaced(ctx context.Context, conn *sql.Conn, layers []*Layer, res *AssignResult) error {
	cols := []string{"count(*)"}
	for li := range layers {
		cols = append(cols, fmt.Sprintf("count(*) FILTER (WHERE a%[1]d >= 0), count(*) FILTER (WHERE a%[1]d >= 0 AND a%[1]d & 1 = 1)", li))
	}
	counts := make([]int64, 1+2*len(layers))
	dest := make([]any, len(counts))
	for i := range counts {
		dest[i] = &counts[i]
	}
	if err := conn.QueryRowContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM stage_placed").Scan(dest...); err != nil {
		return err
	}
	res.Tickets = counts[0]
	for li, l := range layers {
		if n := counts[1+2*li] + res.Placed[l.Name]; n > 0 {
			res.Placed[l.Name] = n
		}
		if over := counts[2+2*li]; over > 0 {
			res.Overlaps[l.Name] = over
		}
	}
	return nil
}

// snapOutside measures how far the points outside a layer lie from its
// nearest area, snaps those within tolerance into it, and records the
// distance of tickets still outside every layer. It runs inside Assign's
// transaction, after the points are placed.
func snapOutside(ctx context.Context, conn *sql.Conn, layers []*Layer, tolerance float64, res *AssignResult) error {
	var miss []string
	for li := range layers {
		miss = append(miss, fmt.Sprintf("a%d", li))
	}
	rows, err := conn.QueryContext(ctx, `SELECT p.rid, t.lon, t.lat, `+strings.Join(miss, ", ")+`
		FROM stage_placed p JOIN tickets t ON t.rowid = p.rid
		WHERE least(`+strings.Join(miss, ", ")+`) < 0`)
	if err != nil {
		return err
	}
	type fix struct {
		rid    int64
		layer  int
		area   int32
		metres float64
	}
	var fixes []fix
	outsideM := map[int64]float64{}
	for rows.Next() {
		var rid int64
		var lon, lat float64
		as := make([]int32, len(layers))
		dest := []any{&rid, &lon, &lat}
		for i := range as {
			dest = append(dest, &as[i])
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return err
		}
		nearest := math.Inf(1)
		inSome := false
		for _, a := range as {
			if a >= 0 {
				inSome = true
			}
		}
		snapped := false
		for li, a := range as {
			if a >= 0 {
				continue
			}
			area, d := layers[li].Index.Nearest(lon, lat)
			if area < 0 {
				continue
			}
			nearest = math.Min(nearest, d)
			if d <= tolerance {
				fixes = append(fixes, fix{rid: rid, layer: li, area: int32(area), metres: d})
				res.Placed[layers[li].Name]++
				snapped = true
			}
		}
		if !inSome && !math.IsInf(nearest, 1) {
			outsideM[rid] = nearest
		}
		if !inSome && !snapped {
			res.Outside++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(fixes) == 0 && len(outsideM) == 0 {
		return nil
	}
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE stage_snap (rid BIGINT, layer_no INTEGER, area_no INTEGER, metres DOUBLE)`); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS stage_snap")
	var staged [][]driver.Value
	for _, f := range fixes {
		staged = append(staged, []driver.Value{f.rid, int32(f.layer), f.area, f.metres})
	}
	for rid, m := range outsideM {
		staged = append(staged, []driver.Value{rid, int32(-1), int32(-1), m})
	}
	if err := store.AppendRows(ctx, conn, "stage_snap", staged); err != nil {
		return err
	}
	qs := []string{
		`UPDATE tickets SET outside_m = s.metres FROM (SELECT rid, min(metres) AS metres FROM stage_snap GROUP BY rid) s
			WHERE tickets.rowid = s.rid`,
		`UPDATE tickets SET geo_quality = 'ok' FROM (SELECT DISTINCT rid FROM stage_snap WHERE layer_no >= 0) s
			WHERE tickets.rowid = s.rid`,
	}
	// A snapped ticket's code in the layer becomes -2 - the area's index
	// (see placeCode), for writePlaces.
	for li := range layers {
		qs = append(qs, fmt.Sprintf(`UPDATE stage_placed SET a%[1]d = -2 - s.area_no FROM stage_snap s
			WHERE s.layer_no = %[1]d AND s.rid = stage_placed.rid`, li))
	}
	for _, q := range qs {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	res.Snapped = int64(len(fixes))
	return nil
}

// locateUDF is a DuckDB scalar function (lon DOUBLE, lat DOUBLE) → INTEGER
// answering with the index's area number shifted left by one, its low bit
// set when the point lies in more than one area (an overlap), and -1
// outside. The index is read-only, so DuckDB may call it from several
// threads.
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
		a, n := u.ix.LocateCover(v[0].(float64), v[1].(float64))
		if a < 0 {
			return int32(-1), nil
		}
		code := int32(a) << 1
		if n > 1 {
			code |= 1
		}
		return code, nil
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
