// Package ingest loads what cities publish into the equity311 store: 311
// dumps (CSV, plain or gzipped) read through a Profile, area boundaries
// (GeoJSON) and census tables.
package ingest

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/ingest/csvrec"
)

// DumpOptions configure LoadDump.
type DumpOptions struct {
	// Profile reads the file; nil picks a built-in profile from the header.
	Profile *Profile
	// City overrides the profile's city (tickets.city).
	City string
	// Progress, if set, is called now and then with the bytes read so far
	// and the file's size.
	Progress func(done, total int64)
	// Log receives one line per load; nil discards.
	Log *slog.Logger
}

// DumpResult accounts for every data row of a file:
// Read = Loaded + Rejected + Excluded + Superseded.
type DumpResult struct {
	SourceID int64
	File     string
	Profile  string
	City     string
	Checksum string
	// AlreadyLoaded is true when a file with the same checksum was loaded
	// before; nothing was changed.
	AlreadyLoaded bool

	Read       int64 // data rows in the file (header and blank lines excluded)
	Loaded     int64 // rows now in tickets
	Rejected   int64 // rows in rejects, with line and reason
	Excluded   int64 // rows the profile says are not service requests
	Superseded int64 // older versions of an id (within the file, or older than the database's)
}

// stageCols is the layout of the staging table, in Append order.
const stageDDL = `CREATE OR REPLACE TEMP TABLE stage_tickets (
	line BIGINT, ticket_id VARCHAR, opened_at TIMESTAMPTZ, closed_at TIMESTAMPTZ,
	updated_at TIMESTAMPTZ, status VARCHAR, service_code VARCHAR, service_name VARCHAR,
	department VARCHAR, channel_raw VARCHAR, channel VARCHAR, channel_basis VARCHAR,
	resident_initiated BOOLEAN, lat DOUBLE, lon DOUBLE, geo_quality VARCHAR)`

const stageCols = 16

const rejectDDL = `CREATE OR REPLACE TEMP TABLE stage_rejects (
	line BIGINT, field VARCHAR, reason VARCHAR, raw VARCHAR)`

