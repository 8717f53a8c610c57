// Package sandbox is an Open311 GeoReport v2 server for app developers and
// for testing clients: discovery, services, service definitions, POST
// requests with an API key, tokens, GET requests with every filter of the
// spec plus page/page_size and updated_after, and GET one request, in JSON
// and XML with the spec's error bodies. It simulates the ticket workflow
// on a clock that can run fast (submitted → in review → closed, with status
// notes), streams in new requests, resets its data on schedule, and has
// fault switches for clients to be tested against: latency, 5xx answers,
// 429 with Retry-After, short and repeated pages, and a result cap.
package sandbox

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/equity311/equity311/internal/synthcity"
	"github.com/equity311/equity311/open311"
)

// Seed is one request the sandbox starts with.
type Seed struct {
	Request open311.Request // id, service, location, requested time; status is simulated
	Channel string          // served as extended_attributes.channel
}

// Options configure a sandbox.
type Options struct {
	Services []open311.Service
	Requests []Seed
	// Now is the real clock (default time.Now).
	Now func() time.Time
	// Origin is the simulated time at real time Start; the simulated clock
	// runs ClockSpeed times as fast (default 1).
	Origin, Start time.Time
	ClockSpeed    float64
	// Reset drops posted and streamed requests every Reset of simulated
	// time (0 never).
	Reset time.Duration
	// StreamPerHour new requests arrive each simulated hour (0 none).
	StreamPerHour float64
	Seed          uint64
	APIKeys       []string // accepted for POST (default "sandbox-key")
	MaxResults    int      // answers hold at most this many requests (default 1000)
	Faults        Faults
}

// Faults make the server misbehave, for testing clients.
type Faults struct {
	Latency     time.Duration
	ErrorRate   float64 // share of answers that are 500 or 503
	RateLimit   int     // requests per minute (of Faults.Now) before 429
	RetryAfter  int     // seconds, sent with 429 and 503
	ShortPages  bool    // pages hold fewer than page_size items though more follow
	RepeatPages bool    // past the last page, the last page again instead of []
	Cap         int     // a query's results stop at Cap, silently, paging or not
	// Now is the clock of the rate limit (default Options.Now).
	Now func() time.Time
	// Rand draws the 5xx lottery (default: seeded PCG).
	Rand func() float64
	// Sleep waits out Latency (default time.Sleep).
	Sleep func(time.Duration)
}

// Server is a sandbox. It is safe for concurrent use.
type Server struct {
	opt      Options
	mu       sync.Mutex
	posted   []posted
	tokens   map[string]string // token → request id
	window   []time.Time       // request times within the last minute (rate limit)
	rng      *rand.Rand
	epoch    int
	services map[string]open311.Service
	seeds    []Seed         // opt.Requests by requested time, then id
	byID     map[string]int // seed index by request id
}

// Limits on what clients can make the sandbox hold.
const (
	// MaxBodyBytes caps a POST body.
	MaxBodyBytes = 64 << 10
	// MaxTextBytes caps a posted description or address as stored.
	MaxTextBytes = 4000
	// MaxPosted caps the requests posted between two resets.
	MaxPosted = 10000
	// MaxPage and MaxPageSize bound the paging parameters.
	MaxPage, MaxPageSize = 1_000_000, 10_000
)

type posted struct {
	seed  Seed
	token string
}

// New returns a sandbox.
func New(opt Options) *Server {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Start.IsZero() {
		opt.Start = opt.Now()
	}
	if opt.Origin.IsZero() {
		opt.Origin = opt.Start
	}
	if opt.ClockSpeed <= 0 {
		opt.ClockSpeed = 1
	}
	if len(opt.APIKeys) == 0 {
		opt.APIKeys = []string{"sandbox-key"}
	}
	if opt.MaxResults <= 0 {
		opt.MaxResults = 1000
	}
	s := &Server{opt: opt, tokens: map[string]string{}, rng: rand.New(rand.NewPCG(opt.Seed, 311)), services: map[string]open311.Service{}}
	if s.opt.Faults.Rand == nil {
		s.opt.Faults.Rand = s.rng.Float64
	}
	if s.opt.Faults.Now == nil {
		s.opt.Faults.Now = opt.Now
	}
	if s.opt.Faults.Sleep == nil {
		s.opt.Faults.Sleep = time.Sleep
	}
	for _, sv := range opt.Services {
		s.services[sv.Code] = sv
	}
	s.seeds = slices.Clone(opt.Requests)
	slices.SortStableFunc(s.seeds, func(a, b Seed) int { return byTime(a.Request, b.Request) })
	s.byID = make(map[string]int, len(s.seeds))
	for i, sd := range s.seeds {
		s.byID[sd.Request.ID] = i
	}
	return s
}

