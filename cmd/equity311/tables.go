package main

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/equity311/equity311/ingest/dump"
	"github.com/equity311/equity311/store"
)

func (a *app) exportCmd() *cobra.Command {
	var table, format, out string
	var partition []string
	c := &cobra.Command{
		Use:   "export (--table T --format csv|parquet | --format parquet --partition city,year) --out PATH",
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
	c.Flags().StringVar(&format, "format", "csv", "csv or parquet")
	c.Flags().StringVar(&out, "out", "", "output file (a folder with --partition)")
	c.Flags().StringSliceVar(&partition, "partition", nil, "write tickets and analysis tables as Hive-partitioned Parquet by these columns: city, year")
	c.MarkFlagRequired("out")
	return c
}

func (a *app) profilesCmd() *cobra.Command {
	var show string
	c := &cobra.Command{
		Use:   "profiles [--show NAME]",
		Short: "List the built-in dump profiles and their channel maps",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if show != "" {
				b, err := dump.BuiltinProfileSource(show)
				if err != nil {
					return err
				}
				_, err = a.stdout.Write(b)
				return err
			}
			ps, err := dump.BuiltinProfiles()
			if err != nil {
				return err
			}
			for _, p := range ps {
				fmt.Fprintf(a.stdout, "%s — %s\n  city %s, times in %s, channel column %q\n", p.Name, p.Description, p.City, p.Timezone, p.Columns.Channel)
				raws := make([]string, 0, len(p.Channels))
				for r := range p.Channels {
					raws = append(raws, r)
				}
				sort.Strings(raws)
				for _, r := range raws {
					fmt.Fprintf(a.stdout, "    %-28q → %s\n", r, p.Channels[r])
				}
			}
			fmt.Fprintln(a.stdout, "\nCopy one to start a profile of your own: equity311 profiles --show NAME > my-city.toml")
			return nil
		},
	}
	c.Flags().StringVar(&show, "show", "", "print a built-in profile's TOML")
	return c
}

func (a *app) statusCmd() *cobra.Command {
	var opt store.StatusOptions
	c := &cobra.Command{
		Use:   "status",
		Short: "What the database holds: sources, counts, date range, rejects, tables",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				secs, err := st.Status(cmd.Context(), opt)
				if err != nil {
					return err
				}
				return a.printStatus(st.Path(), secs)
			})
		},
	}
	c.Flags().BoolVar(&opt.Full, "full", false, "list every id, not a few examples")
	return c
}

// printStatus prints the status sections as aligned tables.
func (a *app) printStatus(path string, secs []store.Section) error {
	w := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(w, "database %s\n", path)
	for _, s := range secs {
		fmt.Fprintf(w, "\n%s\n%s\n", s.Title, strings.Join(s.Columns, "\t"))
		for _, r := range s.Rows {
			fmt.Fprintln(w, strings.Join(r, "\t"))
		}
		if len(s.Rows) == 0 {
			fmt.Fprintln(w, "(none)")
		}
		if s.More > 0 {
			fmt.Fprintf(w, "(and %d more)\n", s.More)
		}
	}
	return w.Flush()
}
