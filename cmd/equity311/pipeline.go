package main

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/geo"
	"github.com/equity311/equity311/ingest/dump"
	"github.com/equity311/equity311/ingest/source"

	"github.com/equity311/equity311/internal/pipeline"
	"github.com/equity311/equity311/internal/synthcity"
	"github.com/equity311/equity311/reports"
	"github.com/equity311/equity311/store"
)

func (a *app) demoCmd() *cobra.Command {
	var dir string
	var opt synthcity.Options
	c := &cobra.Command{
		Use:   "demo [--dir D] [--tickets N] [--weeks W] [--seed S]",
		Short: "Make a synthetic city and run the whole pipeline on it",
		Long: `Make a synthetic city in D — a 311 dump in Boston's legacy schema, GeoJSON
neighborhoods and census tracts, a census table, and truth.json with the
coefficients planted in the channel model — then run ingest, assign, analyze
and report on it through the same code as those commands, and print the
report's path. The database is D/equity311.duckdb unless --db is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("db") {
				a.db = filepath.Join(dir, "equity311.duckdb")
				// A fresh city each run: the demo owns this file.
				for _, f := range []string{a.db, a.db + ".wal"} {
					if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
						return err
					}
				}
			}
			if opt.Tickets <= 0 || opt.Weeks <= 0 {
				return fmt.Errorf("--tickets %d, --weeks %d: both must be positive", opt.Tickets, opt.Weeks)
			}
			opt.Now = a.now
			a.summaries = a.stderr
			path, err := a.demo(cmd, dir, opt)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, path)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "equity311-demo", "directory for the city's files, database and report")
	c.Flags().IntVar(&opt.Tickets, "tickets", 100_000, "number of requests")
	c.Flags().IntVar(&opt.Weeks, "weeks", 12, "weeks of requests, ending with the last full week")
	c.Flags().Uint64Var(&opt.Seed, "seed", 1, "random seed: the same seed makes the same city")
	c.Flags().BoolVar(&opt.Duplicates, "duplicates", true, "plant incidents reported again while open (the reporting-rate model's truth)")
	return c
}

// demo is the whole pipeline: generate → ingest → assign → analyze → report.
func (a *app) demo(cmd *cobra.Command, dir string, opt synthcity.Options) (string, error) {
	ctx := cmd.Context()
	log := a.logger()
	start := time.Now()
	city, err := synthcity.New(opt)
	if err != nil {
		return "", err
	}
	files, err := writeCity(ctx, city, dir)
	if err != nil {
		return "", err
	}
	log.Info("synthetic city written", "dir", dir, "tracts", len(city.Tracts), "neighborhoods", len(city.Neighborhoods), "rows", city.Truth.Rows)
	var report string
	err = a.withStore(ctx, func(st *store.Store) error {
		res, err := pipeline.Run(ctx, st, pipeline.Synthetic(files), pipeline.Options{Env: a.sourceEnv("synthetic"), Log: log,
			Observe: pipeline.Observer{
				Dump:       func(r dump.Result) { fmt.Fprintln(a.summary(), source.DescribeLoad(r)) },
				Boundaries: a.describeBoundaries,
				Census:     a.describeCensus,
				Assign:     a.describeAssign,
				Analyze:    a.describeAnalysis,
			}})
		if err != nil {
			return err
		}
		report, err = a.report(ctx, st, reportRequest{out: filepath.Join(dir, "report"), label: res.Period.Label})
		return err
	})
	log.Info("demo done", "seconds", time.Since(start).Seconds())
	return report, err
}

// writeCity writes the synthetic city's files. The generator keeps about
// two weeks of requests alive while it draws and writes them; at the GOGC
// of 400 main sets for the loads, its heap grows to several times that
// (1.5 and 2.1 GB of RSS in two runs of 10M requests), at Go's default of
// 100 it peaked at 1.04–1.14 GB in three, in the same 22–28 s. So unless
// $GOGC says otherwise, the generator runs at 100.
func writeCity(ctx context.Context, city *synthcity.City, dir string) (synthcity.Files, error) {
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(100))
	}
	// The generator's heap goes back to the system before the loads begin,
	// not when Go's scavenger gets to it: the loads' own peak comes on top.
	defer debug.FreeOSMemory()
	return city.Write(ctx, dir)
}

func (a *app) matchDuplicatesCmd() *cobra.Command {
	opt := geo.MatchOptions{Metres: geo.DefaultMatchMetres, Days: geo.DefaultMatchDays}
	c := &cobra.Command{
		Use:   "match-duplicates [--metres M] [--days D]",
		Short: "Link requests that repeat an earlier open one (same type, nearby), where the source gives no link",
		Long: `Link each request to the earlier one it repeats, where the source itself marks
none: the same city and request type, within --metres, opened within --days
after it and while it was still open; of several, the earliest. Links go to
the duplicates table with basis matched (reported and text links stay).
Where a source reports its duplicates (Chicago), the matching is scored
against those links: precision and recall are printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opt.Metres <= 0 || opt.Metres > 5000 || opt.Days <= 0 || opt.Days > 365 || math.IsNaN(opt.Metres) || math.IsNaN(opt.Days) {
				return fmt.Errorf("--metres %v --days %v: want 0 < metres ≤ 5,000 and 0 < days ≤ 365", opt.Metres, opt.Days)
			}
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				res, err := geo.MatchDuplicates(cmd.Context(), st, opt)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.summary(), "match-duplicates: %d links matched (within %g m and %g days, while the earlier request was open)\n", res.Matched, opt.Metres, opt.Days)
				if res.Reported > 0 {
					fmt.Fprintf(a.summary(), "match-duplicates: against the %d reported links whose parent is loaded: recall %.1f%% (%d found), precision %.1f%% (%d of %d matched in those cities)\n",
						res.Reported, 100*res.Recall(), res.Recovered, 100*res.Precision(), res.Correct, res.MatchedThere)
				}
				return nil
			})
		},
	}
	bindFlags(c.Flags(), &opt)
	return c
}

