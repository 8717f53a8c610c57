package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/ingest"
)

func (a *app) ingestCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "ingest",
		Short: "Load 311 dumps, boundaries and census tables into the database",
	}
	c.AddCommand(a.ingestDumpCmd(), a.ingestBoundariesCmd(), a.ingestCensusCmd())
	return c
}

func (a *app) ingestDumpCmd() *cobra.Command {
	var profile, city string
	c := &cobra.Command{
		Use:   "dump [--profile P|auto] FILE...",
		Short: "Load city CSV dumps (plain or .gz)",
		Long: `Load city 311 CSV dumps (plain or gzipped). Each file is read through a
profile (see 'equity311 profiles'); 'auto' picks it from the header. Bad rows
go to the rejects table with their line and reason. Loading the same file
again changes nothing; a later dump updates the requests it contains.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			var p *ingest.Profile
			if profile != "" && profile != "auto" {
				var err error
				if p, err = ingest.FindProfile(profile); err != nil {
					return err
				}
			}
			return a.withStore(cmd.Context(), func(st *equity311.Store) error {
				for _, f := range files {
					if _, err := a.loadDump(cmd, st, f, p, city); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	c.Flags().StringVar(&profile, "profile", "auto", "dump profile: a built-in name, a .toml file, or auto")
	c.Flags().StringVar(&city, "city", "", "city name for the tickets (default: the profile's)")
	return c
}

// loadDump loads one file and prints its accounting.
func (a *app) loadDump(cmd *cobra.Command, st *equity311.Store, file string, p *ingest.Profile, city string) (ingest.DumpResult, error) {
	prog, done := a.progress(filepath.Base(file))
	res, err := ingest.LoadDump(cmd.Context(), st, file, ingest.DumpOptions{Profile: p, City: city, Progress: prog, Log: a.logger()})
	done()
	if err != nil {
		return res, err
	}
	if res.AlreadyLoaded {
		fmt.Fprintf(a.summary(), "%s: already loaded as source %d; nothing changed\n", file, res.SourceID)
		return res, nil
	}
	fmt.Fprintf(a.summary(), "%s: profile %s, city %s: %d rows read = %d loaded + %d rejected + %d excluded + %d superseded\n",
		file, res.Profile, res.City, res.Read, res.Loaded, res.Rejected, res.Excluded, res.Superseded)
	return res, nil
}

func (a *app) ingestBoundariesCmd() *cobra.Command {
	var opt ingest.BoundaryOptions
	c := &cobra.Command{
		Use:   "boundaries --layer L [--id-prop P] [--name-prop P] FILE",
		Short: "Load polygons (GeoJSON) as a layer",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStore(cmd.Context(), func(st *equity311.Store) error {
				_, err := a.loadBoundaries(cmd, st, args[0], opt)
				return err
			})
		},
	}
	c.Flags().StringVar(&opt.Layer, "layer", "", "layer name, e.g. neighborhoods or tracts (required)")
	c.Flags().StringVar(&opt.IDProp, "id-prop", "", "feature property with the area id (default: GEOID, geoid20, ... or the feature id)")
	c.Flags().StringVar(&opt.NameProp, "name-prop", "", "feature property with the area name (default: name, Name, ...)")
	c.MarkFlagRequired("layer")
	return c
}

func (a *app) loadBoundaries(cmd *cobra.Command, st *equity311.Store, file string, opt ingest.BoundaryOptions) (ingest.BoundaryResult, error) {
	opt.Log = a.logger()
	res, err := ingest.LoadBoundaries(cmd.Context(), st, file, opt)
	if err != nil {
		return res, err
	}
	if res.AlreadyLoaded {
		fmt.Fprintf(a.summary(), "%s: already loaded as layer %s; nothing changed\n", file, res.Layer)
		return res, nil
	}
	fmt.Fprintf(a.summary(), "%s: layer %s, %d areas (id from %s, name from %s)\n", file, res.Layer, res.Areas, res.IDProp, res.NameProp)
	return res, nil
}

func (a *app) ingestCensusCmd() *cobra.Command {
	var opt ingest.CensusOptions
	c := &cobra.Command{
		Use:   "census --layer L FILE...",
		Short: "Load census tables (CSV keyed by area id, with margins of error) for a layer",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			return a.withStore(cmd.Context(), func(st *equity311.Store) error {
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
	c.MarkFlagRequired("layer")
	return c
}

func (a *app) loadCensus(cmd *cobra.Command, st *equity311.Store, file string, opt ingest.CensusOptions) (ingest.CensusResult, error) {
	opt.Log = a.logger()
	res, err := ingest.LoadCensus(cmd.Context(), st, file, opt)
	if err != nil {
		return res, err
	}
	if res.AlreadyLoaded {
		fmt.Fprintf(a.summary(), "%s: already loaded for layer %s; nothing changed\n", file, res.Layer)
		return res, nil
	}
	fmt.Fprintf(a.summary(), "%s: layer %s, %d areas, %d variables, %d rows rejected", file, res.Layer, res.Areas, len(res.Variables), res.Rejected)
	if len(res.Unmatched) > 0 {
		fmt.Fprintf(a.summary(), ", %d ids match no area of the layer", len(res.Unmatched))
	}
	fmt.Fprintln(a.summary())
	return res, nil
}
