package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOpenMigratesOnceAndReopens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.duckdb")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.DB().QueryRow("SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Fatalf("applied %d migrations, have %d", n, len(ms))
	}
	for _, table := range []string{"tickets", "rejects", "sources", "areas", "ticket_areas", "demographics"} {
		if _, err := s.DB().Exec("SELECT * FROM " + table + " LIMIT 0"); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if err := s.DB().QueryRow("SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Fatalf("after reopen: %d migrations recorded, want %d", n, len(ms))
	}
}

func TestAppendInTransactionRollsBack(t *testing.T) {
	ctx := context.Background()
	conn := openConn(t)
	if _, err := conn.ExecContext(ctx, "CREATE TEMP TABLE stage (id VARCHAR, ts TIMESTAMPTZ)"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 3, 10, 7, 30, 0, 0, time.UTC)
	i := 0
	n, err := Append(ctx, conn, "stage", 2, func(row []driver.Value) (bool, error) {
		if i == 3 {
			return false, nil
		}
		row[0], row[1] = string(rune('a'+i)), at
		i++
		return true, nil
	})
	if err != nil || n != 3 {
		t.Fatalf("append: n=%d err=%v", n, err)
	}
	var got time.Time
	if err := conn.QueryRowContext(ctx, "SELECT ts FROM stage WHERE id='b'").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if !got.Equal(at) {
		t.Fatalf("timestamptz round trip: got %v want %v", got, at)
	}
	err = InTx(ctx, conn, func() error {
		if _, err := conn.ExecContext(ctx, "INSERT INTO rejects (source_id, reason) SELECT 1, id FROM stage"); err != nil {
			return err
		}
		return context.Canceled
	})
	if err == nil {
		t.Fatal("InTx returned nil for a failing body")
	}
	var c int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM rejects").Scan(&c); err != nil {
		t.Fatal(err)
	}
	if c != 0 {
		t.Fatalf("rolled back transaction left %d rows", c)
	}
}

// TestSourceIDsHaveNoGaps: a load that fails inside its transaction (as a
// run killed mid-load does) leaves no hole in the source ids, so that a
// restarted run numbers its sources as an uninterrupted run would.
func TestSourceIDsHaveNoGaps(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stage := func(*sql.Conn) (Staged, error) { return Staged{}, nil }
	failing := func(*sql.Conn, int64) (Written, error) { return Written{}, errors.New("killed") }
	ok := func(*sql.Conn, int64) (Written, error) { return Written{}, nil }
	if _, err := s.Load(ctx, Load{Kind: "dump", Name: "a.csv", Checksum: "a"}, false, stage, failing); err == nil {
		t.Fatal("the failing load succeeded")
	}
	for i, name := range []string{"a.csv", "b.csv"} {
		res, err := s.Load(ctx, Load{Kind: "dump", Name: name, Checksum: name}, false, stage, ok)
		if err != nil {
			t.Fatal(err)
		}
		if res.SourceID != int64(i+1) {
			t.Errorf("%s got source id %d after a failed load, want %d", name, res.SourceID, i+1)
		}
	}
}

