package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/equity311/equity311/geo/boundary"
	"github.com/equity311/equity311/ingest/census"
	"github.com/equity311/equity311/ingest/dump"
	"github.com/equity311/equity311/internal/fetch"
	"github.com/equity311/equity311/store"
)

func (a *app) ingestCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "ingest",
		Short: "Load 311 dumps, boundaries and census tables into the database",
	}
	c.AddCommand(a.ingestDumpCmd(), a.ingestCKANCmd(), a.ingestSocrataCmd(), a.ingestOpen311Cmd(), a.ingestBoundariesCmd(), a.ingestCensusCmd())
	return c
}

func (a *app) ingestDumpCmd() *cobra.Command {
	var profile, city string
	var force bool
	c := &cobra.Command{
		Use:   "dump [--profile P|auto] FILE...",
		Short: "Load city CSV dumps (plain or .gz)",
		Long: `Load city 311 CSV dumps (plain or gzipped). Each file is read through a
profile (see 'equity311 profiles'); 'auto' picks it from the header. Bad rows
go to the rejects table with their line and reason. Loading the same file
again changes nothing; a later dump updates the requests it contains.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			p, err := optionalProfile(profile)
			if err != nil {
				return err
			}
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				for _, f := range files {
					if _, err := a.loadDump(cmd, st, f, dump.Options{Profile: p, City: city, Force: force}); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	c.Flags().StringVar(&profile, "profile", "auto", "dump profile: a built-in name, a .toml file, or auto")
	c.Flags().StringVar(&city, "city", "", "city name for the tickets (default: the profile's)")
	c.Flags().BoolVar(&force, "force", false, "load a file again that was loaded before with other options")
	return c
}

func (a *app) ingestCKANCmd() *cobra.Command {
	var opt dump.CKANOptions
	var profile string
	c := &cobra.Command{
		Use:   "ckan --url BASE --resource ID [--profile P]",
		Short: "Page through a CKAN datastore resource (a dump's API form)",
		Long: `Page through a CKAN datastore resource with datastore_search (stable order by
_id) and load it through a dump profile, picked from the field names unless
given. Failed requests are retried with backoff; 429 answers wait as told.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if opt.Profile, err = optionalProfile(profile); err != nil {
				return err
			}
			opt.Client, opt.Log = a.fetchClient(), a.logger()
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				res, err := dump.LoadCKAN(cmd.Context(), st, opt)
				if err != nil {
					return err
				}
				a.printLoad(res)
				return nil
			})
		},
	}
	c.Flags().StringVar(&opt.URL, "url", "", "portal base URL, e.g. https://data.boston.gov")
	c.Flags().StringVar(&opt.Resource, "resource", "", "datastore resource id")
	c.Flags().StringVar(&profile, "profile", "auto", "dump profile: a built-in name, a .toml file, or auto")
	c.Flags().StringVar(&opt.City, "city", "", "city name for the tickets (default: the profile's)")
	c.Flags().IntVar(&opt.PageSize, "page-size", 1000, "records per request")
	c.MarkFlagRequired("url")
	c.MarkFlagRequired("resource")
	return c
}

