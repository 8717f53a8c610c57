package main

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/equity311/equity311/ingest/dump"
	"github.com/equity311/equity311/store"
)

func (a *app) exportCmd() *cobra.Command {
	var table, format, out string
	c := &cobra.Command{
		Use:   "export --table T --format csv|parquet --out FILE",
		Short: "Write a table to CSV or Parquet for R, Python and other tools",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "csv" && format != "parquet" {
				return fmt.Errorf("--format %q: want csv or parquet", format)
			}
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				n, err := export(cmd.Context(), st, table, format, out)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "%s: %d rows of %s\n", out, n, table)
				return nil
			})
		},
	}
	c.Flags().StringVar(&table, "table", "", "table to export, e.g. tickets or analysis_area_metrics")
	c.Flags().StringVar(&format, "format", "csv", "csv or parquet")
	c.Flags().StringVar(&out, "out", "", "output file")
	c.MarkFlagRequired("table")
	c.MarkFlagRequired("out")
	return c
}

// export copies a table to a file with DuckDB's COPY. The table must exist
// in the main schema; its name is checked, never pasted blindly into SQL.
func export(ctx context.Context, st *store.Store, table, format, out string) (int64, error) {
	var name string
	err := st.DB().QueryRowContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'main' AND table_name = ?`, table).Scan(&name)
	if err == sql.ErrNoRows {
		return 0, fmt.Errorf("no table %q (see 'equity311 status' for the tables)", table)
	}
	if err != nil {
		return 0, err
	}
	opts := "FORMAT csv, HEADER"
	if format == "parquet" {
		opts = "FORMAT parquet"
	}
	q := fmt.Sprintf(`COPY (SELECT * FROM "%s") TO '%s' (%s)`, name, strings.ReplaceAll(out, "'", "''"), opts)
	res, err := st.DB().ExecContext(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("export %s: %w", table, err)
	}
	return res.RowsAffected()
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
	return &cobra.Command{
		Use:   "status",
		Short: "What the database holds: sources, counts, date range, rejects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd.Context(), func(st *store.Store) error { return a.status(cmd.Context(), st) })
		},
	}
}

func (a *app) status(ctx context.Context, st *store.Store) error {
	w := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	section := func(title, q string, args ...any) error {
		rows, err := st.DB().QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("status %s: %w", title, err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		fmt.Fprintf(w, "\n%s\n", title)
		fmt.Fprintln(w, strings.Join(cols, "\t"))
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			var cells []string
			for _, v := range vals {
				if v == nil {
					cells = append(cells, "")
				} else {
					cells = append(cells, fmt.Sprint(v))
				}
			}
			fmt.Fprintln(w, strings.Join(cells, "\t"))
			n++
		}
		if n == 0 {
			fmt.Fprintln(w, "(none)")
		}
		return rows.Err()
	}
	fmt.Fprintf(w, "database %s\n", st.Path())
	steps := []struct{ title, q string }{
		{"Sources", `SELECT source_id AS id, kind, name, coalesce(profile, '') AS profile, rows_read AS read, rows_loaded AS loaded,
			rows_rejected AS rejected, rows_excluded AS excluded, rows_superseded AS superseded, strftime(loaded_at, '%Y-%m-%d %H:%M') AS loaded_at
			FROM sources ORDER BY source_id`},
		{"Tickets", `SELECT city, count(*) AS tickets, strftime(min(opened_at), '%Y-%m-%d') AS first, strftime(max(opened_at), '%Y-%m-%d') AS last,
			count(*) FILTER (WHERE resident_initiated) AS resident, count(*) FILTER (WHERE channel = 'unknown') AS unknown_channel,
			count(*) FILTER (WHERE channel_basis = 'open311') AS channel_from_open311
			FROM tickets GROUP BY city ORDER BY city`},
		{"Channels", `SELECT city, channel, count(*) AS n FROM tickets GROUP BY ALL ORDER BY city, n DESC`},
		{"Channel values loaded as unknown (not in the profile's map, or UNKNOWN in the source)", `SELECT city, channel_raw, count(*) AS n FROM tickets
			WHERE channel = 'unknown' AND channel_raw IS NOT NULL GROUP BY ALL ORDER BY n DESC LIMIT 20`},
		{"Geo quality", `SELECT coalesce(geo_quality, 'not yet assigned') AS geo_quality, count(*) AS n,
			round(median(outside_m)) AS median_m_from_nearest_area FROM tickets GROUP BY ALL ORDER BY n DESC`},
		{"Rejects by reason", `SELECT source_id, coalesce(field, '') AS field, regexp_replace(reason, '"[^"]*"', '"…"', 'g') AS reason, count(*) AS n
			FROM rejects GROUP BY ALL ORDER BY source_id, n DESC LIMIT 30`},
		{"Layers", `SELECT l.layer, l.areas, l.id_prop, l.name_prop,
			(SELECT count(DISTINCT ticket_id) FROM ticket_areas ta WHERE ta.layer = l.layer) AS tickets_placed,
			(SELECT count(DISTINCT area_id) FROM demographics d WHERE d.layer = l.layer) AS areas_with_census
			FROM layers l ORDER BY layer`},
		{"Areas with no census population", `SELECT a.layer, count(*) AS areas, string_agg(a.area_id, ' ' ORDER BY a.area_id) AS examples
			FROM areas a WHERE EXISTS (SELECT 1 FROM demographics d WHERE d.layer = a.layer)
			AND NOT EXISTS (SELECT 1 FROM demographics d WHERE d.layer = a.layer AND d.area_id = a.area_id)
			GROUP BY 1`},
		{"Census ids with no area", `SELECT d.layer, count(DISTINCT d.area_id) AS ids, string_agg(DISTINCT d.area_id, ' ') AS examples
			FROM demographics d WHERE NOT EXISTS (SELECT 1 FROM areas a WHERE a.layer = d.layer AND a.area_id = d.area_id) GROUP BY 1`},
		{"Feeds (incremental syncs)", `SELECT feed, cursor, strftime(synced_at, '%Y-%m-%d %H:%M') AS synced_at FROM sync_state ORDER BY feed`},
		{"Analysed periods", `SELECT period, strftime(computed_at, '%Y-%m-%d %H:%M') AS computed, tickets, resident FROM analysis_runs ORDER BY computed_at DESC LIMIT 10`},
	}
	for _, s := range steps {
		if err := section(s.title, s.q); err != nil {
			return err
		}
	}
	return w.Flush()
}
