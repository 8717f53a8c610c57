package source

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/ingest/dump"
	"github.com/equity311/equity311/ingest/open311sync"
	"github.com/equity311/equity311/internal/fetch"
	"github.com/equity311/equity311/open311"
	"github.com/equity311/equity311/store"
)

// DefaultOpen311Rate is Boston's documented limit for its Open311 server
// (as Connected Bits cities ask): 10 requests a minute.
const DefaultOpen311Rate = 10

// Open311 is an Open311 GeoReport v2 server, synced incrementally: its
// services, then requests window by window of requested time from where
// the last sync stopped, then every request still open again by id.
type Open311 struct {
	Endpoint      string        `toml:"endpoint" secret:"url" help:"GeoReport v2 base URL, e.g. https://host/open311/v2"`
	Discovery     string        `toml:"discovery" secret:"url" help:"a discovery document's URL, instead of the endpoint"`
	DiscoveryType string        `toml:"discovery_type" flag:"type" help:"with a discovery document: the endpoint type, production or test"`
	Jurisdiction  string        `toml:"jurisdiction" help:"jurisdiction_id, for servers that host several"`
	Format        string        `toml:"format" help:"json or xml"`
	APIKeyEnv     string        `toml:"api_key_env" secret:"env" help:"environment variable holding an API key (never printed)"`
	Extensions    bool          `toml:"extensions" help:"ask for extended_attributes (the channel)"`
	Since         string        `toml:"since" help:"first sync starts here (YYYY-MM-DD or RFC 3339; default 90 days ago); later syncs continue from the cursor"`
	Window        time.Duration `toml:"window" help:"first window of requested time"`
	PageSize      int           `toml:"page_size" help:"requests per page where the server pages"`
	MaxResponseMB int64         `toml:"max_response_mb" help:"largest answer read, in MiB"`
	UpdatedAfter  bool          `toml:"updated_after" help:"also ask for requests updated since the last sync (servers with the v2.1 draft's updated_after)"`
	Limits
	Design
}

// pageCap names the option that raises a page cap a feed ran into
// (--max-pages on the command line, max_pages in the config).
func pageCap(err error) error {
	if errors.Is(err, open311.ErrTooManyPages) || errors.Is(err, dump.ErrTooManyPages) {
		return &equity311.OptionError{Key: "max_pages", Err: err}
	}
	return err
}

// Limits bound what a feed may cost: how often it is asked, how long a
// server may make it wait, and how many pages it reads before deciding
// the server will never stop.
type Limits struct {
	Rate     float64       `toml:"requests_per_minute" flag:"rate" help:"requests per minute at most (0: no limit)"`
	MaxWait  time.Duration `toml:"max_wait" help:"longest Retry-After obeyed; a server asking for longer fails the sync until the next cycle"`
	MaxPages int           `toml:"max_pages" help:"pages read before giving up on a server that never stops paging (per window for Open311)"`
}

// DefaultLimits are a feed's limits with the given rate.
func DefaultLimits(rate float64, maxPages int) Limits {
	return Limits{Rate: rate, MaxWait: fetch.DefaultMaxRetryAfter, MaxPages: maxPages}
}

// Check returns every problem with the limits.
func (l Limits) Check() []error {
	out := checkRate("requests_per_minute", l.Rate)
	if l.MaxWait < time.Second || l.MaxWait > time.Hour {
		out = append(out, equity311.OptionErrorf("max_wait", "%v: want from 1s to 1h", l.MaxWait))
	}
	return append(out, checkPositive("max_pages", int64(l.MaxPages), 0)...)
}

// client is the feed's HTTP client with these limits and answers of
// maxMB MiB (0: fetch's default).
func (l Limits) client(env Env, maxMB int64) *fetch.Client {
	c := env.client(l.Rate, maxMB)
	c.MaxRetryAfter = l.MaxWait
	return c
}

// DefaultOpen311 is an Open311 source's defaults.
func DefaultOpen311() Open311 {
	return Open311{DiscoveryType: "production", Format: "json", Extensions: true, Limits: DefaultLimits(DefaultOpen311Rate, open311.DefaultMaxPages),
		Window: 7 * 24 * time.Hour, PageSize: 100, MaxResponseMB: fetch.DefaultMaxBytes >> 20}
}

// Kind is KindOpen311.
func (o *Open311) Kind() string { return KindOpen311 }

// Resolve does nothing: an Open311 source has no paths.
func (o *Open311) Resolve(string) {}

