// Package store keeps equity311's data in one DuckDB file: opening it with
// its embedded, numbered schema migrations, one writer connection per job,
// transactions and bulk appends, the one load sequence every loader
// follows (Store.Load: already loaded? → stage → one transaction with the
// sources row and its accounting), feed cursors, and the status and
// export that researchers and operators read.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is the DuckDB file that every stage reads and writes. A process
// holds the file exclusively while the Store is open (DuckDB allows one
// process per file), so long-running services open a Store per job.
//
// Writes of one job go through one connection (see Store.Conn); DuckDB
// aborts one of two transactions that write overlapping keys.
type Store struct {
	db   *sql.DB
	path string
	now  func() time.Time
}

// DefaultMemoryLimit caps DuckDB's memory; $EQUITY311_MEMORY_LIMIT (e.g.
// "8GB") overrides it. The process's peak is higher (the Go side, and
// DuckDB's allocations outside its buffers): at 10M requests, about 1.6
// GiB to ingest and 1.9 GiB to analyse with this cap, against 2.6 and 3.3
// GiB at 2GB, for the same times.
const DefaultMemoryLimit = "1GB"

// Settings are the DuckDB settings every Store opens with: the one place
// where memory and spilling are set. $EQUITY311_MEMORY_LIMIT overrides the
// memory limit (DefaultMemoryLimit) and $EQUITY311_TEMP_DIR the directory
// DuckDB spills to past it (by default DuckDB's own, the database file's
// name with .tmp appended).
func Settings() url.Values {
	limit := os.Getenv("EQUITY311_MEMORY_LIMIT")
	if limit == "" {
		limit = DefaultMemoryLimit
	}
	// Bounded memory: DuckDB spills to disk past the limit. Staging tables
	// carry their own line numbers, so insertion order need not be kept.
	q := url.Values{
		"autoinstall_known_extensions": {"false"},
		"autoload_known_extensions":    {"true"},
		"memory_limit":                 {limit},
		"preserve_insertion_order":     {"false"},
	}
	if dir := os.Getenv("EQUITY311_TEMP_DIR"); dir != "" {
		q.Set("temp_directory", dir)
	}
	return q
}

// Open opens (creating if needed) the DuckDB file at path and applies any
// pending schema migrations. An empty path or ":memory:" opens an in-memory
// database. DuckDB never downloads extensions: the ones equity311 needs
// (json, parquet, icu) are built in. It applies Settings.
func Open(ctx context.Context, path string) (*Store, error) {
	dsn := path
	if path == ":memory:" {
		dsn = ""
	}
	q := Settings()
	connector, err := duckdb.NewConnector(dsn+"?"+q.Encode(), inUTC)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db := sql.OpenDB(connector)
	s := &Store{db: db, path: path, now: time.Now}

	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate database %s: %w", path, err)
	}
	return s, nil
}

// inUTC sets a new connection's time zone to UTC: DuckDB takes the
// machine's ($TZ), and SQL on TIMESTAMPTZ (date_trunc, strftime, ::DATE)
// would then give figures that depend on where it ran. Local calendars are
// the city's, applied explicitly (see the analysis' week numbers).
func inUTC(execer driver.ExecerContext) error {
	if _, err := execer.ExecContext(context.Background(), "SET TimeZone = 'UTC'", nil); err != nil {
		return fmt.Errorf("set the session time zone to UTC: %w", err)
	}
	return nil
}

// Path returns the file the store was opened on.
func (s *Store) Path() string { return s.path }

// DB returns the database handle for queries.
func (s *Store) DB() *sql.DB { return s.db }

// Now returns the store's clock reading (replaceable in tests with SetClock).
func (s *Store) Now() time.Time { return s.now() }

// SetClock replaces the clock used to stamp loads and runs.
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Close checkpoints and closes the database.
func (s *Store) Close() error {
	if _, err := s.db.Exec("CHECKPOINT"); err != nil {
		s.db.Close()
		return fmt.Errorf("checkpoint %s: %w", s.path, err)
	}
	return s.db.Close()
}

// Conn returns a dedicated connection. TEMP tables, settings and appenders
// belong to one connection, so staging work holds one for its duration.
func (s *Store) Conn(ctx context.Context) (*sql.Conn, error) { return s.db.Conn(ctx) }

// InTx runs fn in one transaction on conn: committed when fn returns nil,
// rolled back otherwise, so a killed or failed job leaves the database as it
// was before.
func InTx(ctx context.Context, conn *sql.Conn, fn func() error) (err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			if _, rbErr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
			}
		}
	}()
	if err := fn(); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Append bulk-loads rows into table (a TEMP or regular table) on conn with
