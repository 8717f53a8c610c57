// Package synthcity makes a synthetic city for the demo, the tests and the
// benchmarks: about 200 census tracts grouped into 25 irregular
// neighborhoods (one of them an enclave in another's hole, one in two
// parts), tract demographics, a service catalog with 8 app-offered types,
// and tickets whose channel is drawn from a model with planted coefficients.
// It writes what a city publishes — a 311 dump in Boston's legacy schema,
// GeoJSON polygons for both layers, a census CSV — and truth.json with what
// an analysis should recover. The same seed gives the same city.
package synthcity

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// Options configure a synthetic city.
type Options struct {
	Seed    uint64
	Tickets int // approximate number of requests (default 100,000)
	Weeks   int // weeks of requests (default 12)
	// End is the end of the last week (exclusive). Zero means the Monday
	// 00:00 (city time) of the week containing Now().
	End time.Time
	// Now is the clock used when End is zero (default time.Now).
	Now func() time.Time
	// AreaSD is the standard deviation of the tract term in the app-use
	// logit (default 0.10): the overdispersion between areas that
	// intervals must admit.
	AreaSD float64
	// Duplicates plants incidents reported again while open: every
	// resident request is an incident, and further residents report it
	// (through channels drawn as for any request) at a rate per day open
	// that follows the tract's income and share Black, with a tract
	// term; most duplicates name their first report in the closure
	// reason (Truth.Reporting says what was planted).
	Duplicates bool
	// ExtractRows, when positive, also writes an extract of about that many
	// other requests: open ones only, of two app-offered types only (a
	// status- and type-filtered extract, as portals publish "open cases").
	ExtractRows int
}

// Tract is one census tract.
type Tract struct {
	GEOID        string
	Name         string
	Neighborhood int // index into City.Neighborhoods
	Geometry     orb.MultiPolygon
	Demographics
	Need      float64 // relative problem volume per resident
	AppMix    float64 // multiplier on app-offered types in the local request mix
	AreaNoise float64 // tract-level term in the app-use logit
	// ReportRate is the planted duplicate reports per day an incident of
	// type factor 1 stays open (with Options.Duplicates).
	ReportRate float64
	cell       [2]int
}

// Demographics of a tract: what the census CSV publishes.
type Demographics struct {
	Population          float64
	MedianIncome        float64
	Share65Plus         float64
	ShareLimitedEnglish float64
	ShareBroadband      float64
	ShareWhite          float64
	ShareBlack          float64
	ShareHispanic       float64
	ShareAsian          float64
	ShareOther          float64
}

// Neighborhood is a group of tracts.
type Neighborhood struct {
	ID       string
	Name     string
	Geometry orb.MultiPolygon
	Tracts   []int
}

// City is a generated city.
type City struct {
	Options       Options
	Start, End    time.Time
	Location      *time.Location
	Tracts        []Tract
	Neighborhoods []Neighborhood
	Services      []Service
	Truth         Truth
	rng           *rand.Rand
	changed       int     // the neighborhood with the planted change
	shapes        []shape // the tracts' polygons with their rings' boxes, for drawing points
}