// Check returns every problem with the options.
func (o *Open311) Check() []error {
	var out []error
	switch {
	case o.Endpoint == "" && o.Discovery == "":
		out = append(out, equity311.OptionErrorf("endpoint", "give the endpoint, or a discovery document to find it"))
	case o.Discovery != "":
		out = append(out, checkURL("discovery", o.Discovery)...)
		if o.DiscoveryType != "production" && o.DiscoveryType != "test" {
			out = append(out, equity311.OptionErrorf("discovery_type", "%q: want production or test", o.DiscoveryType))
		}
	default:
		out = append(out, checkURL("endpoint", o.Endpoint)...)
	}
	if o.Format != "json" && o.Format != "xml" {
		out = append(out, equity311.OptionErrorf("format", "%q: want json or xml", o.Format))
	}
	if o.Since != "" {
		if _, err := equity311.ParseDate(o.Since, time.UTC); err != nil {
			out = append(out, &equity311.OptionError{Key: "since", Err: err})
		}
	}
	if o.Window < time.Hour {
		out = append(out, equity311.OptionErrorf("window", "%v: want at least an hour", o.Window))
	}
	out = append(out, o.Limits.Check()...)
	out = append(out, checkPositive("page_size", int64(o.PageSize), 10_000)...)
	out = append(out, checkPositive("max_response_mb", o.MaxResponseMB, 4096)...)
	out = append(out, o.Design.Check()...)
	return append(out, checkSecrets(o)...)
}

// Client builds the GeoReport client: its API key from the environment,
// its endpoint found through discovery when one is given.
func (o *Open311) Client(ctx context.Context, env Env) (*open311.Client, error) {
	key, err := secret("api_key_env", o.APIKeyEnv)
	if err != nil {
		return nil, err
	}
	c := &open311.Client{Endpoint: o.Endpoint, Jurisdiction: o.Jurisdiction, Format: o.Format, APIKey: key,
		Extensions: o.Extensions, HTTP: o.Limits.client(env, o.MaxResponseMB)}
	if o.Discovery != "" {
		if _, err := c.Discover(ctx, o.Discovery, o.DiscoveryType); err != nil {
			return nil, err
		}
	}
	if err := c.Prepare(); err != nil {
		return nil, err
	}
	return c, nil
}

// Sync syncs the server into the store.
func (o *Open311) Sync(ctx context.Context, st *store.Store, env Env) (open311sync.Result, *open311.Client, error) {
	if env.City == "" {
		return open311sync.Result{}, nil, equity311.OptionErrorf("city", "an Open311 source needs the city's name for its tickets")
	}
	c, err := o.Client(ctx, env)
	if err != nil {
		return open311sync.Result{}, nil, err
	}
	design, err := o.Design.store()
	if err != nil {
		return open311sync.Result{}, c, err
	}
	opt := open311sync.Options{Client: c, City: env.City, Window: o.Window, PageSize: o.PageSize, MaxPages: o.MaxPages,
		UpdatedAfter: o.UpdatedAfter, Design: design, Log: env.log(), Now: env.Now}
	if o.Since != "" {
		if opt.Since, err = equity311.ParseDate(o.Since, env.location()); err != nil {
			return open311sync.Result{}, c, &equity311.OptionError{Key: "since", Err: err}
		}
	}
	res, err := open311sync.Sync(ctx, st, opt)
	return res, c, err
}

// Ingest syncs the server.
func (o *Open311) Ingest(ctx context.Context, st *store.Store, env Env) (Result, error) {
	res, c, err := o.Sync(ctx, st, env)
	if err != nil {
		return Result{}, pageCap(err)
	}
	return Result{Lines: []string{fmt.Sprintf("%s: %d services, %d windows from %s to %s, %d requests written, %d open ones re-polled",
		c.Redacted(), res.Services, res.Windows, res.From.UTC().Format(time.RFC3339), res.To.UTC().Format(time.RFC3339), res.Requests, res.Repolled)}}, nil
}

// CKAN is a CKAN datastore resource, paged with datastore_search in a
// stable order by _id and loaded through a dump profile.
type CKAN struct {
	URL      string `toml:"url" secret:"url" help:"portal base URL, e.g. https://data.boston.gov"`
	Resource string `toml:"resource" help:"datastore resource id"`
	Profile  string `toml:"profile" help:"dump profile: a built-in name, a .toml file, or auto (picked from the field names)"`
	PageSize int    `toml:"page_size" help:"records per request"`
	Limits
	Design
}

// DefaultCKAN is a CKAN source's defaults.
func DefaultCKAN() CKAN {
	return CKAN{Profile: "auto", PageSize: 1000, Limits: DefaultLimits(0, dump.DefaultMaxPages)}
}

