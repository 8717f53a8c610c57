package boundary

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/store"
)

// CrosswalkOptions configure LoadCrosswalk.
type CrosswalkOptions struct {
	From string `toml:"from" flag:"from" help:"the layer the weights move figures from, e.g. tracts2010 (required)"`
	To   string `toml:"to" flag:"to" help:"the layer they move figures to, e.g. tracts2020 (required)"`
}

// CrosswalkResult reports a crosswalk load.
type CrosswalkResult struct {
	Format string // what the file is, as the figures' basis says
	Pairs  int    // weights stored
	From   int    // from-areas with weights
	// Unmatched counts the file's rows whose areas are not both in the
	// layers (other counties, water-only parts).
	Unmatched int
	store.LoadResult
}

// The crosswalk file formats LoadCrosswalk reads.
const (
	// FormatCensusRelationship is the Census Bureau's tract relationship
	// file (tab20_tract20_tract10), pipe-delimited: a from-tract's weight
	// in a to-tract is the land area of their intersection over the
	// from-tract's land (water left out).
	FormatCensusRelationship = "Census Bureau tract relationship file, land area"
	// FormatNHGIS is an NHGIS crosswalk (the tidycensus interpolate_pw
	// convention): GEOID columns ending in "ge" for each vintage and a
	// population weight wt_pop, the share of the from-area's population
	// in the to-area.
	FormatNHGIS = "NHGIS population weights (wt_pop)"
)

