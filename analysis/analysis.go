package analysis

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/analysis/stats"
	"github.com/equity311/equity311/geo"
	"github.com/equity311/equity311/store"
)

// DefaultMinCount is the default number of requests below which a cell
// (an area's shares, a group, a week) is flagged low_count and suppressed
// in reports.
const DefaultMinCount = 10

// DefaultWeeks is the length of the default period: the last 52 complete
// weeks of the data (a year, so that seasons do not bias the figures).
const DefaultWeeks = 52

// DefaultOfferedThreshold is the citywide app share above which a request
// type counts as offered by the app when no Open311 service list says
// which types the app offers.
const DefaultOfferedThreshold = 0.05

// DefaultPermutations is the number of random relabellings behind a
// Moran's I p-value.
const DefaultPermutations = 999

// Options configure Analyze.
type Options struct {
	// Period to analyse; nil means DefaultWeeks complete weeks up to the
	// latest week of the data (DefaultPeriod).
	Period   *equity311.Period
	MinCount int // default DefaultMinCount
	// PopulationFrom picks the census program that gives each area's
	// population when several do: "decennial" (the default: the decennial
	// count, else ACS B01003) or "acs" (ACS first).
	PopulationFrom string
	// OfferedThreshold: see DefaultOfferedThreshold.
	OfferedThreshold float64
	// Seed and Permutations drive the permutation tests (default 1 and
	// DefaultPermutations): the same seed gives the same p-values.
	Seed         uint64
	Permutations int
	// Sources, when given, are the only sources used; ExcludeSources are
	// left out (by id, name or a file's base name; not both).
	Sources, ExcludeSources []string
	Log                     *slog.Logger
}

func nanEstimate() results.Estimate { return stats.NaNEstimate() }

func share(k, n int64) results.Estimate { return stats.Share(k, n) }

// per1000 is the rate of k requests per 1,000 residents per year over a
// period of the given length, with the exact Poisson interval.
func per1000(k int64, pop, years float64) results.Estimate {
	if math.IsNaN(pop) || pop <= 0 || years <= 0 {
		return nanEstimate()
	}
	lo, hi := stats.PoissonExact(k, 0.95)
	f := 1000 / pop / years
	return results.Estimate{Value: float64(k) * f, Lo: lo * f, Hi: hi * f}
}

// Years is the length of p in years of 365.25 days.
func Years(p equity311.Period) float64 { return p.To.Sub(p.From).Hours() / 24 / 365.25 }

// Result summarises an analysis run.
type Result struct {
	Period      equity311.Period
	PeriodBasis string // "requested" or how the default period was chosen
	Cities      []string
	Tickets     int64
	Resident    int64
	Layers      []string
}

