// Package census loads census tables for the areas of a layer into the
// demographics table: CSV keyed by area id (with margins of error as
// VAR_moe columns or ACS E/M pairs) and the Census API's JSON. It derives
// equity311's canonical variables (population, median income, shares by
// age, race and ethnicity, language, internet access, ...) from ACS tables
// with the Census Bureau's margin-of-error approximations.
package census

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/ingest/csvrec"
	"github.com/equity311/equity311/store"
)

// Options configure Load.
// Its tags are the one definition of the options for the command line's
// flags and the service's [[census]] keys (package internal/options).
type Options struct {
	Layer    string `toml:"layer" help:"layer whose area ids the file uses (required)"`
	IDColumn string `toml:"id_col" help:"key column (default: GEOID, GEOCODE, ... or the first column)"`
	Vintage  string `toml:"vintage" help:"vintage label stored with the estimates, e.g. acs2022-5yr"`
	// Partial loads a file whose ids cover less than MinCoverage of the
	// layer's areas (a table for part of the city).
	Partial bool `toml:"partial" help:"load a file whose ids cover less than 90% of the layer's areas (a table for part of the city)"`
	// Force loads a file again that was loaded before with other options.
	Force bool         `toml:"force" help:"load a file again that was loaded before with other options"`
	Log   *slog.Logger `toml:"-"`
}

// MinCoverage is the share of a layer's areas a census file's ids must
// cover: a file keyed to another geography or vintage (2010 tract GEOIDs
// against 2020 tracts) matches only the tracts that did not change, and is
// refused rather than attached to part of the layer.
const MinCoverage = 0.9

// Result reports a census load.
type Result struct {
	Layer     string
	IDColumn  string
	Areas     int      // areas with at least one value loaded
	Variables []string // variables loaded
	Derived   []string // canonical variables derived from them (population, share_65plus, ...)
	Unmatched []string // keys with no area in the layer (when the layer is loaded)
	store.LoadResult
}

var idColumns = []string{"GEOID", "geoid", "GEOCODE", "GEO_ID", "area_id", "ct_id_10", "fips"}

// Load loads a CSV of census estimates keyed by area id into
// demographics. Every numeric column is a variable; a column named
// VAR_moe (or VAR_MOE), or an ACS pair VARE/VARM such as B01003_001E and
// B01003_001M, gives a variable's margin of error. Blank and non-numeric
// cells are rejected with their line and column. Reloading replaces the
// same variables for the same layer and vintage.
func Load(ctx context.Context, st *store.Store, path string, opt Options) (Result, error) {
	res := Result{Layer: opt.Layer}
	if opt.Layer == "" {
		return res, errors.New("census: a layer name is required")
	}
	log := cmp.Or(opt.Log, slog.New(slog.DiscardHandler))
	data, checksum, err := store.ReadFile(path, 0)
	if err != nil {
		return res, err
	}
	layerIDs, err := layerAreas(ctx, st, opt.Layer)
	if err != nil {
		return res, err
	}
	options := store.Options(map[string]string{"layer": opt.Layer, "id_col": opt.IDColumn, "vintage": opt.Vintage})
	// Already loaded onto this layer (and its values still there).
	load := store.Load{Kind: "census", Name: path, Profile: opt.Layer, Checksum: checksum, Options: options,
		Current:     `s.profile = ? AND EXISTS (SELECT 1 FROM demographics d WHERE d.source_id = s.source_id)`,
		CurrentArgs: []any{opt.Layer}}
	var rowsLoaded int64
	res.LoadResult, err = st.Load(ctx, load, opt.Force,
		func(conn *sql.Conn) (store.Staged, error) {
			t, err := readTable(path, data, opt.IDColumn)
			if err != nil {
				return store.Staged{}, err
			}
			res.IDColumn = t.header[t.idCol]
			p := t.parse()
			res.Variables = p.variables
			res.Derived = p.deriveCanonical()
			res.Areas = p.areas()
			if res.Areas == 0 {
				return store.Staged{}, fmt.Errorf("read %s: no area has a numeric value (%d rows read, %d rejected): "+
					"a census table is a CSV keyed by area id, or the Census API's JSON", path, p.staged.Read, p.rowsRejected)
			}
			if err := checkCoverage(ctx, st, path, opt, p.ids(), layerIDs); err != nil {
				return store.Staged{}, err
			}
			rowsLoaded = p.staged.Read - p.rowsRejected
			return p.staged, stageCells(ctx, conn, p.cells)
		},
		func(conn *sql.Conn, id int64) (store.Written, error) {
			// Each file keeps its own values: another file's never overwrite them.
			_, err := conn.ExecContext(ctx, `INSERT INTO demographics (layer, area_id, variable, estimate, moe, vintage, source_id, measure)
				SELECT ?, area_id, variable, estimate, moe, ?, ?, measure FROM stage_demo`, opt.Layer, opt.Vintage, id)
			return store.Written{Loaded: rowsLoaded}, err
		})
	if err != nil || res.AlreadyLoaded {
		return res, err
	}
	if res.Unmatched, err = unmatched(ctx, st, opt.Layer); err != nil {
		return res, err
	}
	log.Info("loaded census", "file", path, "layer", opt.Layer, "areas", res.Areas, "variables", len(res.Variables), "unmatched", len(res.Unmatched))
	return res, nil
}