// TestNewerSchemaIsRefused: a database carrying migrations this binary
// does not know (written by a newer equity311) is not opened, and the
// error names both versions.
func TestNewerSchemaIsRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.duckdb")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	last := ms[len(ms)-1].version
	for _, v := range []int{last + 1, last + 2} {
		if _, err := s.DB().Exec("INSERT INTO schema_migrations VALUES (?, ?, now())", v, fmt.Sprintf("%04d_from_the_future.sql", v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, path)
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("open a newer schema: %v, want ErrNewerSchema", err)
	}
	for _, want := range []string{fmt.Sprintf("schema version %d", last+2), fmt.Sprintf("knows up to %d", last), "from_the_future"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// The memory limit and the spill directory come from the environment, and
// every Store opens with them.
func TestSettingsFromEnvironment(t *testing.T) {
	ctx := context.Background()
	tmp := filepath.Join(t.TempDir(), "spill")
	t.Setenv("EQUITY311_MEMORY_LIMIT", "700MB")
	t.Setenv("EQUITY311_TEMP_DIR", tmp)
	s, err := Open(ctx, filepath.Join(t.TempDir(), "x.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var limit, dir string
	if err := s.DB().QueryRowContext(ctx, "SELECT current_setting('memory_limit'), current_setting('temp_directory')").Scan(&limit, &dir); err != nil {
		t.Fatal(err)
	}
	// DuckDB reports the limit in its own units (700MB = 667.5 MiB).
	if !strings.HasPrefix(limit, "667") || dir != tmp {
		t.Errorf("memory_limit %q, temp_directory %q; want 700MB (667.5 MiB) and %s", limit, dir, tmp)
	}

	t.Setenv("EQUITY311_MEMORY_LIMIT", "")
	t.Setenv("EQUITY311_TEMP_DIR", "")
	q := Settings()
	if q.Get("memory_limit") != DefaultMemoryLimit || q.Has("temp_directory") {
		t.Errorf("defaults: %v", q)
	}
}

// Every connection works in UTC whatever the machine's zone ($TZ): SQL on
// TIMESTAMPTZ (date_trunc, strftime, ::DATE) would otherwise give figures
// that depend on where the analysis ran. The test runs itself again under
// New York's zone.
func TestSessionTimeZoneIsUTC(t *testing.T) {
	if os.Getenv("EQUITY311_TZ_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSessionTimeZoneIsUTC$", "-test.count=1")
		cmd.Env = append(os.Environ(), "EQUITY311_TZ_CHILD=1", "TZ=America/New_York")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("under TZ=America/New_York: %v\n%s", err, out)
		}
		return
	}
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "tz.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Several connections: the setting must hold on each, not only the first.
	s.DB().SetMaxIdleConns(0)
	for i := 0; i < 3; i++ {
		var zone string
		var week time.Time
		if err := s.DB().QueryRowContext(ctx, `SELECT current_setting('TimeZone'), date_trunc('week', TIMESTAMPTZ '2026-03-09 03:00:00+00')`).Scan(&zone, &week); err != nil {
			t.Fatal(err)
		}
		if want := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC); zone != "UTC" || !week.Equal(want) {
			t.Errorf("connection %d: TimeZone %q, week of Monday 03:00 UTC starts %v; want UTC and %v", i, zone, week, want)
		}
	}
}

// TestStatusDatesAreTheCitys checks that status gives a city's first and
// last request dates in the city's time zone: a Boston request at 11:30
// pm on 30 November is the 30th, not the 1 December of UTC.
func TestStatusDatesAreTheCitys(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "s.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, q := range []string{
		`INSERT INTO cities VALUES ('boston', 'America/New_York'), ('tokyo', 'Asia/Tokyo')`,
		`INSERT INTO sources (source_id, kind, name, loaded_at) VALUES (1, 'dump', 'd.csv', now())`,
		`INSERT INTO tickets (city, ticket_id, opened_at, channel, channel_basis, source_id) VALUES
			('boston', 'a', '2026-09-01 04:30:00+00', 'app', 'reported', 1),
			('boston', 'b', '2026-12-01 04:30:00+00', 'app', 'reported', 1),
			('tokyo', 'c', '2026-08-31 16:30:00+00', 'app', 'reported', 1),
			('elsewhere', 'd', '2026-12-01 04:30:00+00', 'app', 'reported', 1)`,
	} {
		if _, err := st.DB().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	secs, err := st.Status(ctx, StatusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{"boston": {"2026-09-01", "2026-11-30"}, "tokyo": {"2026-09-01", "2026-09-01"}, "elsewhere": {"2026-12-01", "2026-12-01"}}
	for _, s := range secs {
		if s.Title != "Tickets" {
			continue
		}
		col := map[string]int{}
		for i, c := range s.Columns {
			col[c] = i
		}
		for _, r := range s.Rows {
			city := r[col["city"]]
			if got := [2]string{r[col["first"]], r[col["last"]]}; got != want[city] {
				t.Errorf("%s: first and last %v; want %v in the city's zone (UTC for a city without one)", city, got, want[city])
			}
			delete(want, city)
		}
	}
	if len(want) > 0 {
		t.Errorf("cities missing from status: %v", want)
	}
}

// TestPlacesMigrateToNumbers opens a database written at schema version 16,
// when places were rows of strings, and checks version 17 keeps every place:
// the view ticket_areas shows the same rows, now stored by number, and a
// copy of its files taken before a checkpoint opens too. Version 18 keeps
// the duplicate links; version 19 stores the places as place sets.
func TestPlacesMigrateToNumbers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v16.duckdb")
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)`)
	for _, m := range ms {
		if m.version > 16 {
			break
		}
		exec(m.sql)
		exec(`INSERT INTO schema_migrations VALUES (?, ?, now())`, m.version, m.name)
	}
	exec(`INSERT INTO areas VALUES ('hoods', 'A', 'Alpha', 1, ''::BLOB), ('hoods', 'B', 'Beta', 1, ''::BLOB), ('tracts', 'A', 'A', 1, ''::BLOB)`)
	exec(`INSERT INTO tickets (city, ticket_id, opened_at, channel, channel_basis, source_id) VALUES
		('c', '1', now(), 'app', 'reported', 1), ('c', '2', now(), 'app', 'reported', 1), ('d', '1', now(), 'phone', 'reported', 1)`)
	want := [][]string{
		{"c", "1", "hoods", "A", "point"}, {"c", "1", "tracts", "A", "snapped"},
		{"c", "2", "hoods", "B", "overlap"}, {"d", "1", "hoods", "A", "point"},
	}
	for _, r := range want {
		exec(`INSERT INTO ticket_areas VALUES (?, ?, ?, ?, ?)`, r[0], r[1], r[2], r[3], r[4])
	}
	exec(`INSERT INTO duplicates VALUES ('c', '2', '1', 'text', 'duplicate of', 1)`)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A run killed after the migration leaves it in the WAL: a copy of the
	// open store's files must open too (DuckDB could not replay an ALTER
	// TABLE ADD COLUMN whose default called nextval).
	crashed := filepath.Join(t.TempDir(), "crashed.duckdb")
	for _, suffix := range []string{"", ".wal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(crashed+suffix, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Open(ctx, crashed)
	if err != nil {
		t.Fatalf("open a copy of the migrated store with its WAL: %v", err)
	}
	c.Close()
	rows, err := s.DB().Query(`SELECT * FROM ticket_areas ORDER BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for rows.Next() {
		r := make([]string, 5)
		if err := rows.Scan(&r[0], &r[1], &r[2], &r[3], &r[4]); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ticket_areas after the migration:\n%v\nwant\n%v", got, want)
	}
	var places, tickets, areas int
	if err := s.DB().QueryRow(`SELECT (SELECT count(*) FROM ticket_places), (SELECT count(DISTINCT ticket_no) FROM tickets), (SELECT count(DISTINCT area_no) FROM areas)`).Scan(&places, &tickets, &areas); err != nil {
		t.Fatal(err)
	}
	if places != 4 || tickets != 3 || areas != 3 {
		t.Errorf("%d places, %d ticket numbers, %d area numbers; want 4, 3 and 3", places, tickets, areas)
	}
	// Version 19 stores each ticket's places as one of the few sets: here
	// three sets of four places ({A point, tract A snapped}, {B overlap},
	// {A point}), one row per placed ticket.
	var sets, setPlaces, ticketSets int
	if err := s.DB().QueryRow(`SELECT (SELECT count(DISTINCT set_no) FROM place_sets), (SELECT count(*) FROM place_sets), (SELECT count(*) FROM ticket_place_sets)`).Scan(&sets, &setPlaces, &ticketSets); err != nil {
		t.Fatal(err)
	}
	if sets != 3 || setPlaces != 4 || ticketSets != 3 {
		t.Errorf("%d place sets of %d places, %d tickets' sets; want 3, 4 and 3", sets, setPlaces, ticketSets)
	}
	// Version 18 keeps the links, and the view that says whether their
	// parents are loaded; version 20 numbers them as their tickets.
	var link string
	if err := s.DB().QueryRow(`SELECT city || ticket_id || parent_id || basis || pattern || parent_loaded || (d.ticket_no = t.ticket_no)
		FROM duplicate_links d JOIN tickets t USING (city, ticket_id)`).Scan(&link); err != nil || link != "c21textduplicate oftruetrue" {
		t.Errorf("duplicate_links after the migration: %q (%v)", link, err)
	}
}