func (a *app) assignCmd() *cobra.Command {
	var all bool
	var snap float64
	c := &cobra.Command{
		Use:   "assign",
		Short: "Put every ticket into its area of every layer",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if snap < 0 || math.IsNaN(snap) || snap > 10_000 {
				return fmt.Errorf("--snap %v: want a distance in metres from 0 to 10,000", snap)
			}
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				return a.assign(cmd.Context(), st, geo.AssignOptions{All: all, SnapMetres: snap})
			})
		},
	}
	c.Flags().BoolVar(&all, "all", false, "place every ticket again, not only new and changed ones")
	c.Flags().Float64Var(&snap, "snap", 0, "place points this many metres or less outside an area in it (a pier, a shoreline)")
	return c
}

func (a *app) assign(ctx context.Context, st *store.Store, opt geo.AssignOptions) error {
	opt.Log = a.logger()
	res, err := geo.Assign(ctx, st, opt)
	if err != nil {
		return err
	}
	a.describeAssign(res)
	return nil
}

// describeAssign prints what assign did.
func (a *app) describeAssign(res geo.AssignResult) {
	fmt.Fprintf(a.summary(), "assign: %d tickets located against layers %v: %d inside an area, %d outside every area; %d placements snapped\n",
		res.Tickets, res.Layers, res.Tickets-res.Outside, res.Outside, res.Snapped)
	for _, l := range res.Layers {
		if n := res.Overlaps[l]; n > 0 {
			fmt.Fprintf(a.summary(), "assign: %d tickets lie in more than one area of layer %s (its polygons overlap); each is placed in the smallest\n", n, l)
		}
	}
}

// periodFlags are --week, --month, --year or --from/--to.
// periodFlags are the period flags of analyze and report: one
// equity311.PeriodRequest, the rule the service applies too.
type periodFlags struct{ equity311.PeriodRequest }

func (p *periodFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&p.Week, "week", "", "ISO week YYYY-Www: the 13 weeks to it (the week and the 12 before, which it is compared with)")
	c.Flags().StringVar(&p.Month, "month", "", "calendar month YYYY-MM")
	c.Flags().StringVar(&p.Year, "year", "", "calendar year YYYY")
	c.Flags().StringVar(&p.From, "from", "", "start date YYYY-MM-DD (inclusive)")
	c.Flags().StringVar(&p.To, "to", "", "end date YYYY-MM-DD (exclusive)")
}

// period resolves the flags in the city's time zone; nil when none is set.
func (p *periodFlags) period(ctx context.Context, st *store.Store) (*equity311.Period, error) {
	loc, err := st.Location(ctx)
	if err != nil {
		return nil, err
	}
	per, ok, err := p.Resolve(loc)
	if err != nil || !ok {
		return nil, err
	}
	return &per, nil
}