// LoadCrosswalk loads a published weights file as the crosswalk from one
// layer to another, replacing the polygon overlap equity311 would compute
// for that pair. Which column holds which layer's ids is found from the
// layers' own ids; weights are normalized over the to-areas the layer
// has, so that each from-area's figures are moved whole, as the polygon
// crosswalk does.
func LoadCrosswalk(ctx context.Context, st *store.Store, path string, opt CrosswalkOptions) (CrosswalkResult, error) {
	var res CrosswalkResult
	if opt.From == "" || opt.To == "" || opt.From == opt.To {
		return res, equity311.OptionErrorf("from/to", "crosswalk %s: give two different layers, the one the weights move figures from and the one they move them to", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return res, err
	}
	ids := map[string]map[string]bool{}
	for _, l := range []string{opt.From, opt.To} {
		if ids[l], err = layerIDs(ctx, st, l); err != nil {
			return res, err
		}
		if len(ids[l]) == 0 {
			return res, equity311.OptionErrorf("from/to", "crosswalk %s: no layer %q loaded (load its boundaries first)", path, l)
		}
	}
	sum := sha256.Sum256(data)
	var pairs map[[2]string]float64
	load := store.Load{Kind: "crosswalk", Name: path, Profile: opt.From + "→" + opt.To, Checksum: hex.EncodeToString(sum[:]),
		Options: store.Options(map[string]string{"from": opt.From, "to": opt.To}),
		// Loaded already only for this pair, and while its weights are still
		// there (reloading either layer clears them).
		Current:     `s.profile = ? AND EXISTS (SELECT 1 FROM crosswalk c WHERE c.from_layer = ? AND c.to_layer = ? AND c.basis IS NOT NULL)`,
		CurrentArgs: []any{opt.From + "→" + opt.To, opt.From, opt.To}}
	res.LoadResult, err = st.Load(ctx, load, false,
		func(conn *sql.Conn) (store.Staged, error) {
			var read int64
			pairs, res.Format, read, res.Unmatched, err = readCrosswalk(path, data, ids[opt.From], ids[opt.To])
			return store.Staged{Read: read, Excluded: int64(res.Unmatched)}, err // rows outside the layers
		},
		func(conn *sql.Conn, id int64) (store.Written, error) {
			n, from, err := writeCrosswalk(ctx, conn, opt, pairs, res.Format)
			res.Pairs, res.From = n, from
			return store.Written{Loaded: int64(n)}, err
		})
	return res, err
}

// layerIDs returns a layer's area ids.
func layerIDs(ctx context.Context, st *store.Store, layer string) (map[string]bool, error) {
	rows, err := st.DB().QueryContext(ctx, `SELECT area_id FROM areas WHERE layer = ?`, layer)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// readCrosswalk reads the file's weights from → to, each from-area's
// normalized over the to-areas present.
func readCrosswalk(path string, data []byte, from, to map[string]bool) (map[[2]string]float64, string, int64, int, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	first, _, _ := bytes.Cut(data, []byte("\n"))
	r := csv.NewReader(bytes.NewReader(data))
	if bytes.Count(first, []byte("|")) > bytes.Count(first, []byte(",")) {
		r.Comma = '|'
	}
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, "", 0, 0, fmt.Errorf("read %s line 1 (header): %w", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	type row struct {
		a, b string  // the two vintages' ids
		w    float64 // the weight of a in b, before normalization (format-specific)
		wb   float64 // the weight of b in a
	}
	var rows []row
	var format string
	var aCol, bCol string
	num := func(rec []string, name string, line int) (float64, error) {
		i, ok := col[name]
		if !ok || i >= len(rec) {
			return 0, fmt.Errorf("read %s line %d: no %s", path, line, name)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[i]), 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("read %s line %d, field %s: %q is not a non-negative number", path, line, name, rec[i])
		}
		return v, nil
	}
	switch {
	case has(col, "geoid_tract_20", "geoid_tract_10", "arealand_part", "arealand_tract_10", "arealand_tract_20"):
		format, aCol, bCol = FormatCensusRelationship, "geoid_tract_10", "geoid_tract_20"
	case has(col, "wt_pop"):
		for h := range col {
			if strings.HasSuffix(h, "ge") && len(h) > 2 {
				if aCol == "" || h < aCol {
					aCol, bCol = h, aCol
				} else if bCol == "" || h < bCol {
					bCol = h
				}
			}
		}
		if aCol == "" || bCol == "" {
			return nil, "", 0, 0, fmt.Errorf("read %s: an NHGIS crosswalk needs two GEOID columns ending in ge (e.g. tr2010ge, tr2020ge) beside wt_pop", path)
		}
		format = FormatNHGIS
	default:
		return nil, "", 0, 0, fmt.Errorf("read %s line 1: not a crosswalk this loader knows: want the Census tract relationship file (GEOID_TRACT_20, GEOID_TRACT_10, AREALAND_PART, …) or an NHGIS crosswalk (…ge columns and wt_pop)", path)
	}
	var read int64
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", 0, 0, fmt.Errorf("read %s line %d: %w", path, line, err)
		}
		read++
		x := row{a: strings.TrimSpace(rec[col[aCol]]), b: strings.TrimSpace(rec[col[bCol]])}
		if format == FormatCensusRelationship {
			part, err := num(rec, "arealand_part", line)
			if err != nil {
				return nil, "", 0, 0, err
			}
			la, err := num(rec, "arealand_tract_10", line)
			if err != nil {
				return nil, "", 0, 0, err
			}
			lb, err := num(rec, "arealand_tract_20", line)
			if err != nil {
				return nil, "", 0, 0, err
			}
			if la > 0 {
				x.w = part / la
			}
			if lb > 0 {
				x.wb = part / lb
			}
		} else {
			if x.w, err = num(rec, "wt_pop", line); err != nil {
				return nil, "", 0, 0, err
			}
			x.wb = math.NaN() // NHGIS weights run one way: from the earlier vintage
		}
		rows = append(rows, x)
	}
	// Which vintage is which layer: the column whose ids the from-layer has.
	match := func(get func(row) string, ids map[string]bool) int {
		n := 0
		for _, x := range rows {
			if ids[get(x)] {
				n++
			}
		}
		return n
	}
	getA, getB := func(x row) string { return x.a }, func(x row) string { return x.b }
	forward := match(getA, from)+match(getB, to) >= match(getB, from)+match(getA, to)
	if !forward && format == FormatNHGIS {
		return nil, "", read, 0, fmt.Errorf("read %s: NHGIS weights run one way, from %s to %s; give --from the layer of %s's ids", path, aCol, bCol, aCol)
	}
	out := map[[2]string]float64{}
	unmatched := 0
	for _, x := range rows {
		f, t, w := x.a, x.b, x.w
		if !forward {
			f, t, w = x.b, x.a, x.wb
		}
		if !from[f] || !to[t] || w != w || w <= 0 {
			unmatched++
			continue
		}
		out[[2]string{f, t}] += w
	}
	if len(out) == 0 {
		return nil, "", read, unmatched, fmt.Errorf("read %s: none of its %d rows joins an area of the from-layer to one of the to-layer: are the layers' ids the file's GEOIDs?", path, read)
	}
	total := map[string]float64{}
	for k, w := range out {
		total[k[0]] += w
	}
	for k, w := range out {
		out[k] = w / total[k[0]]
	}
	return out, format, read, unmatched, nil
}

func has(col map[string]int, names ...string) bool {
	for _, n := range names {
		if _, ok := col[n]; !ok {
			return false
		}
	}
	return true
}

// writeCrosswalk replaces the pair's crosswalk with the file's weights.
func writeCrosswalk(ctx context.Context, conn *sql.Conn, opt CrosswalkOptions, pairs map[[2]string]float64, format string) (int, int, error) {
	if _, err := conn.ExecContext(ctx, `DELETE FROM crosswalk WHERE from_layer = ? AND to_layer = ?`, opt.From, opt.To); err != nil {
		return 0, 0, err
	}
	from := map[string]bool{}
	var staged [][]driver.Value
	for k, w := range pairs {
		staged = append(staged, []driver.Value{opt.From, k[0], opt.To, k[1], w, format})
		from[k[0]] = true
	}
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE stage_xw_file AS SELECT * FROM crosswalk LIMIT 0`); err != nil {
		return 0, 0, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS stage_xw_file")
	if err := store.AppendRows(ctx, conn, "stage_xw_file", staged); err != nil {
		return 0, 0, err
	}
	_, err := conn.ExecContext(ctx, `INSERT INTO crosswalk SELECT * FROM stage_xw_file`)
	return len(staged), len(from), err
}
