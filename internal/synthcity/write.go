package synthcity

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// Files are the paths of what Write produced.
type Files struct {
	Dir           string
	Dump          string // 311 requests, Boston legacy schema
	Neighborhoods string // GeoJSON, properties nbhd_id and name
	Tracts        string // GeoJSON, properties GEOID and name
	Census        string // CSV keyed by GEOID, estimates with _moe columns
	Truth         string // truth.json
	Extract       string // with Options.ExtractRows: open requests of app-offered types only
}

// Write writes the city's files into dir (created if needed).
func (c *City) Write(ctx context.Context, dir string) (Files, error) {
	f := Files{
		Dir:           dir,
		Dump:          filepath.Join(dir, "boston311_synthetic.csv"),
		Neighborhoods: filepath.Join(dir, "neighborhoods.geojson"),
		Tracts:        filepath.Join(dir, "tracts.geojson"),
		Census:        filepath.Join(dir, "census_tracts.csv"),
		Truth:         filepath.Join(dir, "truth.json"),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return f, err
	}
	if err := c.writeLayers(f); err != nil {
		return f, err
	}
	if err := c.writeCensus(f.Census); err != nil {
		return f, err
	}
	if err := writeFile(f.Dump, func(w *bufio.Writer) error { return c.WriteDump(ctx, w) }); err != nil {
		return f, fmt.Errorf("write %s: %w", f.Dump, err)
	}
	if c.Options.ExtractRows > 0 {
		f.Extract = filepath.Join(dir, "open_cases_extract.csv")
		if err := writeFile(f.Extract, c.writeExtract); err != nil {
			return f, fmt.Errorf("write %s: %w", f.Extract, err)
		}
	}
	b, err := json.MarshalIndent(c.Truth, "", "  ")
	if err != nil {
		return f, err
	}
	return f, os.WriteFile(f.Truth, append(b, '\n'), 0o644)
}