func (a *app) ingestSocrataCmd() *cobra.Command {
	var opt dump.SocrataOptions
	var profile, tokenEnv string
	c := &cobra.Command{
		Use:   "socrata --url BASE --dataset ID --profile P [--app-token-env VAR]",
		Short: "Sync a Socrata dataset (SODA), incrementally on a date column",
		Long: `Page through a Socrata dataset with SODA ($limit, $offset, $order, $where) and
load it through a dump profile. Each run resumes at the latest value of the
date column (default: the profile's updated_at, else opened_at) that the last
run saw. The app token is read from an environment variable and never
printed. Failed requests are retried with backoff; 429 answers wait as told.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if opt.Profile, err = dump.FindProfile(profile); err != nil {
				return err
			}
			if tokenEnv != "" {
				opt.AppToken = os.Getenv(tokenEnv)
				if opt.AppToken == "" {
					return fmt.Errorf("--app-token-env %s: the variable is empty", tokenEnv)
				}
			}
			opt.Client, opt.Log = a.fetchClient(), a.logger()
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				res, err := dump.LoadSocrata(cmd.Context(), st, opt)
				if err != nil {
					return err
				}
				a.printLoad(res)
				return nil
			})
		},
	}
	c.Flags().StringVar(&opt.URL, "url", "", "portal base URL, e.g. https://data.cityofchicago.org")
	c.Flags().StringVar(&opt.Dataset, "dataset", "", "dataset id, e.g. v6vf-nfxy")
	c.Flags().StringVar(&profile, "profile", "", "dump profile whose columns the dataset's fields follow (required)")
	c.Flags().StringVar(&tokenEnv, "app-token-env", "", "environment variable holding a Socrata app token")
	c.Flags().StringVar(&opt.City, "city", "", "city name for the tickets (default: the profile's)")
	c.Flags().StringVar(&opt.SinceColumn, "since-column", "", "date column for incremental syncs")
	c.Flags().BoolVar(&opt.Full, "full", false, "read everything, not only rows since the last sync")
	c.Flags().IntVar(&opt.PageSize, "page-size", 1000, "rows per request (Socrata allows up to 50,000)")
	for _, f := range []string{"url", "dataset", "profile"} {
		c.MarkFlagRequired(f)
	}
	return c
}

// optionalProfile resolves --profile, nil for auto.
func optionalProfile(name string) (*dump.Profile, error) {
	if name == "" || name == "auto" {
		return nil, nil
	}
	return dump.FindProfile(name)
}

// fetchClient is the HTTP client for feeds, logging retries unless quiet.
func (a *app) fetchClient() *fetch.Client {
	c := fetch.New()
	c.Log = a.logger()
	return c
}

// printLoad prints a load's accounting.
func (a *app) printLoad(res dump.Result) {
	if res.AlreadyLoaded {
		fmt.Fprintf(a.summary(), "%s: already loaded as source %d; nothing changed\n", res.File, res.SourceID)
		return
	}
	fmt.Fprintf(a.summary(), "%s: profile %s, city %s: %d rows read = %d loaded + %d rejected + %d excluded + %d superseded\n",
		res.File, res.Profile, res.City, res.Read, res.Loaded, res.Rejected, res.Excluded, res.Superseded)
}

// loadDump loads one file and prints its accounting.
func (a *app) loadDump(cmd *cobra.Command, st *store.Store, file string, opt dump.Options) (dump.Result, error) {
	prog, done := a.progress(filepath.Base(file))
	opt.Progress, opt.Log = prog, a.logger()
	res, err := dump.LoadDump(cmd.Context(), st, file, opt)
	done()
	if err != nil {
		return res, err
	}
	a.printLoad(res)
	return res, nil
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
	c.Flags().StringVar(&opt.Layer, "layer", "", "layer name, e.g. neighborhoods or tracts (required)")
	c.Flags().StringVar(&opt.IDProp, "id-prop", "", "feature property with the area id (default: GEOID, geoid20, ... or the feature id)")
	c.Flags().StringVar(&opt.NameProp, "name-prop", "", "feature property with the area name (default: name, Name, ...)")
	c.Flags().StringVar(&opt.CRS, "crs", "", "coordinate system of the file when it does not say, e.g. EPSG:2249 (projected ones are converted to WGS84)")
	c.Flags().BoolVar(&opt.Force, "force", false, "load a file again that was loaded before with other options")
	c.MarkFlagRequired("layer")
	return c
}

func (a *app) loadBoundaries(cmd *cobra.Command, st *store.Store, file string, opt boundary.Options) (boundary.Result, error) {
	opt.Log = a.logger()
	res, err := boundary.Load(cmd.Context(), st, file, opt)
	if err != nil {
		return res, err
	}
	if res.AlreadyLoaded {
		fmt.Fprintf(a.summary(), "%s: already loaded as layer %s; nothing changed\n", file, res.Layer)
		return res, nil
	}
	fmt.Fprintf(a.summary(), "%s: layer %s, %d areas (id from %s, name from %s)\n", file, res.Layer, res.Areas, res.IDProp, res.NameProp)
	for _, w := range res.Warnings {
		fmt.Fprintf(a.stderr, "warning: %s: %s\n", file, w)
	}
	return res, nil
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
	c.Flags().StringVar(&opt.Layer, "layer", "", "layer whose area ids the file uses (required)")
	c.Flags().StringVar(&opt.IDColumn, "id-col", "", "key column (default: GEOID, GEOCODE, ... or the first column)")
	c.Flags().StringVar(&opt.Vintage, "vintage", "", "vintage label stored with the estimates, e.g. acs2022-5yr")
	c.Flags().BoolVar(&opt.Partial, "partial", false, "load a file whose ids cover less than 90% of the layer's areas (a table for part of the city)")
	c.Flags().BoolVar(&opt.Force, "force", false, "load a file again that was loaded before with other options")
	c.MarkFlagRequired("layer")
	return c
}

func (a *app) loadCensus(cmd *cobra.Command, st *store.Store, file string, opt census.Options) (census.Result, error) {
	opt.Log = a.logger()
	res, err := census.Load(cmd.Context(), st, file, opt)
	if err != nil {
		return res, err
	}
	if res.AlreadyLoaded {
		fmt.Fprintf(a.summary(), "%s: already loaded for layer %s; nothing changed\n", file, res.Layer)
		return res, nil
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
	return res, nil
}
