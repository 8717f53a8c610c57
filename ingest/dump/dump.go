// Package dump loads city 311 service requests into tickets: CSV dumps
// (plain or gzipped) read through a Profile that maps a publisher's columns
// and channel values to equity311's, and their API forms — CKAN datastore
// resources and Socrata datasets — through the same profiles. LoadRecords
// takes records from any reader (ingest/open311sync feeds it Open311
// requests). Tickets without a channel take the one their Open311 feed
// recorded (Reconcile).
package dump

import (
	"bufio"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/ingest/csvrec"
	"github.com/equity311/equity311/store"
)

// Options configure LoadDump.
type Options struct {
	// Profile reads the file; nil picks a built-in profile from the header.
	Profile *Profile
	// City overrides the profile's city (tickets.city).
	City string
	// Progress, if set, is called now and then with the bytes read so far
	// and the file's size.
	Progress func(done, total int64)
	// Force loads a file again that was loaded before with other options.
	Force bool
	// Design is what the file is, as declared (complete, a sample, an
	// extract, and its filters); loading a file again with a declaration
	// replaces the earlier one.
	Design store.Design
	// AllowRejects loads a file even when more than half its rows are
	// rejected or it has no data row; otherwise such a load fails with a
	// *RejectsError and changes nothing.
	AllowRejects bool
	// Log receives one line per load; nil discards.
	Log *slog.Logger
}

// Result accounts for every data row of a load:
// Read = Loaded + Rejected + Excluded + Superseded.
type Result struct {
	File    string
	Profile string
	City    string
	// TimeLayouts are the profile's time layouts that read the loaded
	// rows' opened times, with how many rows each read, commonest first.
	TimeLayouts []LayoutRows
	store.LoadResult
}

// LayoutRows is a time layout and the rows whose opened time it read.
type LayoutRows struct {
	Layout string
	Rows   int64
}

// DescribeTimeLayouts says which time layouts the file's opened times
// were written in: "opened times as 01/02/2006 03:04:05 PM (24 rows)".
func DescribeTimeLayouts(r Result) string {
	var parts []string
	for _, l := range r.TimeLayouts {
		parts = append(parts, fmt.Sprintf("%s (%d rows)", l.Layout, l.Rows))
	}
	if len(parts) == 0 {
		return ""
	}
	return "opened times as " + strings.Join(parts, ", ")
}

// RejectsError is a load refused because most of its rows were rejected
// (more than half, or every one) or it had no data row: the file is
// probably in a layout its profile does not know. Nothing was loaded.
type RejectsError struct {
	Name           string
	Read, Rejected int64
	// Reasons are the commonest reasons, with their counts.
	Reasons []ReasonRows
}

// ReasonRows is a reject reason and how many rows it rejected.
type ReasonRows struct {
	Reason string
	Rows   int64
}

func (e *RejectsError) Error() string {
	if e.Read == 0 {
		return fmt.Sprintf("%s: no data rows; nothing loaded", e.Name)
	}
	var rs []string
	for _, r := range e.Reasons {
		rs = append(rs, fmt.Sprintf("%s (%d rows)", r.Reason, r.Rows))
	}
	return fmt.Sprintf("%s: %d of %d rows rejected (more than half), so nothing was loaded; commonest reasons: %s",
		e.Name, e.Rejected, e.Read, strings.Join(rs, "; "))
}

// checkRejects refuses a dump with more than half its rows rejected, or
// no data row. Feeds are not refused: a window of one bad record must not
// stop a feed (its rejects are recorded and the sync goes on).
func checkRejects(spec Records, s store.Staged) error {
	var rejected int64
	count := map[string]int64{}
	for _, r := range s.Rejects {
		if r.Partial {
			continue
		}
		rejected++
		reason := quoted.ReplaceAllString(r.Reason, `"…"`)
		if r.Field != "" {
			reason = r.Field + ": " + reason
		}
		count[reason]++
	}
	if spec.Kind != "dump" || !(rejected*2 > s.Read || s.Read == 0) {
		return nil
	}
	e := &RejectsError{Name: spec.Name, Read: s.Read, Rejected: rejected}
	for r, n := range count {
		e.Reasons = append(e.Reasons, ReasonRows{r, n})
	}
	slices.SortFunc(e.Reasons, func(a, b ReasonRows) int { return cmp.Or(cmp.Compare(b.Rows, a.Rows), cmp.Compare(a.Reason, b.Reason)) })
	e.Reasons = e.Reasons[:min(3, len(e.Reasons))]
	return equity311.OptionErrorf("allow_rejects", "%w; mend the profile (time_formats, columns), or allow it", e)
}

