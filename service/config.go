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
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/robfig/cron/v3"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/geo/boundary"
	"github.com/equity311/equity311/ingest/census"
	"github.com/equity311/equity311/ingest/source"
	"github.com/equity311/equity311/internal/options"
	"github.com/equity311/equity311/open311"
	"github.com/equity311/equity311/reports"
)

// Config is the service's config file.
type Config struct {
	// Database is the DuckDB file; the service opens it only while a
	// cycle runs, so researchers can read it in between.
	Database string   `toml:"database"`
	City     City     `toml:"city"`
	Sources  []Source `toml:"-"` // the [[source]] tables, each of its kind
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

// Source is one place requests come from: a [[source]] table with its
// name and kind, and the options of that kind (package ingest/source
// defines them, with their defaults, for the command line too).
type Source struct {
	Name string
	source.Source
}

// Layer is a boundary file loaded as a layer of areas: a [[layer]] table
// (its options are boundary.Options, as the command line's).
type Layer struct {
	File string `toml:"file"`
	boundary.Options
}

// Census is a census table keyed by a layer's area ids: a [[census]]
// table (its options are census.Options, as the command line's).
type Census struct {
	File string `toml:"file"`
	census.Options
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
	// CycleTimeout is a cycle's overall deadline: past it the cycle fails,
	// records why and releases the archive's lock.
	CycleTimeout time.Duration `toml:"cycle_timeout"`
}

// Archive is where the weeks' reports go.
type Archive struct {
	Dir string `toml:"dir"`
}

// Listen is the [server] table: where the archive is served.
type Listen struct {
	Listen string `toml:"listen"`
}

// file is the config file as decoded: the sources wait for their kind.
type file struct {
	Config
	Sources []toml.Primitive `toml:"source"`
}

// sourceHead is what every [[source]] table has.
type sourceHead struct {
	Name string `toml:"name"`
	Kind string `toml:"kind"`
}

// Defaults.
const (
	DefaultCron         = "0 6 * * 1" // Monday 06:00, city time
	DefaultCatchUpWeeks = 4
	// MaxCatchUpWeeks bounds catch_up_weeks: ten years of weeks.
	MaxCatchUpWeeks = 520
	// DefaultCycleTimeout is a cycle's deadline unless the config sets one.
	DefaultCycleTimeout = 6 * time.Hour
	// MaxCycleTimeout bounds cycle_timeout: a cycle longer than a week
	// would run into the next one.
	MaxCycleTimeout = 7 * 24 * time.Hour
	DefaultListen   = "127.0.0.1:8311"
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
	var f file
	md, err := toml.DecodeFile(path, &f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &ConfigError{Path: path, Problems: []string{fmt.Sprintf("line %d: %s", pe.Position.Line, pe.Message)}}
		}
		return nil, &ConfigError{Path: path, Problems: []string{err.Error()}}
	}
	c := f.Config
	c.path = path
	var problems []string
	earlier := map[string]int{} // per key, the [[source]] tables before this one that set it
	for i, prim := range f.Sources {
		src, err := decodeSource(md, prim, i)
		if err != nil {
			problems = append(problems, err.Error())
		} else {
			c.Sources = append(c.Sources, src)
		}
		// Keys are checked per table: the decoder counts source.folder as
		// known for every [[source]] once a folder source has it.
		var keys map[string]any
		if err := md.PrimitiveDecode(prim, &keys); err == nil {
			known := map[string]bool{"name": true, "kind": true}
			if src.Source != nil {
				for _, fl := range options.Fields(src.Source) {
					known[fl.Key] = true
				}
			}
			for _, k := range slices.Sorted(maps.Keys(keys)) {
				if src.Source != nil && !known[k] {
					problems = append(problems, fmt.Sprintf("%sunknown key %q in source[%d] (kind %s)",
						lineOf(path, toml.Key{"source", k}, earlier[k]), "source."+k, i, src.Kind()))
				}
				earlier[k]++
			}
		}
	}
	seen := map[string]int{} // how many times each unknown key came before
	for _, k := range md.Undecoded() {
		if k[0] == "source" {
			continue // checked per table above
		}
		problems = append(problems, fmt.Sprintf("%sunknown key %q", lineOf(path, k, seen[k.String()]), k.String()))
		seen[k.String()]++
	}
	problems = append(problems, c.check()...)
	if len(problems) > 0 {
		return nil, &ConfigError{Path: path, Problems: problems}
	}
	return &c, nil
}

