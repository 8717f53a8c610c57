package dump

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/store"
)

//go:embed profiles/*.toml
var profileFS embed.FS

// Profile describes one publisher's dump format: which column holds each
// canonical field, how times are written, and how its channel values map to
// the canonical channels. Profiles are TOML files; the built-in ones are
// embedded and can be printed as a starting point (equity311 profiles --show).
type Profile struct {
	Name        string `toml:"name"`
	Description string `toml:"description"`
	// City is the value of tickets.city for rows loaded with this profile.
	City string `toml:"city"`
	// Timezone is the IANA zone of naive local times.
	Timezone string `toml:"timezone"`
	// TimeFormats are Go layouts tried in order.
	TimeFormats []string `toml:"time_formats"`
	// Bounds is an optional lon/lat box [minLon, minLat, maxLon, maxLat]
	// around the city, used to detect swapped coordinates.
	Bounds []float64 `toml:"bounds"`
	// Detect lists further columns that must be present for automatic
	// detection to pick this profile (they tell a schema from its successor).
	Detect []string `toml:"detect"`
	// Columns maps canonical fields to header names.
	Columns Columns `toml:"columns"`
	// Channels maps raw channel values to canonical channels.
	Channels map[string]string `toml:"channels"`
	// PlaceholderPoints are coordinates the city writes when it has none.
	PlaceholderPoints []LatLon `toml:"placeholder_points"`
	// Exclude lists rows that are not service requests.
	Exclude []Exclusion `toml:"exclude"`
	// Earliest is the earliest plausible opened date, YYYY-MM-DD (default
	// 1990-01-01: before any 311 system); earlier dates, and dates more than
	// two days after the load, are rejected as implausible.
	Earliest string `toml:"earliest"`

	loc      *time.Location
	earliest time.Time
	channels map[string]equity311.Channel // lower-cased raw value → channel
	sum      string                       // checksum of the profile's TOML
}

// Columns names the header of each canonical field.
type Columns struct {
	TicketID  string `toml:"ticket_id"`
	OpenedAt  string `toml:"opened_at"`
	ClosedAt  string `toml:"closed_at"`
	UpdatedAt string `toml:"updated_at"`
	// TargetAt is the service-level target date (the on-time limit).
	TargetAt    string `toml:"target_at"`
	Status      string `toml:"status"`
	ServiceCode string `toml:"service_code"`
	ServiceName string `toml:"service_name"`
	Department  string `toml:"department"`
	Channel     string `toml:"channel"`
	Lat         string `toml:"lat"`
	Lon         string `toml:"lon"`
	// Point is a column holding "(lat, lon)" text, for files without
	// separate coordinate columns.
	Point string `toml:"point"`
	// Duplicate is a true/false column marking a request as a duplicate
	// of another; ParentID the column naming that other request (Chicago's
	// duplicate and parent_sr_number).
	Duplicate string `toml:"duplicate"`
	ParentID  string `toml:"parent_id"`
	// ClosureReason is a free-text column read for the words a city uses
	// when it closes a duplicate (Boston's closure_reason).
	ClosureReason string `toml:"closure_reason"`
}

// LatLon is a point in WGS84 degrees.
type LatLon struct {
	Lat float64 `toml:"lat"`
	Lon float64 `toml:"lon"`
}

// Exclusion drops rows whose column equals one of the values; they are
// counted in sources.rows_excluded, not loaded and not rejected.
type Exclusion struct {
	Column string   `toml:"column"`
	Equals []string `toml:"equals"`
	Reason string   `toml:"reason"`
}

// field is one canonical field and its header.
type field struct {
	name     string
	header   string
	optional bool // read when present; not needed for a profile to fit
}

// fields lists the canonical fields the profile maps, in a fixed order.
func (p *Profile) fields() []field {
	var out []field
	for _, f := range ticketFields {
		if h := f.header(&p.Columns); h != "" {
			out = append(out, field{f.name, h, f.optional})
		}
	}
	return out
}

// ParseProfile reads and checks a profile from TOML.
func ParseProfile(name string, data []byte) (*Profile, error) {
	var p Profile
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&p)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("profile %s: unknown keys %v", name, und)
	}
	if err := p.init(); err != nil {
		return nil, fmt.Errorf("profile %s: %w", name, err)
	}
	p.sum = store.Checksum(data)
	return &p, nil
}

// LoadProfileFile reads a profile from a TOML file.
func LoadProfileFile(path string) (*Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseProfile(path, b)
}

func (p *Profile) init() error {
	if p.Name == "" {
		return fmt.Errorf("name is required")
	}
	if p.City == "" {
		return fmt.Errorf("city is required")
	}
	if p.Columns.TicketID == "" || p.Columns.OpenedAt == "" {
		return fmt.Errorf("columns.ticket_id and columns.opened_at are required")
	}
	if len(p.TimeFormats) == 0 {
		return fmt.Errorf("time_formats is required")
	}
	if p.Bounds != nil && (len(p.Bounds) != 4 || p.Bounds[0] >= p.Bounds[2] || p.Bounds[1] >= p.Bounds[3] ||
		p.Bounds[0] < -180 || p.Bounds[2] > 180 || p.Bounds[1] < -90 || p.Bounds[3] > 90) {
		return fmt.Errorf("bounds %v: want [minLon, minLat, maxLon, maxLat] in degrees, each minimum below its maximum", p.Bounds)
	}
	tz := p.Timezone
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return fmt.Errorf("timezone: %w", err)
	}
	p.loc = loc
	p.earliest = time.Date(1990, 1, 1, 0, 0, 0, 0, loc)
	if p.Earliest != "" {
		if p.earliest, err = time.ParseInLocation("2006-01-02", p.Earliest, loc); err != nil {
			return fmt.Errorf("earliest %q: want YYYY-MM-DD", p.Earliest)
		}
	}
	p.channels = make(map[string]equity311.Channel, len(p.Channels))
	for raw, c := range p.Channels {
		ch, err := equity311.ParseChannel(c)
		if err != nil {
			return fmt.Errorf("channels[%q]: %w", raw, err)
		}
		p.channels[strings.ToLower(strings.TrimSpace(raw))] = ch
	}
	return nil
}

