package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/equity311/equity311/ingest/source"
	"github.com/equity311/equity311/internal/options"
	"github.com/equity311/equity311/service"
)

// TestCLIAndServiceShareSourceOptions: for every source kind, the options
// the command line builds from its flags' defaults (and the required
// flags) equal those the service builds from a [[source]] table holding
// only the same required keys; every option the command line has is a
// config key; `config check` prints the defaults --help shows.
func TestCLIAndServiceShareSourceOptions(t *testing.T) {
	dir := t.TempDir()
	drop := filepath.Join(dir, "drop")
	if err := os.Mkdir(drop, 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		kind, cmd string
		flags     []string // required flags, as the command line gives them
		keys      string   // the same, as the config file does
	}{
		{source.KindOpen311, "open311", []string{"--endpoint", "https://311.example.org/open311/v2", "--city", "c"}, `endpoint = "https://311.example.org/open311/v2"`},
		{source.KindCKAN, "ckan", []string{"--url", "https://data.example.org", "--resource", "r1"}, "url = \"https://data.example.org\"\nresource = \"r1\""},
		{source.KindSocrata, "socrata", []string{"--url", "https://data.example.org", "--dataset", "abcd-1234", "--profile", "chicago"}, "url = \"https://data.example.org\"\ndataset = \"abcd-1234\"\nprofile = \"chicago\""},
	}
	a := newApp(&strings.Builder{}, &strings.Builder{}, fixedNow)
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			cmd, cli := a.ingestSourceCmd(c.kind)
			if err := cmd.ParseFlags(c.flags); err != nil {
				t.Fatal(err)
			}
			cfgPath := filepath.Join(dir, c.kind+".toml")
			cfg := "database = \"x.duckdb\"\n[city]\nname = \"c\"\n[[source]]\nkind = \"" + c.kind + "\"\n" + c.keys + "\n[archive]\ndir = \"archive\"\n"
			if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			loaded, err := service.LoadConfig(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(loaded.Sources[0].Source, cli) {
				t.Errorf("the service's options differ from the command line's:\nservice %+v\ncli     %+v", loaded.Sources[0].Source, cli)
			}
			// Every flag of the command is a config key, but the city (the
			// config's [city]) and the global ones.
			known := map[string]bool{"city": true}
			for _, f := range options.Fields(cli) {
				known[f.Flag] = true
			}
			cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
				if !known[f.Name] {
					t.Errorf("--%s cannot be set in the config", f.Name)
				}
			})
			out := runCLI(t, "config", "check", cfgPath)
			for _, f := range options.Fields(cli) {
				fl := cmd.Flags().Lookup(f.Flag)
				if fl.Changed {
					continue
				}
				want := f.Key + " = " + options.Format(f.Value) + " (default)"
				if !strings.Contains(out, want) {
					t.Errorf("config check does not show %q (--help's default %q):\n%s", want, fl.DefValue, out)
				}
			}
		})
	}
	if r := source.DefaultOpen311().Rate; r != 10 {
		t.Errorf("the Open311 rate defaults to %v a minute, want Boston's documented 10", r)
	}
}
