package open311

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/equity311/equity311/internal/fetch"
)

// Client talks to one GeoReport v2 endpoint.
type Client struct {
	Endpoint     string // base URL, e.g. https://host/open311/v2
	Jurisdiction string
	Format       string // "json" (default) or "xml"
	APIKey       string // sent as api_key; kept out of errors and logs
	Extensions   bool   // ask for extensions=true (extended_attributes)
	HTTP         *fetch.Client
}

// Prepare takes credentials out of sight: an api_key in the endpoint's
// query becomes APIKey (sent as a parameter, redacted everywhere), and a
// user:password in the endpoint stays for the requests but is redacted
// from every error and log. Call it before the first request.
func (c *Client) Prepare() error {
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		return fmt.Errorf("endpoint: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("endpoint %s: want an http or https URL", c.Name())
	}
	q := u.Query()
	for _, k := range []string{"api_key", "apikey", "key"} {
		if v := q.Get(k); v != "" {
			if c.APIKey == "" {
				c.APIKey = v
			}
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	c.Endpoint = u.String()
	if c.HTTP != nil {
		c.HTTP.Secret(c.APIKey)
		// Every other parameter of the endpoint may be a credential
		// (token=, session=, …): an allow-list, not a deny-list.
		for k, vs := range q {
			if !publicParams[k] {
				for _, v := range vs {
					c.HTTP.Secret(v)
				}
			}
		}
		if u.User != nil {
			if p, ok := u.User.Password(); ok {
				c.HTTP.Secret(p)
			}
			c.HTTP.Secret(u.User.Username())
		}
	}
	return nil
}

// Name is the endpoint without credentials (user info, query): the name
// a feed is known by in the store.
func (c *Client) Name() string {
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		return "(unparseable endpoint)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return strings.TrimRight(u.String(), "/")
}

// publicParams are the endpoint query parameters whose values may be
// shown; every other one is kept out of logs, errors and state.
var publicParams = map[string]bool{"jurisdiction_id": true, "format": true, "extensions": true}

// Redacted returns the endpoint for logs, errors and state: no user
// information, and the value of every query parameter but the public
// GeoReport ones replaced by REDACTED.
func (c *Client) Redacted() string {
	return RedactEndpoint(c.Endpoint)
}

// RedactEndpoint is Redacted for any endpoint URL.
func RedactEndpoint(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "(unparseable endpoint)"
	}
	u.User = nil
	q := u.Query()
	for k, vs := range q {
		if !publicParams[k] {
			for i := range vs {
				vs[i] = "REDACTED"
			}
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// ErrNotFound is a 404 answer (some servers answer it past the last page).
var ErrNotFound = errors.New("not found")

func (c *Client) format() string {
	if c.Format == "xml" {
		return "xml"
	}
	return "json"
}

func (c *Client) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	if q == nil {
		q = url.Values{}
	}
	if c.Jurisdiction != "" {
		q.Set("jurisdiction_id", c.Jurisdiction)
	}
	if c.APIKey != "" {
		q.Set("api_key", c.APIKey)
		c.HTTP.Secret(c.APIKey)
	}
	base, err := url.Parse(c.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	for k, vs := range base.Query() { // parameters the endpoint carries (other than a key: see Prepare)
		if !q.Has(k) {
			q[k] = vs
		}
	}
	base.RawQuery = ""
	u := strings.TrimRight(base.String(), "/") + "/" + path + "." + c.format()
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	b, err := c.HTTP.Get(ctx, u, nil)
	var se *fetch.StatusError
	if errors.As(err, &se) && se.Code == http.StatusNotFound {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := checkAnswer(b, c.format(), path); err != nil {
		return nil, fmt.Errorf("GET %s: %w", c.HTTP.Redact(u), err)
	}
	return b, nil
}

// ErrNotGeoReport is an answer that is not what was asked for: a
// maintenance page served with 200, another format, another document.
var ErrNotGeoReport = errors.New("the answer is not a GeoReport v2 document")

// checkAnswer makes sure a 200 answer is the requested format and
// resource: JSON that is an array or object; XML whose root element is the
// resource's (service_requests, services, service_definition, discovery),
// not an HTML page. An answer taken for an empty list when it is a
// maintenance page would move a sync's cursor past a window never fetched.
func checkAnswer(b []byte, format, path string) error {
	t := bytes.TrimSpace(b)
	start := string(t[:min(len(t), 40)])
	if format == "json" {
		if len(t) > 0 && (t[0] == '[' || t[0] == '{') && json.Valid(t) || string(t) == "null" {
			return nil // null: some servers' empty list
		}
		return fmt.Errorf("%w: asked for JSON, got %q…", ErrNotGeoReport, start)
	}
	want := map[string]string{"requests": "service_requests", "services": "services", "discovery": "discovery"}[path]
	if want == "" && strings.HasPrefix(path, "services/") {
		want = "service_definition"
	}
	if strings.HasPrefix(path, "requests/") || strings.HasPrefix(path, "tokens/") {
		want = "service_requests"
	}
	root, err := rootElement(t)
	if err != nil || (want != "" && root != want) {
		return fmt.Errorf("%w: asked for XML <%s>, got %q…", ErrNotGeoReport, want, start)
	}
	return nil
}

// rootElement returns the name of an XML document's root element.
func rootElement(b []byte) (string, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = false
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local, nil
		}
	}
}

// Services returns the server's service list.
func (c *Client) Services(ctx context.Context) ([]Service, error) {
	b, err := c.get(ctx, "services", nil)
	if err != nil {
		return nil, fmt.Errorf("services: %w", err)
	}
	return ParseServices(b)
}

// Query is one GET requests call.
type Query struct {
	Start, End   time.Time // requested_datetime window, inclusive as the spec says
	UpdatedAfter time.Time // v2.1 draft extension, where servers support it
	IDs          []string  // service_request_id list
	Status       string
	Page         int // 1-based; 0 sends no paging parameters
	PageSize     int
}

// Requests runs one GET requests call.
func (c *Client) Requests(ctx context.Context, q Query) ([]Request, error) {
	v := url.Values{}
	utc := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
	if !q.Start.IsZero() {
		v.Set("start_date", utc(q.Start))
	}
	if !q.End.IsZero() {
		v.Set("end_date", utc(q.End))
	}
	if !q.UpdatedAfter.IsZero() {
		v.Set("updated_after", utc(q.UpdatedAfter))
	}
	if len(q.IDs) > 0 {
		v.Set("service_request_id", strings.Join(q.IDs, ","))
	}
	if q.Status != "" {
		v.Set("status", q.Status)
	}
	if q.Page > 0 {
		v.Set("page", strconv.Itoa(q.Page))
		v.Set("page_size", strconv.Itoa(q.PageSize))
	}
	if c.Extensions {
		v.Set("extensions", "true")
	}
	b, err := c.get(ctx, "requests", v)
	if err != nil {
		return nil, err
	}
	reqs, _, err := ParseRequests(b)
	return reqs, err
}

// SyncOptions configure Sync.
type SyncOptions struct {
	From, To time.Time     // requested_datetime range to cover
	Window   time.Duration // first window length (default 7 days); shrinks when a window is full
	PageSize int           // requests per page (default 100); 0 pages are still detected
	// Cap is the count at which a window's answer is taken as truncated by
	// the server (default 1000, the spec's default limit); the window is
	// then halved and fetched again.
	Cap       int
	MinWindow time.Duration // smallest window (default 1 minute)
	// MaxPages stops a window that pages on past this many pages (default
	// DefaultMaxPages) with ErrTooManyPages: a server that invents new
	// ids on every page would otherwise be paged forever.
	MaxPages int
}

// DefaultMaxPages is the default cap on pages per window.
const DefaultMaxPages = 1000

// ErrTooManyPages is a window that did not end within MaxPages pages.
var ErrTooManyPages = errors.New("too many pages")

// Sync walks [From, To) window by window in time order, paging through
// each, and hands every finished window's requests (deduplicated) to emit
// with the window's end: once emit returns nil, everything before that
// instant is synced. Paging stops on an empty or repeated page or a 404 (a
// short page is confirmed by asking for the next); a window that comes
// back at the cap is halved and fetched again.
func (c *Client) Sync(ctx context.Context, opt SyncOptions, emit func(windowEnd time.Time, reqs []Request) error) error {
	if opt.Window <= 0 {
		opt.Window = 7 * 24 * time.Hour
	}
	if opt.PageSize <= 0 {
		opt.PageSize = 100
	}
	if opt.Cap <= 0 {
		opt.Cap = 1000
	}
	if opt.MinWindow <= 0 {
		opt.MinWindow = time.Minute
	}
	win := opt.Window
	for from := opt.From; from.Before(opt.To); {
		to := from.Add(win)
		if to.After(opt.To) {
			to = opt.To
		}
		reqs, err := c.window(ctx, from, to, opt.PageSize, opt.MaxPages)
		if err != nil {
			return fmt.Errorf("requests %s..%s: %w", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), err)
		}
		if len(reqs) >= opt.Cap && to.Sub(from) > opt.MinWindow {
			win = to.Sub(from) / 2
			continue // truncated: the same start, half the window
		}
		if err := emit(to, reqs); err != nil {
			return err
		}
		from = to
		if len(reqs) < opt.Cap/4 && win < opt.Window {
			win *= 2 // quiet again: widen back
		}
	}
	return nil
}

// window fetches every request of [from, to), page by page.
func (c *Client) window(ctx context.Context, from, to time.Time, pageSize, maxPages int) ([]Request, error) {
	end := to.Add(-time.Second) // end_date is inclusive
	return c.pages(ctx, Query{Start: from, End: end, PageSize: pageSize}, maxPages, func(r Request) bool {
		if r.Err != nil {
			return true // a bad record is kept, to be rejected with its reason
		}
		return !r.Requested.Before(from) && r.Requested.Before(to) // a server that ignores the dates
	})
}

// UpdatedAfter fetches every request updated after t (the v2.1 draft's
// updated_after, which Bloomington, Chicago and the sandbox support),
// page by page.
func (c *Client) UpdatedAfter(ctx context.Context, t time.Time, pageSize int) ([]Request, error) {
	if pageSize <= 0 {
		pageSize = 100
	}
	return c.pages(ctx, Query{UpdatedAfter: t, PageSize: pageSize}, 0, func(r Request) bool { return true })
}

// pages runs q page by page until an empty or repeated page or a 404,
// keeping the requests keep accepts, each once.
func (c *Client) pages(ctx context.Context, q Query, maxPages int, keep func(Request) bool) ([]Request, error) {
	if maxPages <= 0 {
		maxPages = DefaultMaxPages
	}
	seen := map[string]bool{}
	var out []Request
	var prevFirst string
	pageSize := q.PageSize
	for page := 1; ; page++ {
		if page > maxPages {
			return nil, fmt.Errorf("%w: the server was still sending new requests after %d pages", ErrTooManyPages, maxPages)
		}
		q.Page = page
		reqs, err := c.Requests(ctx, q)
		if errors.Is(err, ErrNotFound) && page > 1 {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(reqs) == 0 || reqs[0].ID == prevFirst {
			break // empty, or the server repeats a page (it does not page)
		}
		prevFirst = reqs[0].ID
		fresh := 0
		for _, r := range reqs {
			if !keep(r) {
				continue
			}
			if r.ID == "" || !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
				fresh++
			}
		}
		if fresh == 0 {
			break // a page of nothing new: the server repeats itself
		}
		// A short page is usually the last, but some servers send short
		// pages before the end: the next request (empty, a repeat or a 404)
		// confirms it, at the cost of one call per window.
		_ = pageSize
	}
	return out, nil
}

// ByID fetches requests by id, in batches of 50 (to re-poll open ones).
func (c *Client) ByID(ctx context.Context, ids []string) ([]Request, error) {
	var out []Request
	for len(ids) > 0 {
		n := min(50, len(ids))
		reqs, err := c.Requests(ctx, Query{IDs: ids[:n]})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		out = append(out, reqs...)
		ids = ids[n:]
	}
	return out, nil
}

// Discover reads a discovery document and points the client at its
// GeoReport v2 endpoint of the given type (XML when it offers no JSON).
func (c *Client) Discover(ctx context.Context, discoveryURL, typ string) (Discovery, error) {
	b, err := c.HTTP.Get(ctx, discoveryURL, nil)
	if err != nil {
		return Discovery{}, fmt.Errorf("discovery: %w", err)
	}
	d, err := ParseDiscovery(b)
	if err != nil {
		return d, err
	}
	e, ok := d.GeoReportV2(typ)
	if !ok {
		return d, fmt.Errorf("discovery %s lists no GeoReport v2 %s endpoint", c.HTTP.Redact(discoveryURL), typ)
	}
	c.Endpoint = strings.TrimRight(e.URL, "/")
	c.Format = "xml"
	for _, f := range e.Formats {
		if strings.Contains(f, "json") {
			c.Format = "json"
		}
	}
	return d, nil
}
