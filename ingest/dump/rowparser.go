package dump

import (
	"bytes"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/store"
)

// reject is one row that did not load, or one the profile excludes.
type reject struct {
	store.Reject
	excluded bool // not a reject: the profile excludes the row
	// layout is 1 + the index of the time layout the row's opened time
	// matched, for a row that loads; 0 otherwise.
	layout int
}

func rejectAt(line int, field, reason string) reject {
	return reject{Reject: store.Reject{Line: int64(line), Field: field, Reason: reason}}
}

// The canonical fields a profile can map to columns.
const (
	fTicketID = iota
	fOpenedAt
	fClosedAt
	fUpdatedAt
	fTargetAt
	fStatus
	fServiceCode
	fServiceName
	fDepartment
	fChannel
	fLat
	fLon
	fPoint
	fDuplicate
	fParentID
	fClosureReason
	numFields
)

// ticketFields names each canonical field and reads its header from a
// profile's Columns: the one list of what a dump can hold, in this order.
var ticketFields = [numFields]struct {
	name   string
	header func(*Columns) string
	// optional fields are read when the file has their column: a city's
	// older exports may lack it, and the profile still fits them.
	optional bool
}{
	fTicketID:      {"ticket_id", func(c *Columns) string { return c.TicketID }, false},
	fOpenedAt:      {"opened_at", func(c *Columns) string { return c.OpenedAt }, false},
	fClosedAt:      {"closed_at", func(c *Columns) string { return c.ClosedAt }, false},
	fUpdatedAt:     {"updated_at", func(c *Columns) string { return c.UpdatedAt }, false},
	fTargetAt:      {"target_at", func(c *Columns) string { return c.TargetAt }, false},
	fStatus:        {"status", func(c *Columns) string { return c.Status }, false},
	fServiceCode:   {"service_code", func(c *Columns) string { return c.ServiceCode }, false},
	fServiceName:   {"service_name", func(c *Columns) string { return c.ServiceName }, false},
	fDepartment:    {"department", func(c *Columns) string { return c.Department }, false},
	fChannel:       {"channel", func(c *Columns) string { return c.Channel }, false},
	fLat:           {"lat", func(c *Columns) string { return c.Lat }, false},
	fLon:           {"lon", func(c *Columns) string { return c.Lon }, false},
	fPoint:         {"point", func(c *Columns) string { return c.Point }, false},
	fDuplicate:     {"duplicate", func(c *Columns) string { return c.Duplicate }, true},
	fParentID:      {"parent_id", func(c *Columns) string { return c.ParentID }, true},
	fClosureReason: {"closure_reason", func(c *Columns) string { return c.ClosureReason }, true},
}

// rowParser turns one CSV record into a staged ticket row. It is
// read-only after newRowParser and safe for concurrent use.
type rowParser struct {
	p       *Profile
	headers []string
	col     [numFields]int // column index of each canonical field, -1 when unmapped
	exclude []exclusion
	ncols   int
	fast    bool // the profile's first time layout is "2006-01-02 15:04:05"
	codes   codeTables
	// Times outside [earliest, latest] are implausible: the profile's
	// earliest date, and two days after the load's clock.
	earliest, latest time.Time
	// layoutRows counts, per time layout, the loaded rows whose opened
	// time it read (converters add their counts as they finish).
	layoutRows []atomic.Int64
}

// codeTables number the channels, bases and geo qualities for packCode,
// once per file rather than once per row.
type codeTables struct {
	channel map[equity311.Channel]int32
	basis   map[equity311.ChannelBasis]int32
	geo     map[equity311.GeoQuality]int32
}

func newCodeTables() codeTables {
	t := codeTables{map[equity311.Channel]int32{}, map[equity311.ChannelBasis]int32{}, map[equity311.GeoQuality]int32{}}
	for i, c := range equity311.Channels() {
		t.channel[c] = int32(i)
	}
	for i, b := range bases() {
		t.basis[b] = int32(i)
	}
	for i, q := range geoQualities() {
		t.geo[q] = int32(i)
	}
	return t
}

type exclusion struct {
	col    int
	values map[string]bool
}