// DuckDB's Appender. next is called until it returns false; each call
// fills row with one row's values (nil for NULL).
func Append(ctx context.Context, conn *sql.Conn, table string, ncols int, next func(row []driver.Value) (bool, error)) (int64, error) {
	var n int64
	err := conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", table)
		if err != nil {
			return fmt.Errorf("appender for %s: %w", table, err)
		}
		row := make([]driver.Value, ncols)
		for {
			if n%65536 == 0 {
				if err := ctx.Err(); err != nil {
					a.Close()
					return err
				}
			}
			clear(row)
			ok, err := next(row)
			if err != nil {
				a.Close()
				return err
			}
			if !ok {
				break
			}
			if err := a.AppendRow(row...); err != nil {
				a.Close()
				return fmt.Errorf("append to %s: %w", table, err)
			}
			n++
		}
		if err := a.Close(); err != nil {
			return fmt.Errorf("flush %s: %w", table, err)
		}
		return nil
	})
	return n, err
}

// AppendRows bulk-loads prepared rows into table on conn (see Append).
func AppendRows(ctx context.Context, conn *sql.Conn, table string, rows [][]driver.Value) error {
	if len(rows) == 0 {
		return nil
	}
	i := 0
	_, err := Append(ctx, conn, table, len(rows[0]), func(row []driver.Value) (bool, error) {
		if i == len(rows) {
			return false, nil
		}
		copy(row, rows[i])
		i++
		return true, nil
	})
	return err
}

// NewSourceID returns the id of a new row in sources: one more than the
// largest committed id. Called inside the load's transaction (loads are
// serial: DuckDB has one writing process, and equity311 loads one source
// at a time), it leaves no gap when a load fails or is killed — a
// sequence's nextval survives the rollback — so that a restarted run
// numbers its sources as an uninterrupted run does.
func NewSourceID(ctx context.Context, conn *sql.Conn) (int64, error) {
	var id int64
	if err := conn.QueryRowContext(ctx, "SELECT coalesce(max(source_id), 0) + 1 FROM sources").Scan(&id); err != nil {
		return 0, fmt.Errorf("new source id: %w", err)
	}
	return id, nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and '_'", name)
		}
		b, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// ErrNewerSchema is a database written by a newer equity311: its schema
// has migrations this binary does not know, so it is not opened (writing
// to it could break what the newer version relies on).
var ErrNewerSchema = errors.New("the database's schema is newer than this equity311's")

// newerSchema refuses a database with a migration this binary lacks,
// naming both versions.
func newerSchema(applied map[int]string, ms []migration) error {
	known := map[int]bool{}
	binary := 0
	for _, m := range ms {
		known[m.version] = true
		binary = max(binary, m.version)
	}
	db := 0
	var unknown []string
	for v, name := range applied {
		db = max(db, v)
		if !known[v] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return fmt.Errorf("%w: schema version %d (with %s), this binary knows up to %d; use the equity311 that wrote it, or a newer one",
		ErrNewerSchema, db, strings.Join(unknown, ", "), binary)
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, each in its own transaction, in order.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)`); err != nil {
		return err
	}
	applied := map[int]string{}
	rows, err := conn.QueryContext(ctx, "SELECT version, name FROM schema_migrations")
	if err != nil {
		return err
	}
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			rows.Close()
			return err
		}
		applied[v] = name
	}
	if err := rows.Close(); err != nil {
		return err
	}
	ms, err := migrations()
	if err != nil {
		return err
	}
	if err := newerSchema(applied, ms); err != nil {
		return err
	}
	for _, m := range ms {
		if _, ok := applied[m.version]; ok {
			continue
		}
		err := InTx(ctx, conn, func() error {
			if _, err := conn.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := conn.ExecContext(ctx, "INSERT INTO schema_migrations VALUES (?, ?, ?)", m.version, m.name, s.now())
			return err
		})
		if err != nil {
			return fmt.Errorf("apply %s: %w", m.name, err)
		}
	}
	return nil
}

// Location returns the time zone for day and week boundaries: the zone of
// the one city in the store, or UTC when there are none or several.
func (s *Store) Location(ctx context.Context) (*time.Location, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT DISTINCT timezone FROM cities")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var zones []string
	for rows.Next() {
		var z string
		if err := rows.Scan(&z); err != nil {
			return nil, err
		}
		zones = append(zones, z)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(zones) != 1 {
		return time.UTC, nil
	}
	return time.LoadLocation(zones[0])
}