// byTime orders requests by requested time, then id.
func byTime(a, b open311.Request) int {
	if c := a.Requested.Compare(b.Requested); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// HTTPServer returns an http.Server for the sandbox with timeouts that
// keep slow or idle clients from holding connections: headers within 5 s,
// a whole request within 15 s, an answer within 30 s, idle connections
// closed after 60 s.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10}
}

// extras returns the streamed and posted requests visible at simulated
// time t, by requested time then id: few, next to the seeds.
func (s *Server) extras(t time.Time) []Seed {
	epochStart := s.opt.Origin
	epoch := 0
	if s.opt.Reset > 0 && t.After(s.opt.Origin) {
		epoch = int(t.Sub(s.opt.Origin) / s.opt.Reset)
		epochStart = s.opt.Origin.Add(time.Duration(epoch) * s.opt.Reset)
	}
	s.mu.Lock()
	if epoch != s.epoch {
		s.epoch, s.posted, s.tokens = epoch, nil, map[string]string{}
	}
	var out []Seed
	for _, p := range s.posted {
		out = append(out, p.seed)
	}
	s.mu.Unlock()
	out = append(out, s.streamed(epochStart, t, epoch)...)
	slices.SortStableFunc(out, func(a, b Seed) int { return byTime(a.Request, b.Request) })
	return out
}

// each calls fn with the state at simulated time t of every request whose
// requested time lies in [lo, hi] (zero times: unbounded), in order of
// requested time then id, until fn returns false. It materializes nothing
// but the few streamed and posted requests.
func (s *Server) each(t, lo, hi time.Time, fn func(open311.Request) bool) {
	extra := s.extras(t)
	i := 0
	if !lo.IsZero() {
		i, _ = slices.BinarySearchFunc(s.seeds, lo, func(sd Seed, lo time.Time) int { return sd.Request.Requested.Compare(lo) })
	}
	k := 0
	in := func(r open311.Request) bool {
		return !r.Requested.After(t) && (lo.IsZero() || !r.Requested.Before(lo)) && (hi.IsZero() || !r.Requested.After(hi))
	}
	for i < len(s.seeds) || k < len(extra) {
		var sd Seed
		if k == len(extra) || i < len(s.seeds) && byTime(s.seeds[i].Request, extra[k].Request) <= 0 {
			sd = s.seeds[i]
			i++
			if !hi.IsZero() && sd.Request.Requested.After(hi) {
				i = len(s.seeds) // the seeds past hi are all later
				continue
			}
		} else {
			sd = extra[k]
			k++
		}
		if in(sd.Request) && !fn(s.state(sd, t)) {
			return
		}
	}
}

// lookup returns the state at t of the request with the given id.
func (s *Server) lookup(t time.Time, id string) (open311.Request, bool) {
	if i, ok := s.byID[id]; ok && !s.seeds[i].Request.Requested.After(t) {
		return s.state(s.seeds[i], t), true
	}
	for _, sd := range s.extras(t) {
		if sd.Request.ID == id && !sd.Request.Requested.After(t) {
			return s.state(sd, t), true
		}
	}
	return open311.Request{}, false
}

// SimNow is the simulated time now.
func (s *Server) SimNow() time.Time {
	real := s.opt.Now().Sub(s.opt.Start)
	return s.opt.Origin.Add(time.Duration(float64(real) * s.opt.ClockSpeed))
}

// hash01 maps a string to [0, 1) deterministically.
func hash01(s string, salt uint64) float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d:%s", salt, s)
	return float64(h.Sum64()>>11) / (1 << 53)
}