// quoted matches the quoted values in a reject reason, so that reasons
// differing only in their values count together.
var quoted = regexp.MustCompile(`"[^"]*"`)

// LoadDump loads one city dump into tickets, its bad rows into rejects and
// a record of the load into sources, all in one transaction. Loading a file
// whose checksum is already in sources changes nothing. A ticket id seen
// before is replaced by the newer version (a later dump updates statuses
// and close dates), unless the stored row has a later updated_at.
func LoadDump(ctx context.Context, st *store.Store, path string, opt Options) (Result, error) {
	res := Result{File: path}
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
	headers, err := readHeader(rd)
	if err != nil {
		return res, fmt.Errorf("read %s line 1 (header): %w", path, err)
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
	res, err = LoadRecords(ctx, st, Records{
		Kind: "dump", Name: path, Profile: p, City: opt.City, Headers: headers, Reader: rd, Log: opt.Log, Force: opt.Force, Design: opt.Design,
		AllowRejects: opt.AllowRejects,
		Progress: func() {
			if opt.Progress != nil {
				opt.Progress(counter.n, info.Size())
			}
		},
		Checksum: func() (string, error) {
			// Drain the gzip trailer and any trailing bytes so the checksum covers the file.
			if _, err := io.Copy(io.Discard, counter); err != nil {
				return "", err
			}
			return hex.EncodeToString(hasher.Sum(nil)), nil
		},
	})
	if err != nil || res.AlreadyLoaded {
		return res, err
	}
	// Tickets the dump gives no channel take the one their Open311 feed recorded.
	_, err = Reconcile(ctx, st)
	return res, err
}

// readHeader reads the header record and tells the reader how many fields
// every record must have.
func readHeader(rd *csvrec.Reader) ([]string, error) {
	header, _, err := rd.Read()
	if err != nil {
		return nil, err
	}
	headers := make([]string, len(header))
	for i, h := range header {
		headers[i] = string(h)
	}
	rd.FieldsPerRecord = len(headers)
	return headers, nil
}

// RecordReader yields the records of a dump or feed: fields in header
// order, exactly one per header (a record with more or fewer is a
// *csvrec.RecordError), the line (or record number) they start at, and their raw text. A
// bad record is a *csvrec.RecordError; io.EOF ends the input.
type RecordReader interface {
	Read() (fields [][]byte, line int, err error)
	Raw() []byte
}

// Records describes one load of ticket records for LoadRecords.
type Records struct {
	Kind, Name string // sources.kind and sources.name
	Profile    *Profile
	City       string // "" for the profile's
	Headers    []string
	Reader     RecordReader
	// Progress, if set, is called after each batch read.
	Progress func()
	// Checksum is called once every record is read; a checksum already in
	// sources for the same kind means the load changes nothing.
	Checksum func() (string, error)
	// Force loads content again that was loaded before with other options.
	Force bool
	// Design is what the source is, as declared.
	Design store.Design
	// AllowRejects: see Options.AllowRejects.
	AllowRejects bool
	Log          *slog.Logger
}

// LoadRecords stages every record through the profile, then writes
// tickets, rejects and a sources row in one transaction (store.Load).
func LoadRecords(ctx context.Context, st *store.Store, spec Records) (Result, error) {
	p := spec.Profile
	res := Result{File: spec.Name, Profile: p.Name, City: cmp.Or(spec.City, p.City)}
	log := cmp.Or(spec.Log, slog.New(slog.DiscardHandler))
	rp, err := newRowParser(p, spec.Headers, st.Now())
	if err != nil {
		return res, fmt.Errorf("read %s line 1 (header): %w", spec.Name, err)
	}
	var staged int64
	tStage := time.Now()
	var tUpsert, tCommit time.Time
	load := store.Load{Kind: spec.Kind, Name: spec.Name, Profile: p.Name, City: res.City, Options: p.options(res.City), Channels: p.Recorded(), Design: spec.Design}
	res.LoadResult, err = st.Load(ctx, load, spec.Force,
		func(conn *sql.Conn) (store.Staged, error) {
			s, n, err := stageTickets(ctx, conn, spec, rp)
			if err == nil && !spec.AllowRejects {
				err = checkRejects(spec, s)
			}
			staged = n
			log.Debug("staged", "source", spec.Name, "rows", n, "seconds", time.Since(tStage).Seconds())
			tUpsert = time.Now()
			return s, err
		},
		func(conn *sql.Conn, id int64) (store.Written, error) {
			w, err := upsertTickets(ctx, conn, res.City, id, rp.sameServiceColumn(), log)
			if err != nil {
				return w, err
			}
			if _, err := conn.ExecContext(ctx, `INSERT OR REPLACE INTO cities VALUES (?, ?)`, res.City, p.loc.String()); err != nil {
				return w, err
			}
			w.Superseded = staged - w.Loaded
			tCommit = time.Now()
			return w, nil
		})
	if err != nil {
		return res, err
	}
	if !tCommit.IsZero() {
		log.Debug("upsert step", "step", "commit", "seconds", time.Since(tCommit).Seconds())
	}
	if res.AlreadyLoaded {
		log.Info("already loaded", "source", spec.Name, "source_id", res.SourceID)
		return res, nil
	}
	for i, l := range p.TimeFormats {
		if n := rp.layoutRows[i].Load(); n > 0 {
			res.TimeLayouts = append(res.TimeLayouts, LayoutRows{l, n})
		}
	}
	slices.SortStableFunc(res.TimeLayouts, func(a, b LayoutRows) int { return cmp.Compare(b.Rows, a.Rows) })
	log.Info("loaded", "kind", spec.Kind, "time_layouts", DescribeTimeLayouts(res), "seconds_upsert", time.Since(tUpsert).Seconds(), "source", spec.Name, "profile", p.Name,
		"read", res.Read, "loaded", res.Loaded, "rejected", res.Rejected, "excluded", res.Excluded, "superseded", res.Superseded)
	return res, nil
}

// stageTickets reads every record into the TEMP table stage_tickets on
// conn: one goroutine reads records, converters turn them into rows, this
// goroutine appends the rows. It returns the rejects and counts, and how
// many rows it staged.
func stageTickets(ctx context.Context, conn *sql.Conn, spec Records, rp *rowParser) (store.Staged, int64, error) {
	var out store.Staged
	if _, err := conn.ExecContext(ctx, stageDDL()); err != nil {
		return out, 0, fmt.Errorf("staging table: %w", err)
	}
	progress := spec.Progress
	if progress == nil {
		progress = func() {}
	}
	st8 := stageRecords(ctx, spec.Reader, rp, progress)
	var cur rowBatch
	i := 0
	staged, err := store.Append(ctx, conn, "stage_tickets", stageCols, func(row []driver.Value) (bool, error) {
		for i == len(cur.rows) {
			var ok bool
			if cur, ok = <-st8.rows; !ok {
				return false, nil
			}
			i = 0
		}
		copy(row, cur.rows[i][:])
		i++
		return true, nil
	})
	if err != nil {
		st8.cancel()
		for range st8.rows {
		}
		st8.wait()
		return out, 0, fmt.Errorf("stage %s: %w", spec.Name, err)
	}
	if err := st8.wait(); err != nil {
		return out, 0, fmt.Errorf("read %s: %w", spec.Name, err)
	}
	out.Rejects, out.Read, out.Excluded = st8.rejects, st8.nread.Load(), st8.excluded
	if out.Checksum, err = spec.Checksum(); err != nil {
		return out, 0, fmt.Errorf("read %s: %w", spec.Name, err)
	}
	progress()
	return out, staged, nil
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

// versionKey is an SQL expression ordering the versions of one ticket
// (columns of table alias t) from oldest to most recent: by the latest
// change known (updated_at, else closed_at), then closed before open,
// then by status progression (closed > in progress > open), then by close
// time. Across loads, versions equal on all of these are ordered by a
// hash of their content (withHash), so that the same versions give the
// same winner in any order; within one file, the later line wins.
func versionKey(t string, withHash bool) string {
	h := "0"
	if withHash {
		h = fmt.Sprintf(`(hash(%[1]s.opened_at, %[1]s.closed_at, %[1]s.updated_at, %[1]s.status, %[1]s.service_code, %[1]s.department,
			%[1]s.channel_raw, %[1]s.lat, %[1]s.lon) >> 1)::BIGINT`, t)
	}
	return fmt.Sprintf(`[coalesce(epoch_us(coalesce(%[1]s.updated_at, %[1]s.closed_at)), -9223372036854775807),
		(%[1]s.closed_at IS NOT NULL)::BIGINT,
		CASE WHEN regexp_matches(lower(coalesce(%[1]s.status, '')), 'clos|resolv|complet|cancel') THEN 2
			WHEN regexp_matches(lower(coalesce(%[1]s.status, '')), 'progress|assign|pending|review|work') THEN 1 ELSE 0 END,
		coalesce(epoch_us(%[1]s.closed_at), -9223372036854775807), %[2]s]`, t, h)
}

// ticketNo is the SQL for a loaded ticket's number (tickets.ticket_no, the
// key of its places): its source's id shifted left by 40 bits, plus the
// line its record starts at (lines below 2^40). The same files give the same
// numbers, on any number of threads; the tickets stored before migration
// 17 were numbered from 1, below 2^40, where no source's are.
func ticketNo(sourceID, line string) string {
	return "(" + sourceID + "::BIGINT << 40) | " + line
}

// upsertTickets writes the staged rows into tickets for city. Of an id
// staged several times it keeps the most recent version (versionKey, then
// the later line). An id already stored — from this source or another —
// keeps whichever version is the most recent, never simply the one loaded
// last, so loading files in any order gives the same tickets; when the
// winner has no real coordinates (missing, or the city's placeholder
// point) and the other version has, the real ones are kept. The key (city,
// ticket_id) is kept here, not by an index (see migration 0003): it must
// run inside the load's transaction.
func upsertTickets(ctx context.Context, conn *sql.Conn, city string, sourceID int64, sameServiceColumn bool, log *slog.Logger) (store.Written, error) {
	var w store.Written
	t0 := time.Now()
	step := func(what string) {
		log.Debug("upsert step", "step", what, "seconds", time.Since(t0).Seconds())
		t0 = time.Now()
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS stage_dups; DROP TABLE IF EXISTS stage_repeated; DROP TABLE IF EXISTS stage_latest; DROP TABLE IF EXISTS stage_cmp")
	var stored, linked, dups bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM tickets WHERE city = $1), EXISTS (SELECT 1 FROM duplicates WHERE city = $1)", city).Scan(&stored, &linked); err != nil {
		return w, err
	}
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE stage_dups AS
		SELECT ticket_id FROM stage_tickets GROUP BY ticket_id HAVING count(*) > 1`); err != nil {
		return w, fmt.Errorf("find duplicate ids: %w", err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM stage_dups)").Scan(&dups); err != nil {
		return w, err
	}
	step("find repeated ids")
	latest := "SELECT * FROM stage_tickets"
	if dups {
		// The ids staged once are kept as they are; of an id staged several
		// times, the most recent version. The query is read three times
		// below, so the few repeated ids are reduced once, into stage_repeated.
		if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE stage_repeated AS
			SELECT s.* FROM stage_tickets s SEMI JOIN stage_dups d USING (ticket_id)
			QUALIFY row_number() OVER (PARTITION BY ticket_id ORDER BY `+versionKey("s", false)+` DESC, line DESC) = 1`); err != nil {
			return w, fmt.Errorf("keep the latest version of repeated ids: %w", err)
		}
		latest = `SELECT s.* FROM stage_tickets s ANTI JOIN stage_dups d USING (ticket_id)
			UNION ALL SELECT * FROM stage_repeated`
		step("keep their latest versions")
	}
	if stored {
		var err error
		if w.Merged, err = mergeStored(ctx, conn, city, latest, log); err != nil {
			return w, err
		}
		latest = "SELECT * FROM stage_latest"
		step("merge with stored tickets")
	}
	unpack, geo := unpackSQL()
	r, err := conn.ExecContext(ctx, `INSERT INTO tickets (city, ticket_id, opened_at, closed_at, updated_at, status,
			service_code, service_name, department, channel_raw, channel, channel_basis, resident_initiated,
			lat, lon, geo_quality, source_id, target_at, ticket_no)
		SELECT $1, ticket_id, opened_at, closed_at, updated_at, status, service_code,
			CASE WHEN $3 THEN service_code ELSE service_name END, department, channel_raw, `+unpack+`, lat, lon, `+geo+`, $2, target_at,
			`+ticketNo("$2", "line")+`
		FROM (`+latest+`)`, city, sourceID, sameServiceColumn)
	if err != nil {
		return w, fmt.Errorf("insert tickets: %w", err)
	}
	if w.Loaded, err = r.RowsAffected(); err != nil {
		return w, err
	}
	step("insert tickets")
	// The versions loaded say whether each is a duplicate, and of what.
	if linked {
		if _, err := conn.ExecContext(ctx, `DELETE FROM duplicates WHERE city = $1 AND ticket_id IN (SELECT ticket_id FROM (`+latest+`))`, city); err != nil {
			return w, fmt.Errorf("replace duplicate links: %w", err)
		}
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO duplicates SELECT $1, ticket_id, dup_parent, dup_basis, dup_pattern, $2, `+ticketNo("$2", "line")+`
		FROM (`+latest+`) WHERE dup_basis IS NOT NULL`, city, sourceID); err != nil {
		return w, fmt.Errorf("store duplicate links: %w", err)
	}
	step("store duplicate links")
	return w, nil
}

// mergeStored compares the staged versions (query latest) with the stored
// tickets of the same ids: it leaves in stage_latest only the staged
// versions that are more recent, moves real coordinates to whichever
// version wins, and removes the stored tickets (and their places) that the
// staged ones replace. It returns how many staged ids were stored already,
// and logs each step's time.
func mergeStored(ctx context.Context, conn *sql.Conn, city, latest string, log *slog.Logger) (int64, error) {
	real := func(t string) string {
		return fmt.Sprintf("(%[1]s.lat IS NOT NULL AND coalesce(%[1]s.geo_quality, 'ok') IN ('ok', 'outside'))", t)
	}
	_, geo := unpackSQL()
	// takeStored: a staged winner without real coordinates takes the stored ones.
	const takeStored = "c.staged_wins AND c.stored_real AND NOT c.staged_real"
	steps := []struct{ what, q string }{
		{"compare with stored versions", `CREATE OR REPLACE TEMP TABLE stage_cmp AS
			SELECT l.ticket_id, ` + versionKey("l", true) + ` > ` + versionKey("t", true) + ` AS staged_wins,
				` + real("l") + ` AS staged_real, ` + real("t") + ` AS stored_real,
				t.lat AS stored_lat, t.lon AS stored_lon, l.lat AS staged_lat, l.lon AS staged_lon
			FROM (SELECT *, ` + geo + ` AS geo_quality FROM (` + latest + `)) l
			JOIN tickets t ON t.city = $1 AND t.ticket_id = l.ticket_id`},
		// A stored ticket that stays but lacks real coordinates takes the staged ones, to be placed again.
		{"move real coordinates to stored winners", `UPDATE tickets SET lat = c.staged_lat, lon = c.staged_lon, geo_quality = NULL, outside_m = NULL
			FROM stage_cmp c
			WHERE tickets.city = $1 AND tickets.ticket_id = c.ticket_id AND NOT c.staged_wins AND c.staged_real AND NOT c.stored_real`},
		{"replace their places", `DELETE FROM ticket_place_sets WHERE ticket_no IN (SELECT t.ticket_no FROM tickets t
			SEMI JOIN stage_cmp c ON c.ticket_id = t.ticket_id AND NOT c.staged_wins AND c.staged_real AND NOT c.stored_real
			WHERE t.city = $1)`},
		// The staged versions to write: the new ids and the more recent
		// versions. A staged winner without real coordinates takes the
		// stored ones (placed again by assign). Only these are copied: in
		// a dump loaded again most staged versions lose, and copying all of
		// them first (then deleting the losers) spilled the file's rows a
		// second time.
		{"keep new and more recent versions", `CREATE OR REPLACE TEMP TABLE stage_latest AS
			SELECT l.* REPLACE (
				CASE WHEN ` + takeStored + ` THEN c.stored_lat ELSE l.lat END AS lat,
				CASE WHEN ` + takeStored + ` THEN c.stored_lon ELSE l.lon END AS lon,
				CASE WHEN ` + takeStored + ` THEN l.code - l.code % 8 ELSE l.code END AS code)
			FROM (` + latest + `) l LEFT JOIN stage_cmp c USING (ticket_id)
			WHERE c.ticket_id IS NULL OR c.staged_wins`},
		{"remove the places of replaced tickets", `DELETE FROM ticket_place_sets WHERE ticket_no IN (SELECT t.ticket_no FROM tickets t
			SEMI JOIN stage_cmp c ON c.ticket_id = t.ticket_id AND c.staged_wins
			WHERE t.city = $1)`},
		{"remove replaced tickets", `DELETE FROM tickets WHERE city = $1 AND ticket_id IN (SELECT ticket_id FROM stage_cmp WHERE staged_wins)`},
	}
	for _, s := range steps {
		var args []any
		if strings.Contains(s.q, "$1") {
			args = []any{city}
		}
		t0 := time.Now()
		if _, err := conn.ExecContext(ctx, s.q, args...); err != nil {
			return 0, fmt.Errorf("%s: %w", s.what, err)
		}
		log.Debug("merge step", "step", s.what, "seconds", time.Since(t0).Seconds())
	}
	var merged int64
	err := conn.QueryRowContext(ctx, "SELECT count(*) FROM stage_cmp").Scan(&merged)
	return merged, err
}