func (a *app) analyzeCmd() *cobra.Command {
	var pf periodFlags
	var opt analysis.Options
	c := &cobra.Command{
		Use:   "analyze [--week W | --month M | --year Y | --from T --to T]",
		Short: "Compute channel-use metrics per area into the analysis tables",
		Long: `Compute channel-use metrics for a period (default: the last 52 complete weeks
of the data) per area of every layer and citywide, into the analysis_* tables.
--week W analyses the 13 weeks to W, the period report --week W and the
weekly service's week W cover.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opt.MinCount < 1 || opt.MinCount > 1_000_000 {
				return fmt.Errorf("--min-count %d: want a number of requests from 1 to 1,000,000", opt.MinCount)
			}
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				p, err := pf.period(cmd.Context(), st)
				if err != nil {
					return err
				}
				opt.Period = p
				_, err = a.analyze(cmd.Context(), st, opt)
				return err
			})
		},
	}
	pf.add(c)
	c.Flags().IntVar(&opt.MinCount, "min-count", analysis.DefaultMinCount, "areas with fewer resident requests (from sources that record the app) are flagged and not shown in reports")
	c.Flags().StringVar(&opt.PopulationFrom, "population-from", "decennial", "census program that gives population when several do: decennial or acs")
	c.Flags().StringArrayVar(&opt.Sources, "source", nil, "use only this source (id, name or file name); repeat for more")
	c.Flags().StringArrayVar(&opt.ExcludeSources, "exclude-source", nil, "leave this source out (id, name or file name); repeat for more")
	for _, f := range []string{"source", "exclude-source"} {
		c.Flags().SetAnnotation(f, keyAnnotation, []string{strings.ReplaceAll(f, "-", "_")})
	}
	return c
}

func (a *app) analyze(ctx context.Context, st *store.Store, opt analysis.Options) (analysis.Result, error) {
	opt.Log = a.logger()
	res, err := analysis.Analyze(ctx, st, opt)
	if err != nil {
		return res, err
	}
	a.describeAnalysis(res)
	return res, nil
}

// describeAnalysis prints what analyze did.
func (a *app) describeAnalysis(res analysis.Result) {
	fmt.Fprintf(a.summary(), "analyze: period %s (%s), %d requests, %d resident-initiated, layers %v\n",
		res.Period.Label, res.PeriodBasis, res.Tickets, res.Resident, res.Layers)
}

// reportRequest is what the report command was asked for.
type reportRequest struct {
	label   string // an analysed period, instead of pf
	pf      periodFlags
	out     string
	opt     reports.Options
	city    string
	compare bool
	stamp   bool
}

func (a *app) reportCmd() *cobra.Command {
	var r reportRequest
	c := &cobra.Command{
		Use:   "report [--week YYYY-Www | --month M | --year Y | --from T --to T] [--kind weekly|research] [--compare] [--out DIR]",
		Short: "Write an HTML report and its CSV tables",
		Long: `Write a self-contained HTML report (and its CSV tables) of a period:

  weekly    (the default) the policy report: key findings, who is not using the
            app, maps, this week against the trailing weeks, how fast requests
            close, data quality, method.
  research  all of the above plus the models, spatial statistics, the
            concentration curve, shrunken shares, sensitivity across layers,
            every table as CSV and data.json.
  --compare the headline figures of every city in the database side by side.

--week W covers the 13 weeks to W for both kinds (a single week's counts per
area are too small on their own) and compares week W with the 12 before it,
as the weekly service's archive does. Without a period: the default one (the
last 52 complete weeks of the data). A period not analysed yet is analysed
first. The report says at its top, and on stderr, what it cannot tell: an
analysis older than the last load, requests not placed, a layer without a
placed request or census figures, a week only partly in the period — each
with the command that mends it. The same data and options give the same
bytes; --stamp adds the time the report was made.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				path, err := a.report(cmd.Context(), st, r)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, path)
				return nil
			})
		},
	}
	r.pf.add(c)
	c.Flags().StringVar(&r.out, "out", "", "output directory (default equity311-reports/PERIOD)")
	c.Flags().StringVar(&r.opt.MainLayer, "layer", "", "layer for the headline ranking (default: the one with fewest areas)")
	c.Flags().StringVar(&r.opt.Kind, "kind", reports.KindWeekly, "weekly or research")
	c.Flags().StringVar(&r.city, "city", "", "the city to report on (default: the first)")
	c.Flags().BoolVar(&r.compare, "compare", false, "compare the cities of the database")
	c.Flags().BoolVar(&r.stamp, "stamp", false, "print the time the report was made in its provenance")
	return c
}

// compareCities loads every city of the database for the comparison: on
// period p when one was asked for, else each on its own default period
// (analysed when it has not been). A city that cannot be shown is
// returned among the omitted, with the reason.
func (a *app) compareCities(ctx context.Context, st *store.Store, p *equity311.Period) ([]*results.Analysis, []reports.Omitted, error) {
	rows, err := st.DB().QueryContext(ctx, `SELECT DISTINCT city FROM tickets ORDER BY city`)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return nil, nil, err
		}
		names = append(names, c)
	}
	if err := rows.Close(); err != nil {
		return nil, nil, err
	}
	var cities []*results.Analysis
	var omitted []reports.Omitted
	for _, city := range names {
		cp := p
		if cp == nil {
			d, err := analysis.CityDefaultPeriod(ctx, st, city)
			if err != nil {
				omitted = append(omitted, reports.Omitted{City: city, Reason: err.Error()})
				continue
			}
			cp = &d
		}
		if _, err := analysis.Load(ctx, st, cp.Label); errors.Is(err, analysis.ErrNoAnalysis) {
			if _, err := a.analyze(ctx, st, analysis.Options{Period: cp}); err != nil {
				omitted = append(omitted, reports.Omitted{City: city, Reason: "its period " + cp.Label + " could not be analysed: " + err.Error()})
				continue
			}
		} else if err != nil {
			return nil, nil, err
		}
		res, err := analysis.LoadCity(ctx, st, cp.Label, city)
		if err != nil || !slices.Contains(res.Cities, city) {
			omitted = append(omitted, reports.Omitted{City: city, Reason: "no requests in " + cp.Label})
			continue
		}
		cities = append(cities, res)
	}
	return cities, omitted, nil
}