// state is a request's simulated status at time t: open until review,
// open in review, then closed; updated at each step.
func (s *Server) state(seed Seed, t time.Time) open311.Request {
	r := seed.Request
	review := r.Requested.Add(time.Duration((10 + 350*hash01(r.ID, 1)) * float64(time.Minute)))
	closeAt := r.Requested.Add(time.Duration((6 + 234*hash01(r.ID, 2)) * float64(time.Hour)))
	upd := r.Requested
	r.Status, r.StatusNotes = "open", "Submitted"
	if !t.Before(review) {
		r.StatusNotes, upd = "In review: assigned to a crew", review
	}
	if hash01(r.ID, 3) < 0.9 && !t.Before(closeAt) {
		r.Status, r.StatusNotes, upd = "closed", "Case resolved", closeAt
	}
	r.Updated = &upd
	r.Channel = seed.Channel
	return r
}

// streamed returns the requests that arrived by simulated time t since
// the current epoch began.
func (s *Server) streamed(epochStart, t time.Time, epoch int) []Seed {
	if s.opt.StreamPerHour <= 0 || len(s.opt.Requests) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(s.opt.Seed+uint64(epoch), 7))
	var out []Seed
	at := epochStart
	for i := 0; ; i++ {
		at = at.Add(time.Duration(rng.ExpFloat64() / s.opt.StreamPerHour * float64(time.Hour)))
		if at.After(t) {
			return out
		}
		base := s.opt.Requests[rng.IntN(len(s.opt.Requests))]
		r := base.Request
		r.ID = fmt.Sprintf("S%d-%06d", epoch, i+1)
		r.Requested = at.Truncate(time.Second)
		out = append(out, Seed{Request: r, Channel: base.Channel})
	}
}

// all returns every request visible at simulated time t, by requested time
// then id.
func (s *Server) all(t time.Time) []open311.Request {
	var out []open311.Request
	s.each(t, time.Time{}, time.Time{}, func(r open311.Request) bool {
		out = append(out, r)
		return true
	})
	return out
}

// Requests returns every request visible now, with its current state: what
// a complete client sync must end with.
func (s *Server) Requests() []open311.Request { return s.all(s.SimNow()) }

// ServeHTTP routes GeoReport v2 calls under any prefix: .../discovery,
// .../services, .../services/CODE, .../requests, .../requests/ID and
// .../tokens/TOKEN, each ending in .json or .xml.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	format := "json"
	switch {
	case strings.HasSuffix(path, ".json"):
		path = strings.TrimSuffix(path, ".json")
	case strings.HasSuffix(path, ".xml"):
		path, format = strings.TrimSuffix(path, ".xml"), "xml"
	default:
		s.fail(w, "json", http.StatusNotFound, "resources end in .json or .xml")
		return
	}
	if s.opt.Faults.Latency > 0 {
		s.opt.Faults.Sleep(s.opt.Faults.Latency)
	}
	if code, ok := s.fault(); ok {
		if s.opt.Faults.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(s.opt.Faults.RetryAfter))
		}
		s.fail(w, format, code, http.StatusText(code))
		return
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	n := len(parts)
	switch {
	case n >= 1 && parts[n-1] == "discovery" && r.Method == http.MethodGet:
		s.discovery(w, r, format)
	case n >= 1 && parts[n-1] == "services" && r.Method == http.MethodGet:
		s.write(w, format, "services", "service", servicesOut(s.opt.Services))
	case n >= 2 && parts[n-2] == "services" && r.Method == http.MethodGet:
		s.definition(w, format, parts[n-1])
	case n >= 1 && parts[n-1] == "requests" && r.Method == http.MethodGet:
		s.getRequests(w, r, format)
	case n >= 1 && parts[n-1] == "requests" && r.Method == http.MethodPost:
		s.post(w, r, format)
	case n >= 2 && parts[n-2] == "requests" && r.Method == http.MethodGet:
		s.getOne(w, r, format, parts[n-1])
	case n >= 2 && parts[n-2] == "tokens" && r.Method == http.MethodGet:
		s.token(w, format, parts[n-1])
	default:
		s.fail(w, format, http.StatusNotFound, "no such resource: "+r.Method+" "+r.URL.Path)
	}
}

