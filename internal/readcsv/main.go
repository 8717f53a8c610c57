// Command readcsv is the anchor of .ci/bench's ingest ratio: DuckDB's own
// CSV reader loading a file into a table, through the same store settings
// (memory limit, temp directory) as equity311.
//
//	go run ./internal/readcsv FILE DB
//
// loads FILE with read_csv (every column, types detected) into a table of
// a new DuckDB file DB, checkpoints, and prints the rows and the seconds.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/equity311/equity311/store"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "readcsv:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) != 2 {
		return errors.New("usage: readcsv FILE DB")
	}
	file, db := args[0], args[1]
	if _, err := os.Stat(file); err != nil {
		return err
	}
	if _, err := os.Stat(db); err == nil {
		return fmt.Errorf("%s exists: the anchor loads into a new file", db)
	}
	st, err := store.Open(ctx, db)
	if err != nil {
		return err
	}
	start := time.Now()
	q := fmt.Sprintf("CREATE TABLE dump AS SELECT * FROM read_csv('%s', header = true)", strings.ReplaceAll(file, "'", "''"))
	if _, err := st.DB().ExecContext(ctx, q); err != nil {
		st.Close()
		return fmt.Errorf("read_csv %s: %w", file, err)
	}
	var rows int64
	if err := st.DB().QueryRowContext(ctx, "SELECT count(*) FROM dump").Scan(&rows); err != nil {
		st.Close()
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	fmt.Printf("read_csv: %d rows in %.2f s\n", rows, time.Since(start).Seconds())
	return nil
}