// Analyze computes every metric and model of DESIGN.md §5 for a period,
// per city, and replaces that period's rows in the analysis tables in one
// transaction.
func Analyze(ctx context.Context, st *store.Store, opt Options) (Result, error) {
	var res Result
	log := cmp.Or(opt.Log, slog.New(slog.DiscardHandler))
	opt.MinCount = cmp.Or(opt.MinCount, DefaultMinCount)
	opt.OfferedThreshold = cmp.Or(opt.OfferedThreshold, DefaultOfferedThreshold)
	opt.Seed = cmp.Or(opt.Seed, 1)
	opt.Permutations = cmp.Or(opt.Permutations, DefaultPermutations)
	if opt.PopulationFrom != "" && opt.PopulationFrom != "decennial" && opt.PopulationFrom != "acs" {
		return res, fmt.Errorf("population source %q: want decennial or acs", opt.PopulationFrom)
	}
	p, basis, err := resolvePeriod(ctx, st, opt.Period)
	if err != nil {
		return res, err
	}
	res.Period, res.PeriodBasis = p, basis
	loc, err := st.Location(ctx)
	if err != nil {
		return res, err
	}
	start := time.Now()
	layers, err := geo.LoadLayers(ctx, st)
	if err != nil {
		return res, err
	}
	set, err := resolveSources(ctx, st, opt.Sources, opt.ExcludeSources)
	if err != nil {
		return res, err
	}
	t := time.Now()
	cities, err := aggregate(ctx, st, p, loc, layers, set)
	if err != nil {
		return res, err
	}
	log.Debug("analysis step", "step", "aggregate", "seconds", time.Since(t).Seconds())
	t = time.Now()
	uses, err := sourceUses(ctx, st, p, loc, set)
	if err != nil {
		return res, err
	}
	log.Debug("analysis step", "step", "source uses", "seconds", time.Since(t).Seconds())
	demo, err := resolveDemographics(ctx, st, layers, opt.PopulationFrom)
	if err != nil {
		return res, err
	}
	offered, err := open311Offered(ctx, st)
	if err != nil {
		return res, err
	}
	out := &tables{}
	for _, c := range cities {
		c.run = cityRun(c, p, uses[c.name], set)
		put(out, results.CitiesTable(), c.run)
		for _, u := range uses[c.name] {
			put(out, results.SourceUseTable(), u)
		}
		c.analyse(p, opt, demo, offered[c.name], layers, out)
		res.Cities = append(res.Cities, c.name)
		res.Tickets += c.city.Counts.Total()
		res.Resident += c.city.Counts.Resident()
	}
	for _, l := range layers {
		res.Layers = append(res.Layers, l.Name)
	}
	log.Debug("computed", "seconds", time.Since(start).Seconds())
	steps := []struct {
		name string
		run  func() error
	}{
		{"outcomes", func() error { return outcomes(ctx, st, p, opt.MinCount, set, res.Layers, log, out) }},
		{"survival", func() error { return survival(ctx, st, p, opt.MinCount, set, out) }},
		{"reporting rates", func() error { return reporting(ctx, st, p, opt, cities, demo, set, out) }},
		{"data quality", func() error { return quality(ctx, st, p, set, out) }},
	}
	for _, s := range steps {
		t := time.Now()
		if err := s.run(); err != nil {
			return res, err
		}
		log.Debug("analysis step", "step", s.name, "seconds", time.Since(t).Seconds())
	}
	put(out, results.RunsTable(), results.Run{Period: p.Label, From: p.From, To: p.To, Basis: basis, Years: Years(p), MinCount: int64(opt.MinCount),
		ComputedAt: st.Now(), Tickets: res.Tickets, Resident: res.Resident, Seed: int64(opt.Seed)})
	t = time.Now()
	if err := out.write(ctx, st, p.Label); err != nil {
		return res, err
	}
	log.Debug("analysis step", "step", "write tables", "seconds", time.Since(t).Seconds())
	log.Info("analysed", "period", p.Label, "cities", res.Cities, "tickets", res.Tickets, "resident", res.Resident,
		"layers", res.Layers, "seconds", time.Since(start).Seconds())
	return res, nil
}

// resolvePeriod returns p, or the default period and how it was chosen.
func resolvePeriod(ctx context.Context, st *store.Store, p *equity311.Period) (equity311.Period, string, error) {
	if p != nil {
		if !p.From.Before(p.To) {
			return equity311.Period{}, "", fmt.Errorf("period %s: from must be before to", p.Label)
		}
		if p.Default {
			return *p, p.Basis, nil
		}
		if p.Basis != "" {
			return *p, "requested: " + p.Basis, nil
		}
		return *p, "requested", nil
	}
	d, err := DefaultPeriod(ctx, st)
	if err != nil {
		return d, "", err
	}
	return d, d.Basis, nil
}

// DefaultPeriod is the last DefaultWeeks complete ISO weeks of the data, in
// the city's time zone. The week of the latest request counts as complete
// when that request falls on its Sunday, and the week of the earliest when
// it falls on its Monday; the period never starts before the first
// complete week, so that annual rates are not diluted by weeks without data.
func DefaultPeriod(ctx context.Context, st *store.Store) (equity311.Period, error) {
	loc, err := st.Location(ctx)
	if err != nil {
		return equity311.Period{}, err
	}
	sp, err := dataSpan(ctx, st, "")
	if err != nil {
		return equity311.Period{}, err
	}
	d, err := defaultPeriod(sp.lo, sp.hi, loc)
	if err != nil {
		return d, err
	}
	d.Basis, d.Default = sp.basis(d, "the data"), true
	return d, nil
}