// fault decides whether this answer is a 429 or a 5xx.
func (s *Server) fault() (int, bool) {
	f := s.opt.Faults
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.RateLimit > 0 {
		now := f.Now()
		keep := s.window[:0]
		for _, t := range s.window {
			if now.Sub(t) < time.Minute {
				keep = append(keep, t)
			}
		}
		s.window = keep
		if len(s.window) >= f.RateLimit {
			return http.StatusTooManyRequests, true
		}
		s.window = append(s.window, now)
	}
	if f.ErrorRate > 0 && f.Rand() < f.ErrorRate {
		if f.Rand() < 0.5 {
			return http.StatusServiceUnavailable, true
		}
		return http.StatusInternalServerError, true
	}
	return 0, false
}

func (s *Server) discovery(w http.ResponseWriter, r *http.Request, format string) {
	base := "http://" + r.Host + strings.TrimSuffix(strings.TrimSuffix(r.URL.Path, "."+format), "/discovery")
	d := open311.Discovery{Changeset: s.opt.Origin.UTC().Format(time.RFC3339), Contact: "equity311 sandbox",
		KeyService: "Use the key sandbox-key",
		Endpoints: []open311.Endpoint{{Specification: "http://wiki.open311.org/GeoReport_v2", URL: base,
			Changeset: s.opt.Origin.UTC().Format(time.RFC3339), Type: "test", Formats: []string{"application/json", "text/xml"}}}}
	if format == "json" {
		writeJSON(w, http.StatusOK, d)
		return
	}
	writeXML(w, http.StatusOK, d)
}

func (s *Server) definition(w http.ResponseWriter, format, code string) {
	sv, ok := s.services[code]
	if !ok {
		s.fail(w, format, http.StatusNotFound, "no service "+code)
		return
	}
	def := map[string]any{"service_code": sv.Code, "attributes": []map[string]any{
		{"variable": true, "code": "WHERE", "datatype": "singlevaluelist", "required": true,
			"datatype_description": "Where is the problem?", "order": 1, "description": "Where is it?",
			"values": []map[string]string{{"key": "STREET", "name": "In the street"}, {"key": "SIDEWALK", "name": "On the sidewalk"}}},
		{"variable": true, "code": "DETAILS", "datatype": "text", "required": false,
			"datatype_description": nil, "order": 2, "description": "Anything else the crew should know", "values": []any{}},
	}}
	if format == "json" {
		writeJSON(w, http.StatusOK, def)
		return
	}
	writeXML(w, http.StatusOK, xmlDefinition(def))
}

// getRequests answers GET requests with the spec's filters, going
// through the requests in time order and keeping only the page asked for,
// so that an answer costs memory for its own requests, not the city's.
func (s *Server) getRequests(w http.ResponseWriter, r *http.Request, format string) {
	q := r.URL.Query()
	now := s.SimNow()
	ext := q.Get("extensions") == "true"
	if ids := q.Get("service_request_id"); ids != "" {
		var out []open311.Request
		for _, id := range strings.Split(ids, ",") {
			if x, ok := s.lookup(now, strings.TrimSpace(id)); ok && len(out) < s.opt.MaxResults {
				out = append(out, x)
			}
		}
		slices.SortStableFunc(out, byTime)
		s.writeRequests(w, format, out, ext)
		return
	}
	parse := func(k string) (time.Time, bool, error) {
		v := q.Get(k)
		if v == "" {
			return time.Time{}, false, nil
		}
		t, err := open311.ParseTime(v)
		if err != nil {
			return t, true, fmt.Errorf("%s: %w", k, err)
		}
		return t, true, nil
	}
	start, hasStart, err1 := parse("start_date")
	end, hasEnd, err2 := parse("end_date")
	updAfter, hasUA, err3 := parse("updated_after")
	updBefore, hasUB, err4 := parse("updated_before")
	page, size, err5 := paging(q)
	for _, err := range []error{err1, err2, err3, err4, err5} {
		if err != nil {
			s.fail(w, format, http.StatusBadRequest, err.Error())
			return
		}
	}
	if !hasStart && !hasEnd && !hasUA && !hasUB {
		start, hasStart = now.Add(-90*24*time.Hour), true // the spec's default window
	}
	if !hasStart {
		start = time.Time{}
	}
	if !hasEnd {
		end = time.Time{}
	}
	codes := splitSet(q.Get("service_code"))
	statuses := splitSet(q.Get("status"))
	match := func(x open311.Request) bool {
		switch {
		case hasUA && !x.Updated.After(updAfter), hasUB && !x.Updated.Before(updBefore):
		case len(codes) > 0 && !codes[x.ServiceCode], len(statuses) > 0 && !statuses[x.Status]:
		default:
			return true
		}
		return false
	}
	// The results run [from, from+limit) of the matches; a fault caps them.
	from, limit := 0, s.opt.MaxResults
	if page > 0 {
		from, limit = (page-1)*size, size
		if s.opt.Faults.ShortPages && size > 1 {
			// Pages hold size-1 items but still step by size: the client must
			// not take a short page for the last unless it is empty.
			from, limit = (page-1)*(size-1), size-1
		}
	}
	total := s.opt.Faults.Cap // the matches a capped query stops at
	collect := func(from, limit int) (out []open311.Request, matches int) {
		s.each(now, start, end, func(x open311.Request) bool {
			if !match(x) {
				return true
			}
			if total > 0 && matches >= total {
				return false
			}
			if matches >= from && len(out) < limit {
				out = append(out, x)
			}
			matches++
			return len(out) < limit || total > 0 || s.opt.Faults.RepeatPages
		})
		return out, matches
	}
	out, matches := collect(from, limit)
	if len(out) == 0 && page > 0 && s.opt.Faults.RepeatPages && matches > 0 {
		last := (matches - 1) / limit * limit
		out, _ = collect(last, limit)
	}
	s.writeRequests(w, format, out, ext)
}

