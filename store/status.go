package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Section is one titled table of the store's status.
type Section struct {
	Title   string
	Columns []string
	Rows    [][]string // cells as text; "" for NULL
	// More counts rows left out of Rows by the section's limit (0 when none).
	More int
}

// StatusOptions configure Status.
type StatusOptions struct {
	// Full lists every id in sections that otherwise show a few examples.
	Full bool
}

// statusQuery is one section of Status.
type statusQuery struct {
	title string
	q     string
	limit int // rows shown at most; 0 for all
}

// examples is how many ids a summary line shows unless Full.
const examples = 8

func statusQueries(opt StatusOptions) []statusQuery {
	ex := fmt.Sprintf("list_slice(list(%%s ORDER BY %%s), 1, %d)", examples)
	if opt.Full {
		ex = "list(%s ORDER BY %s)"
	}
	list := func(col string) string { return "array_to_string(" + fmt.Sprintf(ex, col, col) + ", ' ')" }
	return []statusQuery{
		{"Sources", `SELECT source_id AS id, kind, name, coalesce(profile, '') AS profile, rows_read AS read, rows_loaded AS loaded,
			rows_rejected AS rejected, rows_excluded AS excluded, rows_superseded AS superseded, strftime(loaded_at, '%Y-%m-%d %H:%M') AS loaded_at
			FROM sources ORDER BY source_id`, 0},
		// First and last dates in the city's zone (UTC for a city without one).
		{"Tickets", `SELECT t.city, count(*) AS tickets, strftime(timezone(coalesce(c.timezone, 'UTC'), min(t.opened_at)), '%Y-%m-%d') AS first,
			strftime(timezone(coalesce(c.timezone, 'UTC'), max(t.opened_at)), '%Y-%m-%d') AS last,
			count(*) FILTER (WHERE resident_initiated) AS resident, count(*) FILTER (WHERE channel = 'unknown') AS unknown_channel,
			count(*) FILTER (WHERE channel_basis = 'open311') AS channel_from_open311
			FROM tickets t LEFT JOIN cities c USING (city) GROUP BY t.city, c.timezone ORDER BY t.city`, 0},
		{"Channels", `SELECT city, channel, count(*) AS n FROM tickets GROUP BY ALL ORDER BY city, n DESC`, 0},
		{"Channel values loaded as unknown (not in the profile's map, or UNKNOWN in the source)", `SELECT city, channel_raw, count(*) AS n FROM tickets
			WHERE channel = 'unknown' AND channel_raw IS NOT NULL GROUP BY ALL ORDER BY n DESC, channel_raw`, 20},
		{"Geo quality", `SELECT coalesce(geo_quality, 'not yet assigned') AS geo_quality, count(*) AS n,
			round(median(outside_m)) AS median_m_from_nearest_area FROM tickets GROUP BY ALL ORDER BY n DESC`, 0},
		{"Rejects by reason", `SELECT source_id, coalesce(field, '') AS field, regexp_replace(reason, '"[^"]*"', '"…"', 'g') AS reason, count(*) AS n
			FROM rejects GROUP BY ALL ORDER BY source_id, n DESC, reason`, 30},
		{"Layers", `SELECT l.layer, l.areas, l.id_prop, l.name_prop,
			(SELECT count(DISTINCT p.ticket_no) FROM ticket_places p JOIN areas a USING (area_no) WHERE a.layer = l.layer) AS tickets_placed,
			(SELECT count(*) FROM ticket_places p JOIN areas a USING (area_no) WHERE a.layer = l.layer AND p.basis = 'overlap') AS in_overlapping_areas,
			(SELECT count(DISTINCT area_id) FROM demographics d WHERE d.layer = l.layer) AS areas_with_census
			FROM layers l ORDER BY layer`, 0},
		{"Census files by layer (each keeps its own values)", `SELECT d.layer, regexp_extract(s.name, '[^/\\]*$') AS file, d.vintage,
			count(DISTINCT d.variable) AS variables, count(DISTINCT d.area_id) AS ids,
			count(DISTINCT d.area_id) FILTER (WHERE EXISTS (SELECT 1 FROM areas a WHERE a.layer = d.layer AND a.area_id = d.area_id)) AS areas_matched,
			coalesce(max(d.measure) FILTER (WHERE d.variable = 'population'), '') AS population_measure
			FROM demographics d JOIN sources s USING (source_id) GROUP BY d.layer, s.name, d.vintage, d.source_id ORDER BY 1, 2`, 0},
		{"Population by layer (analysis: the layer's own census, else the crosswalk from the finest layer that has one)", `WITH own AS (
				SELECT layer, count(DISTINCT area_id) AS n FROM demographics SEMI JOIN areas USING (layer, area_id)
				WHERE variable = 'population' AND estimate IS NOT NULL GROUP BY layer),
			via AS (SELECT layer FROM own ORDER BY n DESC, layer LIMIT 1)
			SELECT l.layer, l.areas,
				CASE WHEN o.layer IS NOT NULL THEN 'census of the layer' WHEN v.layer IS NOT NULL THEN 'crosswalk from ' || v.layer ELSE 'none' END AS population_from,
				CASE WHEN o.layer IS NOT NULL THEN (SELECT count(DISTINCT d.area_id) FROM demographics d JOIN areas a USING (layer, area_id)
						WHERE d.layer = l.layer AND d.variable = 'population' AND d.estimate IS NOT NULL)
					WHEN v.layer IS NOT NULL THEN (SELECT count(DISTINCT c.to_id) FROM crosswalk c WHERE c.to_layer = l.layer AND c.from_layer = v.layer)
					ELSE 0 END AS areas_with_population
			FROM layers l LEFT JOIN own o USING (layer) LEFT JOIN via v ON true ORDER BY 1`, 0},
		{"Areas with no census population", `SELECT a.layer, count(*) AS areas, ` + list("a.area_id") + ` AS ids
			FROM areas a WHERE EXISTS (SELECT 1 FROM demographics d WHERE d.layer = a.layer)
			AND NOT EXISTS (SELECT 1 FROM demographics d WHERE d.layer = a.layer AND d.area_id = a.area_id)
			GROUP BY 1 ORDER BY 1`, 0},
		{"Census ids with no area", `SELECT layer, count(*) AS ids, ` + list("area_id") + ` AS examples
			FROM (SELECT DISTINCT d.layer, d.area_id FROM demographics d
				WHERE NOT EXISTS (SELECT 1 FROM areas a WHERE a.layer = d.layer AND a.area_id = d.area_id))
			GROUP BY 1 ORDER BY 1`, 0},
		{"Duplicate links (a request marked as a duplicate of another)", `SELECT city, basis, count(*) AS duplicates, count(parent_id) AS naming_a_parent,
			count(*) FILTER (WHERE parent_loaded) AS parent_loaded FROM duplicate_links GROUP BY ALL ORDER BY 1, 2`, 0},
		{"Feeds (incremental syncs)", `SELECT feed, cursor, strftime(synced_at, '%Y-%m-%d %H:%M') AS synced_at FROM sync_state ORDER BY feed`, 0},
		{"Analysed periods", `SELECT period, strftime(computed_at, '%Y-%m-%d %H:%M') AS computed, tickets, resident
			FROM analysis_runs ORDER BY computed_at DESC, period`, 10},
		{"Tables (equity311 export --table T)", `SELECT table_name AS "table", estimated_size AS rows, column_count AS columns
			FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary ORDER BY 1`, 0},
	}
}

