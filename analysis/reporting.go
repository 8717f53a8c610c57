package analysis

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/analysis/stats"
	"github.com/equity311/equity311/store"
)

// Reporting-rate model thresholds: duplicates per coefficient, areas per
// covariate, and areas in a group for a bootstrap interval. (Every type
// with a duplicate has its own effect: pooling types whose rates differ
// biased the covariates where the type mix differs by area.)
const (
	reportingEventsPerTerm     = 10
	reportingAreasPerCovariate = 3
	reportingBootstrapAreas    = 8 // fewer areas in a group: no interval (a bootstrap of 5 areas undercovers)
)

// reportingCell is one area × type of a layer: its incidents (first
// reports), the days they were open within the period, and their
// duplicates, with the app's part of each.
type reportingCell struct {
	area, service             string
	incidents, incidentsApp   int64
	days                      float64
	duplicates, duplicatesApp int64
	expected                  float64 // duplicates expected from the types alone
}

// reporting estimates each area's reporting rate net of need from
// duplicate reports (Liu, Bhandaram & Garg 2024): an incident is a
// resident request that is no one's duplicate; while it is open, further
// residents report it again, and the duplicates per day open estimate how
// readily the area reports, whatever the number of problems. An incident
// is open from its opening to its close, cut at the period's end and at
// its source's snapshot (an incident still open is cut there).
// Duplicates count when they are resident requests linked to the incident
// (any basis) and opened while it was open. The model is Poisson on area
// × type cells — the same estimates as per incident, since the
// covariates are constant within a cell — with offset log(days open),
// covariates per SD across areas, type fixed effects, and errors by the
// cluster jackknife over areas (CR1 clustering undercovered where tracts
// differ tenfold in size: see stats.ClusterJackknife);
// NB2 on the same cells is the overdispersion check. Only over sources
// that can be complete: on samples the links and the incidents are both
// thinned, and it is not computed.
func reporting(ctx context.Context, st *store.Store, p equity311.Period, opt Options, cities []*cityData, demo demoTable, set sourceSet, out *tables) error {
	log := cmp.Or(opt.Log, slog.New(slog.DiscardHandler))
	links, err := linkBases(ctx, st, p, set)
	if err != nil {
		return err
	}
	for _, c := range cities {
		names := c.layerNames()
		fits := make([]results.ReportingFit, len(names))
		for i, layer := range names {
			fits[i] = results.ReportingFit{Key: results.Key{City: c.name, Period: p.Label}, Layer: layer, Links: links[c.name],
				ExposureDays: math.NaN(), Dispersion: math.NaN(), Alpha: math.NaN()}
		}
		if len(names) == 0 {
			continue
		}
		if !c.run.Rates {
			for _, fit := range fits {
				fit.Status = "not computed: the sources are samples"
				fit.Note = "A sample thins both the incidents and their duplicates, and its links point at first reports it may not hold."
				put(out, results.ReportingFitTable(), fit)
			}
			continue
		}
		t := time.Now()
		cells, err := reportingCells(ctx, st, p, c.name, set)
		if err != nil {
			return err
		}
		log.Debug("reporting cells", "city", c.name, "seconds", time.Since(t).Seconds())
		// The layers' models are independent (each draws from its own
		// seeded stream), so they are fitted side by side, each into its
		// own rows, which are then added in layer order.
		parts := make([]tables, len(names))
		var wg sync.WaitGroup
		slots := make(chan struct{}, runtime.GOMAXPROCS(0))
		for i, layer := range names {
			wg.Go(func() {
				slots <- struct{}{}
				defer func() { <-slots }()
				t := time.Now()
				c.reportingLayer(p, opt, layer, cells[layer], demo, opt.MinCount, &fits[i], &parts[i])
				log.Debug("reporting rates", "city", c.name, "layer", layer, "cells", len(cells[layer]), "seconds", time.Since(t).Seconds())
			})
		}
		wg.Wait()
		for i, fit := range fits {
			out.add(&parts[i])
			put(out, results.ReportingFitTable(), fit)
		}
	}
	return nil
}