// table is a census file read into memory: its header, key column and
// variables (each estimate column with its margin-of-error column).
type table struct {
	path   string
	header []string
	idCol  int
	vars   []variable
	rd     *csvrec.Reader
}

type variable struct {
	name     string
	est, moe int // column indexes; moe -1 when the file gives none
}

// readTable reads the header (of CSV, or of the Census API's JSON turned
// into CSV), finds the key column and pairs estimates with their margins.
func readTable(path string, data []byte, idColumn string) (*table, error) {
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '[' {
		var err error
		if data, err = censusJSONToCSV(trimmed); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		idColumn = cmp.Or(idColumn, "GEOID")
	}
	t := &table{path: path, rd: csvrec.NewReader(bytes.NewReader(data))}
	hdr, _, err := t.rd.Read()
	if err != nil {
		return nil, fmt.Errorf("read %s line 1 (header): %w", path, err)
	}
	t.rd.FieldsPerRecord = len(hdr)
	t.header = make([]string, len(hdr))
	for i, h := range hdr {
		t.header[i] = strings.TrimSpace(string(h))
	}
	seen := map[string]int{}
	for i, h := range t.header {
		if j, dup := seen[h]; dup {
			return nil, fmt.Errorf("read %s line 1 (header): column %q appears twice (columns %d and %d)", path, h, j+1, i+1)
		}
		seen[h] = i
	}
	if t.idCol, err = keyColumn(t.header, idColumn); err != nil {
		return nil, fmt.Errorf("read %s line 1 (header): %w", path, err)
	}
	t.vars = pairVariables(t.header, t.idCol)
	return t, nil
}

// keyColumn finds the area id column: the one named, else the first of
// idColumns present, else the first column.
func keyColumn(header []string, named string) (int, error) {
	find := func(name string) int {
		return slices.IndexFunc(header, func(h string) bool { return strings.EqualFold(h, name) })
	}
	if named != "" {
		if i := find(named); i >= 0 {
			return i, nil
		}
		return -1, fmt.Errorf("no column %q", named)
	}
	for _, c := range idColumns {
		if i := find(c); i >= 0 {
			return i, nil
		}
	}
	return 0, nil
}

// acsEstimate matches an ACS estimate column such as B19001_002E.
var acsEstimate = regexp.MustCompile(`^[BC][0-9]{5}[A-Z]?_[0-9]{3}E$`)

// moeSuffixes mark a column as the margin of error of the column named
// without the suffix.
var moeSuffixes = []string{"_moe", "_MOE", "_Moe"}

