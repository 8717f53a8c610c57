package reports

import (
	"fmt"
	"math"

	"github.com/equity311/equity311/analysis/results"
)

// reportingView is the research report's section on reporting rates from
// duplicate reports: who reports at all, net of how many problems there
// are, and whether the app brings problems in first.
type reportingView struct {
	Fits   tableView
	Models []tableView
	First  []tableView
	Areas  []tableView
}

// reporting builds the section from the analysis' reporting tables.
func (p *page) reporting(res *results.Analysis) *reportingView {
	v := &reportingView{Fits: tableView{ID: "table-reporting-fit", Caption: "Reporting-rate model by layer, or why it was not computed",
		Head: []string{"Layer", "Status", "Incidents", "Duplicates", "Links used", "Days open", "Areas", "Type levels", "Dispersion", "NB2 α"}}}
	for _, f := range res.ReportingFits {
		v.Fits.add(f.Status != results.ReportingComputed, layerTitle(f.Layer), f.Status, num(f.Incidents), num(f.Duplicates), f.Links,
			num(int64(math.Round(nanZero(f.ExposureDays)))), num(f.Areas), num(f.Types), dec(f.Dispersion, 3), dec(f.Alpha, 4))
	}
	if len(res.ReportingFits) == 0 {
		v.Fits.Empty = "No reporting-rate model: run analyze again with this version (the analysis predates it)."
	}
	labels := map[string]map[string]string{}
	for _, l := range p.Layers {
		labels[l.Name] = l.Labels
	}
	for _, l := range res.Layers {
		m := tableView{ID: "table-reporting-model-" + l, Caption: "Reporting rate per SD of each covariate, " + layerTitle(l),
			Head: []string{"Covariate", "Rate ratio per SD (95% interval, area jackknife)", "p", "NB2 check: rate ratio (95%)"}}
		nb := map[string]results.ReportingTerm{}
		for _, t := range res.ReportingTerms {
			if t.Layer == l && t.Model == "nb2" {
				nb[t.Term] = t
			}
		}
		for _, t := range res.ReportingTerms {
			if t.Layer != l || t.Model != "poisson" {
				continue
			}
			check := "—"
			if n, ok := nb[t.Term]; ok {
				check = ratioCI(n.RateRatio)
			}
			m.add(false, variableLabel(t.Term), ratioCI(t.RateRatio), pval(t.P), check)
		}
		if len(m.Rows) > 0 {
			v.Models = append(v.Models, m)
		}
		f := tableView{ID: "table-first-reports-" + l, Caption: "Who reports again, and first: by income fifth, " + layerTitle(l),
			Head: []string{"Areas by median income", "Reported again × city (95%)", "App share of first reports, same types", "App share of duplicates", "Difference (points)", "First reports", "Duplicates", "Areas"}}
		for _, r := range res.FirstReports {
			if r.Layer != l {
				continue
			}
			f.add(r.Duplicates < int64(res.MinCount), r.Group, ratioCI(r.RateRatio), shareWithCI(r.FirstShare), shareWithCI(r.DupShare), pointsCI(r.Difference),
				num(r.Incidents), num(r.Duplicates), num(r.Areas))
		}
		if len(f.Rows) > 0 {
			v.First = append(v.First, f)
		}
		a := tableView{ID: "table-reporting-areas-" + l, Caption: "Reporting rate by area against the city for the same types and days open, " + layerTitle(l),
			Head: []string{"Area", "Rate × city, shrunken (95%)", "Rate × city, raw (95%)", "Duplicates", "Expected", "Incidents"}}
		for _, r := range res.ReportingAreas {
			if r.Layer != l {
				continue
			}
			name := r.AreaID
			if n := labels[l][r.AreaID]; n != "" {
				name = n
			}
			a.add(r.LowCount, name, ratioCI(r.Shrunk), ratioCI(r.Ratio), num(r.Duplicates), dec(r.Expected, 1), num(r.Incidents))
		}
		a.Tall = len(a.Rows) > 30
		if len(a.Rows) > 0 {
			v.Areas = append(v.Areas, a)
		}
	}
	return v
}

// ratioCI writes a ratio with its interval: "1.48 (1.41–1.56)".
func ratioCI(e results.Estimate) string {
	if math.IsNaN(e.Value) {
		return "—"
	}
	return fmt.Sprintf("%s (%s–%s)", dec(e.Value, 2), dec(e.Lo, 2), dec(e.Hi, 2))
}

// pointsCI writes a difference of shares in percentage points with its
// interval.
func pointsCI(e results.Estimate) string {
	if math.IsNaN(e.Value) {
		return "—"
	}
	return fmt.Sprintf("%+.1f (%+.1f to %+.1f)", 100*e.Value, 100*e.Lo, 100*e.Hi)
}

func nanZero(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}