// paging reads page and page_size: 0, 0 when neither is given; page 1 and
// 50 a page when one is missing; an error (a 400) when either is not a
// whole number in range.
func paging(q url.Values) (page, size int, err error) {
	if !q.Has("page") && !q.Has("page_size") {
		return 0, 0, nil
	}
	page, size = 1, 50
	for _, p := range []struct {
		name string
		v    *int
		max  int
	}{{"page", &page, MaxPage}, {"page_size", &size, MaxPageSize}} {
		raw := q.Get(p.name)
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > p.max {
			return 0, 0, fmt.Errorf("%s %q: want a whole number from 1 to %d", p.name, raw, p.max)
		}
		*p.v = n
	}
	return page, size, nil
}

func (s *Server) getOne(w http.ResponseWriter, r *http.Request, format, id string) {
	if x, ok := s.lookup(s.SimNow(), id); ok {
		s.writeRequests(w, format, []open311.Request{x}, r.URL.Query().Get("extensions") == "true")
		return
	}
	s.fail(w, format, http.StatusNotFound, "no request "+id)
}

func (s *Server) token(w http.ResponseWriter, format, token string) {
	s.mu.Lock()
	id, ok := s.tokens[token]
	s.mu.Unlock()
	if !ok {
		s.fail(w, format, http.StatusNotFound, "no token "+token)
		return
	}
	s.write(w, format, "service_requests", "request", []map[string]any{{"service_request_id": id, "token": token}})
}