// Truth is what the generator planted.
type Truth struct {
	Seed  uint64 `json:"seed"`
	Weeks int    `json:"weeks"`
	Start string `json:"start"`
	End   string `json:"end"`
	// AppLogit: logit P(app | resident request of an app-offered type) =
	// intercept + log_income*ln(median income / 60000) + share_65plus*x +
	// share_limited_english*x + share_broadband*x + share_hispanic*x +
	// share_black*x + share_asian*x + trend_per_week*week (+ change in the
	// last week in one neighborhood) + a tract term with standard
	// deviation area_sd.
	AppLogit map[string]float64 `json:"app_logit"`
	// Change is the jump planted in the app-use logit of one
	// neighborhood's requests in the last week.
	Change Change `json:"change"`
	// TypeMix: in these neighborhoods app-offered types are
	// high_mix_multiplier times as common, with the same app propensity:
	// their raw app share is higher, their type-standardized ratio not.
	TypeMix TypeMix `json:"type_mix"`
	// CloseDays: days to close are exponential with mean type_mean_days
	// (by type) times channel_factor (by channel); the target is
	// target_days after opening.
	CloseDays      CloseDays          `json:"close_days"`
	AppOffered     []string           `json:"app_offered_types"`
	NonAppChannels map[string]float64 `json:"non_app_channel_shares"`
	Dirt           Dirt               `json:"dirt"`
	Reporting      *Reporting         `json:"reporting,omitempty"`
	Rows           int                `json:"rows_written"`
	Tickets        int                `json:"distinct_tickets"`
	EnclaveOf      [2]string          `json:"enclave"`   // [enclave id, host id]
	MultiPart      string             `json:"multipart"` // neighborhood id with two parts
	ChannelCounts  map[string]int     `json:"channel_counts"`
}

// Reporting is the planted reporting rate (Options.Duplicates): an
// incident in tract t of type s is reported again at
// per_day × exp(log_income·ln(income/60000) + share_black·x + tract term)
// × type_factor[s] duplicates per day while open.
type Reporting struct {
	PerDay     float64            `json:"per_day"`
	LogIncome  float64            `json:"log_income"`
	ShareBlack float64            `json:"share_black"`
	AreaSD     float64            `json:"area_sd"`
	TypeFactor map[string]float64 `json:"type_factor"`
	// FifthRatio is the income term's rate in the richest fifth of tracts
	// (by median income, equal numbers of tracts) over the poorest's.
	FifthRatio float64 `json:"fifth_ratio"`
	NamedShare float64 `json:"named_share"` // duplicates whose closure reason names the first report
	Duplicates int     `json:"duplicates_written"`
}

// Planted reporting rates.
const (
	reportPerDay     = 0.03
	reportShareBlack = -0.8
	reportAreaSD     = 0.15
	reportNamed      = 0.8
	reportFifthRatio = 3.0
)

// Change is a planted change in app use.
type Change struct {
	Neighborhood string  `json:"neighborhood"` // id
	Week         string  `json:"week"`         // ISO week, the last of the city
	Logit        float64 `json:"logit"`        // added to the app-use logit
}

// TypeMix is the planted difference in request types between areas.
type TypeMix struct {
	HighMix    []string `json:"high_mix_neighborhoods"`
	Multiplier float64  `json:"high_mix_multiplier"`
}

// CloseDays is the planted time to close.
type CloseDays struct {
	TypeMean      map[string]float64 `json:"type_mean_days"`
	ChannelFactor map[string]float64 `json:"channel_factor"`
	TargetDays    map[string]float64 `json:"target_days"`
}

// Dirt counts the realistic faults written into the dump.
type Dirt struct {
	MissingCoords  int `json:"missing_coordinates"`
	Placeholder    int `json:"placeholder_point"`
	MalformedDates int `json:"malformed_dates"`
	Duplicates     int `json:"duplicate_rows"`
	BlankSource    int `json:"blank_source"`
}

// Planted coefficients.
const (
	betaIntercept = -0.6
	betaLogIncome = 0.8
	beta65        = -2.5
	betaLEP       = -2.0
	betaBroadband = 1.5
	betaHispanic  = -1.0
	betaTrend     = 0.02
	areaSD        = 0.10
	changeLogit   = 2.0 // the planted change in the last week
	mixMultiplier = 2.0 // app-offered types in high-mix neighborhoods
)

// channelCloseFactor scales a type's mean days to close by channel: app
// requests close fastest.
var channelCloseFactor = map[string]float64{"app": 0.6, "web": 0.8, "phone": 1, "social": 1, "employee": 0.9, "integration": 1, "unknown": 1}