// linkBases says, per city, how many duplicate links of each basis the
// period's requests have with their first report loaded.
func linkBases(ctx context.Context, st *store.Store, p equity311.Period, set sourceSet) (map[string]string, error) {
	rows, err := st.DB().QueryContext(ctx, `SELECT d.city, d.basis, count(*) FROM duplicate_links d JOIN tickets t ON t.ticket_no = d.ticket_no
		WHERE d.parent_loaded AND t.opened_at >= $1 AND t.opened_at < $2`+set.where("t.source_id")+` GROUP BY ALL ORDER BY 1, 2`, p.From, p.To)
	if err != nil {
		return nil, fmt.Errorf("duplicate links: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var city, basis string
		var n int64
		if err := rows.Scan(&city, &basis, &n); err != nil {
			return nil, err
		}
		if out[city] != "" {
			out[city] += ", "
		}
		out[city] += fmt.Sprintf("%s %d", basis, n)
	}
	return out, rows.Err()
}

// reportingCells reduces the period's incidents to area × type cells of
// every layer in one DuckDB query: the duplicates are matched to their
// incidents first (a join of the few linked requests), and the incidents
// are then counted by area of each layer. Times open are summed in whole
// seconds (integers): a parallel sum of doubles can differ in its last
// bits from run to run. They are the seconds between the instants
// truncated to the second, as date_diff('second') counts them, but from
// the epoch: date_diff on TIMESTAMPTZ goes through ICU's calendar, and
// at 10M requests took 4.6 of the query's 13.5 seconds (secondsBetween).
// The duplicates are left out by an anti join: as NOT EXISTS, DuckDB
// grouped the 10M incidents by key to decorrelate it, and the query took
// 7.7 s instead of 5.7. The incidents are counted by place set (one row
// per incident joined, migration 19), and the few sets' counts added up
// per area of every layer.
func reportingCells(ctx context.Context, st *store.Store, p equity311.Period, city string, set sourceSet) (map[string][]reportingCell, error) {
	q := `WITH snap AS (
		SELECT source_id, greatest(max(opened_at), max(updated_at), max(closed_at)) AS at FROM tickets GROUP BY 1),
	inc AS MATERIALIZED (
		SELECT t.ticket_id, t.ticket_no, coalesce(t.service_code, '') AS service, t.channel = 'app' AS app, t.opened_at,
			least(coalesce(t.closed_at, snap.at), snap.at, $2::TIMESTAMPTZ) AS until
		FROM tickets t JOIN snap USING (source_id)
			ANTI JOIN duplicates d ON d.ticket_no = t.ticket_no
		WHERE t.city = $3 AND t.opened_at >= $1 AND t.opened_at < $2 AND t.resident_initiated` + set.where("t.source_id") + `),
	dup AS (
		SELECT d.parent_id, c.channel = 'app' AS app, c.opened_at
		FROM duplicates d JOIN tickets c ON c.ticket_no = d.ticket_no
		WHERE d.city = $3 AND d.parent_id IS NOT NULL AND c.resident_initiated` + set.where("c.source_id") + `),
	hits AS (
		SELECT i.ticket_id, count(*) AS dups, count(*) FILTER (WHERE dup.app) AS dups_app
		FROM inc i JOIN dup ON dup.parent_id = i.ticket_id AND dup.opened_at >= i.opened_at AND dup.opened_at < i.until
		GROUP BY i.ticket_id),
	per AS (
		SELECT i.ticket_no, i.service, i.app, greatest(` + secondsBetween("i.opened_at", "i.until") + `, 60) AS secs,
			coalesce(h.dups, 0) AS dups, coalesce(h.dups_app, 0) AS dups_app
		FROM inc i LEFT JOIN hits h USING (ticket_id))
	SELECT a.layer, a.area_id, g.* EXCLUDE (area_no)
	FROM (SELECT ps.area_no, service, sum(n)::BIGINT, sum(n_app)::BIGINT, sum(secs)::BIGINT, sum(dups)::BIGINT, sum(dups_app)::BIGINT
		FROM (SELECT s.set_no, service, count(*) AS n, count(*) FILTER (WHERE app) AS n_app, sum(secs) AS secs, sum(dups) AS dups, sum(dups_app) AS dups_app
			FROM per JOIN ticket_place_sets s ON s.ticket_no = per.ticket_no GROUP BY ALL) c
		JOIN place_sets ps USING (set_no) GROUP BY ALL) g
	JOIN areas a ON a.area_no = g.area_no
	ORDER BY 1, 2, 3`
	rows, err := st.DB().QueryContext(ctx, q, p.From, p.To, city)
	if err != nil {
		return nil, fmt.Errorf("reporting rates, %s: %w", city, err)
	}
	defer rows.Close()
	out := map[string][]reportingCell{}
	for rows.Next() {
		var c reportingCell
		var layer string
		var secs int64
		if err := rows.Scan(&layer, &c.area, &c.service, &c.incidents, &c.incidentsApp, &secs, &c.duplicates, &c.duplicatesApp); err != nil {
			return nil, err
		}
		c.days = float64(secs) / 86400
		out[layer] = append(out[layer], c)
	}
	return out, rows.Err()
}

// reportingLayer fits one layer's model and writes its terms, its areas'
// rates and who reports first.
func (c *cityData) reportingLayer(p equity311.Period, opt Options, layer string, cells []reportingCell, demo demoTable, minCount int, fit *results.ReportingFit, out *tables) {
	key := results.Key{City: c.name, Period: p.Label}
	var dups int64
	areas := map[string]bool{}
	typeN := map[string]int64{}
	for _, cl := range cells {
		fit.Incidents += cl.incidents
		fit.Duplicates += cl.duplicates
		dups += cl.duplicates
		areas[cl.area] = true
		typeN[cl.service] += cl.incidents
	}
	fit.Areas = int64(len(areas))
	if dups == 0 {
		fit.Status = "not computed: no duplicate linked to a first report in the data"
		fit.Note = "The sources mark no duplicates, or none whose first report is loaded; `match-duplicates` can find them by place and time."
		return
	}
	// Type levels: the commonest type is the reference. Every type with a
	// duplicate has its own effect; the cells of a type without one say
	// nothing about the other coefficients (its own estimate would be
	// minus infinity) and are left out.
	typeDups := map[string]int64{}
	for _, cl := range cells {
		typeDups[cl.service] += cl.duplicates
	}
	types := sortedKeys(typeN)
	slices.SortStableFunc(types, func(a, b string) int { return cmp.Compare(typeN[b], typeN[a]) })
	level := map[string]int{}
	nLevels := 0
	for _, t := range types {
		if typeDups[t] > 0 {
			level[t] = nLevels
			nLevels++
		}
	}
	if nLevels == 0 {
		fit.Status = "not computed: no request type has a duplicate"
		return
	}
	var withLevel []reportingCell
	for _, cl := range cells {
		if _, ok := level[cl.service]; ok {
			withLevel = append(withLevel, cl)
		}
	}
	cells = withLevel
	fit.Types = int64(nLevels)

	// Expected duplicates from the types alone — the Poisson model with
	// type effects only, whose fit is each type's duplicates per day open
	// — give each area's ratio.
	typeOnly := func(cl reportingCell) []float64 {
		x := make([]float64, nLevels)
		x[0] = 1
		if l := level[cl.service]; l > 0 {
			x[l] = 1
		}
		return x
	}
	levelDups, levelDays := make([]float64, nLevels), make([]float64, nLevels)
	for _, cl := range cells {
		levelDups[level[cl.service]] += float64(cl.duplicates)
		levelDays[level[cl.service]] += cl.days
	}
	for i, cl := range cells {
		l := level[cl.service]
		cells[i].expected = levelDups[l] / levelDays[l] * cl.days
	}
	c.reportingAreas(key, layer, cells, minCount, out)
	c.firstReports(opt, key, layer, cells, demo, out)

	// The model: area covariates per SD, type effects.
	covs, dropped := modelCovariates(demo, layer, len(areas))
	covs = slices.DeleteFunc(covs, func(cv covariate) bool { return coverage(demo, layer, cv.variable) == 0 })
	if len(covs) == 0 {
		fit.Status = "not computed: no census covariates for the layer's areas"
		return
	}
	var x [][]float64
	var cluster []int
	var cols [][]float64
	var y, off []float64
	areaIndex := map[string]int{}
	var kept []reportingCell
	for _, cl := range cells {
		v := make([]float64, len(covs))
		ok := true
		for j, cv := range covs {
			if v[j], ok = cv.value(demo, layer, cl.area); !ok {
				break
			}
		}
		if !ok {
			continue
		}
		if _, seen := areaIndex[cl.area]; !seen {
			areaIndex[cl.area] = len(areaIndex)
		}
		kept = append(kept, cl)
		cols = append(cols, v)
	}
	// Standardize over areas (each area once), as the other area models.
	means, sds := make([]float64, len(covs)), make([]float64, len(covs))
	{
		seen := map[string]bool{}
		var n float64
		for i, cl := range kept {
			if seen[cl.area] {
				continue
			}
			seen[cl.area] = true
			n++
			for j := range covs {
				means[j] += cols[i][j]
			}
		}
		for j := range means {
			means[j] /= n
		}
		seen = map[string]bool{}
		for i, cl := range kept {
			if seen[cl.area] {
				continue
			}
			seen[cl.area] = true
			for j := range covs {
				d := cols[i][j] - means[j]
				sds[j] += d * d
			}
		}
		for j := range sds {
			sds[j] = math.Sqrt(sds[j] / (n - 1))
		}
	}
	var keptDups int64
	var exposure float64
	for i, cl := range kept {
		row := typeOnly(cl)
		for j := range covs {
			if sds[j] > 0 {
				row = append(row, (cols[i][j]-means[j])/sds[j])
			} else {
				row = append(row, 0)
			}
		}
		x = append(x, row)
		y, off = append(y, float64(cl.duplicates)), append(off, math.Log(cl.days))
		cluster = append(cluster, areaIndex[cl.area])
		keptDups += cl.duplicates
		exposure += cl.days
	}
	fit.ExposureDays = exposure
	k := nLevels + len(covs)
	if keptDups < int64(reportingEventsPerTerm*k) || len(areaIndex) < reportingAreasPerCovariate*len(covs) {
		fit.Status = fmt.Sprintf("not computed: %d duplicates in %d areas for %d coefficients, %d of them census covariates (needs %d duplicates and %d areas)",
			keptDups, len(areaIndex), k, len(covs), reportingEventsPerTerm*k, reportingAreasPerCovariate*len(covs))
		return
	}
	pf, err := stats.FitPoisson(x, y, off)
	if err == nil {
		err = pf.ClusterJackknife(cluster)
	}
	if err != nil {
		fit.Status = "not computed: " + err.Error()
		return
	}
	fit.Status = results.ReportingComputed
	fit.Dispersion = pf.Dispersion
	notes := []string{"Poisson on area × type cells (the per-incident estimates), errors by the cluster jackknife over areas; per SD of each covariate across areas."}
	if len(dropped) > 0 {
		notes = append(notes, "Left out for covering too few areas: "+strings.Join(dropped, ", ")+".")
	}
	terms := func(model string, f stats.Fit) {
		for j, cv := range covs {
			b, se := f.Beta[nLevels+j], f.SE[nLevels+j]
			lo, hi, _, pv := stats.ZTest(b, se)
			put(out, results.ReportingModelTable(), results.ReportingTerm{Key: key, Layer: layer, Model: model, Term: cv.term,
				Estimate: results.Estimate{Value: b, Lo: lo, Hi: hi}, SE: se,
				RateRatio: results.Estimate{Value: math.Exp(b), Lo: math.Exp(lo), Hi: math.Exp(hi)}, P: pv})
		}
	}
	terms("poisson", pf)
	if nb, err := stats.FitNB2(x, y, off); err == nil {
		fit.Alpha = nb.Alpha
		terms("nb2", nb)
	} else {
		notes = append(notes, "The NB2 check did not fit: "+err.Error()+".")
	}
	fit.Note = strings.Join(notes, " ")
}

// reportingAreas writes each area's duplicates against those expected for
// its incidents' types and days open (from the types-only model), with
// exact Poisson intervals and gamma–Poisson empirical-Bayes shrinkage
// (Marshall 1991: the prior's mean and variance by moments, its Poisson
// part removed).
func (c *cityData) reportingAreas(key results.Key, layer string, cells []reportingCell, minCount int, out *tables) {
	type acc struct {
		incidents, dups int64
		exp             float64
	}
	by := map[string]*acc{}
	for _, cl := range cells {
		a := by[cl.area]
		if a == nil {
			a = &acc{}
			by[cl.area] = a
		}
		a.incidents += cl.incidents
		a.dups += cl.duplicates
		a.exp += cl.expected
	}
	ids := sortedKeys(by)
	var sumO, sumE float64
	for _, id := range ids {
		sumO, sumE = sumO+float64(by[id].dups), sumE+by[id].exp
	}
	m := sumO / sumE
	var s2 float64
	for _, id := range ids {
		a := by[id]
		if a.exp > 0 {
			r := float64(a.dups) / a.exp
			s2 += a.exp * (r - m) * (r - m)
		}
	}
	s2 = s2/sumE - m/(sumE/float64(len(ids)))
	for _, id := range ids {
		a := by[id]
		row := results.ReportingArea{Key: key, Layer: layer, AreaID: id, Incidents: a.incidents, Duplicates: a.dups, Expected: a.exp,
			Ratio: stats.PoissonRatio(a.dups, a.exp), Shrunk: nanEstimate(), LowCount: a.dups < int64(minCount)}
		if s2 > 0 && a.exp > 0 {
			shape, rate := m*m/s2, m/s2 // the gamma prior of the ratios
			g := distuv.Gamma{Alpha: shape + float64(a.dups), Beta: rate + a.exp}
			row.Shrunk = results.Estimate{Value: g.Mean(), Lo: g.Quantile(0.025), Hi: g.Quantile(0.975)}
		} else if a.exp > 0 {
			row.Shrunk = results.Estimate{Value: m, Lo: m, Hi: m} // no variation beyond Poisson noise: pooled
		}
		put(out, results.ReportingAreasTable(), row)
	}
}

// firstReports gives, in each income fifth of the layer's areas (equal
// numbers of areas, by median income), the duplicates over those expected
// from the types alone (how readily the fifth reports, against the city),
// and compares the app's share of duplicates with
// its share of first reports of the same types: first reports
// re-weighted to the duplicates' type mix, since the types reported
// again most are not those the app offers most. A positive difference:
// the app brings problems in first more than it reports them again. The
// interval resamples the group's areas (999 bootstrap draws), so that
// requests of one area are not taken as independent; a group of fewer
// than reportingBootstrapAreas areas gets the estimate without one.
func (c *cityData) firstReports(opt Options, key results.Key, layer string, cells []reportingCell, demo demoTable, out *tables) {
	byArea := map[string][]reportingCell{}
	for _, cl := range cells {
		byArea[cl.area] = append(byArea[cl.area], cl)
	}
	type ranked struct {
		id     string
		income float64
	}
	var rs []ranked
	for id := range byArea {
		if v, ok := demo.get(layer, id, "median_income"); ok && v.est > 0 {
			rs = append(rs, ranked{id, v.est})
		}
	}
	if len(rs) < 10 {
		return
	}
	slices.SortFunc(rs, func(a, b ranked) int { return cmp.Or(cmp.Compare(a.income, b.income), cmp.Compare(a.id, b.id)) })
	// standardized returns the first reports' app share at the
	// duplicates' type mix and the duplicates' app share, over the types
	// with both first reports and duplicates in the areas.
	ratio := func(areas []string) float64 {
		var o, e float64
		for _, id := range areas {
			for _, cl := range byArea[id] {
				o, e = o+float64(cl.duplicates), e+cl.expected
			}
		}
		if e == 0 {
			return math.NaN()
		}
		return o / e
	}
	services := map[string]bool{}
	for _, cl := range cells {
		services[cl.service] = true
	}
	typeOrder := sortedKeys(services)
	standardized := func(areas []string) (first, dup float64) {
		type acc struct{ inc, incApp, dup, dupApp int64 }
		by := map[string]*acc{}
		for _, id := range areas {
			for _, cl := range byArea[id] {
				a := by[cl.service]
				if a == nil {
					a = &acc{}
					by[cl.service] = a
				}
				a.inc, a.incApp, a.dup, a.dupApp = a.inc+cl.incidents, a.incApp+cl.incidentsApp, a.dup+cl.duplicates, a.dupApp+cl.duplicatesApp
			}
		}
		// Summed in type order: in Go's map order the sums differed in
		// their last bits from run to run.
		var w, f, d, da float64
		for _, service := range typeOrder {
			a := by[service]
			if a == nil || a.inc == 0 || a.dup == 0 {
				continue
			}
			w += float64(a.dup)
			f += float64(a.dup) * float64(a.incApp) / float64(a.inc)
			d += float64(a.dup)
			da += float64(a.dupApp)
		}
		if w == 0 {
			return math.NaN(), math.NaN()
		}
		return f / w, da / d
	}
	labels := []string{"Lowest income fifth", "Second fifth", "Middle fifth", "Fourth fifth", "Highest income fifth"}
	for g := range 5 {
		lo, hi := g*len(rs)/5, (g+1)*len(rs)/5
		var ids []string
		row := results.FirstReport{Key: key, Layer: layer, Group: labels[g], Rank: int64(g + 1), FirstShare: nanEstimate(), Difference: nanEstimate(),
			RateRatio: nanEstimate()}
		for _, r := range rs[lo:hi] {
			ids = append(ids, r.id)
			for _, cl := range byArea[r.id] {
				row.Incidents, row.IncidentsApp = row.Incidents+cl.incidents, row.IncidentsApp+cl.incidentsApp
				row.Duplicates, row.DuplicatesApp = row.Duplicates+cl.duplicates, row.DuplicatesApp+cl.duplicatesApp
			}
		}
		row.Areas = int64(len(ids))
		row.DupShare = share(row.DuplicatesApp, row.Duplicates)
		first, dshare := standardized(ids)
		if !math.IsNaN(first) && len(ids) >= reportingBootstrapAreas {
			rng := c.rng(opt, "first reports", layer, labels[g])
			const draws = 999
			fs, ds, rr := make([]float64, 0, draws), make([]float64, 0, draws), make([]float64, 0, draws)
			sample := make([]string, len(ids))
			for b := 0; b < draws; b++ {
				for i := range sample {
					sample[i] = ids[rng.IntN(len(ids))]
				}
				if f, d := standardized(sample); !math.IsNaN(f) {
					fs, ds = append(fs, f), append(ds, f-d)
				}
				if r := ratio(sample); !math.IsNaN(r) {
					rr = append(rr, r)
				}
			}
			flo, fhi := percentileInterval(fs)
			dlo, dhi := percentileInterval(ds)
			rlo, rhi := percentileInterval(rr)
			row.RateRatio = results.Estimate{Value: ratio(ids), Lo: rlo, Hi: rhi}
			row.FirstShare = results.Estimate{Value: first, Lo: flo, Hi: fhi}
			row.Difference = results.Estimate{Value: first - dshare, Lo: dlo, Hi: dhi}
		} else if !math.IsNaN(first) {
			row.RateRatio = results.Estimate{Value: ratio(ids), Lo: math.NaN(), Hi: math.NaN()}
			row.FirstShare = results.Estimate{Value: first, Lo: math.NaN(), Hi: math.NaN()}
			row.Difference = results.Estimate{Value: first - dshare, Lo: math.NaN(), Hi: math.NaN()}
		}
		put(out, results.FirstReportsTable(), row)
	}
}

// percentileInterval is the 2.5th and 97.5th percentiles of draws.
func percentileInterval(xs []float64) (lo, hi float64) {
	if len(xs) < 20 {
		return math.NaN(), math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[int(0.025*float64(len(s)-1))], s[int(math.Ceil(0.975*float64(len(s)-1)))]
}

// secondsBetween is SQL for date_diff('second', from, to) of two
// TIMESTAMPTZ expressions: the whole seconds between them, each truncated
// to its second (floor, also before 1970), computed from the epoch instead
// of through ICU's calendar. Exact while |epoch_us| < 2^53 (until 2255).
func secondsBetween(from, to string) string {
	return "(floor(epoch_us(" + to + ") / 1000000)::BIGINT - floor(epoch_us(" + from + ") / 1000000)::BIGINT)"
}
