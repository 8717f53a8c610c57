package main

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/equity311/equity311/geo"
	"github.com/equity311/equity311/store"
)

func (a *app) exportCmd() *cobra.Command {
	var table, format, out string
	var partition []string
	c := &cobra.Command{
		Use:   "export (--table T --format csv|parquet|geoparquet|geojson | --format parquet --partition city,year) --out PATH",
		Short: "Write a table to CSV or Parquet, or every table as partitioned Parquet, for R, Python, Spark and other tools",
		Long: `Write one table to a CSV or Parquet file, or with --partition the tickets and
every analysis table as Hive-partitioned Parquet folders under --out
(tickets/city=boston/year=2025/…), with sources.parquet beside them, which
DuckDB, Spark and Trino read as they are.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				if len(partition) > 0 {
					if format != "parquet" || table != "" {
						return errors.New("--partition writes every table as Parquet: give --format parquet and no --table")
					}
					n, err := st.ExportPartitioned(cmd.Context(), out, partition)
					if err != nil {
						return err
					}
					for _, t := range slices.Sorted(maps.Keys(n)) {
						fmt.Fprintf(a.stdout, "%s: %d rows of %s\n", filepath.Join(out, t), n[t], t)
					}
					return nil
				}
				if table == "" {
					return errors.New("give --table, or --partition to write every table")
				}
				if format == "geojson" {
					n, err := geo.ExportGeoJSON(cmd.Context(), st, table, out)
					if err != nil {
						return err
					}
					fmt.Fprintf(a.stdout, "%s: %d features of %s\n", out, n, table)
					return nil
				}
				n, err := st.Export(cmd.Context(), table, format, out)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "%s: %d rows of %s\n", out, n, table)
				return nil
			})
		},
	}
	c.Flags().StringVar(&table, "table", "", "table to export, e.g. tickets or analysis_area_metrics (equity311 status lists them)")
	c.Flags().StringVar(&format, "format", "csv", "csv, parquet, geoparquet (GeoParquet 1.0: a table's geometry, or its areas' polygons, typed, in CRS84) or geojson (RFC 7946, one feature per area)")
	c.Flags().StringVar(&out, "out", "", "output file (a folder with --partition)")
	c.Flags().StringSliceVar(&partition, "partition", nil, "write tickets and analysis tables as Hive-partitioned Parquet by these columns: city, year")
	c.MarkFlagRequired("out")
	return c
}
