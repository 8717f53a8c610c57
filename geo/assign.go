package geo

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"

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
	where := "geo_quality IS NULL"
	if opt.All {
		where = "(geo_quality IS NULL OR geo_quality IN ('ok', 'outside'))"
	}
	// Read the points.
	rows, err := conn.QueryContext(ctx, `SELECT rowid, lon, lat FROM tickets WHERE lat IS NOT NULL AND lon IS NOT NULL AND `+where)
	if err != nil {
		return res, err
	}
	var rids []int64
	var pts []orb.Point
	for rows.Next() {
		var rid int64
		var p orb.Point
		if err := rows.Scan(&rid, &p[0], &p[1]); err != nil {
			rows.Close()
			return res, err
		}
		rids, pts = append(rids, rid), append(pts, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, err
	}
	res.Tickets = int64(len(pts))
	// Locate, in parallel.
	found := make([][]int32, len(layers))
	for li, l := range layers {
		res.Layers = append(res.Layers, l.Name)
		found[li] = LocateAll(l.Index, pts)
	}
	for i := range pts {
		in := false
		for li, l := range layers {
			if found[li][i] >= 0 {
				res.Placed[l.Name]++
				in = true
			}
		}
		if !in {
			res.Outside++
		}
	}
	// Stage and write.
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE stage_assign (rid BIGINT, layer_no INTEGER, area_no INTEGER);
		CREATE OR REPLACE TEMP TABLE stage_layer_areas (layer_no INTEGER, area_no INTEGER, layer VARCHAR, area_id VARCHAR)`); err != nil {
		return res, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS stage_assign; DROP TABLE IF EXISTS stage_layer_areas")
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
	k := 0
	n := len(pts) * len(layers)
	if _, err := equity311.Append(ctx, conn, "stage_assign", 3, func(row []driver.Value) (bool, error) {
		if k == n {
			return false, nil
		}
		i, l := k/len(layers), k%len(layers)
		row[0], row[1], row[2] = rids[i], int32(l), found[l][i]
		k++
		return true, nil
	}); err != nil {
		return res, err
	}
	err = equity311.InTx(ctx, conn, func() error {
		stmts := []string{
			`DELETE FROM ticket_areas USING tickets t
				WHERE t.rowid IN (SELECT DISTINCT rid FROM stage_assign)
				AND ticket_areas.city = t.city AND ticket_areas.ticket_id = t.ticket_id`,
			`INSERT INTO ticket_areas
				SELECT t.city, t.ticket_id, la.layer, la.area_id, 'point'
				FROM stage_assign s
				JOIN tickets t ON t.rowid = s.rid
				JOIN stage_layer_areas la ON la.layer_no = s.layer_no AND la.area_no = s.area_no`,
			`UPDATE tickets SET geo_quality = q.quality
				FROM (SELECT rid, CASE WHEN max(area_no) >= 0 THEN 'ok' ELSE 'outside' END AS quality
				      FROM stage_assign GROUP BY rid) q
				WHERE tickets.rowid = q.rid`,
		}
		for _, q := range stmts {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("assign: %w", err)
			}
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