// Channel maps a raw channel value to its canonical channel; ok is false
// when the profile does not know the value.
func (p *Profile) Channel(raw string) (c equity311.Channel, ok bool) {
	c, ok = p.channels[strings.ToLower(strings.TrimSpace(raw))]
	return c, ok
}

// Recorded returns the canonical channels the profile's vocabulary can
// record, in report order: a source whose map has no app channel cannot
// tell app requests from others, and app shares leave it out.
func (p *Profile) Recorded() []string {
	var out []string
	for _, c := range equity311.Channels() {
		for _, m := range p.channels {
			if m == c {
				out = append(out, string(c))
				break
			}
		}
	}
	return out
}

// options are the options of a load through p for sources.options: the
// profile (by name and content) and the city.
func (p *Profile) options(city string) string {
	return store.Options(map[string]string{"profile": p.Name, "profile_sha256": p.sum[:12], "city": city})
}

// Location returns the zone naive times are read in.
func (p *Profile) Location() *time.Location { return p.loc }

// isPlaceholder reports whether lat, lon is one of the city's placeholder points.
func (p *Profile) isPlaceholder(lat, lon float64) bool {
	for _, q := range p.PlaceholderPoints {
		if math.Abs(q.Lat-lat) < 1e-5 && math.Abs(q.Lon-lon) < 1e-5 {
			return true
		}
	}
	return false
}

// inBounds reports whether lon, lat lies in the profile's bounds.
func (p *Profile) inBounds(lon, lat float64) bool {
	b := p.Bounds
	return len(b) == 4 && lon >= b[0] && lon <= b[2] && lat >= b[1] && lat <= b[3]
}

// BuiltinProfiles returns the embedded profiles sorted by name.
func BuiltinProfiles() ([]*Profile, error) {
	entries, err := fs.ReadDir(profileFS, "profiles")
	if err != nil {
		return nil, err
	}
	var ps []*Profile
	for _, e := range entries {
		b, err := profileFS.ReadFile("profiles/" + e.Name())
		if err != nil {
			return nil, err
		}
		p, err := ParseProfile(e.Name(), b)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	return ps, nil
}

// BuiltinProfileSource returns the TOML text of a built-in profile.
func BuiltinProfileSource(name string) ([]byte, error) {
	b, err := profileFS.ReadFile("profiles/" + name + ".toml")
	if err != nil {
		return nil, fmt.Errorf("no built-in profile %q", name)
	}
	return b, nil
}

// FindProfile returns the built-in profile called name, or the profile in
// the TOML file at that path.
func FindProfile(name string) (*Profile, error) {
	ps, err := BuiltinProfiles()
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.Name == name {
			return p, nil
		}
	}
	if strings.HasSuffix(name, ".toml") {
		return LoadProfileFile(name)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	return nil, fmt.Errorf("no profile %q: built-in profiles are %s, or give a .toml file", name, strings.Join(names, ", "))
}

// DetectProfile picks the profile whose columns all appear in header. When
// several fit, the one using the most columns wins. When none fits, the
// error names the closest profiles and the columns they miss.
func DetectProfile(header []string, candidates []*Profile) (*Profile, error) {
	have := map[string]bool{}
	for _, h := range header {
		have[normHeader(h)] = true
	}
	type fit struct {
		p       *Profile
		missing []string
		used    int
	}
	var fits []fit
	for _, p := range candidates {
		f := fit{p: p}
		need := p.Detect
		for _, fl := range p.fields() {
			if !fl.optional {
				need = append(need, fl.header)
			}
		}
		for _, h := range need {
			if have[normHeader(h)] {
				f.used++
			} else if !slices.Contains(f.missing, h) {
				f.missing = append(f.missing, h)
			}
		}
		fits = append(fits, f)
	}
	sort.SliceStable(fits, func(i, j int) bool {
		if len(fits[i].missing) != len(fits[j].missing) {
			return len(fits[i].missing) < len(fits[j].missing)
		}
		return fits[i].used > fits[j].used
	})
	if len(fits) > 0 && len(fits[0].missing) == 0 {
		return fits[0].p, nil
	}
	var b strings.Builder
	b.WriteString("no profile fits this header")
	for i, f := range fits {
		if i == 3 {
			break
		}
		fmt.Fprintf(&b, "; %s lacks %s", f.p.Name, strings.Join(f.missing, ", "))
	}
	return nil, fmt.Errorf("%s", b.String())
}

// normHeader folds a header name for matching: case, surrounding space, a
// byte-order mark, and spaces or dots against underscores do not matter
// ("Unique Key", "unique_key" and "UNIQUE.KEY" match; APIs use the last
// forms of the names dumps write in the first).
func normHeader(h string) string {
	h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
	return strings.NewReplacer(" ", "_", ".", "_").Replace(h)
}
