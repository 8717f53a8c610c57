package sandbox

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/equity311/equity311/open311"
)

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
