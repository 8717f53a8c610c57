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
	"time"

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
	// Log receives one line per load; nil discards.
	Log *slog.Logger
}

// Result accounts for every data row of a load:
// Read = Loaded + Rejected + Excluded + Superseded.
type Result struct {
	File    string
	Profile string
	City    string
	store.LoadResult
}

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
		Kind: "dump", Name: path, Profile: p, City: opt.City, Headers: headers, Reader: rd, Log: opt.Log,
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
	Log      *slog.Logger
}

// LoadRecords stages every record through the profile, then writes
// tickets, rejects and a sources row in one transaction (store.Load).
func LoadRecords(ctx context.Context, st *store.Store, spec Records) (Result, error) {
	p := spec.Profile
	res := Result{File: spec.Name, Profile: p.Name, City: cmp.Or(spec.City, p.City)}
	log := cmp.Or(spec.Log, slog.New(slog.DiscardHandler))
	rp, err := newRowParser(p, spec.Headers)
	if err != nil {
		return res, fmt.Errorf("read %s line 1 (header): %w", spec.Name, err)
	}
	var staged int64
	tStage := time.Now()
	var tUpsert time.Time
	res.LoadResult, err = st.Load(ctx, store.Load{Kind: spec.Kind, Name: spec.Name, Profile: p.Name, City: res.City}, false,
		func(conn *sql.Conn) (store.Staged, error) {
			s, n, err := stageTickets(ctx, conn, spec, rp)
			staged = n
			log.Debug("staged", "source", spec.Name, "rows", n, "seconds", time.Since(tStage).Seconds())
			tUpsert = time.Now()
			return s, err
		},
		func(conn *sql.Conn, id int64) (int64, int64, error) {
			loaded, err := upsertTickets(ctx, conn, res.City, id, rp.sameServiceColumn())
			if err != nil {
				return 0, 0, err
			}
			if _, err := conn.ExecContext(ctx, `INSERT OR REPLACE INTO cities VALUES (?, ?)`, res.City, p.loc.String()); err != nil {
				return 0, 0, err
			}
			return loaded, staged - loaded, nil
		})
	if err != nil {
		return res, err
	}
	if res.AlreadyLoaded {
		log.Info("already loaded", "source", spec.Name, "source_id", res.SourceID)
		return res, nil
	}
	log.Info("loaded", "kind", spec.Kind, "seconds_upsert", time.Since(tUpsert).Seconds(), "source", spec.Name, "profile", p.Name,
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