func newRowParser(p *Profile, headers []string, now time.Time) (*rowParser, error) {
	pos := map[string]int{}
	for i, h := range headers {
		if _, dup := pos[normHeader(h)]; !dup {
			pos[normHeader(h)] = i
		}
	}
	rp := &rowParser{p: p, headers: headers, ncols: len(headers), fast: p.TimeFormats[0] == "2006-01-02 15:04:05", codes: newCodeTables(),
		layoutRows: make([]atomic.Int64, len(p.TimeFormats)),
		earliest:   p.earliest, latest: now.Add(48 * time.Hour)}
	for i := range rp.col {
		rp.col[i] = -1
	}
	var missing []string
	for k, f := range ticketFields {
		h := f.header(&p.Columns)
		if h == "" {
			continue
		}
		i, ok := pos[normHeader(h)]
		if !ok && f.optional {
			continue
		}
		if !ok {
			missing = append(missing, fmt.Sprintf("%s (for %s)", h, f.name))
			continue
		}
		rp.col[k] = i
	}
	for _, ex := range p.Exclude {
		i, ok := pos[normHeader(ex.Column)]
		if !ok {
			missing = append(missing, fmt.Sprintf("%s (for exclude)", ex.Column))
			continue
		}
		vals := map[string]bool{}
		for _, v := range ex.Equals {
			vals[strings.ToLower(strings.TrimSpace(v))] = true
		}
		rp.exclude = append(rp.exclude, exclusion{i, vals})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("profile %s needs columns the header lacks: %s", p.Name, strings.Join(missing, ", "))
	}
	return rp, nil
}

// get returns the trimmed text of a canonical field (without a byte-order
// mark), "" when the profile does not map it.
func (rp *rowParser) get(fields [][]byte, f int) string {
	i := rp.col[f]
	if i < 0 {
		return ""
	}
	v := bytes.TrimSpace(fields[i])
	if len(v) >= 3 && v[0] == 0xEF && v[1] == 0xBB && v[2] == 0xBF { // a byte-order mark, left mid-file by cat
		v = bytes.TrimSpace(v[3:])
	}
	return string(v)
}

// duplicateText matches the words a closure reason uses for a duplicate
// ("Duplicate of Existing Case", "Noted Duplicate case", "duplicate
// request"); caseNumber the case it names ("Case #101004289150").
var (
	duplicateText = regexp.MustCompile(`(?i)\b(duplicate[a-z]*(?: of [a-z ]*?case| case| request| report)?|dupe)\b`)
	caseNumber    = regexp.MustCompile(`(?i)\b(?:case|sr|request)\s*(?:#|no\.?|number)?\s*:?\s*(\d{6,})`)
)

// findDuplicateText is duplicateText.FindString, after a scan for the
// letters "dup" that every match begins with (d, u and p fold only to
// their ASCII capitals): most closure reasons have none, and the pattern
// cost a third of converting a row.
func findDuplicateText(text string) string {
	for i := 0; i+3 <= len(text); i++ {
		if text[i]|0x20 == 'd' && text[i+1]|0x20 == 'u' && text[i+2]|0x20 == 'p' {
			return duplicateText.FindString(text)
		}
	}
	return ""
}

// duplicate reads whether the row is a duplicate of another request, and
// which: from the source's own columns (basis "reported") or from its
// closure reason ("text", with the phrase that matched).
func (rp *rowParser) duplicate(fields [][]byte) (basis, parent, pattern string) {
	if rp.col[fParentID] >= 0 || rp.col[fDuplicate] >= 0 {
		p := rp.get(fields, fParentID)
		flag := strings.ToLower(rp.get(fields, fDuplicate))
		marked := flag == "true" || flag == "t" || flag == "yes" || flag == "y" || flag == "1"
		if marked || p != "" && (rp.col[fDuplicate] < 0 || marked) {
			return "reported", p, ""
		}
	}
	if rp.col[fClosureReason] >= 0 {
		text := rp.get(fields, fClosureReason)
		if m := findDuplicateText(text); m != "" {
			if c := caseNumber.FindStringSubmatch(text); c != nil {
				parent = c[1]
			}
			return "text", parent, m
		}
	}
	return "", "", ""
}

