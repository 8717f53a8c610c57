// Package open311 speaks Open311 GeoReport v2: the types of its resources,
// lenient parsing of what real servers send (JSON and XML; ids and numbers
// as strings or numbers; absent values as a missing key, null or an empty
// element; elements in any order; token in GET results; Chicago's and San
// Francisco's extended_attributes), and a client that syncs requests.
package open311

import (
	"bytes"
	"cmp"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/equity311/equity311/internal/jsontext"
)

// Request is a service request as GeoReport v2 describes it.
type Request struct {
	ID                string     `json:"service_request_id"`
	Token             string     `json:"token,omitempty"`
	Status            string     `json:"status"` // open or closed
	StatusNotes       string     `json:"status_notes"`
	ServiceName       string     `json:"service_name"`
	ServiceCode       string     `json:"service_code"`
	Description       string     `json:"description"`
	AgencyResponsible string     `json:"agency_responsible"`
	ServiceNotice     string     `json:"service_notice"`
	Requested         time.Time  `json:"requested_datetime"`
	Updated           *time.Time `json:"updated_datetime"`
	Expected          *time.Time `json:"expected_datetime"`
	Address           string     `json:"address"`
	AddressID         string     `json:"address_id"`
	Zipcode           string     `json:"zipcode"`
	Lat               *float64   `json:"lat"`
	Lon               *float64   `json:"long"`
	MediaURL          string     `json:"media_url"`
	// Channel is extended_attributes.channel, where the server sends it
	// (with extensions=true): Chicago phone, web, open311; San Francisco
	// android, iphone, ...
	Channel string `json:"-"`
	// Extended is true when the server sent extended_attributes at all: a
	// request without a channel there has no known channel, while a feed
	// without extensions is taken as its app's.
	Extended bool `json:"-"`
	// Duplicate and ParentID are a server's duplicate link, where it sends
	// one: Chicago's extended_attributes.duplicate and
	// parent_service_request_id (some servers put the latter at the top
	// level).
	Duplicate bool   `json:"-"`
	ParentID  string `json:"-"`
	// Err is set on a record that could not be read (a bad date, a
	// coordinate that is not a number): the rest of the answer still
	// loads, and the record goes to rejects with Err and Raw.
	Err error  `json:"-"`
	Raw string `json:"-"`
}

// Service is one request type a server offers.
type Service struct {
	Code        string `json:"service_code"`
	Name        string `json:"service_name"`
	Description string `json:"description"`
	Metadata    bool   `json:"metadata"`
	Type        string `json:"type"` // realtime, batch, blackbox
	Keywords    string `json:"keywords"`
	Group       string `json:"group"`
}

// Endpoint is one entry of a discovery document.
type Endpoint struct {
	Specification string   `json:"specification" xml:"specification"`
	URL           string   `json:"url" xml:"url"`
	Changeset     string   `json:"changeset" xml:"changeset"`
	Type          string   `json:"type" xml:"type"`
	Formats       []string `json:"formats" xml:"formats>format"`
}

// Discovery is a server's discovery document, in JSON or XML.
type Discovery struct {
	XMLName    xml.Name   `json:"-" xml:"discovery"`
	Changeset  string     `json:"changeset" xml:"changeset"`
	Contact    string     `json:"contact" xml:"contact"`
	KeyService string     `json:"key_service" xml:"key_service"`
	Endpoints  []Endpoint `json:"endpoints" xml:"endpoints>endpoint"`
}

// APIError is one entry of an error answer.
type APIError struct {
	Code        int    `json:"code"`
	Description string `json:"description"`
}

// record is one decoded object: field name → value (strings, numbers,
// booleans, nested maps), whatever the wire format.
type record map[string]any

func (r record) str(k string) string {
	return jsontext.String(r[k])
}

func (r record) num(k string) (*float64, error) {
	s := r.str(k)
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("%s %q is not a number", k, s)
	}
	return &v, nil
}

// ParseTime reads a W3C/ISO 8601 date-time as servers write it: with a
// zone (Z or an offset, with or without a colon), with or without
// fractional seconds.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05-07", "2006-01-02 15:04:05Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q is not ISO 8601 with a zone", s)
}

func (r record) time(k string) (*time.Time, error) {
	s := r.str(k)
	if s == "" {
		return nil, nil
	}
	t, err := ParseTime(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k, err)
	}
	return &t, nil
}