// report analyses the period if needed and writes the report it asks for.
func (a *app) report(ctx context.Context, st *store.Store, r reportRequest) (string, error) {
	p, err := r.pf.period(ctx, st)
	if err != nil {
		return "", err
	}
	if r.compare {
		cities, omitted, err := a.compareCities(ctx, st, p)
		if err != nil {
			return "", err
		}
		dir := cmp.Or(r.out, filepath.Join("equity311-reports", "compare"))
		if r.stamp {
			r.opt.Generated = a.now()
		}
		files, err := reports.WriteComparison(cities, omitted, dir, r.opt)
		return files.HTML, err
	}
	label := r.label
	if label != "" {
		// analysed already
	} else if p == nil {
		// The default period (the last complete weeks of the data), not
		// whichever period was analysed last.
		d, err := analysis.DefaultPeriod(ctx, st)
		if err != nil {
			return "", err
		}
		label = d.Label
		if _, err := analysis.Load(ctx, st, label); errors.Is(err, analysis.ErrNoAnalysis) {
			if _, err := a.analyze(ctx, st, analysis.Options{}); err != nil {
				return "", err
			}
		}
	} else {
		label = p.Label
		if _, err := analysis.Load(ctx, st, label); errors.Is(err, analysis.ErrNoAnalysis) {
			if _, err := a.analyze(ctx, st, analysis.Options{Period: p}); err != nil {
				return "", err
			}
		}
	}
	dir := r.out
	if dir == "" {
		dir = filepath.Join("equity311-reports", label)
	}
	if r.stamp {
		r.opt.Generated = a.now()
	}
	res, err := analysis.LoadCity(ctx, st, label, r.city)
	if err != nil {
		return "", err
	}
	if r.city != "" && !slices.Contains(res.Cities, r.city) {
		return "", fmt.Errorf("report: no city %q in period %s; the cities are %s", r.city, label, strings.Join(res.Cities, ", "))
	}
	warnings, err := staleness(ctx, st, label)
	if err != nil {
		return "", err
	}
	for _, w := range warnings {
		fmt.Fprintln(a.stderr, "warning:", w)
	}
	r.opt.Warnings = append(r.opt.Warnings, warnings...)
	files, err := reports.Write(res, dir, r.opt)
	if err != nil {
		return "", err
	}
	return files.HTML, nil
}

// staleness says what the database holds that the analysis of a period
// does not show: a load after it was computed, requests not yet placed,
// a layer without a placed request; each with the command that mends it.
func staleness(ctx context.Context, st *store.Store, period string) ([]string, error) {
	var out []string
	var computed, loaded sql.NullTime
	var name sql.NullString
	if err := st.DB().QueryRowContext(ctx, `SELECT (SELECT computed_at FROM analysis_runs WHERE period = ?), max(loaded_at), arg_max(name, loaded_at) FROM sources`, period).
		Scan(&computed, &loaded, &name); err != nil {
		return nil, err
	}
	if computed.Valid && loaded.Valid && loaded.Time.After(computed.Time) {
		out = append(out, fmt.Sprintf("This analysis was computed on %s, before the last load (%s, on %s): run equity311 assign and equity311 analyze for the period, then report again, to include it.",
			computed.Time.UTC().Format("2 January 2006 15:04 UTC"), filepath.Base(name.String), loaded.Time.UTC().Format("2 January 2006 15:04 UTC")))
	}
	var unplaced int64
	if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM tickets WHERE geo_quality IS NULL`).Scan(&unplaced); err != nil {
		return nil, err
	}
	if unplaced > 0 {
		out = append(out, fmt.Sprintf("%d requests are not placed in any area yet: run equity311 assign, then analyze and report again.", unplaced))
	}
	rows, err := st.DB().QueryContext(ctx, `SELECT layer FROM layers l WHERE NOT EXISTS (SELECT 1 FROM ticket_places p JOIN areas a USING (area_no) WHERE a.layer = l.layer) ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("The layer %s holds no placed request: run equity311 assign (equity311 assign --all after loading new boundaries), then analyze and report again.", l))
	}
	return out, rows.Err()
}