// decodeSource decodes the i-th [[source]] table into the options of its
// kind, starting from that kind's defaults.
func decodeSource(md toml.MetaData, prim toml.Primitive, i int) (Source, error) {
	var head sourceHead
	if err := md.PrimitiveDecode(prim, &head); err != nil {
		return Source{}, fmt.Errorf("source[%d]: %v", i, err)
	}
	spec, err := source.New(head.Kind)
	if err != nil {
		return Source{}, fmt.Errorf("source[%d].%s", i, keyed(err))
	}
	// name and kind were decoded above, so they count as known keys.
	if err := md.PrimitiveDecode(prim, spec); err != nil {
		return Source{}, fmt.Errorf("source[%d]: %v", i, err)
	}
	name := head.Name
	if name == "" {
		name = fmt.Sprintf("%s-%d", head.Kind, i+1)
	}
	return Source{Name: name, Source: spec}, nil
}

// keyed writes an OptionError as "key: problem", anything else as it is.
func keyed(err error) string {
	var oe *equity311.OptionError
	if errors.As(err, &oe) {
		return oe.Key + ": " + oe.Err.Error()
	}
	return err.Error()
}

// lineOf finds the line that sets key the nth time (0 for the first)
// within its table — [city], or every [[source]] in turn — as
// "line N: ", or "". md.Undecoded lists keys in the file's order, so the
// nth unknown source.folder is on the nth line setting folder inside a
// [[source]] table, not on a folder source's line above it.
func lineOf(path string, key toml.Key, nth int) string {
	f, err := os.Open(path)
	if err != nil || len(key) == 0 {
		return ""
	}
	defer f.Close()
	table := strings.Join(key[:len(key)-1], ".")
	header := regexp.MustCompile(`^\s*\[\[?\s*([^\]]*?)\s*\]\]?\s*(#.*)?$`)
	set := regexp.MustCompile(`^\s*"?` + regexp.QuoteMeta(key[len(key)-1]) + `"?\s*=`)
	current := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := header.FindStringSubmatch(line); m != nil {
			current = strings.ReplaceAll(m[1], " ", "")
			continue
		}
		if current == table && set.MatchString(line) {
			if nth == 0 {
				return fmt.Sprintf("line %d: ", n)
			}
			nth--
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
	p = append(p, c.checkSources(dir)...)
	p = append(p, c.checkGeography(abs)...)
	p = append(p, c.checkReportsAndSchedule()...)
	if c.Archive.Dir == "" {
		bad("archive.dir: give the folder the reports go to")
	}
	c.Archive.Dir = abs(c.Archive.Dir)
	if c.Archive.Dir != "" {
		p = append(p, c.checkArchiveDedicated()...)
	}
	if c.Server.Listen == "" {
		c.Server.Listen = DefaultListen
	}
	if _, port, err := net.SplitHostPort(c.Server.Listen); err != nil {
		bad("server.listen %q: %v", c.Server.Listen, err)
	} else if n, err := strconv.Atoi(port); port != "" && (err != nil || n < 0 || n > 65535) {
		bad("server.listen %q: port %q: want a number from 0 to 65535", c.Server.Listen, port)
	}
	return p
}

// checkSources resolves the sources' paths and checks their options.
func (c *Config) checkSources(dir string) []string {
	var p []string
	if len(c.Sources) == 0 {
		p = append(p, "source: give at least one [[source]]")
	}
	names := map[string]bool{}
	for i := range c.Sources {
		s := &c.Sources[i]
		at := fmt.Sprintf("source[%d]", i)
		if names[s.Name] {
			p = append(p, fmt.Sprintf("%s.name %q: used twice", at, s.Name))
		}
		names[s.Name] = true
		s.Resolve(dir)
		for _, err := range s.Check() {
			p = append(p, at+"."+keyed(err))
		}
	}
	return p
}

// checkGeography resolves the boundary and census files and checks them.
func (c *Config) checkGeography(abs func(string) string) []string {
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	layers := map[string]bool{}
	for i := range c.Layers {
		l := &c.Layers[i]
		if l.Layer == "" {
			bad("layer[%d].name: give the layer's name", i)
		}
		layers[l.Layer] = true
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
	if c.Reports.MainLayer != "" && !layers[c.Reports.MainLayer] {
		bad("reports.main_layer %q: no [[layer]] of that name", c.Reports.MainLayer)
	}
	return p
}

// checkReportsAndSchedule fills and checks the report kinds and schedule.
func (c *Config) checkReportsAndSchedule() []string {
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if len(c.Reports.Kinds) == 0 {
		c.Reports.Kinds = []string{reports.KindWeekly, reports.KindResearch}
	}
	for _, k := range c.Reports.Kinds {
		if k != reports.KindWeekly && k != reports.KindResearch {
			bad("reports.kinds: %q: want %s or %s", k, reports.KindWeekly, reports.KindResearch)
		}
	}
	if c.Schedule.Cron == "" {
		c.Schedule.Cron = DefaultCron
	}
	if sched, err := cron.ParseStandard(c.Schedule.Cron); err != nil {
		bad("schedule.cron %q: %v", c.Schedule.Cron, err)
	} else if !firesWithin(sched, time.Now().In(c.loc), 4) {
		bad("schedule.cron %q: never fires (no time in the next four years)", c.Schedule.Cron)
	}
	if c.Schedule.CatchUpWeeks == 0 {
		c.Schedule.CatchUpWeeks = DefaultCatchUpWeeks
	}
	if c.Schedule.CatchUpWeeks < 0 || c.Schedule.CatchUpWeeks > MaxCatchUpWeeks {
		bad("schedule.catch_up_weeks %d: at most %d (ten years), and not negative", c.Schedule.CatchUpWeeks, MaxCatchUpWeeks)
	}
	if c.Schedule.CycleTimeout == 0 {
		c.Schedule.CycleTimeout = DefaultCycleTimeout
	}
	if c.Schedule.CycleTimeout < time.Second || c.Schedule.CycleTimeout > MaxCycleTimeout {
		bad("schedule.cycle_timeout %v: from 1s to %v", c.Schedule.CycleTimeout, MaxCycleTimeout)
	}
	return p
}

// checkArchiveDedicated checks the archive is a folder of its own: not
// the file system's root, and holding neither the config, the database
// nor any input, since everything under it may be served or cleaned up.
func (c *Config) checkArchiveDedicated() []string {
	dir := filepath.Clean(c.Archive.Dir)
	if dir == filepath.VolumeName(dir)+string(filepath.Separator) {
		return []string{fmt.Sprintf("archive.dir %q: the file system's root; give a folder of the archive's own", c.Archive.Dir)}
	}
	var p []string
	inside := func(key, path string) {
		if path != "" && within(dir, path) {
			p = append(p, fmt.Sprintf("%s: inside the archive folder %s (everything there may be served); keep it outside", key, dir))
		}
	}
	inside("database", c.Database)
	inside("config", c.path)
	for i, l := range c.Layers {
		inside(fmt.Sprintf("layer[%d].file", i), l.File)
	}
	for i, cs := range c.Census {
		inside(fmt.Sprintf("census[%d].file", i), cs.File)
	}
	return p
}

// within tells whether path is dir or lies under it.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// firesWithin tells whether a schedule has a time in the years after now
// (29 February needs four).
func firesWithin(s cron.Schedule, now time.Time, years int) bool {
	next := s.Next(now)
	return !next.IsZero() && next.Before(now.AddDate(years, 0, 1))
}

// SourceSettings lists a source's options with their values, marking the
// defaults: what `config check` prints, the same defaults --help shows.
// URLs are shown with every query value but the public GeoReport ones
// redacted.
func SourceSettings(s Source) []options.Setting {
	def, _ := source.New(s.Kind())
	out := options.Settings(s.Source, def)
	for i, st := range out {
		if st.URL && st.Value != `""` {
			if u, err := strconv.Unquote(st.Value); err == nil {
				out[i].Value = strconv.Quote(open311.RedactEndpoint(u))
			}
		}
	}
	return out
}

// Location is the city's time zone.
func (c *Config) Location() *time.Location { return c.loc }

// kinds returns the report kinds in a fixed order.
func (c *Config) kinds() []string {
	k := slices.Clone(c.Reports.Kinds)
	slices.Sort(k)
	return slices.Compact(k)
}
