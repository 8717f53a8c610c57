package main

import (
	"context"
	"database/sql"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/equity311/equity311/store"
)

// TestPartitionedExport writes the demo's tickets and analysis tables as
// Hive-partitioned Parquet and reproduces the citywide app share from the
// folder alone with the README's query, in a DuckDB that never saw the
// database.
func TestPartitionedExport(t *testing.T) {
	dir, _ := demoCopy(t)
	db := filepath.Join(dir, "equity311.duckdb")
	out := filepath.Join(dir, "parquet")
	printed := runCLI(t, "--db", db, "--quiet", "export", "--format", "parquet", "--partition", "city,year", "--out", out)
	if !strings.Contains(printed, "rows of tickets") || !strings.Contains(printed, "rows of analysis_area_metrics") {
		t.Errorf("export printed %q", printed)
	}
	matches, _ := filepath.Glob(filepath.Join(out, "tickets", "city=synthetic", "year=*", "*.parquet"))
	if len(matches) == 0 {
		t.Fatalf("no tickets/city=synthetic/year=*/ files under %s", out)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	var period string
	err = st.DB().QueryRow(`SELECT period, app_share FROM analysis_area_metrics WHERE layer = 'city'`).Scan(&period, &want)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	q := readmeQuery(t, string(readme), "-- citywide app share from the Parquet folder")
	q = strings.NewReplacer("'equity311-parquet/", "'"+out+"/", "'PERIOD'", "'"+period+"'", "'CITY'", "'synthetic'").Replace(q)
	fresh, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	var got float64
	if err := fresh.QueryRow(q).Scan(&got); err != nil {
		t.Fatalf("the README's query: %v\n%s", err, q)
	}
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("app share from Parquet %.10f, from the analysis %.10f", got, want)
	}
	// Exporting again replaces the folder's partitions rather than failing or doubling.
	runCLI(t, "--db", db, "--quiet", "export", "--format", "parquet", "--partition", "city,year", "--out", out)
	var again float64
	if err := fresh.QueryRow(q).Scan(&again); err != nil || again != got {
		t.Errorf("after a second export: %v, %v", again, err)
	}
}

// readmeQuery returns the SQL block of the README that starts with marker.
func readmeQuery(t *testing.T, readme, marker string) string {
	t.Helper()
	i := strings.Index(readme, marker)
	if i < 0 {
		t.Fatalf("the README has no query marked %q", marker)
	}
	rest := readme[i:]
	end := strings.Index(rest, "```")
	if end < 0 {
		t.Fatal("the README's query block does not end")
	}
	return rest[:end]
}
