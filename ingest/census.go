package ingest

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/ingest/csvrec"
)

// CensusOptions configure LoadCensus.
type CensusOptions struct {
	Layer    string // the layer whose area ids the file's keys are (required)
	IDColumn string // the key column; "" picks GEOID, GEOCODE, ... or the first column
	Vintage  string // e.g. "acs2018-5yr"; stored with every estimate
	Log      *slog.Logger
}

// CensusResult reports a census load.
type CensusResult struct {
	SourceID      int64
	Layer         string
	IDColumn      string
	Areas         int      // rows loaded
	Variables     []string // variables loaded
	Derived       []string // canonical variables derived from them (population, share_65plus, ...)
	Unmatched     []string // keys with no area in the layer (when the layer is loaded)
	Rejected      int
	AlreadyLoaded bool
}

var idColumns = []string{"GEOID", "geoid", "GEOCODE", "GEO_ID", "area_id", "ct_id_10", "fips"}

// LoadCensus loads a CSV of census estimates keyed by area id into
// demographics. Every numeric column is a variable; a column named
// VAR_moe (or VAR_MOE), or an ACS pair VARE/VARM such as B01003_001E and
// B01003_001M, gives a variable's margin of error. Blank and non-numeric
// cells are rejected with their line and column. Reloading replaces the
// same variables for the same layer and vintage.
func LoadCensus(ctx context.Context, st *equity311.Store, path string, opt CensusOptions) (CensusResult, error) {
	res := CensusResult{Layer: opt.Layer}
	if opt.Layer == "" {
		return res, errors.New("census: a layer name is required")
	}
	log := orDiscard(opt.Log)
	data, checksum, err := readChecksummed(path)
	if err != nil {
		return res, err
	}
	var prior int64
	// Already loaded, and no later census file has been loaded for the layer since.
	err = st.DB().QueryRowContext(ctx, `SELECT source_id FROM sources WHERE kind = 'census' AND checksum = ? AND profile = ?
		AND source_id = (SELECT max(source_id) FROM sources WHERE kind = 'census' AND profile = ?)`, checksum, opt.Layer, opt.Layer).Scan(&prior)
	if err == nil {
		res.SourceID, res.AlreadyLoaded = prior, true
		return res, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return res, err
	}

	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '[' {
		if data, err = censusJSONToCSV(trimmed); err != nil {
			return res, fmt.Errorf("read %s: %w", path, err)
		}
		if opt.IDColumn == "" {
			opt.IDColumn = "GEOID"
		}
	}
	rd := csvrec.NewReader(bytes.NewReader(data))
	hdr, _, err := rd.Read()
	if err != nil {
		return res, fmt.Errorf("read %s line 1 (header): %w", path, err)
	}
	header := make([]string, len(hdr))
	for i, h := range hdr {
		header[i] = strings.TrimSpace(string(h))
	}
	idCol := -1
	if opt.IDColumn != "" {
		for i, h := range header {
			if strings.EqualFold(h, opt.IDColumn) {
				idCol = i
			}
		}
		if idCol < 0 {
			return res, fmt.Errorf("read %s line 1 (header): no column %q", path, opt.IDColumn)
		}
	} else {
		for _, c := range idColumns {
			for i, h := range header {
				if idCol < 0 && strings.EqualFold(h, c) {
					idCol = i
				}
			}
		}
		if idCol < 0 {
			idCol = 0
		}
	}
	res.IDColumn = header[idCol]
	// Pair estimates with their margins.
	type variable struct {
		name     string
		est, moe int
	}
	byName := map[string]int{}
	for i, h := range header {
		byName[h] = i
	}
	isMoe := map[int]bool{}
	var vars []variable
	for i, h := range header {
		if i == idCol {
			continue
		}
		for _, suf := range []string{"_moe", "_MOE", "_Moe"} {
			if strings.HasSuffix(h, suf) {
				if _, ok := byName[strings.TrimSuffix(h, suf)]; ok {
					isMoe[i] = true
				}
			}
		}
		if strings.HasSuffix(h, "M") && len(h) > 1 {
			if _, ok := byName[strings.TrimSuffix(h, "M")+"E"]; ok {
				isMoe[i] = true
			}
		}
	}
	for i, h := range header {
		if i == idCol || isMoe[i] {
			continue
		}
		v := variable{name: h, est: i, moe: -1}
		for _, suf := range []string{"_moe", "_MOE", "_Moe"} {
			if j, ok := byName[h+suf]; ok {
				v.moe = j
			}
		}
		if strings.HasSuffix(h, "E") {
			if j, ok := byName[strings.TrimSuffix(h, "E")+"M"]; ok {
				v.name, v.moe = strings.TrimSuffix(h, "E"), j
			}
		}
		vars = append(vars, v)
	}

	type cell struct {
		id, variable string
		est, moe     *float64
		line         int
		raw          string
	}
	var cells []cell
	var rejects []reject
	text := map[string]int{} // variable → rows whose value is text
	textRows := map[int]bool{}
	var rowsRead int
	for {
		fields, line, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var re *csvrec.RecordError
			if errors.As(err, &re) {
				rejects = append(rejects, reject{line: re.Line, reason: re.Err.Error(), raw: string(re.Raw)})
				continue
			}
			return res, fmt.Errorf("read %s: %w", path, err)
		}
		rowsRead++
		if len(fields) != len(header) {
			rejects = append(rejects, reject{line: line, reason: fmt.Sprintf("row has %d fields, header has %d", len(fields), len(header)), raw: string(rd.Raw())})
			continue
		}
		id := strings.TrimSpace(string(fields[idCol]))
		if id == "" {
			rejects = append(rejects, reject{line: line, field: header[idCol], reason: "empty id", raw: string(rd.Raw())})
			continue
		}
		numeric := 0
		for _, v := range vars {
			est, ok := parseNumber(string(fields[v.est]))
			if !ok {
				text[v.name]++
				cells = append(cells, cell{id: id, variable: v.name, line: line, raw: string(fields[v.est])})
				continue
			}
			numeric++
			c := cell{id: id, variable: v.name, est: est, line: line}
			if v.moe >= 0 {
				c.moe, _ = parseNumber(string(fields[v.moe]))
			}
			cells = append(cells, c)
		}
		if numeric == 0 && len(vars) > 0 {
			textRows[line] = true
			rejects = append(rejects, reject{line: line, reason: "no numeric values (a description row?)", raw: string(rd.Raw())})
		}
	}
	// A column that is text in most rows (NAME, labels) is not a variable.
	// In a numeric column, a text cell is rejected and the rest of its row loads.
	dataRows := rowsRead - len(textRows)
	isVar := map[string]bool{}
	for _, v := range vars {
		if float64(text[v.name]) <= 0.1*float64(dataRows) {
			isVar[v.name] = true
			res.Variables = append(res.Variables, v.name)
		}
	}
	var kept []cell
	for _, c := range cells {
		switch {
		case !isVar[c.variable] || textRows[c.line]:
		case c.est == nil && c.raw != "":
			rejects = append(rejects, reject{line: c.line, field: c.variable, reason: fmt.Sprintf("%q is not a number", c.raw), raw: c.raw})
		default:
			kept = append(kept, c)
		}
	}
	// Canonical variables derived from the census tables, with their margins.
	byArea := map[string]map[string]estimate{}
	var order []string
	for _, c := range kept {
		if c.est == nil {
			continue
		}
		m := math.NaN()
		if c.moe != nil {
			m = *c.moe
		}
		if byArea[c.id] == nil {
			byArea[c.id] = map[string]estimate{}
			order = append(order, c.id)
		}
		byArea[c.id][c.variable] = estimate{*c.est, m}
	}
	derived := map[string]bool{}
	for _, id := range order {
		d := derive(byArea[id])
		for _, name := range sortedKeys(d) {
			e := d[name]
			est := e.est
			c := cell{id: id, variable: name, est: &est}
			if !math.IsNaN(e.moe) {
				m := e.moe
				c.moe = &m
			}
			kept = append(kept, c)
			derived[name] = true
		}
	}
	res.Derived = sortedKeys(derived)
	ids := map[string]bool{}
	for _, c := range kept {
		ids[c.id] = true
	}
	res.Areas = len(ids)
	res.Rejected = len(rejects)

	conn, err := st.Conn(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE stage_demo (area_id VARCHAR, variable VARCHAR, estimate DOUBLE, moe DOUBLE)`); err != nil {
		return res, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS stage_demo")
	i := 0
	if _, err := equity311.Append(ctx, conn, "stage_demo", 4, func(row []driver.Value) (bool, error) {
		if i == len(kept) {
			return false, nil
		}
		c := kept[i]
		row[0], row[1] = c.id, c.variable
		if c.est != nil {
			row[2] = *c.est
		}
		if c.moe != nil {
			row[3] = *c.moe
		}
		i++
		return true, nil
	}); err != nil {
		return res, err
	}
	err = equity311.InTx(ctx, conn, func() error {
		id, err := equity311.NewSourceID(ctx, conn)
		if err != nil {
			return err
		}
		res.SourceID = id
		for _, r := range rejects {
			if _, err := conn.ExecContext(ctx, `INSERT INTO rejects VALUES (?, ?, ?, ?, ?)`, id, r.line, nullIfEmpty(r.field), r.reason, strings.ToValidUTF8(r.raw, "\uFFFD")); err != nil {
				return err
			}
		}
		if _, err := conn.ExecContext(ctx, `DELETE FROM demographics WHERE layer = ? AND vintage = ? AND variable IN (SELECT DISTINCT variable FROM stage_demo)`, opt.Layer, opt.Vintage); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO demographics SELECT ?, area_id, variable, estimate, moe, ? FROM stage_demo`, opt.Layer, opt.Vintage); err != nil {
			return err
		}
		_, err = conn.ExecContext(ctx, `INSERT INTO sources (source_id, kind, name, profile, checksum, rows_read, rows_loaded, rows_rejected, loaded_at)
			VALUES (?, 'census', ?, ?, ?, ?, ?, ?, ?)`, id, path, opt.Layer, checksum, rowsRead+len(rejects), res.Areas, len(rejects), st.Now())
		return err
	})
	if err != nil {
		return res, fmt.Errorf("load census %s: %w", path, err)
	}
	rows, err := st.DB().QueryContext(ctx, `SELECT DISTINCT d.area_id FROM demographics d
		WHERE d.layer = ? AND EXISTS (SELECT 1 FROM areas WHERE layer = d.layer)
		AND NOT EXISTS (SELECT 1 FROM areas a WHERE a.layer = d.layer AND a.area_id = d.area_id) ORDER BY 1`, opt.Layer)
	if err != nil {
		return res, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return res, err
		}
		res.Unmatched = append(res.Unmatched, id)
	}
	log.Info("loaded census", "file", path, "layer", opt.Layer, "areas", res.Areas, "variables", len(res.Variables), "unmatched", len(res.Unmatched))
	return res, rows.Err()
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
	if err != nil || math.IsInf(v, 0) {
		return nil, false
	}
	switch v {
	case -666666666, -999999999, -888888888, -222222222, -333333333, -555555555:
		return nil, true
	}
	return &v, true
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
