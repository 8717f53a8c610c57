// Package source defines each kind of place 311 requests come from — an
// Open311 server, a CKAN resource, a Socrata dataset, a folder of dumps,
// a dump file — once: one struct per kind with its defaults, its config
// keys and flags (package internal/options reads the tags), the rule that
// secrets come from named environment variables, its rate limit, its
// checks, and how it is loaded. The command line binds its flags to these
// structs and the weekly service decodes its config into them, so the two
// cannot drift.
//
// Problems are returned as equity311.OptionError with the config key; the
// command line names the flag, the service the key in its file.
package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/ingest/dump"
	"github.com/equity311/equity311/internal/fetch"
	"github.com/equity311/equity311/internal/options"
	"github.com/equity311/equity311/store"
)

// Source kinds, as the service config's kind key names them.
const (
	KindOpen311 = "open311" // an Open311 GeoReport v2 server
	KindCKAN    = "ckan"    // a CKAN datastore resource
	KindSocrata = "socrata" // a Socrata dataset
	KindFolder  = "folder"  // a folder where dumps are dropped
)

// Kinds lists the source kinds.
func Kinds() []string { return []string{KindOpen311, KindCKAN, KindSocrata, KindFolder} }

// A Source is one configured place requests come from.
type Source interface {
	// Kind is the source's kind (KindOpen311, ...).
	Kind() string
	// Resolve makes the source's relative paths relative to dir.
	Resolve(dir string)
	// Check returns every problem with the source's options, each an
	// *equity311.OptionError naming its key.
	Check() []error
	// Ingest syncs or loads the source into the store.
	Ingest(ctx context.Context, st *store.Store, env Env) (Result, error)
}

// New returns a source of the kind with its defaults, or an error naming
// the kinds there are.
func New(kind string) (Source, error) {
	switch kind {
	case KindOpen311:
		s := DefaultOpen311()
		return &s, nil
	case KindCKAN:
		s := DefaultCKAN()
		return &s, nil
	case KindSocrata:
		s := DefaultSocrata()
		return &s, nil
	case KindFolder:
		s := DefaultFolder()
		return &s, nil
	}
	return nil, equity311.OptionErrorf("kind", "source kind %q: want %s", kind, strings.Join(Kinds(), ", "))
}

// Env is what a source needs from the program that runs it.
type Env struct {
	// City is tickets.city. A dump may leave it empty (the profile's city);
	// the feeds need it.
	City string
	// Location reads a bare date (since) as midnight there; default UTC.
	Location *time.Location
	Log      *slog.Logger     // default: discard
	Now      func() time.Time // default time.Now
	// HTTP makes the HTTP client for a feed; default fetch.New. The source
	// sets its rate limit and response cap on it.
	HTTP func() *fetch.Client
	// Progress, if set, draws a dump load's progress: a callback with the
	// bytes read and the file's size, and a function to finish the drawing.
	Progress func(name string) (func(done, total int64), func())
}

func (e Env) log() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

func (e Env) location() *time.Location {
	if e.Location == nil {
		return time.UTC
	}
	return e.Location
}

// client returns the feed's HTTP client, limited to perMinute requests a
// minute (0: no limit) and answers of maxMB MiB (0: fetch's default).
func (e Env) client(perMinute float64, maxMB int64) *fetch.Client {
	var c *fetch.Client
	if e.HTTP != nil {
		c = e.HTTP()
	} else {
		c = fetch.New()
		c.Log = e.log()
	}
	if perMinute > 0 {
		c.MinInterval = time.Duration(float64(time.Minute) / perMinute)
	}
	if maxMB > 0 {
		c.MaxBytes = maxMB << 20
	}
	return c
}

// Result is what one ingest did.
type Result struct {
	Files int      // dump files loaded (not counting those loaded before)
	Lines []string // one line per load, for a person
}

// secret returns the value of the environment variable a secret option
// names, or an OptionError when the variable is empty.
func secret(key, env string) (string, error) {
	if env == "" {
		return "", nil
	}
	v := os.Getenv(env)
	if v == "" {
		return "", equity311.OptionErrorf(key, "the environment variable %s is empty (secrets come from the environment, never from a file or the command line)", env)
	}
	return v, nil
}