// New generates a city. Tickets are drawn when the dump is written.
func New(opt Options) (*City, error) {
	if opt.Tickets <= 0 {
		opt.Tickets = 100_000
	}
	if opt.Weeks <= 0 {
		opt.Weeks = 12
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		return nil, fmt.Errorf("synthetic city time zone: %w", err)
	}
	end := opt.End
	if end.IsZero() {
		n := opt.Now().In(loc)
		d := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
		end = d.AddDate(0, 0, -int(d.Weekday()+6)%7)
	}
	end = end.In(loc)
	c := &City{
		Options:  opt,
		End:      end,
		Start:    end.AddDate(0, 0, -7*opt.Weeks),
		Location: loc,
		Services: catalog(),
		rng:      rand.New(rand.NewPCG(opt.Seed, 0x311)),
	}
	c.layout()
	c.demographics()
	c.Truth = Truth{
		Seed: opt.Seed, Weeks: opt.Weeks,
		Start: c.Start.Format(time.RFC3339), End: c.End.Format(time.RFC3339),
		AppLogit: map[string]float64{
			"intercept": betaIntercept, "log_income": betaLogIncome, "share_65plus": beta65,
			"share_limited_english": betaLEP, "share_broadband": betaBroadband,
			"share_hispanic": betaHispanic, "share_black": 0, "share_asian": 0,
			"trend_per_week": betaTrend, "area_sd": c.areaSD(),
		},
		NonAppChannels: map[string]float64{"web": 0.22, "email": 0.03, "social": 0.02, "walk_in": 0.01, "phone": 0.72},
		EnclaveOf:      c.Truth.EnclaveOf,
		MultiPart:      c.Truth.MultiPart,
	}
	for _, s := range c.Services {
		if s.AppOffered {
			c.Truth.AppOffered = append(c.Truth.AppOffered, s.Name)
		}
	}
	last := c.End.AddDate(0, 0, -7)
	y, w := last.ISOWeek()
	// The change is planted in the neighborhood with the most tracts (the
	// first of them): large enough for one week to show it.
	for k, n := range c.Neighborhoods {
		if len(n.Tracts) > len(c.Neighborhoods[c.changed].Tracts) {
			c.changed = k
		}
	}
	c.Truth.Change = Change{Neighborhood: c.Neighborhoods[c.changed].ID, Week: fmt.Sprintf("%04d-W%02d", y, w), Logit: changeLogit}
	c.Truth.TypeMix.Multiplier = mixMultiplier
	for k, n := range c.Neighborhoods {
		if c.highMix(k) {
			c.Truth.TypeMix.HighMix = append(c.Truth.TypeMix.HighMix, n.ID)
		}
	}
	if opt.Duplicates {
		c.plantReporting()
	}
	c.Truth.CloseDays = CloseDays{TypeMean: map[string]float64{}, ChannelFactor: channelCloseFactor, TargetDays: map[string]float64{}}
	for _, s := range c.Services {
		c.Truth.CloseDays.TypeMean[s.Name] = s.closeMean()
		c.Truth.CloseDays.TargetDays[s.Name] = s.targetDays()
	}
	for _, t := range c.Tracts {
		c.shapes = append(c.shapes, newShape(t.Geometry))
	}
	return c, nil
}

// highMix reports whether neighborhood k requests app-offered types
// mixMultiplier times as often (every third neighborhood).
func (c *City) highMix(k int) bool { return k%3 == 1 }

