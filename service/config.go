// Package service runs equity311 unattended: a config file names the
// city's sources, boundaries and census files; a cycle syncs and loads
// them, places and analyses the last complete week and publishes its
// reports into an archive, whole or not at all; Serve runs cycles on a
// schedule, catches up missed weeks, and serves the archive read-only.
package service

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/robfig/cron/v3"

	"github.com/equity311/equity311/ingest/dump"
	"github.com/equity311/equity311/reports"
)

// Config is the service's config file.
type Config struct {
	// Database is the DuckDB file; the service opens it only while a
	// cycle runs, so researchers can read it in between.
	Database string   `toml:"database"`
	City     City     `toml:"city"`
	Sources  []Source `toml:"source"`
	Layers   []Layer  `toml:"layer"`
	Census   []Census `toml:"census"`
	Reports  Reports  `toml:"reports"`
	Schedule Schedule `toml:"schedule"`
	Archive  Archive  `toml:"archive"`
	Server   Listen   `toml:"server"`

	path string // the file it was read from
	loc  *time.Location
}

// City names the city and the time zone its weeks are counted in.
type City struct {
	Name     string `toml:"name"`
	TimeZone string `toml:"time_zone"`
}

// Source kinds.
const (
	KindOpen311 = "open311" // an Open311 GeoReport v2 server
	KindCKAN    = "ckan"    // a CKAN datastore resource
	KindSocrata = "socrata" // a Socrata dataset
	KindFolder  = "folder"  // a folder where dumps are dropped
)

// Source is one place requests come from.
type Source struct {
	Name string `toml:"name"`
	Kind string `toml:"kind"`
	// Profile is the dump profile (folder, CKAN, Socrata); "auto" or ""
	// picks it from each file's header where the kind allows.
	Profile string `toml:"profile"`
	// Open311.
	Endpoint          string  `toml:"endpoint"`
	Jurisdiction      string  `toml:"jurisdiction"`
	Format            string  `toml:"format"`
	APIKeyEnv         string  `toml:"api_key_env"`
	RequestsPerMinute float64 `toml:"requests_per_minute"`
	Since             string  `toml:"since"`
	// CKAN and Socrata.
	URL         string `toml:"url"`
	Resource    string `toml:"resource"`
	Dataset     string `toml:"dataset"`
	AppTokenEnv string `toml:"app_token_env"`
	// Folder.
	Folder string `toml:"folder"`
}

// Layer is a boundary file loaded as a layer of areas.
type Layer struct {
	Name     string `toml:"name"`
	File     string `toml:"file"`
	IDProp   string `toml:"id_prop"`
	NameProp string `toml:"name_prop"`
	CRS      string `toml:"crs"`
}

// Census is a census table keyed by a layer's area ids.
type Census struct {
	Layer   string `toml:"layer"`
	File    string `toml:"file"`
	IDCol   string `toml:"id_col"`
	Vintage string `toml:"vintage"`
	Partial bool   `toml:"partial"`
}

// Reports says which report kinds each week gets.
type Reports struct {
	Kinds     []string `toml:"kinds"`
	MainLayer string   `toml:"main_layer"`
}

// Schedule says when cycles run and how far back a restart catches up.
type Schedule struct {
	Cron         string `toml:"cron"`
	CatchUpWeeks int    `toml:"catch_up_weeks"`
}

// Archive is where the weeks' reports go.
type Archive struct {
	Dir string `toml:"dir"`
}

// Listen is the [server] table: where the archive is served.
type Listen struct {
	Listen string `toml:"listen"`
}

// Defaults.
const (
	DefaultCron         = "0 6 * * 1" // Monday 06:00, city time
	DefaultCatchUpWeeks = 4
	DefaultListen       = "127.0.0.1:8311"
)

// ConfigError lists every problem found in a config file, one per key.
type ConfigError struct {
	Path     string
	Problems []string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("config %s: %s", e.Path, strings.Join(e.Problems, "; "))
}

// LoadConfig reads and checks a config file. Relative paths in it are
// relative to the file's folder. Every problem is reported, each with its
// key (and line where the file has it).
func LoadConfig(path string) (*Config, error) {
	var c Config
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &ConfigError{Path: path, Problems: []string{fmt.Sprintf("line %d: %s", pe.Position.Line, pe.Message)}}
		}
		return nil, &ConfigError{Path: path, Problems: []string{err.Error()}}
	}
	c.path = path
	var problems []string
	for _, k := range md.Undecoded() {
		problems = append(problems, fmt.Sprintf("%sunknown key %q", lineOf(path, k[len(k)-1]), k.String()))
	}
	problems = append(problems, c.check()...)
	if len(problems) > 0 {
		return nil, &ConfigError{Path: path, Problems: problems}
	}
	return &c, nil
}

// lineOf finds the first line that sets key, as "line N: ", or "".
func lineOf(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	re := regexp.MustCompile(`^\s*"?` + regexp.QuoteMeta(key) + `"?\s*=`)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if re.MatchString(sc.Text()) {
			return fmt.Sprintf("line %d: ", n)
		}
	}
	return ""
}