// parse fills row from fields, or returns the reason the row is rejected
// (or excluded). A row that loads without one of its values returns a
// Partial reject saying which.
func (rp *rowParser) parse(fields [][]byte, line int, row *[stageCols]driver.Value) (warn reject) {
	layout := -1
	defer func() {
		if layout >= 0 && !warn.excluded && (warn.Reason == "" || warn.Partial) {
			warn.layout = layout + 1
		}
	}()
	bad := func(f int, format string, args ...any) reject {
		name := ""
		if i := rp.col[f]; i >= 0 {
			name = rp.headers[i]
		}
		return rejectAt(line, name, fmt.Sprintf(format, args...))
	}
	for i, f := range fields {
		if !utf8.Valid(f) {
			return rejectAt(line, rp.headers[i], "text is not UTF-8 (Latin-1 or Windows-1252 bytes?)")
		}
	}
	for _, ex := range rp.exclude {
		if ex.values[strings.ToLower(string(bytes.TrimSpace(fields[ex.col])))] {
			return reject{excluded: true}
		}
	}
	id := rp.get(fields, fTicketID)
	if id == "" {
		return bad(fTicketID, "empty ticket id")
	}
	opened, layout, err := rp.timeLayout(rp.get(fields, fOpenedAt))
	if ok := layout >= 0; err != nil || !ok {
		if err == nil {
			err = errors.New("empty")
		}
		return bad(fOpenedAt, "bad opened time: %v", err)
	}
	if opened.Before(rp.earliest) || opened.After(rp.latest) {
		return bad(fOpenedAt, "implausible opened time %s (outside %s..%s)", opened.Format("2006-01-02"), rp.earliest.Format("2006-01-02"), rp.latest.Format("2006-01-02"))
	}
	row[sLine], row[sTicketID], row[sOpenedAt] = int64(line), id, opened
	for _, tf := range [...]struct{ f, col int }{{fClosedAt, sClosedAt}, {fUpdatedAt, sUpdatedAt}, {fTargetAt, sTargetAt}} {
		t, ok, err := rp.time(rp.get(fields, tf.f))
		if err != nil {
			return bad(tf.f, "bad %s time: %v", strings.TrimSuffix(ticketFields[tf.f].name, "_at"), err)
		}
		if !ok {
			continue
		}
		// An impossible close or update time is dropped, not the request:
		// the row loads without it and the reject records what was dropped.
		name := strings.TrimSuffix(ticketFields[tf.f].name, "_at")
		switch {
		case t.Before(opened):
			warn = bad(tf.f, "%s time %s is before the opened time %s: loaded without it", name, t.Format(time.RFC3339), opened.Format(time.RFC3339))
		case t.After(rp.latest) && tf.f != fTargetAt: // a target may lie ahead
			warn = bad(tf.f, "implausible %s time %s (after %s): loaded without it", name, t.Format("2006-01-02"), rp.latest.Format("2006-01-02"))
		default:
			row[tf.col] = t
		}
	}
	for _, sf := range [...]struct{ f, col int }{{fStatus, sStatus}, {fServiceCode, sServiceCode}, {fServiceName, sServiceName}, {fDepartment, sDepartment}} {
		if sf.f == fServiceName && rp.sameServiceColumn() {
			continue // copied from service_code in SQL
		}
		if v := rp.get(fields, sf.f); v != "" {
			row[sf.col] = v
		}
	}
	ch, basis := equity311.Unknown, equity311.BasisNone
	if raw := rp.get(fields, fChannel); raw != "" {
		row[sChannelRaw] = raw
		basis = equity311.BasisReported
		if c, ok := rp.p.Channel(raw); ok {
			ch = c
		}
	}
	lat, lon, q, r := rp.coords(fields, bad)
	if r.Reason != "" {
		return r
	}
	if q != equity311.GeoMissing {
		row[sLat], row[sLon] = lat, lon
	}
	row[sCode] = rp.codes.pack(ch, basis, q)
	if b, parent, pattern := rp.duplicate(fields); b != "" {
		row[sDupBasis] = b
		if parent != "" {
			row[sDupParent] = parent
		}
		if pattern != "" {
			row[sDupPattern] = pattern
		}
	}
	if warn.Reason != "" {
		warn.Partial = true
	}
	return warn
}

// sameServiceColumn reports whether service_code and service_name come
// from one column (Boston's "type").
func (rp *rowParser) sameServiceColumn() bool {
	return rp.col[fServiceCode] >= 0 && rp.col[fServiceCode] == rp.col[fServiceName]
}

// The staged code packs a ticket's channel, channel basis and geo quality:
// channel index × 64 + basis index × 8 + geo index.
func bases() []equity311.ChannelBasis {
	return []equity311.ChannelBasis{equity311.BasisReported, equity311.BasisOpen311, equity311.BasisNone}
}

func geoQualities() []equity311.GeoQuality {
	return []equity311.GeoQuality{"", equity311.GeoOK, equity311.GeoMissing, equity311.GeoDefaultPoint, equity311.GeoOutside, equity311.GeoInvalid}
}

// pack makes the staged code: channel × 64 + basis × 8 + geo quality.
func (t codeTables) pack(ch equity311.Channel, b equity311.ChannelBasis, q equity311.GeoQuality) int32 {
	return t.channel[ch]*64 + t.basis[b]*8 + t.geo[q]
}