// layout chooses the city's cells, groups them into neighborhoods and
// builds both polygon layers.
func (c *City) layout() {
	rng := c.rng
	lat := newLattice(rng)
	inCity, cells := outline(rng)
	owner := seedNeighborhoods(rng, cells)
	enclave, host := placeEnclave(cells, inCity, owner)
	// Renumber neighborhoods that still have cells, in cell order.
	renum := map[int]int{}
	for _, cell := range cells {
		if _, ok := renum[owner[cell]]; !ok {
			renum[owner[cell]] = len(renum)
		}
	}
	names := neighborhoodNames()
	for k := 0; k < len(renum); k++ {
		c.Neighborhoods = append(c.Neighborhoods, Neighborhood{ID: fmt.Sprintf("N%02d", k+1), Name: names[k]})
	}
	for _, cell := range cells {
		c.addTract(renum[owner[cell]], orb.MultiPolygon{{lat.cellRing(cell[0], cell[1])}}, cell)
	}
	// An island tract offshore to the east joins the neighborhood of the
	// easternmost cell: a multi-part neighborhood.
	east := cells[0]
	for _, cell := range cells {
		if cell[1] > east[1] || cell[1] == east[1] && cell[0] < east[0] {
			east = cell
		}
	}
	isle := renum[owner[east]]
	x0 := originX + float64(cols)*cellW + 0.6*cellW
	y0 := originY + float64(east[0])*cellH
	island := orb.Ring{
		{round6(x0), round6(y0)}, {round6(x0 + 0.7*cellW), round6(y0 + 0.1*cellH)},
		{round6(x0 + 0.8*cellW), round6(y0 + 0.6*cellH)}, {round6(x0 + 0.2*cellW), round6(y0 + 0.8*cellH)},
		{round6(x0), round6(y0)},
	}
	c.addTract(isle, orb.MultiPolygon{{island}}, [2]int{-1, -1})
	for n := range c.Neighborhoods {
		var ncells [][2]int
		for _, ti := range c.Neighborhoods[n].Tracts {
			if c.Tracts[ti].cell[0] >= 0 {
				ncells = append(ncells, c.Tracts[ti].cell)
			}
		}
		in := func(i, j int) bool {
			o, ok := owner[[2]int{i, j}]
			return ok && inCity[i][j] && renum[o] == n
		}
		mp := lat.unionRings(in, ncells)
		if n == isle {
			mp = append(mp, orb.Polygon{island})
		}
		c.Neighborhoods[n].Geometry = mp
	}
	c.Truth.EnclaveOf = [2]string{c.Neighborhoods[renum[enclave]].ID, c.Neighborhoods[renum[host]].ID}
	c.Truth.MultiPart = c.Neighborhoods[isle].ID
}

// addTract adds a tract of neighborhood n (cell {-1, -1}: off the lattice).
func (c *City) addTract(n int, g orb.MultiPolygon, cell [2]int) {
	t := Tract{GEOID: fmt.Sprintf("25999%04d%02d", 100+len(c.Tracts), 0), Neighborhood: n, Geometry: g, cell: cell}
	t.Name = "Census Tract " + t.GEOID[5:9]
	c.Neighborhoods[n].Tracts = append(c.Neighborhoods[n].Tracts, len(c.Tracts))
	c.Tracts = append(c.Tracts, t)
}

// outline is the city's lattice cells: an ellipse with a ragged edge,
// plus the cells around City Hall.
func outline(rng *rand.Rand) ([][]bool, [][2]int) {
	inCity := make([][]bool, rows)
	hallI := int((cityHall[1] - originY) / cellH)
	hallJ := int((cityHall[0] - originX) / cellW)
	for i := 0; i < rows; i++ {
		inCity[i] = make([]bool, cols)
		for j := 0; j < cols; j++ {
			dx := (float64(j) + 0.5 - cols/2.0) / (cols / 2.0)
			dy := (float64(i) + 0.5 - rows/2.0) / (rows / 2.0)
			r := dx*dx + dy*dy
			inCity[i][j] = r < 1.05+0.25*(rng.Float64()-0.5)
		}
	}
	for di := -1; di <= 1; di++ {
		for dj := -1; dj <= 1; dj++ {
			if i, j := hallI+di, hallJ+dj; i >= 0 && i < rows && j >= 0 && j < cols {
				inCity[i][j] = true
			}
		}
	}
	var cells [][2]int
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			if inCity[i][j] {
				cells = append(cells, [2]int{i, j})
			}
		}
	}
	return inCity, cells
}

// nSeeds is how many neighborhoods the lattice is cut into, before the enclave.
const nSeeds = 24