// Status describes what the store holds: sources and their accounting,
// tickets by city and channel, geo quality, rejects, layers and census
// coverage, feeds, analysed periods, and the tables there are.
func (s *Store) Status(ctx context.Context, opt StatusOptions) ([]Section, error) {
	var out []Section
	for _, sq := range statusQueries(opt) {
		sec, err := s.section(ctx, sq)
		if err != nil {
			return nil, fmt.Errorf("status %s: %w", sq.title, err)
		}
		out = append(out, sec)
	}
	return out, nil
}

func (s *Store) section(ctx context.Context, sq statusQuery) (Section, error) {
	sec := Section{Title: sq.title}
	rows, err := s.db.QueryContext(ctx, sq.q)
	if err != nil {
		return sec, err
	}
	defer rows.Close()
	if sec.Columns, err = rows.Columns(); err != nil {
		return sec, err
	}
	vals := make([]any, len(sec.Columns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if sq.limit > 0 && len(sec.Rows) == sq.limit {
			sec.More++
			continue
		}
		if err := rows.Scan(ptrs...); err != nil {
			return sec, err
		}
		cells := make([]string, len(vals))
		for i, v := range vals {
			if v != nil {
				cells[i] = fmt.Sprint(v)
			}
		}
		sec.Rows = append(sec.Rows, cells)
	}
	return sec, rows.Err()
}

// ErrNoTable is returned by Export for a name that is not a table.
var ErrNoTable = errors.New("no such table")

// Export copies a table to a CSV or Parquet file with DuckDB's COPY and
// returns the rows written. In CSV, geometry columns are WKT text; Parquet
// keeps them as WKB (as GeoParquet readers expect). The table must exist in the main schema; its
// name is checked, never pasted blindly into SQL.
func (s *Store) Export(ctx context.Context, table, format, out string) (int64, error) {
	if format != "csv" && format != "parquet" && format != "geoparquet" {
		return 0, fmt.Errorf("format %q: want csv, parquet or geoparquet", format)
	}
	var name string
	err := s.db.QueryRowContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'main' AND table_name = ?`, table).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: %q (equity311 status lists the tables)", ErrNoTable, table)
	}
	if err != nil {
		return 0, err
	}
	opts := "FORMAT csv, HEADER"
	sel := "*"
	from := `"` + name + `"`
	if format == "geoparquet" {
		// GeoParquet 1.0 (geometry typed, CRS OGC:CRS84 in the file's geo
		// metadata): the table's own geometry, or its areas' polygons.
		var geom, area bool
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE column_name = 'geometry') > 0,
				count(*) FILTER (WHERE column_name IN ('layer', 'area_id')) = 2
			FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ?`, name).Scan(&geom, &area); err != nil {
			return 0, err
		}
		switch {
		case geom:
			sel = `* REPLACE (ST_GeomFromWKB(geometry) AS geometry)`
		case area:
			sel, from = `x.*, ST_GeomFromWKB(a.geometry) AS geometry`, `"`+name+`" x LEFT JOIN areas a ON a.layer = x.layer AND a.area_id = x.area_id`
		default:
			return 0, fmt.Errorf("export %s as GeoParquet: it has no geometry and no area (layer, area_id) to take one from; export it as parquet", table)
		}
		opts = "FORMAT parquet"
	} else if format == "parquet" {
		opts = "FORMAT parquet"
	} else {
		// Geometry is WKB in the store; a CSV gets it as WKT text. Text
		// that a spreadsheet would read as a formula gets an apostrophe
		// (see reports.SpreadsheetSafe).
		var geom []string
		rows, err := s.db.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = 'main' AND table_name = ? AND (data_type = 'VARCHAR' OR (data_type = 'BLOB' AND column_name = 'geometry'))`, name)
		if err != nil {
			return 0, err
		}
		for rows.Next() {
			var c, typ string
			if err := rows.Scan(&c, &typ); err != nil {
				rows.Close()
				return 0, err
			}
			if typ == "BLOB" {
				geom = append(geom, fmt.Sprintf(`ST_AsText(ST_GeomFromWKB("%s")) AS "%s"`, c, c))
				continue
			}
			geom = append(geom, fmt.Sprintf(`CASE WHEN regexp_matches("%[1]s", '^[=+@\t\r]') OR (regexp_matches("%[1]s", '^-') AND TRY_CAST("%[1]s" AS DOUBLE) IS NULL)
				THEN '''' || "%[1]s" ELSE "%[1]s" END AS "%[1]s"`, c))
		}
		if err := rows.Close(); err != nil {
			return 0, err
		}
		if len(geom) > 0 {
			sel = "* REPLACE (" + strings.Join(geom, ", ") + ")"
		}
	}
	// Write beside the file and rename: a failed export leaves nothing,
	// and an earlier file stays whole until the new one is complete.
	tmp := filepath.Join(filepath.Dir(out), ".tmp-"+filepath.Base(out)+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	q := fmt.Sprintf(`COPY (SELECT %s FROM %s) TO '%s' (%s)`, sel, from, strings.ReplaceAll(tmp, "'", "''"), opts)
	res, err := s.db.ExecContext(ctx, q)
	if err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("export %s: %w", table, err)
	}
	n, err := res.RowsAffected()
	if err == nil {
		err = os.Rename(tmp, out)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("export %s: %w", table, err)
	}
	return n, nil
}

// PartitionColumns are the columns ExportPartitioned can split by.
var PartitionColumns = []string{"city", "year"}

// ExportPartitioned writes tickets and every analysis table that carries a
// city as Hive-partitioned Parquet folders under dir (dir/tickets/city=boston/
// year=2025/….parquet), the form DuckDB, Spark and Trino read as they are,
// and, unpartitioned, the sources table (which says what sources record the
// app) and the analysed periods as dir/sources.parquet and
// dir/analysis_runs.parquet. Tickets' year is the year they were opened; an
// analysis row's year is its period's first day's. It returns the rows
// written per table.
func (s *Store) ExportPartitioned(ctx context.Context, dir string, partition []string) (map[string]int64, error) {
	if len(partition) == 0 {
		return nil, errors.New("partition: give at least one column")
	}
	for _, c := range partition {
		if !slices.Contains(PartitionColumns, c) {
			return nil, fmt.Errorf("partition column %q: want %s", c, strings.Join(PartitionColumns, " and/or "))
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// Everything is written into a staging folder inside dir and moved
	// into place only once every table is written: a failed export leaves
	// dir as it was.
	staging, err := os.MkdirTemp(dir, ".tmp-export-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(staging)
	out, err := s.exportInto(ctx, staging, partition)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(staging)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if err := replacePath(filepath.Join(staging, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return nil, fmt.Errorf("export: move %s into %s: %w", e.Name(), dir, err)
		}
	}
	return out, nil
}

// replacePath renames from onto to, moving an existing to aside first
// and removing it once the new one is in place.
func replacePath(from, to string) error {
	old := filepath.Join(filepath.Dir(to), ".old-"+filepath.Base(to)+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	hadOld := true
	if err := os.Rename(to, old); errors.Is(err, os.ErrNotExist) {
		hadOld = false
	} else if err != nil {
		return err
	}
	if err := os.Rename(from, to); err != nil {
		if hadOld {
			os.Rename(old, to)
		}
		return err
	}
	if hadOld {
		return os.RemoveAll(old)
	}
	return nil
}

// exportInto writes ExportPartitioned's tables into dir.
func (s *Store) exportInto(ctx context.Context, dir string, partition []string) (map[string]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT table_name FROM information_schema.columns
		WHERE table_schema = 'main' AND column_name = 'city' AND (table_name = 'tickets' OR table_name LIKE 'analysis\_%' ESCAPE '\')
		AND table_name <> 'analysis_runs' ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, t)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	quote := func(p string) string { return "'" + strings.ReplaceAll(p, "'", "''") + "'" }
	out := map[string]int64{}
	for _, t := range tables {
		sel := fmt.Sprintf(`SELECT *, year(opened_at) AS year FROM "%s"`, t)
		if t != "tickets" {
			sel = fmt.Sprintf(`SELECT x.*, year(r.period_from) AS year FROM "%s" x JOIN analysis_runs r USING (period)`, t)
		}
		q := fmt.Sprintf(`COPY (%s) TO %s (FORMAT parquet, PARTITION_BY (%s), OVERWRITE)`, sel, quote(filepath.Join(dir, t)), strings.Join(partition, ", "))
		res, err := s.db.ExecContext(ctx, q)
		if err != nil {
			return out, fmt.Errorf("export %s: %w", t, err)
		}
		if out[t], err = res.RowsAffected(); err != nil {
			return out, err
		}
	}
	for _, t := range []string{"sources", "analysis_runs"} {
		res, err := s.db.ExecContext(ctx, fmt.Sprintf(`COPY "%s" TO %s (FORMAT parquet)`, t, quote(filepath.Join(dir, t+".parquet"))))
		if err != nil {
			return out, fmt.Errorf("export %s: %w", t, err)
		}
		if out[t+".parquet"], err = res.RowsAffected(); err != nil {
			return out, err
		}
	}
	return out, nil
}