// post creates a request: api_key, service_code and a location required.
func (s *Server) post(w http.ResponseWriter, r *http.Request, format string) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.fail(w, format, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request is over %d bytes", MaxBodyBytes))
			return
		}
		s.fail(w, format, http.StatusBadRequest, "bad form: "+err.Error())
		return
	}
	f := r.Form
	key := f.Get("api_key")
	okKey := false
	for _, k := range s.opt.APIKeys {
		okKey = okKey || key == k
	}
	if !okKey {
		s.fail(w, format, http.StatusForbidden, "api_key missing or not valid")
		return
	}
	sv, ok := s.services[f.Get("service_code")]
	if !ok {
		s.fail(w, format, http.StatusBadRequest, "service_code missing or unknown: "+f.Get("service_code"))
		return
	}
	lat, errLat := strconv.ParseFloat(f.Get("lat"), 64)
	lon, errLon := strconv.ParseFloat(f.Get("long"), 64)
	hasPoint := errLat == nil && errLon == nil && math.Abs(lat) <= 90 && math.Abs(lon) <= 180
	if !hasPoint && f.Get("address_string") == "" && f.Get("address_id") == "" {
		s.fail(w, format, http.StatusBadRequest, "a location is required: lat and long, address_string or address_id")
		return
	}
	now := s.SimNow().Truncate(time.Second)
	s.extras(now) // start a new epoch if a reset is due
	s.mu.Lock()
	if len(s.posted) >= MaxPosted {
		s.mu.Unlock()
		s.fail(w, format, http.StatusServiceUnavailable, fmt.Sprintf("the sandbox holds %d posted requests until its next reset", MaxPosted))
		return
	}
	n := len(s.posted) + 1
	id := fmt.Sprintf("P%d-%06d", s.epoch, n)
	token := fmt.Sprintf("tok-%d-%06d-%04x", s.epoch, n, uint16(hash01(id, 9)*65535))
	req := open311.Request{ID: id, ServiceCode: sv.Code, ServiceName: sv.Name, Description: clip(f.Get("description")),
		Address: clip(f.Get("address_string")), AddressID: clip(f.Get("address_id")), Requested: now, AgencyResponsible: sv.Group}
	if hasPoint {
		req.Lat, req.Lon = &lat, &lon
	}
	s.posted = append(s.posted, posted{seed: Seed{Request: req, Channel: "open311"}, token: token})
	s.tokens[token] = id
	s.mu.Unlock()
	s.write(w, format, "service_requests", "request", []map[string]any{{"token": token, "service_notice": "Thank you: a crew will review it.", "account_id": nil}})
}

// clip cuts stored text to MaxTextBytes, at a rune boundary.
func clip(v string) string {
	if len(v) <= MaxTextBytes {
		return v
	}
	v = v[:MaxTextBytes]
	for !utf8.ValidString(v) {
		v = v[:len(v)-1]
	}
	return v
}

func splitSet(v string) map[string]bool {
	if v == "" {
		return nil
	}
	m := map[string]bool{}
	for _, x := range strings.Split(v, ",") {
		m[strings.TrimSpace(x)] = true
	}
	return m
}

// requestOut is a request on the wire.
func requestOut(r open311.Request, ext bool) map[string]any {
	ts := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return t.Format(time.RFC3339)
	}
	str := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	m := map[string]any{
		"service_request_id": r.ID, "status": r.Status, "status_notes": str(r.StatusNotes),
		"service_name": str(r.ServiceName), "service_code": r.ServiceCode, "description": str(r.Description),
		"agency_responsible": str(r.AgencyResponsible), "service_notice": nil,
		"requested_datetime": r.Requested.Format(time.RFC3339), "updated_datetime": ts(r.Updated),
		"expected_datetime": nil, "address": str(r.Address), "address_id": str(r.AddressID), "zipcode": nil,
		"lat": nil, "long": nil, "media_url": nil,
	}
	if r.Lat != nil && r.Lon != nil {
		m["lat"], m["long"] = *r.Lat, *r.Lon
	}
	if ext {
		m["extended_attributes"] = map[string]any{"channel": str(r.Channel)}
	}
	return m
}

func (s *Server) writeRequests(w http.ResponseWriter, format string, reqs []open311.Request, ext bool) {
	out := make([]map[string]any, 0, len(reqs))
	for _, r := range reqs {
		out = append(out, requestOut(r, ext))
	}
	s.write(w, format, "service_requests", "request", out)
}

func servicesOut(svs []open311.Service) []map[string]any {
	out := make([]map[string]any, 0, len(svs))
	for _, sv := range svs {
		out = append(out, map[string]any{"service_code": sv.Code, "service_name": sv.Name, "description": sv.Description,
			"metadata": sv.Metadata, "type": sv.Type, "keywords": sv.Keywords, "group": sv.Group})
	}
	return out
}