// check fills defaults, resolves paths and returns every problem.
func (c *Config) check() []string {
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	dir := filepath.Dir(c.path)
	abs := func(s string) string {
		if s == "" || filepath.IsAbs(s) {
			return s
		}
		return filepath.Join(dir, s)
	}
	if c.Database == "" {
		bad("database: give the DuckDB file")
	}
	c.Database = abs(c.Database)
	if c.City.Name == "" {
		bad("city.name: give the city's name")
	}
	if c.City.TimeZone == "" {
		c.City.TimeZone = "UTC"
	}
	loc, err := time.LoadLocation(c.City.TimeZone)
	if err != nil {
		bad("city.time_zone %q: %v", c.City.TimeZone, err)
		loc = time.UTC
	}
	c.loc = loc
	if len(c.Sources) == 0 {
		bad("source: give at least one [[source]]")
	}
	names := map[string]bool{}
	for i := range c.Sources {
		s := &c.Sources[i]
		at := fmt.Sprintf("source[%d]", i)
		if s.Name == "" {
			s.Name = fmt.Sprintf("%s-%d", s.Kind, i+1)
		}
		if names[s.Name] {
			bad("%s.name %q: used twice", at, s.Name)
		}
		names[s.Name] = true
		need := func(key, v string) {
			if v == "" {
				bad("%s.%s: a %s source needs it", at, key, s.Kind)
			}
		}
		env := func(key, name string) {
			if name != "" && os.Getenv(name) == "" {
				bad("%s.%s: the environment variable %s is empty (secrets come from the environment, never from the file)", at, key, name)
			}
		}
		profile := func(allowAuto bool) {
			if s.Profile == "" || s.Profile == "auto" {
				if !allowAuto {
					bad("%s.profile: a %s source needs a dump profile", at, s.Kind)
				}
				return
			}
			if strings.HasSuffix(s.Profile, ".toml") {
				s.Profile = abs(s.Profile)
			}
			if _, err := dump.FindProfile(s.Profile); err != nil {
				bad("%s.profile: %v", at, err)
			}
		}
		switch s.Kind {
		case KindOpen311:
			need("endpoint", s.Endpoint)
			if s.Format != "" && s.Format != "json" && s.Format != "xml" {
				bad("%s.format %q: want json or xml", at, s.Format)
			}
			if s.RequestsPerMinute < 0 {
				bad("%s.requests_per_minute: must not be negative", at)
			}
			env("api_key_env", s.APIKeyEnv)
			if s.Since != "" {
				if _, err := time.Parse("2006-01-02", s.Since); err != nil {
					bad("%s.since %q: want YYYY-MM-DD", at, s.Since)
				}
			}
		case KindCKAN:
			need("url", s.URL)
			need("resource", s.Resource)
			profile(true)
		case KindSocrata:
			need("url", s.URL)
			need("dataset", s.Dataset)
			env("app_token_env", s.AppTokenEnv)
			profile(false)
		case KindFolder:
			need("folder", s.Folder)
			s.Folder = abs(s.Folder)
			if fi, err := os.Stat(s.Folder); s.Folder != "" && (err != nil || !fi.IsDir()) {
				bad("%s.folder %s: not a folder", at, s.Folder)
			}
			profile(true)
		default:
			bad("%s.kind %q: want %s, %s, %s or %s", at, s.Kind, KindOpen311, KindCKAN, KindSocrata, KindFolder)
		}
	}
	layers := map[string]bool{}
	for i := range c.Layers {
		l := &c.Layers[i]
		if l.Name == "" {
			bad("layer[%d].name: give the layer's name", i)
		}
		layers[l.Name] = true
		l.File = abs(l.File)
		if _, err := os.Stat(l.File); err != nil {
			bad("layer[%d].file: %v", i, err)
		}
	}
	for i := range c.Census {
		cs := &c.Census[i]
		if !layers[cs.Layer] {
			bad("census[%d].layer %q: no [[layer]] of that name", i, cs.Layer)
		}
		cs.File = abs(cs.File)
		if _, err := os.Stat(cs.File); err != nil {
			bad("census[%d].file: %v", i, err)
		}
	}
	if len(c.Reports.Kinds) == 0 {
		c.Reports.Kinds = []string{reports.KindWeekly, reports.KindResearch}
	}
	for _, k := range c.Reports.Kinds {
		if k != reports.KindWeekly && k != reports.KindResearch {
			bad("reports.kinds: %q: want %s or %s", k, reports.KindWeekly, reports.KindResearch)
		}
	}
	if c.Reports.MainLayer != "" && !layers[c.Reports.MainLayer] {
		bad("reports.main_layer %q: no [[layer]] of that name", c.Reports.MainLayer)
	}
	if c.Schedule.Cron == "" {
		c.Schedule.Cron = DefaultCron
	}
	if _, err := cron.ParseStandard(c.Schedule.Cron); err != nil {
		bad("schedule.cron %q: %v", c.Schedule.Cron, err)
	}
	if c.Schedule.CatchUpWeeks == 0 {
		c.Schedule.CatchUpWeeks = DefaultCatchUpWeeks
	}
	if c.Schedule.CatchUpWeeks < 0 {
		bad("schedule.catch_up_weeks: must not be negative")
	}
	if c.Archive.Dir == "" {
		bad("archive.dir: give the folder the reports go to")
	}
	c.Archive.Dir = abs(c.Archive.Dir)
	if c.Server.Listen == "" {
		c.Server.Listen = DefaultListen
	}
	if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
		bad("server.listen %q: %v", c.Server.Listen, err)
	}
	return p
}

// Location is the city's time zone.
func (c *Config) Location() *time.Location { return c.loc }

// kinds returns the report kinds in a fixed order.
func (c *Config) kinds() []string {
	k := slices.Clone(c.Reports.Kinds)
	slices.Sort(k)
	return slices.Compact(k)
}