// unpackSQL returns SQL expressions turning the staged code back into
// channel, channel_basis, resident_initiated (one string) and geo_quality.
func unpackSQL() (channelCols, geoCol string) {
	var ch, res, bs, geo []string
	for _, c := range equity311.Channels() {
		ch = append(ch, "'"+string(c)+"'")
		switch r, ok := c.ResidentInitiated(); {
		case !ok:
			res = append(res, "NULL")
		case r:
			res = append(res, "true")
		default:
			res = append(res, "false")
		}
	}
	for _, b := range bases() {
		bs = append(bs, "'"+string(b)+"'")
	}
	for _, q := range geoQualities() {
		if q == "" {
			geo = append(geo, "NULL")
		} else {
			geo = append(geo, "'"+string(q)+"'")
		}
	}
	list := func(l []string) string { return "[" + strings.Join(l, ", ") + "]" }
	return fmt.Sprintf("%s[code // 64 + 1], %s[(code // 8) %% 8 + 1], %s[code // 64 + 1]", list(ch), list(bs), list(res)),
		fmt.Sprintf("%s[code %% 8 + 1]", list(geo))
}

// coords reads a row's point. q is empty when the point needs assign.
func (rp *rowParser) coords(fields [][]byte, bad func(int, string, ...any) reject) (lat, lon float64, q equity311.GeoQuality, r reject) {
	var latS, lonS string
	latField, lonField := fLat, fLon
	if rp.col[fPoint] >= 0 {
		latField, lonField = fPoint, fPoint
		pt := strings.Trim(rp.get(fields, fPoint), "()")
		if pt != "" {
			var ok bool
			latS, lonS, ok = strings.Cut(pt, ",")
			if !ok {
				return 0, 0, "", bad(fPoint, "point %q is not \"(lat, lon)\"", pt)
			}
			latS, lonS = strings.TrimSpace(latS), strings.TrimSpace(lonS)
		}
	} else {
		latS, lonS = rp.get(fields, fLat), rp.get(fields, fLon)
	}
	if latS == "" || lonS == "" {
		return 0, 0, equity311.GeoMissing, reject{}
	}
	lat, err := strconv.ParseFloat(latS, 64)
	if err != nil || math.IsNaN(lat) || math.IsInf(lat, 0) {
		return 0, 0, "", bad(latField, "latitude %q is not a number", latS)
	}
	lon, err = strconv.ParseFloat(lonS, 64)
	if err != nil || math.IsNaN(lon) || math.IsInf(lon, 0) {
		return 0, 0, "", bad(lonField, "longitude %q is not a number", lonS)
	}
	switch {
	case lat < -90 || lat > 90:
		return 0, 0, "", bad(latField, "latitude %v out of range", lat)
	case lon < -180 || lon > 180:
		return 0, 0, "", bad(lonField, "longitude %v out of range", lon)
	case lat == 0 && lon == 0:
		return lat, lon, equity311.GeoInvalid, reject{}
	case rp.p.isPlaceholder(lat, lon):
		return lat, lon, equity311.GeoDefaultPoint, reject{}
	case len(rp.p.Bounds) == 4 && !rp.p.inBounds(lon, lat) && rp.p.inBounds(lat, lon):
		return 0, 0, "", bad(latField, "coordinates swapped: latitude %v, longitude %v", lat, lon)
	}
	return lat, lon, "", reject{}
}

// time parses s with the profile's layouts; ok is false for an empty field.
func (rp *rowParser) time(s string) (t time.Time, ok bool, err error) {
	t, layout, err := rp.timeLayout(s)
	return t, layout >= 0, err
}

// timeLayout parses s with the profile's layouts and says which matched:
// its index, -1 for an empty field.
func (rp *rowParser) timeLayout(s string) (t time.Time, layout int, err error) {
	if s == "" {
		return t, -1, nil
	}
	if rp.fast {
		if t, ok := parseISOLocal(s, rp.p.loc); ok {
			return t, 0, nil
		}
	}
	for i, layout := range rp.p.TimeFormats {
		if t, err := time.ParseInLocation(layout, s, rp.p.loc); err == nil {
			return t, i, nil
		}
	}
	return t, -1, fmt.Errorf("%q does not match %s", s, strings.Join(rp.p.TimeFormats, " or "))
}

// parseISOLocal parses exactly "YYYY-MM-DD HH:MM:SS" in loc, the commonest
// layout in city dumps, several times faster than time.ParseInLocation.
// It declines anything else (and out-of-range parts), leaving the general
// parser to accept or reject it.
func parseISOLocal(s string, loc *time.Location) (time.Time, bool) {
	if len(s) != 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for k := i; k < i+n; k++ {
			c := s[k]
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, loc)
	if t.Day() != d { // 31 April and the like: let the general parser reject it
		return time.Time{}, false
	}
	return t, true
}