// pairVariables lists the estimate columns with their margin columns: VAR
// with VAR_moe, or an ACS pair VARE and VARM (named VAR).
func pairVariables(header []string, idCol int) []variable {
	byName := map[string]int{}
	for i, h := range header {
		byName[h] = i
	}
	isMoe := map[int]bool{}
	for i, h := range header {
		if i == idCol {
			continue
		}
		for _, suf := range moeSuffixes {
			if _, ok := byName[strings.TrimSuffix(h, suf)]; ok && strings.HasSuffix(h, suf) {
				isMoe[i] = true
			}
		}
		if _, ok := byName[strings.TrimSuffix(h, "M")+"E"]; ok && strings.HasSuffix(h, "M") && len(h) > 1 {
			isMoe[i] = true
		}
	}
	var vars []variable
	for i, h := range header {
		if i == idCol || isMoe[i] {
			continue
		}
		v := variable{name: h, est: i, moe: -1}
		for _, suf := range moeSuffixes {
			if j, ok := byName[h+suf]; ok {
				v.moe = j
			}
		}
		if j, ok := byName[strings.TrimSuffix(h, "E")+"M"]; ok && strings.HasSuffix(h, "E") {
			v.name, v.moe = strings.TrimSuffix(h, "E"), j
		} else if acsEstimate.MatchString(h) {
			v.name = strings.TrimSuffix(h, "E") // an ACS estimate published without its margin
		}
		vars = append(vars, v)
	}
	return vars
}

// cell is one value of one area.
type cell struct {
	id, variable string
	est, moe     *float64
	line         int
	raw          string
	column       string // the file's column
	value        string // a number's text as the file has it
	measure      string // for a derived variable, what it was derived from; "" for the file's own
}

// parsed is a table's rows turned into cells, with its rejects and counts.
type parsed struct {
	cells        []cell
	variables    []string
	staged       store.Staged
	rowsRejected int64
	// counts are the variables named like a BARI proportion that hold
	// counts in this file: no canonical share is copied from them.
	counts map[string]bool
}

// parse reads every row into cells. A column that is text in most rows
// (NAME, labels) is not a variable; in a numeric column, a text cell is
// rejected and the rest of its row loads. A row with no number at all (a
// description row) is rejected whole.
func (t *table) parse() *parsed {
	p := &parsed{}
	var cells []cell
	text := map[string]int{} // variable → rows whose value is text
	textRows := map[int]bool{}
	var rejects []store.Reject
	idLine := map[string]int{}
	// A column of whole numbers some above 1 holds counts, not shares,
	// whatever its name.
	above1, fractional := map[string]bool{}, map[string]bool{}
	reject := func(line int, field, reason, raw string) {
		rejects = append(rejects, store.Reject{Line: int64(line), Field: field, Reason: reason, Raw: raw})
		p.rowsRejected++
	}
	for {
		fields, line, err := t.rd.Read()
		if err == io.EOF {
			break
		}
		p.staged.Read++
		if err != nil {
			var re *csvrec.RecordError
			if errors.As(err, &re) {
				reject(re.Line, "", re.Err.Error(), string(re.Raw))
				continue
			}
			reject(line, "", err.Error(), "")
			continue
		}
		id := strings.TrimSpace(string(fields[t.idCol]))
		if id == "" {
			reject(line, t.header[t.idCol], "empty id", string(t.rd.Raw()))
			continue
		}
		if first, dup := idLine[id]; dup {
			reject(line, t.header[t.idCol], fmt.Sprintf("id %s again (first on line %d)", id, first), string(t.rd.Raw()))
			continue
		}
		idLine[id] = line
		numeric := 0
		for _, v := range t.vars {
			est, ok := parseNumber(string(fields[v.est]))
			if !ok {
				text[v.name]++
				cells = append(cells, cell{id: id, variable: v.name, line: line, raw: string(fields[v.est])})
				continue
			}
			numeric++
			c := cell{id: id, variable: v.name, est: est, line: line, column: t.header[v.est], value: string(fields[v.est])}
			if est != nil && *est > 1 {
				above1[c.column] = true
			}
			if est != nil && *est != math.Trunc(*est) {
				fractional[c.column] = true
			}
			if v.moe >= 0 {
				c.moe, _ = parseNumber(string(fields[v.moe]))
				if c.moe != nil && *c.moe < 0 {
					rejects = append(rejects, store.Reject{Line: int64(line), Field: t.header[v.moe],
						Reason: fmt.Sprintf("margin of error %v is negative: loaded without it", *c.moe), Raw: string(fields[v.moe]), Partial: true})
					c.moe = nil
				}
			}
			cells = append(cells, c)
		}
		if numeric == 0 && len(t.vars) > 0 {
			textRows[line] = true
			reject(line, "", "no numeric values (a description row?)", string(t.rd.Raw()))
		}
	}
	dataRows := int(p.staged.Read) - len(textRows)
	isVar := map[string]bool{}
	for _, v := range t.vars {
		if float64(text[v.name]) <= 0.1*float64(dataRows) {
			isVar[v.name] = true
			p.variables = append(p.variables, v.name)
		}
	}
	p.counts = map[string]bool{}
	for _, c := range cells {
		if c.est != nil && shareSources[strings.ToLower(c.column)] && above1[c.column] && !fractional[c.column] {
			p.counts[c.variable] = true // BPDA's white, black, … are counts
		}
	}
	for _, c := range cells {
		var bad error
		if c.est != nil {
			bad = checkValue(c.column, *c.est, p.counts[c.variable])
		}
		switch {
		case !isVar[c.variable] || textRows[c.line]:
		case c.est == nil && c.raw != "":
			rejects = append(rejects, store.Reject{Line: int64(c.line), Field: c.variable,
				Reason: fmt.Sprintf("%q is not a number", c.raw), Raw: c.raw, Partial: true})
		case bad != nil:
			// The value goes, not the row: one bad cell never empties a table.
			rejects = append(rejects, store.Reject{Line: int64(c.line), Field: c.column, Reason: bad.Error(), Raw: c.value, Partial: true})
		default:
			p.cells = append(p.cells, c)
		}
	}
	p.staged.Rejects = rejects
	return p
}

