package main

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/equity311/equity311/ingest/dump"
	"github.com/equity311/equity311/store"
)

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