// LoadDump loads one city dump into tickets, its bad rows into rejects and
// a record of the load into sources, all in one transaction. Loading a file
// whose checksum is already in sources changes nothing. A ticket id seen
// before is replaced by the newer version (a later dump updates statuses
// and close dates), unless the stored row has a later updated_at.
func LoadDump(ctx context.Context, st *equity311.Store, path string, opt DumpOptions) (DumpResult, error) {
	res := DumpResult{File: path}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f, err := os.Open(path)
	if err != nil {
		return res, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return res, err
	}
	hasher := sha256.New()
	counter := &countingReader{r: f, h: hasher}
	in, err := decompress(counter)
	if err != nil {
		return res, fmt.Errorf("read %s: %w", path, err)
	}
	rd := csvrec.NewReader(in)
	header, _, err := rd.Read()
	if err != nil {
		return res, fmt.Errorf("read %s line 1 (header): %w", path, err)
	}
	headers := make([]string, len(header))
	for i, h := range header {
		headers[i] = string(h)
	}
	p := opt.Profile
	if p == nil {
		builtins, err := BuiltinProfiles()
		if err != nil {
			return res, err
		}
		if p, err = DetectProfile(headers, builtins); err != nil {
			return res, fmt.Errorf("read %s line 1 (header): %w", path, err)
		}
	}
	res.Profile = p.Name
	res.City = p.City
	if opt.City != "" {
		res.City = opt.City
	}
	rp, err := newRowParser(p, headers)
	if err != nil {
		return res, fmt.Errorf("read %s line 1 (header): %w", path, err)
	}

	conn, err := st.Conn(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Close()
	for _, ddl := range []string{stageDDL, rejectDDL} {
		if _, err := conn.ExecContext(ctx, ddl); err != nil {
			return res, fmt.Errorf("staging table: %w", err)
		}
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS stage_tickets; DROP TABLE IF EXISTS stage_rejects")

	// Parse in one goroutine, append in this one.
	type batch struct {
		rows [][stageCols]driver.Value
	}
	batches := make(chan batch, 4)
	var rejects []reject
	parseErr := make(chan error, 1)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(batches)
		b := batch{}
		for {
			fields, line, err := rd.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				var re *csvrec.RecordError
				if !errors.As(err, &re) {
					parseErr <- fmt.Errorf("read %s: %w", path, err)
					return
				}
				res.Read++
				rejects = append(rejects, reject{line: re.Line, reason: re.Err.Error(), raw: string(re.Raw)})
				continue
			}
			res.Read++
			var row [stageCols]driver.Value
			switch r := rp.parse(fields, line, &row); {
			case r.reason != "":
				r.raw = string(rd.Raw())
				rejects = append(rejects, r)
				continue
			case r.excluded:
				res.Excluded++
				continue
			}
			b.rows = append(b.rows, row)
			if len(b.rows) == 8192 {
				select {
				case batches <- b:
				case <-pctx.Done():
					parseErr <- pctx.Err()
					return
				}
				b = batch{rows: make([][stageCols]driver.Value, 0, 8192)}
				if opt.Progress != nil {
					opt.Progress(counter.n, info.Size())
				}
			}
		}
		if len(b.rows) > 0 {
			batches <- b
		}
		parseErr <- nil
	}()
	var cur batch
	i := 0
	tStage := time.Now()
	staged, err := equity311.Append(ctx, conn, "stage_tickets", stageCols, func(row []driver.Value) (bool, error) {
		if i == len(cur.rows) {
			var ok bool
			if cur, ok = <-batches; !ok {
				return false, nil
			}
			i = 0
		}
		copy(row, cur.rows[i][:])
		i++
		return true, nil
	})
	if err != nil {
		cancel()
		for range batches {
		}
		<-parseErr
		return res, fmt.Errorf("stage %s: %w", path, err)
	}
	if err := <-parseErr; err != nil {
		return res, err
	}
	// Drain the gzip trailer and any trailing bytes so the checksum covers the file.
	if _, err := io.Copy(io.Discard, counter); err != nil {
		return res, fmt.Errorf("read %s: %w", path, err)
	}
	if opt.Progress != nil {
		opt.Progress(counter.n, info.Size())
	}
	res.Checksum = hex.EncodeToString(hasher.Sum(nil))
	log.Debug("staged", "file", path, "rows", staged, "seconds", time.Since(tStage).Seconds())
	tUpsert := time.Now()

	var prior int64
	err = conn.QueryRowContext(ctx, "SELECT source_id FROM sources WHERE kind = 'dump' AND checksum = ?", res.Checksum).Scan(&prior)
	switch {
	case err == nil:
		res.SourceID, res.AlreadyLoaded = prior, true
		res.Read, res.Excluded = 0, 0
		log.Info("already loaded", "file", path, "source_id", prior)
		return res, nil
	case !errors.Is(err, sql.ErrNoRows):
		return res, err
	}

	ri := 0
	if _, err := equity311.Append(ctx, conn, "stage_rejects", 4, func(row []driver.Value) (bool, error) {
		if ri == len(rejects) {
			return false, nil
		}
		r := rejects[ri]
		row[0], row[2], row[3] = int64(r.line), r.reason, strings.ToValidUTF8(r.raw, "\uFFFD")
		if r.field != "" {
			row[1] = r.field
		}
		ri++
		return true, nil
	}); err != nil {
		return res, fmt.Errorf("stage rejects of %s: %w", path, err)
	}
	res.Rejected = int64(len(rejects))

	err = equity311.InTx(ctx, conn, func() error {
		id, err := equity311.NewSourceID(ctx, conn)
		if err != nil {
			return err
		}
		res.SourceID = id
		if _, err := conn.ExecContext(ctx, `INSERT INTO rejects SELECT ?, line, field, reason, raw FROM stage_rejects`, id); err != nil {
			return fmt.Errorf("insert rejects: %w", err)
		}
		if res.Loaded, err = upsertTickets(ctx, conn, res.City, id); err != nil {
			return err
		}
		res.Superseded = staged - res.Loaded
		if _, err := conn.ExecContext(ctx, `INSERT OR REPLACE INTO cities VALUES (?, ?)`, res.City, p.loc.String()); err != nil {
			return err
		}
		_, err = conn.ExecContext(ctx, `INSERT INTO sources (source_id, kind, name, profile, city, checksum,
			rows_read, rows_loaded, rows_rejected, rows_excluded, rows_superseded, loaded_at)
			VALUES (?, 'dump', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, path, p.Name, res.City, res.Checksum, res.Read, res.Loaded, res.Rejected, res.Excluded, res.Superseded, st.Now())
		return err
	})
	if err != nil {
		return res, fmt.Errorf("load %s: %w", path, err)
	}
	log.Info("loaded dump", "seconds_upsert", time.Since(tUpsert).Seconds(), "file", path, "profile", p.Name, "read", res.Read, "loaded", res.Loaded,
		"rejected", res.Rejected, "excluded", res.Excluded, "superseded", res.Superseded)
	return res, nil
}

// upsertTickets writes the staged rows into tickets for city and returns
// how many it wrote. Of an id staged several times it keeps the latest
// version (latest updated, closed or opened time, then the later line). A
// stored ticket is replaced unless it was updated later than the staged
// one. The key (city, ticket_id) is kept here, not by an index (see
// migration 0003): it must run inside the load's transaction.
func upsertTickets(ctx context.Context, conn *sql.Conn, city string, sourceID int64) (int64, error) {
	steps := []struct{ what, q string }{
		{"find duplicate ids", `CREATE OR REPLACE TEMP TABLE stage_dups AS
			SELECT ticket_id FROM stage_tickets GROUP BY ticket_id HAVING count(*) > 1`},
		{"keep latest versions", `CREATE OR REPLACE TEMP TABLE stage_latest AS
			SELECT s.* FROM stage_tickets s ANTI JOIN stage_dups d USING (ticket_id)
			UNION ALL
			(SELECT s.* FROM stage_tickets s SEMI JOIN stage_dups d USING (ticket_id)
			 QUALIFY row_number() OVER (PARTITION BY ticket_id
				ORDER BY coalesce(updated_at, closed_at, opened_at) DESC, line DESC) = 1)`},
		{"keep newer stored tickets", `DELETE FROM stage_latest l USING tickets t
			WHERE t.city = $1 AND t.ticket_id = l.ticket_id AND t.updated_at > l.updated_at`},
		{"remove replaced tickets", `DELETE FROM tickets WHERE city = $1 AND ticket_id IN (SELECT ticket_id FROM stage_latest)`},
		{"remove their places", `DELETE FROM ticket_areas WHERE city = $1 AND ticket_id IN (SELECT ticket_id FROM stage_latest)`},
	}
	var stored, dups bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM tickets WHERE city = ?)", city).Scan(&stored); err != nil {
		return 0, err
	}
	if _, err := conn.ExecContext(ctx, steps[0].q); err != nil {
		return 0, fmt.Errorf("%s: %w", steps[0].what, err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM stage_dups)").Scan(&dups); err != nil {
		return 0, err
	}
	from := "stage_tickets"
	if dups || stored {
		from = "stage_latest"
	}
	for i, s := range steps {
		if i == 0 || i == 1 && from == "stage_tickets" {
			continue // done above, or no duplicates and nothing stored: insert the staged rows as they are
		}
		if i >= 2 && !stored {
			break // nothing stored for this city: nothing to compare or replace
		}
		if _, err := conn.ExecContext(ctx, s.q, city); err != nil {
			return 0, fmt.Errorf("%s: %w", s.what, err)
		}
	}
	r, err := conn.ExecContext(ctx, `INSERT INTO tickets
		SELECT $1, ticket_id, opened_at, closed_at, updated_at, status, service_code, service_name, department,
			channel_raw, channel, channel_basis, resident_initiated, lat, lon, geo_quality, $2
		FROM `+from, city, sourceID)
	if err != nil {
		return 0, fmt.Errorf("insert tickets: %w", err)
	}
	conn.ExecContext(ctx, "DROP TABLE IF EXISTS stage_dups; DROP TABLE IF EXISTS stage_latest")
	return r.RowsAffected()
}

// reject is one row that did not load.
type reject struct {
	line     int
	field    string
	reason   string
	raw      string
	excluded bool // not a reject: the profile excludes the row
}

// rowParser turns one CSV record into a staged ticket row.
type rowParser struct {
	p       *Profile
	headers []string
	idx     map[string]int // canonical field → column index
	exclude []struct {
		col    int
		values map[string]bool
	}
	ncols int
}

func newRowParser(p *Profile, headers []string) (*rowParser, error) {
	pos := map[string]int{}
	for i, h := range headers {
		if _, dup := pos[normHeader(h)]; !dup {
			pos[normHeader(h)] = i
		}
	}
	rp := &rowParser{p: p, headers: headers, idx: map[string]int{}, ncols: len(headers)}
	var missing []string
	for _, f := range p.fields() {
		i, ok := pos[normHeader(f.header)]
		if !ok {
			missing = append(missing, fmt.Sprintf("%s (for %s)", f.header, f.name))
			continue
		}
		rp.idx[f.name] = i
	}
	for _, ex := range p.Exclude {
		i, ok := pos[normHeader(ex.Column)]
		if !ok {
			missing = append(missing, fmt.Sprintf("%s (for exclude)", ex.Column))
			continue
		}
		vals := map[string]bool{}
		for _, v := range ex.Equals {
			vals[strings.ToLower(strings.TrimSpace(v))] = true
		}
		rp.exclude = append(rp.exclude, struct {
			col    int
			values map[string]bool
		}{i, vals})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("profile %s needs columns the header lacks: %s", p.Name, strings.Join(missing, ", "))
	}
	return rp, nil
}

// get returns the trimmed text of a canonical field, "" when the profile
// does not map it.
func (rp *rowParser) get(fields [][]byte, name string) string {
	i, ok := rp.idx[name]
	if !ok {
		return ""
	}
	return strings.TrimSpace(string(fields[i]))
}

// parse fills row from fields, or returns the reason the row is rejected
// (or excluded).
func (rp *rowParser) parse(fields [][]byte, line int, row *[stageCols]driver.Value) reject {
	bad := func(name, format string, args ...any) reject {
		fieldName := ""
		if i, ok := rp.idx[name]; ok {
			fieldName = rp.headers[i]
		}
		return reject{line: line, field: fieldName, reason: fmt.Sprintf(format, args...)}
	}
	if len(fields) != rp.ncols {
		return reject{line: line, reason: fmt.Sprintf("row has %d fields, header has %d", len(fields), rp.ncols)}
	}
	for i, f := range fields {
		if !utf8.Valid(f) {
			return reject{line: line, field: rp.headers[i], reason: "text is not UTF-8 (Latin-1 or Windows-1252 bytes?)"}
		}
	}
	for _, ex := range rp.exclude {
		if ex.values[strings.ToLower(strings.TrimSpace(string(fields[ex.col])))] {
			return reject{excluded: true}
		}
	}
	id := rp.get(fields, "ticket_id")
	if id == "" {
		return bad("ticket_id", "empty ticket id")
	}
	opened, ok, err := rp.time(rp.get(fields, "opened_at"))
	if err != nil || !ok {
		if err == nil {
			err = errors.New("empty")
		}
		return bad("opened_at", "bad opened time: %v", err)
	}
	row[0], row[1], row[2] = int64(line), id, opened
	for _, tf := range []struct {
		name string
		col  int
	}{{"closed_at", 3}, {"updated_at", 4}} {
		t, ok, err := rp.time(rp.get(fields, tf.name))
		if err != nil {
			return bad(tf.name, "bad %s time: %v", strings.TrimSuffix(tf.name, "_at"), err)
		}
		if ok {
			row[tf.col] = t
		}
	}
	for _, sf := range []struct {
		name string
		col  int
	}{{"status", 5}, {"service_code", 6}, {"service_name", 7}, {"department", 8}} {
		if v := rp.get(fields, sf.name); v != "" {
			row[sf.col] = v
		}
	}
	ch, basis := equity311.Unknown, equity311.BasisNone
	if raw := rp.get(fields, "channel"); raw != "" {
		row[9] = raw
		basis = equity311.BasisReported
		if c, ok := rp.p.Channel(raw); ok {
			ch = c
		}
	}
	row[10], row[11] = string(ch), string(basis)
	if resident, ok := ch.ResidentInitiated(); ok {
		row[12] = resident
	}
	lat, lon, q, r := rp.coords(fields, bad)
	if r.reason != "" {
		return r
	}
	if q != equity311.GeoMissing {
		row[13], row[14] = lat, lon
	}
	if q != "" {
		row[15] = string(q)
	}
	return reject{}
}

// coords reads a row's point. q is empty when the point needs assign.
func (rp *rowParser) coords(fields [][]byte, bad func(string, string, ...any) reject) (lat, lon float64, q equity311.GeoQuality, r reject) {
	var latS, lonS string
	latField, lonField := "lat", "lon"
	if _, ok := rp.idx["point"]; ok {
		latField, lonField = "point", "point"
		pt := strings.Trim(rp.get(fields, "point"), "()")
		if pt != "" {
			var ok bool
			latS, lonS, ok = strings.Cut(pt, ",")
			if !ok {
				return 0, 0, "", bad("point", "point %q is not \"(lat, lon)\"", pt)
			}
			latS, lonS = strings.TrimSpace(latS), strings.TrimSpace(lonS)
		}
	} else {
		latS, lonS = rp.get(fields, "lat"), rp.get(fields, "lon")
	}
	if latS == "" || lonS == "" {
		return 0, 0, equity311.GeoMissing, reject{}
	}
	lat, err := strconv.ParseFloat(latS, 64)
	if err != nil {
		return 0, 0, "", bad(latField, "latitude %q is not a number", latS)
	}
	lon, err = strconv.ParseFloat(lonS, 64)
	if err != nil {
		return 0, 0, "", bad(lonField, "longitude %q is not a number", lonS)
	}
	switch {
	case lat < -90 || lat > 90:
		return 0, 0, "", bad(latField, "latitude %v out of range", lat)
	case lon < -180 || lon > 180:
		return 0, 0, "", bad(lonField, "longitude %v out of range", lon)
	case lat == 0 && lon == 0:
		return lat, lon, equity311.GeoInvalid, reject{}
	case rp.p.isPlaceholder(lat, lon):
		return lat, lon, equity311.GeoDefaultPoint, reject{}
	case len(rp.p.Bounds) == 4 && !rp.p.inBounds(lon, lat) && rp.p.inBounds(lat, lon):
		return 0, 0, "", bad(latField, "coordinates swapped: latitude %v, longitude %v", lat, lon)
	}
	return lat, lon, "", reject{}
}

// time parses s with the profile's layouts; ok is false for an empty field.
func (rp *rowParser) time(s string) (t time.Time, ok bool, err error) {
	if s == "" {
		return t, false, nil
	}
	for _, layout := range rp.p.TimeFormats {
		if t, err := time.ParseInLocation(layout, s, rp.p.loc); err == nil {
			return t, true, nil
		}
	}
	return t, false, fmt.Errorf("%q does not match %s", s, strings.Join(rp.p.TimeFormats, " or "))
}

// countingReader counts and hashes the bytes read through it.
type countingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.h.Write(p[:n])
	return n, err
}

// decompress returns r, or a gzip reader on it when it starts with the gzip magic.
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, err := br.Peek(2)
	if err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		return gzip.NewReader(br)
	}
	return br, nil
}
