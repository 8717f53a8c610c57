package analysis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/geo"
	"github.com/equity311/equity311/store"
)

// areaData is one area's requests in the period, for one city.
type areaData struct {
	Layer, ID, Name string
	Counts          results.Counts // every request, by channel
	AppCounts       results.Counts // requests from sources that can record the app, by channel
	// By request type and by week: resident requests from sources that
	// can record the app (base) and the app ones among them.
	types map[string]*pair
	weeks map[int64]*weekCounts // by the week's start, in Unix seconds
	// By request type and calendar year (in the city's zone), and by year.
	typeYears map[typeYear]*pair
	years     map[int]*pair
}

// typeYear is a request type in a calendar year: a cell of the adjusted
// models.
type typeYear struct {
	service string
	year    int
}

// pair is a base count and the app requests among it.
type pair struct{ base, app int64 }

// weekCounts are one week's resident requests from sources that record
// the app, by channel.
type weekCounts struct {
	pair
	channels results.Counts
}

func newArea(layer, id, name string) *areaData {
	return &areaData{Layer: layer, ID: id, Name: name, Counts: results.Counts{}, AppCounts: results.Counts{},
		types: map[string]*pair{}, weeks: map[int64]*weekCounts{}, typeYears: map[typeYear]*pair{}, years: map[int]*pair{}}
}

// cityData is a city's requests by area of every layer, and citywide.
type cityData struct {
	name   string
	city   *areaData
	layers map[string][]*areaData // areas in id order
	byID   map[string]map[string]*areaData
	weeks  []time.Time // the period's weeks (local Mondays), in order
	run    results.CityRun
	// contiguity caches each layer's queen neighbours.
	contiguity map[string][][]int
}

// weekNumbers numbers the period's weeks in SQL by their local Monday:
// from the first week's start at 7-day steps, corrected by the list of
// starts where a DST change moves a boundary by an hour (cheaper than
// converting every request to local time, and independent of the
// database session's time zone).
type weekNumbers struct {
	weeks  []time.Time // the period's weeks (local Mondays), in order
	starts []int64     // every week's start and the last one's end, Unix seconds
}

func numberWeeks(p equity311.Period, loc *time.Location) weekNumbers {
	var wn weekNumbers
	wk := equity311.Week(p.From.In(loc)).From
	for ; wk.Before(p.To); wk = wk.AddDate(0, 0, 7) {
		wn.weeks = append(wn.weeks, wk)
		wn.starts = append(wn.starts, wk.Unix())
	}
	wn.starts = append(wn.starts, wk.Unix()) // the end of the last week
	return wn
}

// approx is the week number, 0 for the first, of the instant e (Unix
// seconds) counted in 7-day steps: off by one within an hour of a week's
// start across a DST change.
func (wn weekNumbers) approx(e string) string {
	return "floor((" + e + " - " + strconv.FormatInt(wn.starts[0], 10) + ") / 604800)::INTEGER"
}

// exact corrects approx (w0) of e by the weeks' starts.
func (wn weekNumbers) exact(e, w0 string) string {
	list := make([]string, len(wn.starts))
	for i, s := range wn.starts {
		list[i] = strconv.FormatInt(s, 10)
	}
	starts := "[" + strings.Join(list, ", ") + "]"
	return "CASE WHEN " + e + " < " + starts + "[" + w0 + " + 1] THEN " + w0 + " - 1 WHEN " + w0 + " + 2 <= " + strconv.Itoa(len(wn.starts)) +
		" AND " + e + " >= " + starts + "[" + w0 + " + 2] THEN " + w0 + " + 1 ELSE " + w0 + " END"
}