// deriveCanonical adds equity311's canonical variables, with their margins,
// derived from each area's census variables, and returns their names.
func (p *parsed) deriveCanonical() []string {
	byArea := map[string]map[string]estimate{}
	var order []string
	for _, c := range p.cells {
		if c.est == nil {
			continue
		}
		m := math.NaN()
		if c.moe != nil {
			m = *c.moe
		}
		if p.counts[c.variable] {
			continue // a count under a share's name: not a share
		}
		if byArea[c.id] == nil {
			byArea[c.id] = map[string]estimate{}
			order = append(order, c.id)
		}
		byArea[c.id][c.variable] = estimate{*c.est, m, c.variable}
	}
	derived := map[string]bool{}
	for _, id := range order {
		d := derive(byArea[id])
		for _, name := range slices.Sorted(maps.Keys(d)) {
			e := d[name]
			est := e.est
			c := cell{id: id, variable: name, est: &est, measure: e.measure}
			if !math.IsNaN(e.moe) {
				m := e.moe
				c.moe = &m
			}
			p.cells = append(p.cells, c)
			derived[name] = true
		}
	}
	return slices.Sorted(maps.Keys(derived))
}

// ids returns the ids of the areas with at least one cell.
func (p *parsed) ids() map[string]bool {
	ids := map[string]bool{}
	for _, c := range p.cells {
		ids[c.id] = true
	}
	return ids
}

// areas counts the areas with at least one cell.
func (p *parsed) areas() int { return len(p.ids()) }