// checkSecrets checks every secret option of v names a variable that is set.
func checkSecrets(v any) []error {
	var out []error
	for _, f := range options.Fields(v) {
		if f.Secret {
			if _, err := secret(f.Key, f.Value.String()); err != nil {
				out = append(out, err)
			}
		}
	}
	return out
}

// checkRate checks a requests-a-minute limit: a finite number, 0 for none.
func checkRate(key string, v float64) []error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return []error{equity311.OptionErrorf(key, "requests a minute %v: want a finite number, 0 for no limit", v)}
	}
	return nil
}

// checkURL checks an http or https URL is given.
func checkURL(key, v string) []error {
	if v == "" {
		return []error{equity311.OptionErrorf(key, "give the URL")}
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return []error{equity311.OptionErrorf(key, "%s: want an http or https URL", redactURL(v))}
	}
	return nil
}

// redactURL keeps a URL's credentials and query out of messages.
func redactURL(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		return "(an unreadable URL)"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}

// checkPositive checks a count option is at least 1 and at most max (0: no max).
func checkPositive(key string, v, max int64) []error {
	if v < 1 || (max > 0 && v > max) {
		if max > 0 {
			return []error{equity311.OptionErrorf(key, "%d: want 1 to %d", v, max)}
		}
		return []error{equity311.OptionErrorf(key, "%d: want at least 1", v)}
	}
	return nil
}

// need checks a required text option.
func need(key, v, what string) []error {
	if v == "" {
		return []error{equity311.OptionErrorf(key, "give %s", what)}
	}
	return nil
}

// resolvePath makes a relative path relative to dir.
func resolvePath(dir string, p *string) {
	if *p != "" && !filepath.IsAbs(*p) {
		*p = filepath.Join(dir, *p)
	}
}

// Design is what a source is, as whoever loads it declares: complete, a
// sample (from a frame) or an extract, and the filters it applies, each
// with its reason. Left out, nothing is declared; what the data make
// certain (every request open, or closed; a few types only) is detected
// at load either way, and the declaration wins.
type Design struct {
	Design  string   `toml:"design" help:"what the source is: complete, sample or extract (default: not declared; what the data make certain is detected)"`
	Frame   string   `toml:"frame" help:"what a sample was drawn from, e.g. \"closed cases 2015-2024\""`
	Filters []string `toml:"filters" flag:"filter" help:"a filter the source applies, as KIND=VALUE: REASON (kinds: status, type, area, time); repeat for more"`
}

// store turns the declaration into the store's form.
func (d Design) store() (store.Design, error) {
	out := store.Design{Design: d.Design, Frame: d.Frame}
	for _, f := range d.Filters {
		sf, err := store.ParseFilter(f)
		if err != nil {
			return out, &equity311.OptionError{Key: "filters", Err: err}
		}
		out.Filters = append(out.Filters, sf)
	}
	if err := out.Check(); err != nil {
		return out, &equity311.OptionError{Key: "design", Err: err}
	}
	return out, nil
}

// Check checks the declaration.
func (d Design) Check() []error {
	if _, err := d.store(); err != nil {
		return []error{err}
	}
	return nil
}

// Dump is how dump files are read: the same for `ingest dump FILE...` and
// a drop folder.
type Dump struct {
	Profile string `toml:"profile" help:"dump profile: a built-in name, a .toml file, or auto (picked from each file's header)"`
	Force   bool   `toml:"force" help:"load a file again that was loaded before with other options"`
	// AllowRejects loads a file most of whose rows are rejected.
	AllowRejects bool `toml:"allow_rejects" help:"load a file even when more than half its rows are rejected (or it has no data row); otherwise such a load fails and changes nothing"`
	Design
}

// DefaultDump is the dump options' defaults.
func DefaultDump() Dump { return Dump{Profile: "auto"} }

// profile resolves the profile option, nil for auto.
func (d Dump) profile() (*dump.Profile, error) {
	if d.Profile == "" || d.Profile == "auto" {
		return nil, nil
	}
	p, err := dump.FindProfile(d.Profile)
	if err != nil {
		return nil, &equity311.OptionError{Key: "profile", Err: err}
	}
	return p, nil
}

