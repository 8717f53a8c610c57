package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/equity311/equity311/geo/boundary"
	"github.com/equity311/equity311/ingest/census"
	"github.com/equity311/equity311/ingest/source"
	"github.com/equity311/equity311/internal/fetch"
	"github.com/equity311/equity311/store"
)

func (a *app) ingestCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "ingest",
		Short: "Load 311 dumps, boundaries and census tables into the database",
	}
	c.AddCommand(a.ingestDumpCmd())
	for _, kind := range []string{source.KindCKAN, source.KindSocrata, source.KindOpen311} {
		cmd, _ := a.ingestSourceCmd(kind)
		c.AddCommand(cmd)
	}
	c.AddCommand(a.ingestBoundariesCmd(), a.ingestCensusCmd(), a.ingestCrosswalkCmd())
	return c
}

func (a *app) ingestCrosswalkCmd() *cobra.Command {
	var opt boundary.CrosswalkOptions
	c := &cobra.Command{
		Use:   "crosswalk --from LAYER --to LAYER FILE",
		Short: "Load published crosswalk weights between two layers (Census tract relationship file, NHGIS)",
		Long: `Load a published weights file as the crosswalk that moves census figures
from one layer to another, instead of the polygon overlap equity311
computes: the Census Bureau's tract relationship file (tab20_tract20_tract10,
pipe-delimited; weights by land area, water left out) or an NHGIS crosswalk
(GEOID columns ending in ge, and wt_pop: population weights, the tidycensus
interpolate_pw convention). Which column holds which layer's ids is found from
the layers' ids. Every figure moved through it names it in its basis.
Reloading either layer's boundaries clears it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				res, err := boundary.LoadCrosswalk(cmd.Context(), st, args[0], opt)
				if err != nil {
					return err
				}
				if res.AlreadyLoaded {
					fmt.Fprintf(a.summary(), "%s: already loaded; nothing changed\n", args[0])
					return nil
				}
				fmt.Fprintf(a.summary(), "%s: %s: %d weights from %d areas of %s to %s (%d rows outside the layers)\n",
					args[0], res.Format, res.Pairs, res.From, opt.From, opt.To, res.Unmatched)
				return nil
			})
		},
	}
	bindFlags(c.Flags(), &opt)
	c.MarkFlagRequired("from")
	c.MarkFlagRequired("to")
	return c
}

// sourceEnv is what a source needs from the command line: the city, the
// logger, the clock and a progress bar.
func (a *app) sourceEnv(city string) source.Env {
	return source.Env{City: city, Log: a.logger(), Now: a.now, HTTP: a.fetchClient, Progress: a.progress}
}

func (a *app) ingestDumpCmd() *cobra.Command {
	d := source.DefaultDump()
	var city string
	c := &cobra.Command{
		Use:   "dump [--profile P|auto] FILE...",
		Short: "Load city CSV dumps (plain or .gz)",
		Long: `Load city 311 CSV dumps (plain or gzipped). Each file is read through a
profile (see 'equity311 profiles'); 'auto' picks it from the header. Bad rows
go to the rejects table with their line and reason. Loading the same file
again changes nothing; a later dump updates the requests it contains.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if errs := d.Check(); len(errs) > 0 {
				return errs[0]
			}
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				for _, f := range files {
					res, err := d.Load(cmd.Context(), st, a.sourceEnv(city), f)
					if err != nil {
						return err
					}
					fmt.Fprintln(a.summary(), source.DescribeLoad(res))
				}
				return nil
			})
		},
	}
	bindFlags(c.Flags(), &d)
	c.Flags().StringVar(&city, "city", "", "city name for the tickets (default: the profile's)")
	return c
}

// feedCommands describes the command of each feed kind.
var feedCommands = map[string]struct {
	use, short, long string
	required         []string // flags besides --city
	cityRequired     bool
}{
	source.KindCKAN: {"ckan --url BASE --resource ID [--profile P]",
		"Page through a CKAN datastore resource (a dump's API form)",
		`Page through a CKAN datastore resource with datastore_search (stable order by
_id) and load it through a dump profile, picked from the field names unless
given. Failed requests are retried with backoff; 429 answers wait as told.`, []string{"url", "resource"}, false},
	source.KindSocrata: {"socrata --url BASE --dataset ID --profile P [--app-token-env VAR]",
		"Sync a Socrata dataset (SODA), incrementally on a date column",
		`Page through a Socrata dataset with SODA ($limit, $offset, $order, $where) and
load it through a dump profile. Each run resumes at the latest value of the
date column (default: the profile's updated_at, else opened_at) that the last
run saw. The app token is read from an environment variable and never
printed. Failed requests are retried with backoff; 429 answers wait as told.`, []string{"url", "dataset", "profile"}, false},
	source.KindOpen311: {"open311 --endpoint URL|--discovery URL --city C [--jurisdiction J] [--format json|xml] [--api-key-env VAR] [--since T]",
		"Sync an Open311 GeoReport v2 server, incrementally",
		`Sync an Open311 GeoReport v2 server into tickets: its services (the request
types its app offers), then requests window by window from where the last
sync stopped (or --since, default 90 days ago), paging where the server
pages, shrinking windows the server truncates, then every request still open
again by id so status changes arrive. Requests carry the feed's extended
channel (extensions=true), or the app channel when the feed gives none.
Dump tickets without a channel take it from the feed (channel_basis open311).
The rate limit defaults to 10 requests a minute, Boston's documented limit.`, nil, true},
}

