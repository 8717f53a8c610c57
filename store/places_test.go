package store

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
)

// openConn opens a store in memory and a connection to it, both closed
// when the test ends.
func openConn(t *testing.T) *sql.Conn {
	t.Helper()
	s, err := Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	conn, err := s.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestPlaceSetsAreStoredOnce names sets of places: a set already stored
// keeps its number whatever the order of its places, a new one is numbered
// after the largest stored, a set named twice in one call is stored once,
// and an empty set is an error.
func TestPlaceSetsAreStoredOnce(t *testing.T) {
	ctx := context.Background()
	conn := openConn(t)
	if _, err := conn.ExecContext(ctx, `INSERT INTO place_sets VALUES (4, 1, 'point'), (4, 30, 'snapped'), (7, 2, 'overlap')`); err != nil {
		t.Fatal(err)
	}
	got, err := PlaceSets(ctx, conn, [][]Place{
		{{30, "snapped"}, {1, "point"}}, // set 4, in another order
		{{1, "point"}},                  // new
		{{2, "overlap"}},                // set 7
		{{1, "overlap"}, {31, "point"}}, // new
		{{1, "point"}},                  // the new one above
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "[4 8 7 9 8]"; fmt.Sprint(got) != want {
		t.Errorf("set numbers %v, want %s", got, want)
	}
	var rows int
	var content string
	if err := conn.QueryRowContext(ctx, `SELECT count(*), string_agg(set_no || ':' || area_no || ':' || basis, ' ' ORDER BY set_no, area_no) FROM place_sets`).Scan(&rows, &content); err != nil {
		t.Fatal(err)
	}
	if want := "4:1:point 4:30:snapped 7:2:overlap 8:1:point 9:1:overlap 9:31:point"; rows != 6 || content != want {
		t.Errorf("place_sets holds %d rows %q, want 6 %q", rows, content, want)
	}
	if _, err := PlaceSets(ctx, conn, [][]Place{{}}); err == nil {
		t.Error("an empty set of places was named")
	}
}