// request turns a record into a Request.
// Field length limits: a record beyond them is unreadable (it goes to
// rejects), so that one record cannot poison a feed — an id of 100,000
// characters would make every later re-poll URL too long to send.
const (
	// MaxIDLen is the longest service_request_id or token read.
	MaxIDLen = 128
	// MaxFieldLen is the longest short field read (codes, names, status,
	// agency, address id, zip code, the channel).
	MaxFieldLen = 1024
	// MaxTextLen is the longest free text read (description, notes,
	// address, media URL, notice).
	MaxTextLen = 64 << 10
)

// checkLengths finds a field longer than its limit.
func (r record) checkLengths() error {
	for _, f := range [...]struct {
		name string
		max  int
	}{
		{"service_request_id", MaxIDLen}, {"token", MaxIDLen}, {"status", MaxFieldLen}, {"service_code", MaxFieldLen},
		{"service_name", MaxFieldLen}, {"agency_responsible", MaxFieldLen}, {"address_id", MaxFieldLen}, {"zipcode", MaxFieldLen},
		{"description", MaxTextLen}, {"status_notes", MaxTextLen}, {"address", MaxTextLen}, {"media_url", MaxTextLen}, {"service_notice", MaxTextLen},
	} {
		if n := len(r.str(f.name)); n > f.max {
			return fmt.Errorf("%s is %d characters long, more than %d", f.name, n, f.max)
		}
	}
	if ext, ok := r["extended_attributes"].(map[string]any); ok {
		if n := len(record(ext).str("channel")); n > MaxFieldLen {
			return fmt.Errorf("extended_attributes.channel is %d characters long, more than %d", n, MaxFieldLen)
		}
		if n := len(record(ext).str("parent_service_request_id")); n > MaxIDLen {
			return fmt.Errorf("extended_attributes.parent_service_request_id is %d characters long, more than %d", n, MaxIDLen)
		}
	}
	if n := len(r.str("parent_service_request_id")); n > MaxIDLen {
		return fmt.Errorf("parent_service_request_id is %d characters long, more than %d", n, MaxIDLen)
	}
	return nil
}

func (r record) request() (Request, error) {
	if err := r.checkLengths(); err != nil {
		return Request{}, err
	}
	q := Request{
		ID: r.str("service_request_id"), Token: r.str("token"), Status: strings.ToLower(r.str("status")),
		StatusNotes: r.str("status_notes"), ServiceName: r.str("service_name"), ServiceCode: r.str("service_code"),
		Description: r.str("description"), AgencyResponsible: r.str("agency_responsible"),
		ServiceNotice: r.str("service_notice"), Address: r.str("address"), AddressID: r.str("address_id"),
		Zipcode: r.str("zipcode"), MediaURL: r.str("media_url"),
	}
	q.ParentID = r.str("parent_service_request_id")
	if ext, ok := r["extended_attributes"].(map[string]any); ok {
		e := record(ext)
		q.Channel, q.Extended = e.str("channel"), true
		q.ParentID = cmp.Or(e.str("parent_service_request_id"), q.ParentID)
		d := strings.ToLower(e.str("duplicate"))
		q.Duplicate = d == "true" || d == "1" || d == "yes"
	} else if s, ok := r["extended_attributes"].(string); ok && s == "" {
		q.Extended = true // an empty XML element
	}
	req, err := r.time("requested_datetime")
	if err != nil {
		return q, err
	}
	if req != nil {
		q.Requested = *req
	}
	if q.Updated, err = r.time("updated_datetime"); err != nil {
		return q, err
	}
	if q.Expected, err = r.time("expected_datetime"); err != nil {
		return q, err
	}
	if q.Lat, err = r.num("lat"); err != nil {
		return q, err
	}
	if q.Lon, err = r.num("long"); err != nil {
		return q, err
	}
	return q, nil
}

func (r record) service() Service {
	md := strings.ToLower(r.str("metadata"))
	return Service{Code: r.str("service_code"), Name: r.str("service_name"), Description: r.str("description"),
		Metadata: md == "true" || md == "1", Type: r.str("type"), Keywords: r.str("keywords"), Group: r.str("group")}
}

