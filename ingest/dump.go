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
	"strings"
	"time"

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

// stageDDL is the staging table, in Append order. To keep the appender's
// per-value cost down, the channel, its basis, resident_initiated and the
// geo quality travel packed in one integer (see packCode) and are unpacked
// in SQL; service_name is NULL when it comes from the same column as
// service_code.
const stageDDL = `CREATE OR REPLACE TEMP TABLE stage_tickets (
	line BIGINT, ticket_id VARCHAR, opened_at TIMESTAMPTZ, closed_at TIMESTAMPTZ,
	updated_at TIMESTAMPTZ, status VARCHAR, service_code VARCHAR, service_name VARCHAR,
	department VARCHAR, channel_raw VARCHAR, code INTEGER, lat DOUBLE, lon DOUBLE)`

const stageCols = 13

const rejectDDL = `CREATE OR REPLACE TEMP TABLE stage_rejects (
	line BIGINT, field VARCHAR, reason VARCHAR, raw VARCHAR)`

// LoadDump loads one city dump into tickets, its bad rows into rejects and
// a record of the load into sources, all in one transaction. Loading a file
// whose checksum is already in sources changes nothing. A ticket id seen
// before is replaced by the newer version (a later dump updates statuses
// and close dates), unless the stored row has a later updated_at.
func LoadDump(ctx context.Context, st *equity311.Store, path string, opt DumpOptions) (DumpResult, error) {
	res := DumpResult{File: path}
	log := orDiscard(opt.Log)
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
	res, err = loadRecords(ctx, st, loadSpec{
		kind: "dump", name: path, profile: p, city: res.City, headers: headers, records: rd, log: log,
		progress: func() {
			if opt.Progress != nil {
				opt.Progress(counter.n, info.Size())
			}
		},
		checksum: func() (string, error) {
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

// recordReader yields the records of a dump or feed: fields in header
// order, the line (or record number) they start at, and their raw text. A
// bad record is a *csvrec.RecordError; io.EOF ends the input.
type recordReader interface {
	Read() (fields [][]byte, line int, err error)
	Raw() []byte
}

// loadSpec describes one load for loadRecords.
type loadSpec struct {
	kind, name string // sources.kind and sources.name
	profile    *Profile
	city       string
	headers    []string
	records    recordReader
	progress   func()
	// checksum is called once every record is read; a checksum already in
	// sources for the same kind means the load changes nothing.
	checksum func() (string, error)
	log      *slog.Logger
}

// loadRecords stages every record through the profile, then writes
// tickets, rejects and a sources row in one transaction.
func loadRecords(ctx context.Context, st *equity311.Store, spec loadSpec) (DumpResult, error) {
	res := DumpResult{File: spec.name, Profile: spec.profile.Name, City: spec.city}
	p, path, log := spec.profile, spec.name, orDiscard(spec.log)
	rp, err := newRowParser(p, spec.headers)
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

	// One goroutine reads records, converters turn them into rows, this
	// goroutine appends the rows to the staging table.
	tStage := time.Now()
	progress := spec.progress
	if progress == nil {
		progress = func() {}
	}
	st8 := stageRecords(ctx, spec.records, rp, progress)
	var cur rowBatch
	i := 0
	staged, err := equity311.Append(ctx, conn, "stage_tickets", stageCols, func(row []driver.Value) (bool, error) {
		if i == len(cur.rows) {
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
		return res, fmt.Errorf("stage %s: %w", path, err)
	}
	if err := st8.wait(); err != nil {
		return res, fmt.Errorf("read %s: %w", path, err)
	}
	rejects := st8.rejects
	res.Read, res.Excluded = st8.read, st8.excluded
	if res.Checksum, err = spec.checksum(); err != nil {
		return res, fmt.Errorf("read %s: %w", path, err)
	}
	progress()
	log.Debug("staged", "source", path, "rows", staged, "seconds", time.Since(tStage).Seconds())
	tUpsert := time.Now()

	var prior int64
	err = conn.QueryRowContext(ctx, "SELECT source_id FROM sources WHERE kind = ? AND checksum = ?", spec.kind, res.Checksum).Scan(&prior)
	switch {
	case err == nil:
		res.SourceID, res.AlreadyLoaded = prior, true
		res.Read, res.Excluded = 0, 0
		log.Info("already loaded", "source", path, "source_id", prior)
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
		if res.Loaded, err = upsertTickets(ctx, conn, res.City, id, rp.sameServiceColumn()); err != nil {
			return err
		}
		res.Superseded = staged - res.Loaded
		if _, err := conn.ExecContext(ctx, `INSERT OR REPLACE INTO cities VALUES (?, ?)`, res.City, p.loc.String()); err != nil {
			return err
		}
		_, err = conn.ExecContext(ctx, `INSERT INTO sources (source_id, kind, name, profile, city, checksum,
			rows_read, rows_loaded, rows_rejected, rows_excluded, rows_superseded, loaded_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, spec.kind, path, p.Name, res.City, res.Checksum, res.Read, res.Loaded, res.Rejected, res.Excluded, res.Superseded, st.Now())
		return err
	})
	if err != nil {
		return res, fmt.Errorf("load %s: %w", path, err)
	}
	log.Info("loaded", "kind", spec.kind, "seconds_upsert", time.Since(tUpsert).Seconds(), "source", path, "profile", p.Name, "read", res.Read, "loaded", res.Loaded,
		"rejected", res.Rejected, "excluded", res.Excluded, "superseded", res.Superseded)
	return res, nil
}

// upsertTickets writes the staged rows into tickets for city and returns
// how many it wrote. Of an id staged several times it keeps the latest
// version (latest updated, closed or opened time, then the later line). A
// stored ticket is replaced unless it was updated later than the staged
// one. The key (city, ticket_id) is kept here, not by an index (see
// migration 0003): it must run inside the load's transaction.
func upsertTickets(ctx context.Context, conn *sql.Conn, city string, sourceID int64, sameServiceColumn bool) (int64, error) {
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS stage_dups; DROP TABLE IF EXISTS stage_latest")
	var stored, dups bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM tickets WHERE city = ?)", city).Scan(&stored); err != nil {
		return 0, err
	}
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE stage_dups AS
		SELECT ticket_id FROM stage_tickets GROUP BY ticket_id HAVING count(*) > 1`); err != nil {
		return 0, fmt.Errorf("find duplicate ids: %w", err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM stage_dups)").Scan(&dups); err != nil {
		return 0, err
	}
	latest := "SELECT * FROM stage_tickets"
	if dups {
		latest = `SELECT s.* FROM stage_tickets s ANTI JOIN stage_dups d USING (ticket_id)
			UNION ALL
			(SELECT s.* FROM stage_tickets s SEMI JOIN stage_dups d USING (ticket_id)
			 QUALIFY row_number() OVER (PARTITION BY ticket_id
				ORDER BY coalesce(updated_at, closed_at, opened_at) DESC, line DESC) = 1)`
	}
	if stored {
		steps := []struct{ what, q string }{
			{"keep latest versions", `CREATE OR REPLACE TEMP TABLE stage_latest AS ` + latest},
			{"keep newer stored tickets", `DELETE FROM stage_latest l USING tickets t
				WHERE t.city = $1 AND t.ticket_id = l.ticket_id AND t.updated_at > l.updated_at`},
			{"remove replaced tickets", `DELETE FROM tickets WHERE city = $1 AND ticket_id IN (SELECT ticket_id FROM stage_latest)`},
			{"remove their places", `DELETE FROM ticket_areas WHERE city = $1 AND ticket_id IN (SELECT ticket_id FROM stage_latest)`},
		}
		for k, s := range steps {
			var args []any
			if k > 0 {
				args = []any{city}
			}
			if _, err := conn.ExecContext(ctx, s.q, args...); err != nil {
				return 0, fmt.Errorf("%s: %w", s.what, err)
			}
		}
		latest = "SELECT * FROM stage_latest"
	}
	unpack, geo := unpackSQL()
	r, err := conn.ExecContext(ctx, `INSERT INTO tickets (city, ticket_id, opened_at, closed_at, updated_at, status,
			service_code, service_name, department, channel_raw, channel, channel_basis, resident_initiated,
			lat, lon, geo_quality, source_id)
		SELECT $1, ticket_id, opened_at, closed_at, updated_at, status, service_code,
			CASE WHEN $3 THEN service_code ELSE service_name END, department, channel_raw, `+unpack+`, lat, lon, `+geo+`, $2
		FROM (`+latest+`)`, city, sourceID, sameServiceColumn)
	if err != nil {
		return 0, fmt.Errorf("insert tickets: %w", err)
	}
	return r.RowsAffected()
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

// orDiscard returns log, or a logger that discards when log is nil.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// readChecksummed reads a whole file and its sha256 in hex.
func readChecksummed(path string) ([]byte, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:]), nil
}

func sha256sum(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
