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
	rows, err := st.DB().Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		out[k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// ChannelCounts returns the tickets matching where (an SQL condition) by channel.
func ChannelCounts(t testing.TB, st *store.Store, where string) map[string]int {
	t.Helper()
	return CountBy(t, st, "SELECT channel, count(*) FROM tickets WHERE "+where+" GROUP BY channel")
}