// decodeRecords reads a JSON array of objects, or an XML document whose
// root holds elements named item (request, service).
func decodeRecords(b []byte, item string) ([]record, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	if b[0] == '[' || b[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("bad JSON: %w", err)
		}
		arr, ok := v.([]any)
		if !ok {
			if m, ok := v.(map[string]any); ok {
				// A single object, or {"service_requests": [...]} from some servers.
				for _, k := range []string{"service_requests", "requests", "services", item + "s"} {
					if a, ok := m[k].([]any); ok {
						arr = a
						break
					}
				}
				if arr == nil {
					arr = []any{m}
				}
			}
		}
		var out []record
		for _, x := range arr {
			m, ok := x.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("JSON array holds %T, want objects", x)
			}
			out = append(out, record(m))
		}
		return out, nil
	}
	return decodeXML(b, item)
}

// decodeXML collects the children of every <item> element by name, any
// order, nested elements (extended_attributes) as maps; foreign attributes
// and namespaces are ignored.
func decodeXML(b []byte, item string) ([]record, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = false
	var out []record
	var stack []record
	var names []string
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("bad XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			if name == item && len(stack) == 0 {
				stack = append(stack, record{})
				names = append(names, name)
			} else if len(stack) > 0 {
				stack = append(stack, record{})
				names = append(names, name)
			}
			text.Reset()
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if len(stack) == 0 {
				continue
			}
			cur := stack[len(stack)-1]
			name := names[len(names)-1]
			stack, names = stack[:len(stack)-1], names[:len(names)-1]
			if len(stack) == 0 {
				out = append(out, cur)
				continue
			}
			parent := stack[len(stack)-1]
			if len(cur) > 0 {
				parent[name] = map[string]any(cur)
			} else {
				parent[name] = strings.TrimSpace(text.String())
			}
			text.Reset()
		}
	}
	return out, nil
}

// maxRawLen is the most of an unreadable record's text kept with its
// reject.
const maxRawLen = 4096

// ParseRequests reads a GET requests answer (JSON or XML). Records that
// carry neither an id nor a requested time (a server still processing
// them) are skipped and counted. A record with a value that cannot be read
// comes back with Err and Raw set, so that one bad record does not stop
// the rest from loading.
func ParseRequests(b []byte) (reqs []Request, skipped int, err error) {
	recs, err := decodeRecords(b, "request")
	if err != nil {
		return nil, 0, err
	}
	for i, r := range recs {
		q, err := r.request()
		if err != nil {
			raw, _ := json.Marshal(map[string]any(r))
			if len(raw) > maxRawLen {
				n := maxRawLen
				for n > 0 && !utf8.RuneStart(raw[n]) {
					n-- // cut at a character's start: rejects hold valid UTF-8
				}
				raw = append(raw[:n:n], "…"...)
			}
			q.Err, q.Raw = fmt.Errorf("request %d: %w", i+1, err), string(raw)
			reqs = append(reqs, q)
			continue
		}
		if q.ID == "" || q.Requested.IsZero() {
			skipped++
			continue
		}
		reqs = append(reqs, q)
	}
	return reqs, skipped, nil
}

// ParseServices reads a GET services answer (JSON or XML).
func ParseServices(b []byte) ([]Service, error) {
	recs, err := decodeRecords(b, "service")
	if err != nil {
		return nil, err
	}
	var out []Service
	for _, r := range recs {
		out = append(out, r.service())
	}
	return out, nil
}

// ParseErrors reads an error answer; nil when b holds none.
func ParseErrors(b []byte) []APIError {
	recs, err := decodeRecords(b, "error")
	if err != nil {
		return nil
	}
	var out []APIError
	for _, r := range recs {
		code, _ := strconv.Atoi(r.str("code"))
		if d := r.str("description"); d != "" || code != 0 {
			out = append(out, APIError{Code: code, Description: d})
		}
	}
	return out
}

// ParseDiscovery reads a discovery document (JSON or XML).
func ParseDiscovery(b []byte) (Discovery, error) {
	var d Discovery
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &d); err != nil {
			return d, fmt.Errorf("bad discovery JSON: %w", err)
		}
		return d, nil
	}
	if err := xml.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("bad discovery XML: %w", err)
	}
	return d, nil
}

// GeoReportV2 returns the discovery's GeoReport v2 endpoint of the given
// type (production or test), preferring JSON; ok is false when none.
func (d Discovery) GeoReportV2(typ string) (e Endpoint, ok bool) {
	for _, x := range d.Endpoints {
		if strings.HasSuffix(strings.TrimRight(x.Specification, "/"), "GeoReport_v2") && (typ == "" || x.Type == typ) {
			if !ok {
				e, ok = x, true
			}
			for _, f := range x.Formats {
				if strings.Contains(f, "json") {
					return x, true
				}
			}
		}
	}
	return e, ok
}
