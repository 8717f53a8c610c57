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
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

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