// write sends a list as JSON (a bare array) or XML (<root><item>…).
func (s *Server) write(w http.ResponseWriter, format, root, item string, list []map[string]any) {
	if format == "json" {
		writeJSON(w, http.StatusOK, list)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	var b strings.Builder
	b.WriteString(xml.Header + "<" + root + ">")
	for _, m := range list {
		b.WriteString("<" + item + ">")
		writeXMLFields(&b, m)
		b.WriteString("</" + item + ">")
	}
	b.WriteString("</" + root + ">\n")
	w.Write([]byte(b.String()))
}

func writeXMLFields(b *strings.Builder, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := m[k].(type) {
		case nil:
			b.WriteString("<" + k + "/>")
		case map[string]any:
			b.WriteString("<" + k + ">")
			writeXMLFields(b, v)
			b.WriteString("</" + k + ">")
		default:
			b.WriteString("<" + k + ">")
			xml.EscapeText(stringWriter{b}, []byte(fmt.Sprint(v)))
			b.WriteString("</" + k + ">")
		}
	}
}

type stringWriter struct{ b *strings.Builder }

func (w stringWriter) Write(p []byte) (int, error) { return w.b.Write(p) }

// fail writes the spec's error body.
func (s *Server) fail(w http.ResponseWriter, format string, code int, msg string) {
	if format == "xml" {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(code)
		var b strings.Builder
		b.WriteString(xml.Header + "<errors><error><code>" + strconv.Itoa(code) + "</code><description>")
		xml.EscapeText(stringWriter{&b}, []byte(msg))
		b.WriteString("</description></error></errors>\n")
		w.Write([]byte(b.String()))
		return
	}
	writeJSON(w, code, []open311.APIError{{Code: code, Description: msg}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeXML(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(code)
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(v)
}

// xmlDefinition renders a service definition as XML.
func xmlDefinition(def map[string]any) any {
	type value struct {
		Key  string `xml:"key"`
		Name string `xml:"name"`
	}
	type attr struct {
		Variable            bool    `xml:"variable"`
		Code                string  `xml:"code"`
		Datatype            string  `xml:"datatype"`
		Required            bool    `xml:"required"`
		DatatypeDescription string  `xml:"datatype_description"`
		Order               int     `xml:"order"`
		Description         string  `xml:"description"`
		Values              []value `xml:"values>value"`
	}
	out := struct {
		XMLName    xml.Name `xml:"service_definition"`
		Code       string   `xml:"service_code"`
		Attributes []attr   `xml:"attributes>attribute"`
	}{Code: def["service_code"].(string)}
	for _, a := range def["attributes"].([]map[string]any) {
		x := attr{Variable: a["variable"].(bool), Code: a["code"].(string), Datatype: a["datatype"].(string),
			Required: a["required"].(bool), Order: a["order"].(int), Description: a["description"].(string)}
		if d, ok := a["datatype_description"].(string); ok {
			x.DatatypeDescription = d
		}
		if vs, ok := a["values"].([]map[string]string); ok {
			for _, v := range vs {
				x.Values = append(x.Values, value{v["key"], v["name"]})
			}
		}
		out.Attributes = append(out.Attributes, x)
	}
	return out
}

// FromCity makes a sandbox that serves a synthetic city: its tickets
// as requests (with their channel as the extended channel), its app-offered
// types as the service list.
func FromCity(ctx context.Context, opt synthcity.Options, sb Options) (*Server, error) {
	city, err := synthcity.New(opt)
	if err != nil {
		return nil, err
	}
	for _, s := range city.Services {
		if s.AppOffered {
			sb.Services = append(sb.Services, open311.Service{Code: s.Name, Name: s.Name, Description: s.Reason,
				Type: "batch", Group: s.Subject, Keywords: s.Reason})
		}
	}
	wire := map[string]string{"app": "iphone", "web": "web", "phone": "phone", "social": "twitter",
		"employee": "employee", "integration": "integration", "unknown": ""}
	err = city.Tickets(ctx, func(ts []synthcity.Ticket) error {
		for _, t := range ts {
			lat, lon := t.Lat, t.Lon
			r := open311.Request{ID: t.ID, ServiceCode: t.Service.Name, ServiceName: t.Service.Name,
				AgencyResponsible: t.Service.Subject, Requested: t.Opened.UTC(), Lat: &lat, Lon: &lon}
			ch := wire[t.Channel]
			if t.Channel == "app" && len(t.ID) > 0 && t.ID[len(t.ID)-1]%2 == 0 {
				ch = "android"
			}
			sb.Requests = append(sb.Requests, Seed{Request: r, Channel: ch})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if sb.Origin.IsZero() {
		sb.Origin = city.End
	}
	return New(sb), nil
}