func writeFile(path string, fn func(*bufio.Writer) error) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(out, 1<<20)
	if err := fn(w); err != nil {
		out.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func (c *City) writeLayers(f Files) error {
	nb := geojson.NewFeatureCollection()
	for _, n := range c.Neighborhoods {
		ft := geojson.NewFeature(n.Geometry)
		ft.Properties["nbhd_id"] = n.ID
		ft.Properties["name"] = n.Name
		nb.Append(ft)
	}
	tr := geojson.NewFeatureCollection()
	for _, t := range c.Tracts {
		ft := geojson.NewFeature(t.Geometry)
		ft.Properties["GEOID"] = t.GEOID
		ft.Properties["name"] = t.Name
		tr.Append(ft)
	}
	for path, fc := range map[string]*geojson.FeatureCollection{f.Neighborhoods: nb, f.Tracts: tr} {
		b, err := fc.MarshalJSON()
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// CensusVariables are the census CSV's variables, in column order.
func CensusVariables() []string {
	return []string{"population", "median_income", "share_65plus", "share_limited_english", "share_broadband",
		"share_white", "share_black", "share_hispanic", "share_asian", "share_other"}
}

func (d Demographics) values() []float64 {
	return []float64{d.Population, d.MedianIncome, d.Share65Plus, d.ShareLimitedEnglish, d.ShareBroadband,
		d.ShareWhite, d.ShareBlack, d.ShareHispanic, d.ShareAsian, d.ShareOther}
}

func (c *City) writeCensus(path string) error {
	return writeFile(path, func(w *bufio.Writer) error {
		w.WriteString("GEOID,NAME")
		for _, v := range CensusVariables() {
			w.WriteString("," + v + "," + v + "_moe")
		}
		for i := range incomeBracketLower {
			fmt.Fprintf(w, ",B19001_%03dE", i+2)
		}
		w.WriteString("\n")
		for _, t := range c.Tracts {
			fmt.Fprintf(w, "%s,%s", t.GEOID, t.Name)
			for k, v := range t.values() {
				moe := 0.03
				switch k {
				case 0:
					moe = math.Round(v * 0.08)
				case 1:
					moe = math.Round(v * 0.12)
				default:
					v = math.Round(v*1e4) / 1e4
				}
				fmt.Fprintf(w, ",%s,%s", strconv.FormatFloat(v, 'f', -1, 64), strconv.FormatFloat(moe, 'f', -1, 64))
			}
			for _, n := range t.IncomeBrackets() {
				fmt.Fprintf(w, ",%d", n)
			}
			w.WriteString("\n")
		}
		return nil
	})
}

// dumpHeader is Boston's legacy export header.
const dumpHeader = "case_enquiry_id,open_dt,target_dt,closed_dt,ontime,case_status,closure_reason,case_title,subject,reason,type,queue,department,submittedphoto,closedphoto,location,fire_district,pwd_district,city_council_district,police_district,neighborhood,neighborhood_services_district,ward,precinct,location_street_name,location_zipcode,latitude,longitude,source"

// Boston's source values for each planted channel.
const (
	srcApp         = "Citizens Connect App"
	srcPhone       = "Constituent Call"
	srcWeb         = "Self Service"
	srcSocial      = "Twitter"
	srcEmployee    = "Employee Generated"
	srcWorkerApp   = "City Worker App"
	srcIntegration = "Maximo Integration"
)

var sourceChannel = map[string]string{
	srcApp: "app", srcPhone: "phone", srcWeb: "web", srcSocial: "social",
	srcEmployee: "employee", srcWorkerApp: "employee", srcIntegration: "integration", "": "unknown",
}

// ticket is one generated request.
type ticket struct {
	id       int64
	tract    int
	service  int
	opened   time.Time
	closed   time.Time // zero when open
	lat, lon float64
	source   string
	dirt     int
	parent   int64 // the incident this request reports again (0: none)
	named    bool  // the closure reason names the parent's case
}

const (
	dirtNone = iota
	dirtMissing
	dirtPlaceholder
	dirtBadDate
	dirtDuplicate
)

// WriteDump draws the tickets week by week and writes them in Boston's
// legacy schema, with the dirt real dumps have. It fills c.Truth's counts.
// Drawing (one random stream, so in order) and formatting run on two
// goroutines, a week apart: the file is the same as drawn and written in
// one.
func (c *City) WriteDump(ctx context.Context, w *bufio.Writer) error {
	tr := &c.Truth
	tr.ChannelCounts = map[string]int{}
	w.WriteString(dumpHeader + "\n")
	weeks := make(chan []ticket, 1)
	formatted := make(chan struct{})
	go func() {
		defer close(formatted)
		var line []byte
		for ts := range weeks {
			line = c.writeWeek(w, line, ts)
		}
	}()
	err := c.generate(ctx, func(ts []ticket) error {
		select {
		case weeks <- ts:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(weeks)
	<-formatted
	return err
}

// writeWeek writes one week's rows, then the stale versions of some of
// them, and counts them in c.Truth. line is a reusable buffer.
func (c *City) writeWeek(w *bufio.Writer, line []byte, ts []ticket) []byte {
	tr := &c.Truth
	var stale []ticket
	for k := range ts {
		t := &ts[k]
		line = c.appendRow(line[:0], t, false)
		w.Write(line)
		tr.Rows++
		switch t.dirt {
		case dirtBadDate:
			tr.Dirt.MalformedDates++
			continue
		case dirtMissing:
			tr.Dirt.MissingCoords++
		case dirtPlaceholder:
			tr.Dirt.Placeholder++
		case dirtDuplicate:
			tr.Dirt.Duplicates++
			stale = append(stale, *t)
		}
		if t.source == "" {
			tr.Dirt.BlankSource++
		}
		tr.Tickets++
		tr.ChannelCounts[sourceChannel[t.source]]++
	}
	// Older versions of some tickets come later in the file: the
	// still-open copy of a ticket that has since closed, or an exact copy.
	for k := range stale {
		line = c.appendRow(line[:0], &stale[k], true)
		w.Write(line)
		tr.Rows++
	}
	return line
}

// Ticket is one generated request as a city's systems hold it, before a
// dump's dirt: what an Open311 feed of the city serves.
type Ticket struct {
	ID       string
	Opened   time.Time
	Closed   time.Time // zero while open
	Lat, Lon float64
	Service  Service
	Channel  string // canonical channel, "unknown" when none was recorded
	Tract    int
}

// Tickets draws the same tickets as WriteDump (for a City made with the
// same options) and hands them to fn week by week.
func (c *City) Tickets(ctx context.Context, fn func([]Ticket) error) error {
	return c.generate(ctx, func(ts []ticket) error {
		out := make([]Ticket, len(ts))
		for k, t := range ts {
			out[k] = Ticket{ID: strconv.FormatInt(t.id, 10), Opened: t.opened, Closed: t.closed, Lat: t.lat, Lon: t.lon,
				Service: c.Services[t.service], Channel: sourceChannel[t.source], Tract: t.tract}
		}
		return fn(out)
	})
}

// generate draws the tickets week by week, in time order, with their ids.
func (c *City) generate(ctx context.Context, fn func([]ticket) error) error {
	rng := c.rng
	// Per tract: weight, and the cumulative type mix.
	nS := len(c.Services)
	tractW := make([]float64, len(c.Tracts))
	typeCum := make([][]float64, len(c.Tracts))
	for ti, t := range c.Tracts {
		cum := make([]float64, nS)
		s := 0.0
		for si, sv := range c.Services {
			wt := sv.Weight
			if sv.AppOffered {
				wt *= t.AppMix
			}
			s += wt
			cum[si] = s
		}
		typeCum[ti] = cum
		tractW[ti] = t.Population * t.Need * s
	}
	tractCum := make([]float64, len(tractW))
	s := 0.0
	for i, v := range tractW {
		s += v
		tractCum[i] = s
	}
	pick := func(cum []float64) int {
		u := rng.Float64() * cum[len(cum)-1]
		i, _ := slices.BinarySearch(cum, u)
		return min(i, len(cum)-1)
	}
	// Hours of the day, weighted to the working day.
	hourW := []float64{1, 0.5, 0.3, 0.3, 0.4, 0.8, 2, 4, 6, 7, 7, 7, 6.5, 6.5, 6, 6, 5.5, 5, 4, 3.5, 3, 2.5, 2, 1.5}
	hourCum := make([]float64, 24)
	hs := 0.0
	for i, v := range hourW {
		hs += v
		hourCum[i] = hs
	}
	var id int64 = 101000000000
	// Duplicates: their own random stream and ids, and those falling in a
	// later week wait for it.
	dupRNG := c.dupRNG(2)
	if c.Truth.Reporting != nil {
		c.Truth.Reporting.Duplicates = 0
	}
	var dupID int64 = 301000000000
	pending := map[int][]ticket{}
	perWeek := float64(c.Options.Tickets) / float64(c.Options.Weeks)
	for week := 0; week < c.Options.Weeks; week++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := int(math.Round(perWeek * (1 + 0.04*math.Sin(float64(week)))))
		weekStart := c.Start.AddDate(0, 0, 7*week)
		ts := make([]ticket, n)
		for k := range ts {
			t := &ts[k]
			t.tract = pick(tractCum)
			t.service = pick(typeCum[t.tract])
			hour := pick(hourCum)
			t.opened = time.Date(weekStart.Year(), weekStart.Month(), weekStart.Day()+rng.IntN(7), hour, rng.IntN(60), rng.IntN(60), 0, c.Location)
			t.lon, t.lat = c.pointIn(t.tract)
			t.source = c.channel(rng, &c.Tracts[t.tract], c.Services[t.service], week)
			if rng.Float64() < 0.95 {
				sv := c.Services[t.service]
				days := rng.ExpFloat64() * sv.closeMean() * channelCloseFactor[sourceChannel[t.source]]
				if cl := t.opened.Add(time.Duration(days * float64(24*time.Hour))); cl.Before(c.End) {
					t.closed = cl.Truncate(time.Second)
				}
			}
			switch u := rng.Float64(); {
			case u < 0.010:
				t.dirt = dirtMissing
			case u < 0.025:
				t.dirt = dirtPlaceholder
			case u < 0.026:
				t.dirt = dirtBadDate
			case u < 0.031:
				t.dirt = dirtDuplicate
			}
		}
		slices.SortFunc(ts, func(a, b ticket) int { return a.opened.Compare(b.opened) })
		for k := range ts {
			id++
			ts[k].id = id
		}
		if c.Options.Duplicates {
			ts = c.reportAgain(dupRNG, ts, week, pending, &dupID)
		}
		if err := fn(ts); err != nil {
			return err
		}
	}
	return nil
}

// reportAgain draws the duplicates of the week's resident requests while
// each is open (a Poisson process at the tract's rate times the type's
// factor, cut at the city's end), adds those of this week and of earlier
// weeks' incidents that fall in it, and returns the week sorted by time.
func (c *City) reportAgain(rng *rand.Rand, ts []ticket, week int, pending map[int][]ticket, id *int64) []ticket {
	tr := c.Truth.Reporting
	n := len(ts)
	for k := 0; k < n; k++ {
		inc := ts[k]
		if inc.dirt == dirtBadDate || sourceChannel[inc.source] == "employee" {
			continue
		}
		sv := c.Services[inc.service]
		until := c.End
		if !inc.closed.IsZero() && inc.closed.Before(until) {
			until = inc.closed
		}
		rate := c.Tracts[inc.tract].ReportRate * tr.TypeFactor[sv.Name] // per day
		at := inc.opened
		for {
			at = at.Add(time.Duration(rng.ExpFloat64() / rate * float64(24*time.Hour)))
			if !at.Before(until) {
				break
			}
			*id++
			d := ticket{id: *id, tract: inc.tract, service: inc.service, opened: at.Truncate(time.Second), parent: inc.id,
				named: rng.Float64() < tr.NamedShare, lat: inc.lat, lon: inc.lon}
			if !d.opened.After(inc.opened) {
				d.opened = inc.opened.Add(time.Second)
			}
			// Within about 20 m of the first report, in the same tract.
			for try := 0; try < 8; try++ {
				p := orb.Point{round6(inc.lon + (rng.Float64()-0.5)*0.0004), round6(inc.lat + (rng.Float64()-0.5)*0.0003)}
				if c.shapes[inc.tract].contains(p) {
					d.lon, d.lat = p[0], p[1]
					break
				}
			}
			w := int(d.opened.Sub(c.Start) / (7 * 24 * time.Hour))
			d.source = c.channel(rng, &c.Tracts[d.tract], sv, w)
			d.closed = d.opened.Add(time.Duration(5+rng.IntN(180)) * time.Minute)
			if !d.closed.Before(c.End) {
				d.closed = c.End.Add(-time.Second)
			}
			tr.Duplicates++
			if w == week {
				ts = append(ts, d)
			} else {
				pending[w] = append(pending[w], d)
			}
		}
	}
	ts = append(ts, pending[week]...)
	delete(pending, week)
	slices.SortStableFunc(ts, func(a, b ticket) int { return a.opened.Compare(b.opened) })
	return ts
}

// channel draws the source value of one request.
func (c *City) channel(rng *rand.Rand, t *Tract, s Service, week int) string {
	u := rng.Float64()
	if u < s.Employee {
		if rng.IntN(2) == 0 {
			return srcEmployee
		}
		return srcWorkerApp
	}
	if s.Department == "PWDx" && rng.Float64() < 0.004 {
		return srcIntegration
	}
	if rng.Float64() < 0.002 {
		return ""
	}
	if s.AppOffered && rng.Float64() < c.appProbability(t, week) {
		return srcApp
	}
	switch v := rng.Float64(); {
	case v < 0.22:
		return srcWeb
	case v < 0.24:
		return srcSocial
	}
	return srcPhone
}

// pointIn draws a uniform point inside a tract.
func (c *City) pointIn(ti int) (lon, lat float64) {
	b := c.shapes[ti].bound
	for {
		// Rounded as the dump writes it, then tested: the written point is inside.
		p := orb.Point{round6(b.Min[0] + c.rng.Float64()*(b.Max[0]-b.Min[0])), round6(b.Min[1] + c.rng.Float64()*(b.Max[1]-b.Min[1]))}
		if c.shapes[ti].contains(p) {
			return p[0], p[1]
		}
	}
}

const localLayout = "2006-01-02 15:04:05"

// appendRow formats one dump row. stale writes the ticket's older version:
// still open if it has closed since.
func (c *City) appendRow(b []byte, t *ticket, stale bool) []byte {
	s := c.Services[t.service]
	tract := &c.Tracts[t.tract]
	nb := c.Neighborhoods[tract.Neighborhood]
	closed := t.closed
	if stale {
		closed = time.Time{}
	}
	b = strconv.AppendInt(b, t.id, 10)
	b = append(b, ',')
	if t.dirt == dirtBadDate {
		b = append(b, []string{"2023-02-30 25:61:00", "N/A", "13/45/2023 10:00"}[t.id%3]...)
	} else {
		b = t.opened.AppendFormat(b, localLayout)
	}
	b = append(b, ',')
	target := t.opened.Add(time.Duration(s.targetDays() * float64(24*time.Hour)))
	b = target.AppendFormat(b, localLayout)
	b = append(b, ',')
	status, ontime := "Open", "ONTIME"
	if !closed.IsZero() {
		b = closed.AppendFormat(b, localLayout)
		status = "Closed"
		if closed.After(target) {
			ontime = "OVERDUE"
		}
	}
	b = append(b, ',')
	b = append(b, ontime...)
	b = append(b, ',')
	b = append(b, status...)
	b = append(b, ',')
	if status == "Closed" && t.parent != 0 && t.named {
		b = append(b, "Case Noted. Duplicate of Existing Case #"...)
		b = strconv.AppendInt(b, t.parent, 10)
	} else if status == "Closed" && t.parent != 0 {
		b = append(b, "Duplicate request"...)
	} else if status == "Closed" {
		b = append(b, "Case Resolved"...)
	} else {
		b = append(b, ' ')
	}
	b = append(b, ',')
	b = appendCSV(b, s.Name)
	b = append(b, ',')
	b = appendCSV(b, s.Subject)
	b = append(b, ',')
	b = appendCSV(b, s.Reason)
	b = append(b, ',')
	b = appendCSV(b, s.Name)
	b = append(b, ',')
	b = append(b, s.Department...)
	b = append(b, "_Queue,"...)
	b = append(b, s.Department...)
	b = append(b, ",,,"...)
	street := streetName(t.tract)
	num := 1 + (t.id*7919)%400
	b = strconv.AppendInt(b, num, 10)
	b = append(b, ' ')
	b = append(b, street...)
	b = append(b, "  Boston  MA  ,"...)
	b = append(b, " , , , ,"...) // fire, pwd, council, police districts
	b = appendCSV(b, nb.Name)
	b = append(b, ", , , ,"...) // nsd, ward, precinct
	b = strconv.AppendInt(b, num, 10)
	b = append(b, ' ')
	b = append(b, street...)
	b = append(b, ",,"...)
	switch t.dirt {
	case dirtMissing:
		b = append(b, ","...)
	case dirtPlaceholder:
		b = append(b, "42.3594,-71.0587"...)
	default:
		b = strconv.AppendFloat(b, t.lat, 'f', 6, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, t.lon, 'f', 6, 64)
	}
	b = append(b, ',')
	b = append(b, t.source...)
	return append(b, '\n')
}

func streetName(tract int) string {
	names := []string{"Elm", "Harbor", "Main", "Summer", "Winter", "Forge", "Canal", "Maple", "Ridge", "Mill"}
	return names[tract%len(names)] + " St"
}

func appendCSV(b []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\n\r") {
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(s, `"`, `""`)...)
	return append(b, '"')
}

// writeExtract writes other requests than the dump's, as a portal's
// "open cases" view of two app-offered types publishes them: every one
// open, all of two types, over the city's weeks. It draws from its own
// random source, so the dump is the same with or without it.
func (c *City) writeExtract(w *bufio.Writer) error {
	saved := c.rng
	c.rng = rand.New(rand.NewPCG(c.Options.Seed, 0xe7a))
	defer func() { c.rng = saved }()
	var offered []int
	for si, s := range c.Services {
		if s.AppOffered && len(offered) < 2 {
			offered = append(offered, si)
		}
	}
	w.WriteString(dumpHeader + "\n")
	var line []byte
	id := int64(901000000000)
	for k := 0; k < c.Options.ExtractRows; k++ {
		week := k * c.Options.Weeks / c.Options.ExtractRows
		start := c.Start.AddDate(0, 0, 7*week)
		t := ticket{id: id + int64(k), tract: c.rng.IntN(len(c.Tracts)), service: offered[c.rng.IntN(len(offered))],
			opened: time.Date(start.Year(), start.Month(), start.Day()+c.rng.IntN(7), 9+c.rng.IntN(8), c.rng.IntN(60), 0, 0, c.Location)}
		t.lon, t.lat = c.pointIn(t.tract)
		t.source = c.channel(c.rng, &c.Tracts[t.tract], c.Services[t.service], week)
		line = c.appendRow(line[:0], &t, false)
		w.Write(line)
	}
	return nil
}