// seedNeighborhoods gives each cell to the nearest of nSeeds weighted seeds.
func seedNeighborhoods(rng *rand.Rand, cells [][2]int) map[[2]int]int {
	seedIdx := rng.Perm(len(cells))[:nSeeds]
	type seed struct{ x, y, w float64 }
	seeds := make([]seed, nSeeds)
	for k, s := range seedIdx {
		seeds[k] = seed{float64(cells[s][1]), float64(cells[s][0]), 0.7 + 0.6*rng.Float64()}
	}
	owner := map[[2]int]int{}
	for _, cell := range cells {
		best, bestD := 0, math.Inf(1)
		for k, s := range seeds {
			dx, dy := float64(cell[1])-s.x, float64(cell[0])-s.y
			if d := math.Sqrt(dx*dx+dy*dy) / s.w; d < bestD {
				best, bestD = k, d
			}
		}
		owner[cell] = best
	}
	return owner
}

// placeEnclave makes an enclave neighborhood (number nSeeds) of the cell
// nearest the centre whose 8 neighbours are in the city, inside the
// neighborhood that owns it; it returns the enclave and its host.
func placeEnclave(cells [][2]int, inCity [][]bool, owner map[[2]int]int) (enclave, host int) {
	var enclaveCell [2]int
	bestD := math.Inf(1)
	for _, cell := range cells {
		ok := true
		for di := -1; di <= 1; di++ {
			for dj := -1; dj <= 1; dj++ {
				i, j := cell[0]+di, cell[1]+dj
				if i < 0 || i >= rows || j < 0 || j >= cols || !inCity[i][j] {
					ok = false
				}
			}
		}
		dx, dy := float64(cell[1])-cols/3.0, float64(cell[0])-rows/3.0
		if d := dx*dx + dy*dy; ok && d < bestD {
			enclaveCell, bestD = cell, d
		}
	}
	host = owner[enclaveCell]
	for di := -1; di <= 1; di++ {
		for dj := -1; dj <= 1; dj++ {
			owner[[2]int{enclaveCell[0] + di, enclaveCell[1] + dj}] = host
		}
	}
	enclave = nSeeds
	owner[enclaveCell] = enclave
	return enclave, host
}

// field is a smooth random surface over the city: a sum of bumps.
type field struct{ x, y, sx, sy, a []float64 }

func newField(rng *rand.Rand, bumps int) field {
	var f field
	for k := 0; k < bumps; k++ {
		f.x = append(f.x, rng.Float64()*cols)
		f.y = append(f.y, rng.Float64()*rows)
		f.sx = append(f.sx, 2+rng.Float64()*4)
		f.sy = append(f.sy, 2+rng.Float64()*4)
		f.a = append(f.a, rng.Float64()*2-1)
	}
	return f
}