// ingestSourceCmd is the command of a feed kind, and the source its flags
// set: the flags are the source's options (package ingest/source), its
// run the source's ingest.
func (a *app) ingestSourceCmd(kind string) (*cobra.Command, source.Source) {
	src, err := source.New(kind)
	if err != nil {
		panic(err) // only kinds of feedCommands are asked for
	}
	fc := feedCommands[kind]
	var city string
	c := &cobra.Command{
		Use:   fc.use,
		Short: fc.short,
		Long:  fc.long,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if errs := src.Check(); len(errs) > 0 {
				return errs[0]
			}
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				res, err := src.Ingest(cmd.Context(), st, a.sourceEnv(city))
				for _, l := range res.Lines {
					fmt.Fprintln(a.summary(), l)
				}
				return err
			})
		},
	}
	bindFlags(c.Flags(), src)
	required := fc.required
	if fc.cityRequired {
		c.Flags().StringVar(&city, "city", "", "city name for the tickets (required)")
		required = append(required, "city")
	} else {
		c.Flags().StringVar(&city, "city", "", "city name for the tickets (default: the profile's)")
	}
	for _, f := range required {
		c.MarkFlagRequired(f)
	}
	return c, src
}

// fetchClient is the HTTP client for feeds, logging retries unless quiet.
func (a *app) fetchClient() *fetch.Client {
	c := fetch.New()
	c.Log = a.logger()
	return c
}

func (a *app) ingestBoundariesCmd() *cobra.Command {
	var opt boundary.Options
	c := &cobra.Command{
		Use:   "boundaries --layer L [--id-prop P] [--name-prop P] [--crs EPSG:N] FILE",
		Short: "Load polygons (GeoJSON or ESRI shapefile: .shp, .zip or folder) as a layer",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				_, err := a.loadBoundaries(cmd, st, args[0], opt)
				return err
			})
		},
	}
	bindFlags(c.Flags(), &opt)
	c.MarkFlagRequired("layer")
	return c
}

func (a *app) loadBoundaries(cmd *cobra.Command, st *store.Store, file string, opt boundary.Options) (boundary.Result, error) {
	opt.Log = a.logger()
	res, err := boundary.Load(cmd.Context(), st, file, opt)
	if err != nil {
		return res, err
	}
	a.describeBoundaries(file, res)
	return res, nil
}

// describeBoundaries prints what loading a boundary file did.
func (a *app) describeBoundaries(file string, res boundary.Result) {
	if res.AlreadyLoaded {
		fmt.Fprintf(a.summary(), "%s: already loaded as layer %s; nothing changed\n", file, res.Layer)
		return
	}
	fmt.Fprintf(a.summary(), "%s: layer %s, %d areas (id from %s, name from %s)\n", file, res.Layer, res.Areas, res.IDProp, res.NameProp)
	for _, w := range res.Warnings {
		fmt.Fprintf(a.stderr, "warning: %s: %s\n", file, w)
	}
}

func (a *app) ingestCensusCmd() *cobra.Command {
	var opt census.Options
	c := &cobra.Command{
		Use:   "census --layer L FILE...",
		Short: "Load census tables (CSV keyed by area id, with margins of error) for a layer",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				for _, f := range files {
					if _, err := a.loadCensus(cmd, st, f, opt); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	bindFlags(c.Flags(), &opt)
	c.MarkFlagRequired("layer")
	return c
}

func (a *app) loadCensus(cmd *cobra.Command, st *store.Store, file string, opt census.Options) (census.Result, error) {
	opt.Log = a.logger()
	res, err := census.Load(cmd.Context(), st, file, opt)
	if err != nil {
		return res, err
	}
	a.describeCensus(file, res)
	return res, nil
}

// describeCensus prints what loading a census table did.
func (a *app) describeCensus(file string, res census.Result) {
	if res.AlreadyLoaded {
		fmt.Fprintf(a.summary(), "%s: already loaded for layer %s; nothing changed\n", file, res.Layer)
		return
	}
	derived := "none"
	if len(res.Derived) > 0 {
		derived = strings.Join(res.Derived, ", ")
	}
	fmt.Fprintf(a.summary(), "%s: layer %s, %d areas, %d variables (derived: %s), %d rows rejected", file, res.Layer, res.Areas, len(res.Variables), derived, res.Rejected)
	if len(res.Unmatched) > 0 {
		fmt.Fprintf(a.summary(), ", %d ids match no area of the layer", len(res.Unmatched))
	}
	fmt.Fprintln(a.summary())
}