// aggregate counts the period's requests per city, layer, area, week,
// type, channel and whether the source can record the app: two passes over
// the tickets, one by city cell (cityCells) and one by area and cell.
// Every area of every layer gets a row for a city with requests in that
// layer (for a store of one city: every layer).
func aggregate(ctx context.Context, st *store.Store, p equity311.Period, loc *time.Location, layers []*geo.Layer, set sourceSet) ([]*cityData, error) {
	wn := numberWeeks(p, loc)
	weeks := wn.weeks
	// Calendar years in the city's zone, likewise from the instants at
	// which they start (a time zone conversion per request costs more than
	// the rest of the query).
	yearOf := strconv.Itoa(p.From.In(loc).Year())
	for y := p.From.In(loc).Year() + 1; y <= p.To.In(loc).Year(); y++ {
		at := time.Date(y, time.January, 1, 0, 0, 0, 0, loc).Unix()
		yearOf = fmt.Sprintf("CASE WHEN epoch(t.opened_at) < %d THEN %s ELSE %d END", at, yearOf, y)
	}
	base := `WITH t AS (
		SELECT t.city, t.ticket_no, coalesce(t.service_code, '') AS service, t.channel,
			coalesce(s.records_app, true) AS capable, epoch(t.opened_at) AS e,
			` + wn.approx("epoch(t.opened_at)") + ` AS w0,
			(` + yearOf + `)::INTEGER AS yr
		FROM tickets t LEFT JOIN sources s ON s.source_id = t.source_id
		WHERE t.opened_at >= $1 AND t.opened_at < $2` + set.where("t.source_id") + `),
	tw AS (
		SELECT city, ticket_no, service, channel, capable, yr, ` + wn.exact("e", "w0") + ` AS week
		FROM t)
	`
	cities := map[string]*cityData{}
	seenLayer := map[string]map[string]bool{} // city → layers with requests
	type key struct{ city, layer, area string }
	areas := map[key]*areaData{}
	get := func(city, layer, area string) *areaData {
		k := key{city, layer, area}
		a := areas[k]
		if a == nil {
			a = newArea(layer, area, area)
			areas[k] = a
		}
		return a
	}
	// add counts n requests of cell c in an area (the city's own row for
	// the city layer).
	add := func(layer, area string, c *cityCell, n int64) error {
		city, service, channel, capable, week, year := c.city, c.service, c.channel, c.capable, c.week, c.year
		if cities[city] == nil {
			cities[city] = &cityData{name: city, layers: map[string][]*areaData{}, byID: map[string]map[string]*areaData{}}
			seenLayer[city] = map[string]bool{}
		}
		seenLayer[city][layer] = true
		a := get(city, layer, area)
		ch := equity311.Channel(channel)
		a.Counts[ch] += n
		if !capable {
			return nil
		}
		a.AppCounts[ch] += n
		if r, ok := ch.ResidentInitiated(); !ok || !r {
			return nil
		}
		if week < 0 || week >= len(weeks) {
			return fmt.Errorf("aggregate requests: week %d outside the period's %d weeks", week, len(weeks))
		}
		wk := weeks[week]
		tp := a.types[service]
		if tp == nil {
			tp = &pair{}
			a.types[service] = tp
		}
		w := a.weeks[wk.Unix()]
		if w == nil {
			w = &weekCounts{channels: results.Counts{}}
			a.weeks[wk.Unix()] = w
		}
		ty := a.typeYears[typeYear{service, year}]
		if ty == nil {
			ty = &pair{}
			a.typeYears[typeYear{service, year}] = ty
		}
		yr := a.years[year]
		if yr == nil {
			yr = &pair{}
			a.years[year] = yr
		}
		tp.base += n
		w.base += n
		ty.base += n
		yr.base += n
		w.channels[ch] += n
		if ch == equity311.App {
			tp.app += n
			w.app += n
			ty.app += n
			yr.app += n
		}
		return nil
	}
	cells, err := cityCells(ctx, st, base, p, cellHash)
	if err != nil {
		return nil, err
	}
	for _, c := range cells.list {
		if err := add(results.CityLayer, c.city, c, c.n); err != nil {
			return nil, err
		}
	}
	// Each request's places, by number: the requests are counted by place
	// set and city cell (the cell's hash), one row per request joined, and
	// the few sets' counts are added up per area (place_sets); areas and
	// cells are named here, so the join carries integers, not strings.
	areaOf := map[int32]struct{ layer, id string }{}
	for _, l := range layers {
		for i, no := range l.Nos {
			areaOf[no] = struct{ layer, id string }{l.Name, l.IDs[i]}
		}
	}
	rows, err := st.DB().QueryContext(ctx, base+`SELECT ps.area_no, g.h, sum(g.n)::BIGINT
		FROM (SELECT s.set_no, x.h, count(*) AS n
			FROM (SELECT ticket_no, `+cells.hash+` AS h FROM tw) x JOIN ticket_place_sets s ON s.ticket_no = x.ticket_no GROUP BY ALL) g
		JOIN place_sets ps USING (set_no) GROUP BY ALL`, p.From, p.To, cells.salt)
	if err != nil {
		return nil, fmt.Errorf("aggregate requests by area: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var no int32
		var h uint64
		var n int64
		if err := rows.Scan(&no, &h, &n); err != nil {
			return nil, err
		}
		a, ok := areaOf[no]
		c := cells.byHash[h]
		if !ok || c == nil {
			return nil, fmt.Errorf("aggregate requests by area: area %d or cell %x unknown", no, h)
		}
		if err := add(a.layer, a.id, c, n); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []*cityData
	for _, name := range sortedKeys(cities) {
		c := cities[name]
		c.city = get(name, results.CityLayer, name)
		c.city.Name = name
		for _, l := range layers {
			if len(cities) > 1 && !seenLayer[name][l.Name] {
				continue // another city's layer
			}
			c.byID[l.Name] = map[string]*areaData{}
			for i, id := range l.IDs {
				a := get(name, l.Name, id)
				a.Name = l.Names[i]
				c.layers[l.Name] = append(c.layers[l.Name], a)
				c.byID[l.Name][id] = a
			}
		}
		c.weeks = weeks
		out = append(out, c)
	}
	return out, nil
}

// cityCell is one city-level count of aggregate: the period's requests of a
// city in one week, calendar year, type and channel, from sources that can
// or cannot record the app.
type cityCell struct {
	city, service, channel string
	capable                bool
	week, year             int
	n                      int64
}

// cityCellSet is the cities' cells, with the hash that names each in the
// count by area.
type cityCellSet struct {
	list   []*cityCell
	byHash map[uint64]*cityCell
	hash   string // the SQL of the hash, on tw's columns and the salt $3
	salt   int64
}

// cellHash is the SQL of a city cell's hash, on tw's columns and a salt ($3).
const cellHash = "hash(city, service, channel, capable, yr, week, $3::BIGINT)"

// cityCells counts the requests of query base's tw by city cell, with each
// cell's hash (the SQL hash, usually cellHash). A hash two cells share
// (never seen; 64 bits over a few thousand cells) is drawn again with the
// next salt, so a cell's counts by area are never merged with another's.
func cityCells(ctx context.Context, st *store.Store, base string, p equity311.Period, hash string) (cityCellSet, error) {
	for salt := int64(0); salt < 8; salt++ {
		out := cityCellSet{byHash: map[uint64]*cityCell{}, hash: hash, salt: salt}
		rows, err := st.DB().QueryContext(ctx, base+`SELECT city, service, channel, capable, week, yr, `+hash+`, count(*) FROM tw GROUP BY ALL`, p.From, p.To, salt)
		if err != nil {
			return out, fmt.Errorf("aggregate requests: %w", err)
		}
		unique := true
		for rows.Next() {
			c := &cityCell{}
			var h uint64
			if err := rows.Scan(&c.city, &c.service, &c.channel, &c.capable, &c.week, &c.year, &h, &c.n); err != nil {
				rows.Close()
				return out, err
			}
			if out.byHash[h] != nil {
				unique = false
			}
			out.list = append(out.list, c)
			out.byHash[h] = c
		}
		err = rows.Close()
		if err == nil {
			err = rows.Err()
		}
		if err != nil {
			return out, fmt.Errorf("aggregate requests: %w", err)
		}
		if unique {
			return out, nil
		}
	}
	return cityCellSet{}, errors.New("aggregate requests: the cells' hashes collide under 8 salts")
}

// years returns the calendar years with resident requests from sources
// that record the app, in order.
func (c *cityData) years() []int {
	var out []int
	for y, p := range c.city.years {
		if p.base > 0 {
			out = append(out, y)
		}
	}
	slices.Sort(out)
	return out
}

// layerNames returns the city's layers in name order.
func (c *cityData) layerNames() []string { return sortedKeys(c.layers) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// weekLabel is an ISO week's label, e.g. "2026-W47".
func weekLabel(t time.Time) string {
	y, w := t.ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// open311Offered returns, per city, the request types its Open311 service
// lists offer (the app's menu), when a feed of the city was synced.
func open311Offered(ctx context.Context, st *store.Store) (map[string]map[string]bool, error) {
	rows, err := st.DB().QueryContext(ctx, `SELECT DISTINCT o.city, s.service_code FROM open311_services s
		JOIN (SELECT DISTINCT city, endpoint FROM open311_seen) o USING (endpoint) WHERE s.app_offered`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]bool{}
	for rows.Next() {
		var city, code string
		if err := rows.Scan(&city, &code); err != nil {
			return nil, err
		}
		if out[city] == nil {
			out[city] = map[string]bool{}
		}
		out[city][strings.TrimSpace(code)] = true
	}
	return out, rows.Err()
}