// Kind is KindCKAN.
func (c *CKAN) Kind() string { return KindCKAN }

// Resolve makes a profile file relative to dir.
func (c *CKAN) Resolve(dir string) { resolveProfile(dir, &c.Profile) }

// Check returns every problem with the options.
func (c *CKAN) Check() []error {
	out := checkURL("url", c.URL)
	out = append(out, need("resource", c.Resource, "the datastore resource id")...)
	out = append(out, Dump{Profile: c.Profile}.Check()...)
	out = append(out, checkPositive("page_size", int64(c.PageSize), 32_000)...)
	out = append(out, c.Design.Check()...)
	return append(out, c.Limits.Check()...)
}

// Ingest pages through the resource and loads it.
func (c *CKAN) Ingest(ctx context.Context, st *store.Store, env Env) (Result, error) {
	p, err := Dump{Profile: c.Profile}.profile()
	if err != nil {
		return Result{}, err
	}
	design, err := c.Design.store()
	if err != nil {
		return Result{}, err
	}
	res, err := dump.LoadCKAN(ctx, st, dump.CKANOptions{URL: c.URL, Resource: c.Resource, Profile: p, City: env.City,
		PageSize: c.PageSize, MaxPages: c.MaxPages, Design: design, Client: c.Limits.client(env, 0), Log: env.log()})
	if err != nil {
		return Result{}, pageCap(err)
	}
	return Result{Lines: []string{DescribeLoad(res)}}, nil
}

// Socrata is a Socrata dataset, paged with SODA and synced incrementally
// on a date column, loaded through a dump profile.
type Socrata struct {
	URL         string `toml:"url" secret:"url" help:"portal base URL, e.g. https://data.cityofchicago.org"`
	Dataset     string `toml:"dataset" help:"dataset id, e.g. v6vf-nfxy"`
	Profile     string `toml:"profile" help:"dump profile whose columns the dataset's fields follow (required: field names do not always reveal it)"`
	AppTokenEnv string `toml:"app_token_env" secret:"env" help:"environment variable holding a Socrata app token (never printed)"`
	SinceColumn string `toml:"since_column" help:"date column for incremental syncs (default: the profile's updated_at, else opened_at)"`
	Full        bool   `toml:"full" help:"read everything, not only rows since the last sync"`
	PageSize    int    `toml:"page_size" help:"rows per request (Socrata allows up to 50,000)"`
	Limits
	Design
}

// DefaultSocrata is a Socrata source's defaults.
func DefaultSocrata() Socrata {
	return Socrata{PageSize: 1000, Limits: DefaultLimits(0, dump.DefaultMaxPages)}
}

// Kind is KindSocrata.
func (s *Socrata) Kind() string { return KindSocrata }

// Resolve makes a profile file relative to dir.
func (s *Socrata) Resolve(dir string) { resolveProfile(dir, &s.Profile) }

// Check returns every problem with the options.
func (s *Socrata) Check() []error {
	out := checkURL("url", s.URL)
	out = append(out, need("dataset", s.Dataset, "the dataset id")...)
	if s.Profile == "" || s.Profile == "auto" {
		out = append(out, equity311.OptionErrorf("profile", "give the dump profile: a dataset's field names do not always reveal it"))
	} else {
		out = append(out, Dump{Profile: s.Profile}.Check()...)
	}
	out = append(out, checkPositive("page_size", int64(s.PageSize), 50_000)...)
	out = append(out, s.Limits.Check()...)
	out = append(out, s.Design.Check()...)
	return append(out, checkSecrets(s)...)
}

// Ingest syncs the dataset.
func (s *Socrata) Ingest(ctx context.Context, st *store.Store, env Env) (Result, error) {
	if errs := s.Check(); len(errs) > 0 {
		return Result{}, errs[0]
	}
	p, err := Dump{Profile: s.Profile}.profile()
	if err != nil {
		return Result{}, err
	}
	token, err := secret("app_token_env", s.AppTokenEnv)
	if err != nil {
		return Result{}, err
	}
	design, err := s.Design.store()
	if err != nil {
		return Result{}, err
	}
	res, err := dump.LoadSocrata(ctx, st, dump.SocrataOptions{URL: s.URL, Dataset: s.Dataset, AppToken: token, Profile: p,
		City: env.City, SinceColumn: s.SinceColumn, Full: s.Full, PageSize: s.PageSize, MaxPages: s.MaxPages, Design: design, Client: s.Limits.client(env, 0), Log: env.log()})
	if err != nil {
		return Result{}, pageCap(err)
	}
	return Result{Lines: []string{DescribeLoad(res)}}, nil
}