// Resolve makes a profile file's path relative to dir.
func (d *Dump) Resolve(dir string) { resolveProfile(dir, &d.Profile) }

// resolveProfile makes a profile given as a .toml file relative to dir
// (a built-in profile's name stays as it is).
func resolveProfile(dir string, p *string) {
	if strings.HasSuffix(*p, ".toml") {
		resolvePath(dir, p)
	}
}

// Check checks the profile exists and the design declaration.
func (d Dump) Check() []error {
	if _, err := d.profile(); err != nil {
		return []error{err}
	}
	return d.Design.Check()
}

// Load loads one dump file.
func (d Dump) Load(ctx context.Context, st *store.Store, env Env, file string) (dump.Result, error) {
	p, err := d.profile()
	if err != nil {
		return dump.Result{}, err
	}
	design, err := d.Design.store()
	if err != nil {
		return dump.Result{}, err
	}
	opt := dump.Options{Profile: p, City: env.City, Force: d.Force, AllowRejects: d.AllowRejects, Design: design, Log: env.log()}
	finish := func() {}
	if env.Progress != nil {
		opt.Progress, finish = env.Progress(filepath.Base(file))
	}
	res, err := dump.LoadDump(ctx, st, file, opt)
	finish()
	return res, err
}

// DescribeLoad is a dump load's accounting, for a person.
func DescribeLoad(res dump.Result) string {
	if res.AlreadyLoaded {
		return fmt.Sprintf("%s: already loaded as source %d; nothing changed", res.File, res.SourceID)
	}
	line := fmt.Sprintf("%s: profile %s, city %s: %d rows read = %d loaded + %d rejected + %d excluded + %d superseded",
		res.File, res.Profile, res.City, res.Read, res.Loaded, res.Rejected, res.Excluded, res.Superseded)
	if l := dump.DescribeTimeLayouts(res); l != "" {
		line += "; " + l
	}
	return line
}

// Folder is a folder where dumps are dropped: every CSV (or .csv.gz) in
// it is loaded once, by checksum. A file being copied in should arrive
// under a hidden name (.x.csv) and be renamed when complete.
type Folder struct {
	Folder string `toml:"folder" help:"the folder dumps are dropped into"`
	Dump
}

// DefaultFolder is a drop folder's defaults.
func DefaultFolder() Folder { return Folder{Dump: DefaultDump()} }

// Kind is KindFolder.
func (f *Folder) Kind() string { return KindFolder }

// Resolve makes the folder and a profile file relative to dir.
func (f *Folder) Resolve(dir string) {
	resolvePath(dir, &f.Folder)
	f.Dump.Resolve(dir)
}

// Check checks the folder exists and the profile too.
func (f *Folder) Check() []error {
	out := need("folder", f.Folder, "the folder dumps are dropped into")
	if fi, err := os.Stat(f.Folder); f.Folder != "" && (err != nil || !fi.IsDir()) {
		out = append(out, equity311.OptionErrorf("folder", "%s: not a folder", f.Folder))
	}
	return append(out, f.Dump.Check()...)
}

// Ingest loads every dump in the folder not loaded before, in name order;
// one bad file does not stop the others.
func (f *Folder) Ingest(ctx context.Context, st *store.Store, env Env) (Result, error) {
	var out Result
	files, err := Dropped(f.Folder)
	if err != nil {
		return out, err
	}
	var errs []error
	for _, file := range files {
		res, err := f.Load(ctx, st, env, file)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", filepath.Base(file), err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if !res.AlreadyLoaded {
			out.Files++
		}
		out.Lines = append(out.Lines, DescribeLoad(res))
	}
	return out, errors.Join(errs...)
}

// Dropped lists the dumps in a drop folder in name order: CSV files, plain
// or gzipped, not hidden.
func Dropped(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") {
			continue
		}
		if l := strings.ToLower(n); strings.HasSuffix(l, ".csv") || strings.HasSuffix(l, ".csv.gz") {
			out = append(out, filepath.Join(dir, n))
		}
	}
	slices.Sort(out)
	return out, nil
}
