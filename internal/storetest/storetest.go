// Package storetest opens a fresh store in a test's temporary directory.
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/equity311/equity311/store"
)

// Open opens an empty store file that is closed when the test ends.
func Open(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// CountBy runs a query of two columns, a key and a count, and returns the
// counts by key.
func CountBy(t testing.TB, st *store.Store, query string, args ...any) map[string]int {
	t.Helper()
	return pairs[int](t, st, query, args...)
}

// ChannelCounts returns the tickets matching where (an SQL condition) by channel.
func ChannelCounts(t testing.TB, st *store.Store, where string) map[string]int {
	t.Helper()
	return CountBy(t, st, "SELECT channel, count(*) FROM tickets WHERE "+where+" GROUP BY channel")
}

// Strings runs a query of two text columns and returns the second by the
// first; a key that comes twice fails the test.
func Strings(t testing.TB, st *store.Store, query string, args ...any) map[string]string {
	t.Helper()
	return pairs[string](t, st, query, args...)
}

// pairs runs a query of two columns, a text key and a value.
func pairs[V any](t testing.TB, st *store.Store, query string, args ...any) map[string]V {
	t.Helper()
	rows, err := st.DB().Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]V{}
	for rows.Next() {
		var k string
		var v V
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[k]; dup {
			t.Fatalf("%s: key %q comes twice", query, k)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Place places a stored ticket in a stored area (its place set gains the
// area, in place of any other of the layer's: ticket_place_sets, seen by
// number in ticket_places and by ids in ticket_areas). Tickets and areas
// written by hand, without their numbers (ticket_no, area_no), are numbered
// first (Number). A ticket or area that is not stored fails the test.
func Place(t testing.TB, st *store.Store, city, ticketID, layer, areaID, basis string) {
	t.Helper()
	Number(t, st)
	ctx := context.Background()
	conn, err := st.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var ticket int64
	var area int32
	if err := conn.QueryRowContext(ctx, `SELECT t.ticket_no, a.area_no FROM tickets t, areas a
		WHERE t.city = ? AND t.ticket_id = ? AND a.layer = ? AND a.area_id = ?`, city, ticketID, layer, areaID).Scan(&ticket, &area); err != nil {
		t.Fatalf("place ticket %s/%s in %s %s: %v", city, ticketID, layer, areaID, err)
	}
	set := []store.Place{{Area: area, Basis: basis}}
	rows, err := conn.QueryContext(ctx, `SELECT p.area_no, p.basis::VARCHAR FROM ticket_places p JOIN areas a USING (area_no)
		WHERE p.ticket_no = ? AND a.layer <> ?`, ticket, layer)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p store.Place
		if err := rows.Scan(&p.Area, &p.Basis); err != nil {
			t.Fatal(err)
		}
		set = append(set, p)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	nos, err := store.PlaceSets(ctx, conn, [][]store.Place{set})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `DELETE FROM ticket_place_sets WHERE ticket_no = ?`, ticket); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO ticket_place_sets VALUES (?, ?)`, ticket, nos[0]); err != nil {
		t.Fatal(err)
	}
}

// Number gives the tickets and areas written by hand without their numbers
// (ticket_no, area_no, which loads write) numbers of their own, as
// migration 17 numbered the stored ones.
func Number(t testing.TB, st *store.Store) {
	t.Helper()
	for _, q := range []string{
		`UPDATE tickets SET ticket_no = rowid + 1 WHERE ticket_no IS NULL`,
		`UPDATE areas SET area_no = (SELECT coalesce(max(area_no), 0) FROM areas) + rowid + 1 WHERE area_no IS NULL`,
	} {
		if _, err := st.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}
