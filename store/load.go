package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/equity311/equity311"
)

// Reject is one input row (or cell) that did not load, as the rejects
// table keeps it: where it was, which field was at fault, why, and its text.
type Reject struct {
	Line   int64  // 1-based line (or record number) where the row starts; 0 when none
	Field  string // the field at fault; "" when the whole row is
	Reason string
	Raw    string
	// Partial marks a reject of one value of a row whose other values
	// loaded: it is recorded but the row does not count as rejected.
	Partial bool
}

// Counts account for the rows of one load:
// Read = Loaded + Rejected + Excluded + Superseded.
type Counts struct {
	Read       int64 // data rows (or features, records) read
	Loaded     int64 // rows now in the target table
	Rejected   int64 // rows that did not load, each in rejects
	Excluded   int64 // rows the profile says are not service requests
	Superseded int64 // older versions of an id, within the load or against the store
}

// Balanced reports whether every row read is accounted for.
func (c Counts) Balanced() bool {
	return c.Read == c.Loaded+c.Rejected+c.Excluded+c.Superseded
}

// Load describes one file or feed being loaded, as its sources row records it.
type Load struct {
	Kind     string // dump, census, boundaries, open311, ckan, socrata
	Name     string // file path or endpoint
	Profile  string // the dump profile, or the layer for boundaries and census
	City     string
	Options  string // the load's options that change what it writes, as text ("" for none)
	Checksum string // sha256 of the content; "" until staging has read it all
	// Channels are the canonical channels the source's vocabulary can
	// record (dumps and feeds); nil for census and boundary files.
	Channels []string
	// Design is what the source is, as declared (dumps and feeds; zero for
	// census and boundary files). What the data make certain is detected
	// and kept beside it.
	Design Design

	// Current, if set, is an SQL condition on the earlier sources row s
	// that must hold for it to count as "already loaded": a boundary file
	// counts only while it is its layer's current file, say. Its arguments
	// are CurrentArgs.
	Current     string
	CurrentArgs []any
}

// Written is what a loader's write step did inside the load's transaction.
type Written struct {
	Loaded     int64 // rows now in the target table
	Superseded int64 // rows that lost to a more recent version of the same id
	Merged     int64 // ids that were already in the store from another source
}

// Staged is what a loader's staging step hands back: the content's
// checksum (when the Load did not know it beforehand), the rejected rows,
// and the rows read and excluded.
type Staged struct {
	Checksum string
	Rejects  []Reject
	Read     int64
	Excluded int64
}

// LoadResult reports a load.
type LoadResult struct {
	SourceID int64
	// AlreadyLoaded is true when the same content was loaded before (with
	// the same options); nothing was changed.
	AlreadyLoaded bool
	// PriorOptions are the options of an earlier load of the same content
	// with other options, when one exists and nothing was loaded because of it.
	PriorOptions string
	Checksum     string
	Merged       int64 // ids already in the store from another source
	Counts
}

// ErrOptionsDiffer is returned by Store.Load when the same content was
// loaded before with other options and the load was not forced.
var ErrOptionsDiffer = errors.New("already loaded with other options")