// span is when a city's data (or the whole database's) runs: from lo to
// hi over the sources that record the app when any does, since an app
// share needs them; all is the last request of any source.
type span struct {
	lo, hi, all sql.NullTime
	app         bool // lo and hi are the app-recording sources'
}

// dataSpan finds the span of the city's data ("" for every city).
func dataSpan(ctx context.Context, st *store.Store, city string) (span, error) {
	var sp span
	err := st.DB().QueryRowContext(ctx, `WITH t AS (
			SELECT t.opened_at, coalesce(s.records_app, true) AS app FROM tickets t LEFT JOIN sources s USING (source_id)
			WHERE $1 = '' OR t.city = $1)
		SELECT coalesce(min(opened_at) FILTER (WHERE app), min(opened_at)), coalesce(max(opened_at) FILTER (WHERE app), max(opened_at)),
			max(opened_at), count(*) FILTER (WHERE app) > 0 FROM t`, city).Scan(&sp.lo, &sp.hi, &sp.all, &sp.app)
	return sp, err
}

// basis says how the default period d of this span was chosen.
func (sp span) basis(d equity311.Period, of string) string {
	weeks := int(math.Round(d.To.Sub(d.From).Hours() / 24 / 7))
	b := fmt.Sprintf("the last %d complete weeks of %s", DefaultWeeks, of)
	if weeks < DefaultWeeks {
		b = fmt.Sprintf("all %d complete weeks of %s, fewer than %d", weeks, of, DefaultWeeks)
	}
	if sp.app && sp.all.Valid && sp.all.Time.After(sp.hi.Time) {
		b += fmt.Sprintf(" from the sources that record the app; others, which cannot tell an app request, run to %s", sp.all.Time.Format("2 January 2006"))
	}
	return b
}

// CityDefaultPeriod is DefaultPeriod for one city of the database: the
// last DefaultWeeks complete weeks of its own data, in its own time zone,
// labelled with the basis to report.
func CityDefaultPeriod(ctx context.Context, st *store.Store, city string) (equity311.Period, error) {
	var zone string
	if err := st.DB().QueryRowContext(ctx, `SELECT coalesce((SELECT timezone FROM cities WHERE city = $1), 'UTC')`, city).Scan(&zone); err != nil {
		return equity311.Period{}, err
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return equity311.Period{}, fmt.Errorf("city %s: time zone %q: %w", city, zone, err)
	}
	sp, err := dataSpan(ctx, st, city)
	if err != nil {
		return equity311.Period{}, err
	}
	lo, hi := sp.lo, sp.hi
	p, err := defaultPeriod(lo, hi, loc)
	if err != nil && lo.Valid {
		// No complete week (a sample of a few days): every day of the data.
		first, last := lo.Time.In(loc), hi.Time.In(loc)
		from := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, loc)
		to := time.Date(last.Year(), last.Month(), last.Day()+1, 0, 0, 0, 0, loc)
		p = equity311.Range(from, to)
		days := int(math.Round(to.Sub(from).Hours() / 24))
		p.Basis, p.Default = fmt.Sprintf("all %d %s of %s's data: it holds no complete week", days, plural(days, "day", "days"), city), true
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("city %s: %w", city, err)
	}
	p.Basis, p.Default = sp.basis(p, city+"'s data"), true
	return p, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// defaultPeriod is the default period of data from lo to hi, in loc.
func defaultPeriod(lo, hi sql.NullTime, loc *time.Location) (equity311.Period, error) {
	if !lo.Valid {
		return equity311.Period{}, errors.New("analyze: no tickets loaded (run ingest dump first)")
	}
	first, last := lo.Time.In(loc), hi.Time.In(loc)
	end := equity311.Week(last).From
	if last.Weekday() == time.Sunday {
		end = equity311.Week(last).To
	}
	start := equity311.Week(first).From
	if first.Weekday() != time.Monday {
		start = equity311.Week(first).To
	}
	from := end.AddDate(0, 0, -7*DefaultWeeks)
	if from.Before(start) {
		from = start
	}
	if !from.Before(end) {
		return equity311.Period{}, equity311.OptionErrorf("from/to", "analyze: the data (%s to %s) holds no complete week; give the period's dates",
			first.Format("2006-01-02"), last.Format("2006-01-02"))
	}
	return equity311.Range(from, end), nil
}