// layerAreas returns the ids of the layer's areas, or an error naming the
// layers there are when it has none.
func layerAreas(ctx context.Context, st *store.Store, layer string) (map[string]bool, error) {
	byLayer := map[string]map[string]bool{}
	rows, err := st.DB().QueryContext(ctx, "SELECT layer, area_id FROM areas")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var l, id string
		if err := rows.Scan(&l, &id); err != nil {
			return nil, err
		}
		if byLayer[l] == nil {
			byLayer[l] = map[string]bool{}
		}
		byLayer[l][id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if ids, ok := byLayer[layer]; ok {
		return ids, nil
	}
	if len(byLayer) == 0 {
		return nil, equity311.OptionErrorf("layer", "census: no layer %q: no boundaries are loaded (load the layer's boundaries first)", layer)
	}
	return nil, fmt.Errorf("census: no layer %q; the layers are %s", layer, strings.Join(slices.Sorted(maps.Keys(byLayer)), ", "))
}

// checkCoverage refuses a file whose ids cover less than MinCoverage of
// the layer's areas, naming a layer they do cover when there is one.
func checkCoverage(ctx context.Context, st *store.Store, path string, opt Options, fileIDs, layerIDs map[string]bool) error {
	share := coverage(fileIDs, layerIDs)
	if opt.Partial || share >= MinCoverage || len(layerIDs) == 0 {
		return nil
	}
	rows, err := st.DB().QueryContext(ctx, "SELECT layer, list(area_id) FROM areas WHERE layer <> ? GROUP BY layer ORDER BY layer", opt.Layer)
	if err != nil {
		return err
	}
	defer rows.Close()
	var better []string
	for rows.Next() {
		var l string
		var ids duckdbList
		if err := rows.Scan(&l, &ids); err != nil {
			return err
		}
		other := map[string]bool{}
		for _, id := range ids {
			other[id] = true
		}
		if c := coverage(fileIDs, other); c >= MinCoverage {
			better = append(better, fmt.Sprintf("%s (%.0f%% of its areas)", l, 100*c))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	msg := fmt.Sprintf("census %s: its ids cover only %.0f%% of layer %s's %d areas: the file is keyed to another geography or vintage (2010 and 2020 tract GEOIDs differ where tracts were split or merged)",
		path, 100*share, opt.Layer, len(layerIDs))
	if len(better) > 0 {
		return equity311.OptionErrorf("layer", "%s; it matches layer %s: load it onto that layer, and analysis converts its figures to %s through the area-overlap crosswalk",
			msg, strings.Join(better, ", "), opt.Layer)
	}
	return equity311.OptionErrorf("partial", "%s; load the boundaries it is keyed to as their own layer and the file onto it (analysis converts through the area-overlap crosswalk), or load it as it is, as a partial table", msg)
}

// coverage is the share of layer's ids that ids has.
func coverage(ids, layer map[string]bool) float64 {
	if len(layer) == 0 {
		return 0
	}
	n := 0
	for id := range layer {
		if ids[id] {
			n++
		}
	}
	return float64(n) / float64(len(layer))
}

// duckdbList scans a DuckDB LIST of VARCHAR.
type duckdbList []string

func (l *duckdbList) Scan(v any) error {
	xs, ok := v.([]any)
	if !ok {
		return fmt.Errorf("list: got %T", v)
	}
	*l = (*l)[:0]
	for _, x := range xs {
		if s, ok := x.(string); ok {
			*l = append(*l, s)
		}
	}
	return nil
}

// stageCells writes the cells into the TEMP table stage_demo on conn.
func stageCells(ctx context.Context, conn *sql.Conn, cells []cell) error {
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE stage_demo (area_id VARCHAR, variable VARCHAR, estimate DOUBLE, moe DOUBLE, measure VARCHAR)`); err != nil {
		return err
	}
	i := 0
	_, err := store.Append(ctx, conn, "stage_demo", 5, func(row []driver.Value) (bool, error) {
		if i == len(cells) {
			return false, nil
		}
		c := cells[i]
		row[0], row[1], row[4] = c.id, c.variable, cmp.Or(c.measure, c.variable)
		if c.est != nil {
			row[2] = *c.est
		}
		if c.moe != nil {
			row[3] = *c.moe
		}
		i++
		return true, nil
	})
	return err
}

// unmatched lists the layer's census ids that match no area, when the
// layer's areas are loaded.
func unmatched(ctx context.Context, st *store.Store, layer string) ([]string, error) {
	rows, err := st.DB().QueryContext(ctx, `SELECT DISTINCT d.area_id FROM demographics d
		WHERE d.layer = ? AND EXISTS (SELECT 1 FROM areas WHERE layer = d.layer)
		AND NOT EXISTS (SELECT 1 FROM areas a WHERE a.layer = d.layer AND a.area_id = d.area_id) ORDER BY 1`, layer)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// censusJSONToCSV turns the Census API's JSON (an array of arrays, the
// first the header) into CSV with a GEOID column built from the geography
// columns state, county, tract and block group.
func censusJSONToCSV(data []byte) ([]byte, error) {
	var rows [][]*string
	if err := json.Unmarshal(data, &rows); err != nil {
		return nil, fmt.Errorf("census API JSON: want an array of arrays of strings: %w", err)
	}
	if len(rows) == 0 {
		return nil, errors.New("census API JSON: empty")
	}
	header := make([]string, len(rows[0]))
	for i, h := range rows[0] {
		if h != nil {
			header[i] = *h
		}
	}
	geo := []int{}
	for _, part := range []string{"state", "county", "tract", "block group"} {
		for i, h := range header {
			if strings.EqualFold(h, part) {
				geo = append(geo, i)
			}
		}
	}
	if len(geo) == 0 {
		return nil, errors.New("census API JSON: no state, county, tract or block group column to build the GEOID from")
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(append([]string{"GEOID"}, header...))
	for k, r := range rows[1:] {
		if len(r) != len(header) {
			return nil, fmt.Errorf("census API JSON: row %d has %d values, header %d", k+2, len(r), len(header))
		}
		vals := make([]string, len(r))
		for i, v := range r {
			if v != nil {
				vals[i] = *v
			}
		}
		id := ""
		for _, i := range geo {
			id += vals[i]
		}
		w.Write(append([]string{id}, vals...))
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// MaxCount is the largest count or population an area may have: more
// people than any country but two.
const MaxCount = 1e9

// checkValue checks a value by what its column measures, as its name
// says: a percent (pct…, …percent…) lies in [0, 100]; a share (share_…,
// …_share, …_per as BARI writes, or a BARI proportion a canonical share
// is made of) in [0, 1]; a count, population or income (an ACS or
// decennial table cell, …pop…, total_…, households, median…, income) is
// non-negative and at most MaxCount. Other columns, such as indices
// (BARI's eth_het), may take any finite value.
func checkValue(column string, v float64, count bool) error {
	n := strings.ToLower(column)
	switch {
	case count:
		if v < 0 || v > MaxCount {
			return fmt.Errorf("count %v outside 0–%.0e", v, MaxCount)
		}
	case strings.HasPrefix(n, "pct") || strings.Contains(n, "_pct") || strings.Contains(n, "percent"):
		if v < 0 || v > 100 {
			return fmt.Errorf("percent %v outside 0–100", v)
		}
	case strings.HasPrefix(n, "share_") || strings.HasSuffix(n, "_share") || strings.HasSuffix(n, "_per") || shareSources[n]:
		if v < 0 || v > 1 {
			return fmt.Errorf("share %v outside 0–1", v)
		}
	case countColumn.MatchString(column) || strings.Contains(n, "pop") && !strings.Contains(n, "den") ||
		strings.HasPrefix(n, "total_") || strings.Contains(n, "household") || strings.Contains(n, "median") || strings.Contains(n, "income"):
		if v < 0 {
			return fmt.Errorf("count %v is negative", v)
		}
		if v > MaxCount {
			return fmt.Errorf("count %v is implausible (more than %.0e)", v, MaxCount)
		}
	}
	return nil
}

// countColumn matches census table cells: ACS (B01003_001, B01003_001E),
// decennial (P0020001, P2_001N, H0010001).
var countColumn = regexp.MustCompile(`^([BC][0-9]{5}[A-Z]?_[0-9]{3}E?|[PH][0-9]{7}|[PH][0-9]+_[0-9]{3}N)$`)

// shareSources are the proportion columns (BARI's) that canonical shares
// are copied or summed from: proportions without a telling name.
var shareSources = func() map[string]bool {
	m := map[string]bool{}
	for _, d := range derivations() {
		if strings.HasPrefix(d.name, "share_") && (d.kind == "copy" || d.kind == "sum") {
			for _, n := range d.num {
				m[strings.ToLower(n)] = true
			}
		}
	}
	return m
}()

// parseNumber reads a number; blank, "NA", the ACS's annotation values
// (-666666666 and kin: not available, not applicable) and the like are
// (nil, true): a missing value, not text.
func parseNumber(s string) (*float64, bool) {
	s = strings.TrimSpace(s)
	switch strings.ToUpper(s) {
	case "", "NA", "N/A", "NAN", "NULL", "-", "*****", "(X)":
		return nil, true
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
	if err != nil {
		return nil, false
	}
	if math.IsInf(v, 0) {
		return nil, true // BARI's pop_den of an area without land: missing
	}
	switch v {
	case -666666666, -999999999, -888888888, -222222222, -333333333, -555555555:
		return nil, true
	}
	return &v, true
}