// Load is the one sequence every loader follows:
//
//  1. already loaded (same kind and checksum, and l.Current holds)? then nothing changes;
//  2. stage: the loader reads its input into TEMP tables on conn and returns
//     its rejects and counts (the checksum too, when it is known only after reading);
//  3. one transaction: a new sources row id, the rejects, write (which moves
//     the staged rows into place and returns how many it loaded and
//     superseded), and the sources row with the accounting.
//
// A run killed at any point leaves the store as it was before the load or
// after it. force loads again content that was loaded before with other
// options; without it such a load fails with ErrOptionsDiffer.
func (s *Store) Load(ctx context.Context, l Load, force bool,
	stage func(conn *sql.Conn) (Staged, error),
	write func(conn *sql.Conn, sourceID int64) (Written, error)) (LoadResult, error) {
	res := LoadResult{Checksum: l.Checksum}
	if err := l.Design.Check(); err != nil {
		return res, &equity311.OptionError{Key: "design", Err: fmt.Errorf("%s: %w", l.Name, err)}
	}
	conn, err := s.Conn(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Close()
	prior := func() (bool, error) {
		id, opts, err := s.prior(ctx, conn, l)
		if err != nil || id == 0 {
			return false, err
		}
		if opts == l.Options {
			res.SourceID, res.AlreadyLoaded = id, true
			if l.Design.Declared() {
				// A declaration made on a file loaded before replaces the
				// earlier one; the data stay as they are.
				return true, InTx(ctx, conn, func() error { return declare(ctx, conn, id, l.Design) })
			}
			return true, nil
		}
		if force {
			return false, nil
		}
		res.SourceID, res.PriorOptions = id, opts
		return true, &equity311.OptionError{Key: "force", Err: fmt.Errorf("%s was loaded as source %d with other options (%s); force a load to load it again: %w",
			l.Name, id, DiffOptions(opts, l.Options), ErrOptionsDiffer)}
	}
	if l.Checksum != "" {
		if done, err := prior(); done || err != nil {
			return res, err
		}
	}
	staged, err := stage(conn)
	if err != nil {
		return res, err
	}
	if l.Checksum == "" {
		l.Checksum, res.Checksum = staged.Checksum, staged.Checksum
		if done, err := prior(); done || err != nil {
			return res, err
		}
	}
	if err := stageRejects(ctx, conn, staged.Rejects); err != nil {
		return res, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS stage_rejects")
	res.Read, res.Excluded = staged.Read, staged.Excluded
	res.Rejected = rowsRejected(staged.Rejects)
	var channels, recordsApp driver.Value
	if l.Channels != nil {
		channels, recordsApp = strings.Join(l.Channels, " "), slices.Contains(l.Channels, "app")
	}
	err = InTx(ctx, conn, func() error {
		id, err := NewSourceID(ctx, conn)
		if err != nil {
			return err
		}
		res.SourceID = id
		if _, err := conn.ExecContext(ctx, `INSERT INTO rejects SELECT ?, line, field, reason, raw FROM stage_rejects`, id); err != nil {
			return fmt.Errorf("insert rejects: %w", err)
		}
		w, err := write(conn, id)
		if err != nil {
			return err
		}
		res.Loaded, res.Superseded, res.Merged = w.Loaded, w.Superseded, w.Merged
		if !res.Counts.Balanced() {
			return fmt.Errorf("accounting does not balance: %d read ≠ %d loaded + %d rejected + %d excluded + %d superseded",
				res.Read, res.Loaded, res.Rejected, res.Excluded, res.Superseded)
		}
		_, err = conn.ExecContext(ctx, `INSERT INTO sources (source_id, kind, name, profile, city, checksum,
			rows_read, rows_loaded, rows_rejected, rows_excluded, rows_superseded, loaded_at, options,
			channels, records_app, rows_merged)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, l.Kind, l.Name, nullIfEmpty(l.Profile), nullIfEmpty(l.City), l.Checksum,
			res.Read, res.Loaded, res.Rejected, res.Excluded, res.Superseded, s.Now(), l.Options,
			channels, recordsApp, res.Merged)
		if err != nil {
			return err
		}
		if l.Design.Declared() {
			if err := declare(ctx, conn, id, l.Design); err != nil {
				return err
			}
		}
		if l.Channels != nil && l.Kind != "open311" {
			return detect(ctx, conn, id)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("load %s: %w", l.Name, err)
	}
	return res, nil
}

// prior returns the id and options of the latest earlier load of the
// same content that still counts (l.Current), or 0.
func (s *Store) prior(ctx context.Context, conn *sql.Conn, l Load) (int64, string, error) {
	q := `SELECT s.source_id, coalesce(s.options, '') FROM sources s WHERE s.kind = ? AND s.checksum = ?`
	args := []any{l.Kind, l.Checksum}
	if l.Current != "" {
		q += " AND (" + l.Current + ")"
		args = append(args, l.CurrentArgs...)
	}
	q += " ORDER BY (coalesce(s.options, '') = ?) DESC, s.source_id DESC LIMIT 1"
	args = append(args, l.Options)
	var id int64
	var opts string
	err := conn.QueryRowContext(ctx, q, args...).Scan(&id, &opts)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("earlier loads of %s: %w", l.Name, err)
	}
	return id, opts, nil
}

// Options encodes a load's options for Load.Options: deterministic
// (keys sorted), with empty values left out.
func Options(kv map[string]string) string {
	v := url.Values{}
	for k, x := range kv {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v.Encode()
}

// DiffOptions says how two encoded option sets differ, option by option:
// "city was boston, now cambridge".
func DiffOptions(before, after string) string {
	b, _ := url.ParseQuery(before)
	a, _ := url.ParseQuery(after)
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		was, now := b.Get(k), a.Get(k)
		if was == now {
			continue
		}
		out = append(out, fmt.Sprintf("%s was %s, now %s", k, orNone(was), orNone(now)))
	}
	return strings.Join(out, "; ")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return strconv.Quote(s)
}

// rowsRejected counts the rows among rejects: a reject naming a line
// counts once however many of its fields were at fault, and partial
// rejects not at all.
func rowsRejected(rs []Reject) int64 {
	lines := map[int64]bool{}
	var n int64
	for _, r := range rs {
		if r.Partial {
			continue
		}
		if r.Line == 0 {
			n++
			continue
		}
		if !lines[r.Line] {
			lines[r.Line] = true
			n++
		}
	}
	return n
}

// stageRejects writes rejects into the TEMP table stage_rejects on conn,
// the one way every loader records them.
func stageRejects(ctx context.Context, conn *sql.Conn, rs []Reject) error {
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE stage_rejects (
		line BIGINT, field VARCHAR, reason VARCHAR, raw VARCHAR)`); err != nil {
		return fmt.Errorf("stage rejects: %w", err)
	}
	i := 0
	_, err := Append(ctx, conn, "stage_rejects", 4, func(row []driver.Value) (bool, error) {
		if i == len(rs) {
			return false, nil
		}
		r := rs[i]
		i++
		if r.Line > 0 {
			row[0] = r.Line
		}
		row[1] = nullIfEmpty(r.Field)
		row[2] = strings.ToValidUTF8(r.Reason, "\uFFFD")
		row[3] = strings.ToValidUTF8(r.Raw, "\uFFFD")
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("stage rejects: %w", err)
	}
	return nil
}

func nullIfEmpty(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

// Checksum returns the sha256 of b in hex, the identity of loaded content.
func Checksum(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ReadFile reads a whole file of at most limit bytes (no limit when
// limit <= 0) and returns it with its checksum.
func ReadFile(path string, limit int64) ([]byte, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	if limit > 0 {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
			return nil, "", fmt.Errorf("read %s: %d bytes, more than the limit of %d", path, fi.Size(), limit)
		}
	}
	data, err := readAll(f, limit)
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", path, err)
	}
	return data, Checksum(data), nil
}

// SaveCursor records where a feed's incremental sync stopped.
func (s *Store) SaveCursor(ctx context.Context, feed, cursor string) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO sync_state VALUES (?, ?, ?)`, feed, cursor, s.Now())
	return err
}

// Cursor returns a feed's saved cursor, "" when there is none.
func (s *Store) Cursor(ctx context.Context, feed string) (string, error) {
	var c string
	err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(cursor), '') FROM sync_state WHERE feed = ?`, feed).Scan(&c)
	return c, err
}

// readAll reads r to the end, failing past limit bytes (no limit when limit <= 0).
func readAll(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		return io.ReadAll(r)
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than the limit of %d bytes", limit)
	}
	return b, nil
}