func (f field) at(x, y float64) float64 {
	v := 0.0
	for k := range f.x {
		dx, dy := (x-f.x[k])/f.sx[k], (y-f.y[k])/f.sy[k]
		v += f.a[k] * math.Exp(-(dx*dx+dy*dy)/2)
	}
	return v
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

// demographics draws tract characteristics from smooth fields plus noise,
// with the correlations found in US cities: richer tracts have more
// broadband and fewer limited-English households.
func (c *City) demographics() {
	rng := c.rng
	wealth, age, immig := newField(rng, 6), newField(rng, 4), newField(rng, 5)
	for k := range c.Tracts {
		t := &c.Tracts[k]
		ctr, _ := planar.CentroidArea(t.Geometry)
		x, y := (ctr[0]-originX)/cellW, (ctr[1]-originY)/cellH
		w := wealth.at(x, y) + rng.NormFloat64()*0.25
		im := immig.at(x, y) + rng.NormFloat64()*0.2 - 0.4*w
		d := &t.Demographics
		d.Population = math.Round(clamp(3300+900*rng.NormFloat64(), 900, 7000))
		d.MedianIncome = math.Round(clamp(62000*math.Exp(0.45*w), 18000, 240000)/10) * 10
		d.Share65Plus = clamp(0.13+0.05*age.at(x, y)+0.025*rng.NormFloat64(), 0.03, 0.35)
		d.ShareLimitedEnglish = clamp(0.10+0.08*im+0.03*rng.NormFloat64(), 0, 0.45)
		d.ShareBroadband = clamp(0.82+0.07*w-0.15*d.Share65Plus+0.03*rng.NormFloat64(), 0.45, 0.98)
		white := clamp(0.45+0.25*w-0.15*im+0.08*rng.NormFloat64(), 0.03, 0.92)
		hisp := clamp(0.18+0.15*im+0.05*rng.NormFloat64(), 0.01, 0.7)
		asian := clamp(0.09+0.04*im+0.03*rng.NormFloat64(), 0.005, 0.4)
		black := clamp(0.22-0.15*w+0.08*rng.NormFloat64(), 0.01, 0.8)
		tot := white + hisp + asian + black
		if tot > 0.97 {
			white, hisp, asian, black = white*0.97/tot, hisp*0.97/tot, asian*0.97/tot, black*0.97/tot
			tot = 0.97
		}
		d.ShareWhite, d.ShareHispanic, d.ShareAsian, d.ShareBlack = white, hisp, asian, black
		d.ShareOther = 1 - tot
		t.Need = math.Exp(0.3*rng.NormFloat64() - 0.1*w)
		t.AppMix = math.Exp(0.1 * rng.NormFloat64())
		if c.highMix(t.Neighborhood) {
			t.AppMix *= mixMultiplier
		}
		t.AreaNoise = c.areaSD() * rng.NormFloat64()
	}
}

// AppProbability is the planted probability that a resident request of an
// app-offered type in tract t during week w comes through the app (before
// the planted change, which City.appProbability adds).
func (t *Tract) AppProbability(week int) float64 {
	eta := betaIntercept + betaLogIncome*math.Log(t.MedianIncome/60000) + beta65*t.Share65Plus +
		betaLEP*t.ShareLimitedEnglish + betaBroadband*t.ShareBroadband + betaHispanic*t.ShareHispanic +
		betaTrend*float64(week) + t.AreaNoise
	return 1 / (1 + math.Exp(-eta))
}

// appProbability adds the planted change: in the last week, the changed
// neighborhood's requests come through the app more.
func (c *City) appProbability(t *Tract, week int) float64 {
	p := t.AppProbability(week)
	if week == c.Options.Weeks-1 && t.Neighborhood == c.changed {
		eta := math.Log(p/(1-p)) + changeLogit
		p = 1 / (1 + math.Exp(-eta))
	}
	return p
}

// incomeBracketLower are the lower bounds of ACS table B19001's household
// income brackets (B19001_002 … B19001_017).
var incomeBracketLower = []float64{0, 10000, 15000, 20000, 25000, 30000, 35000, 40000, 45000, 50000, 60000, 75000, 100000, 125000, 150000, 200000}

// IncomeBrackets returns the tract's households by B19001 income bracket:
// about one household per 2.4 residents, incomes log-normal around the
// tract's median (σ 0.8), rounded to whole households.
func (t *Tract) IncomeBrackets() []int {
	households := t.Population / 2.4
	out := make([]int, len(incomeBracketLower))
	cdf := func(x float64) float64 {
		if x <= 0 {
			return 0
		}
		return 0.5 * math.Erfc(-(math.Log(x/t.MedianIncome))/(0.8*math.Sqrt2))
	}
	for i, lo := range incomeBracketLower {
		hi := math.Inf(1)
		if i+1 < len(incomeBracketLower) {
			hi = incomeBracketLower[i+1]
		}
		p := 1 - cdf(lo)
		if !math.IsInf(hi, 1) {
			p = cdf(hi) - cdf(lo)
		}
		out[i] = int(math.Round(households * p))
	}
	return out
}

// areaSD is the tract term's standard deviation.
func (c *City) areaSD() float64 {
	if c.Options.AreaSD > 0 {
		return c.Options.AreaSD
	}
	return areaSD
}

// TrueStandardizedShare is the app share the requests of the tracts would
// have with a mix of request types and years: mix[y] is the share of the
// city's resident requests (from sources that record the app) that are of
// app-offered types in calendar year y (other types are never made in the
// app). Each tract's planted probability is integrated over the tract
// term's distribution (not its drawn value), and weighted by the tract's
// expected volume of app-offered requests in each week of the year — the
// expected standardized share that an adjusted gap estimates.
func (c *City) TrueStandardizedShare(tracts []int, mix map[int]float64) float64 {
	perWeek := float64(c.Options.Tickets) / float64(c.Options.Weeks)
	total := 0.0
	for y, f := range mix {
		var num, den float64
		for week := 0; week < c.Options.Weeks; week++ {
			start := c.Start.AddDate(0, 0, 7*week)
			days := 0
			for d := 0; d < 7; d++ {
				if start.AddDate(0, 0, d).Year() == y {
					days++
				}
			}
			if days == 0 {
				continue
			}
			n := math.Round(perWeek*(1+0.04*math.Sin(float64(week)))) * float64(days) / 7
			for _, ti := range tracts {
				t := &c.Tracts[ti]
				v := n * t.Population * t.Need * t.AppMix
				num += v * c.expectedApp(t, week)
				den += v
			}
		}
		if den > 0 {
			total += f * num / den
		}
	}
	return total
}

// expectedApp is a tract's planted app probability in a week, integrated
// over the tract term's normal distribution (trapezoid over ±8 SD).
func (c *City) expectedApp(t *Tract, week int) float64 {
	p := c.appProbability(t, week)
	eta := math.Log(p/(1-p)) - t.AreaNoise
	sd := c.areaSD()
	const steps = 400
	var sum, wsum float64
	for k := 0; k <= steps; k++ {
		z := -8 + 16*float64(k)/steps
		w := math.Exp(-z * z / 2)
		if k == 0 || k == steps {
			w /= 2
		}
		sum += w / (1 + math.Exp(-(eta + sd*z)))
		wsum += w
	}
	return sum / wsum
}

// plantReporting sets each tract's reporting rate and each type's factor
// from a random stream of their own (the other draws stay as without
// duplicates). The income coefficient is chosen so that the richest fifth
// of tracts reports reportFifthRatio times as fast as the poorest.
func (c *City) plantReporting() {
	rng := c.dupRNG(1)
	order := make([]int, len(c.Tracts))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(c.Tracts[a].MedianIncome, c.Tracts[b].MedianIncome) })
	fifth := len(order) / 5
	var lo, hi float64
	for k := 0; k < fifth; k++ {
		lo += math.Log(c.Tracts[order[k]].MedianIncome) / float64(fifth)
		hi += math.Log(c.Tracts[order[len(order)-1-k]].MedianIncome) / float64(fifth)
	}
	r := &Reporting{PerDay: reportPerDay, LogIncome: math.Log(reportFifthRatio) / (hi - lo), ShareBlack: reportShareBlack,
		AreaSD: reportAreaSD, TypeFactor: map[string]float64{}, FifthRatio: reportFifthRatio, NamedShare: reportNamed}
	for i := range c.Tracts {
		t := &c.Tracts[i]
		t.ReportRate = reportPerDay * math.Exp(r.LogIncome*math.Log(t.MedianIncome/60000)+reportShareBlack*t.ShareBlack+reportAreaSD*rng.NormFloat64())
	}
	for _, s := range c.Services {
		r.TypeFactor[s.Name] = math.Exp(0.4 * rng.NormFloat64())
	}
	c.Truth.Reporting = r
}

// dupRNG is a random stream for duplicates: 1 for the planted rates, 2
// for the reports.
func (c *City) dupRNG(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(c.Options.Seed, 0xd0b0+stream))
}
