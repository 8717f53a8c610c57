package reports

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/equity311/equity311/analysis/results"
)

// research adds what the research report shows beyond the weekly one:
// the models, spatial statistics, the concentration curve, shrunken
// shares beside raw ones, and the main estimates across layers.
func (p *page) research(res *results.Analysis) error {
	r := &researchView{}
	r.types(res)
	r.models(res)
	if err := p.spatial(r, res); err != nil {
		return err
	}
	p.concentration(r, res)
	p.shrinkAndSensitivity(r, res)
	r.Reporting = p.reporting(res)
	r.Fits.Empty = whyEmpty(res, "No model was fitted", true)
	r.Spatial.Empty = whyEmpty(res, "No spatial statistic was computed", false)
	r.Concentration.Empty = whyEmpty(res, "No concentration index was computed", true)
	r.Correlations.Empty = whyEmpty(res, "No correlation was computed", false)
	p.Research = r
	return nil
}

// whyEmpty says why an analysis that rests on census figures (and, with
// perResident, on per-resident figures) has no rows.
func whyEmpty(res *results.Analysis, what string, perResident bool) string {
	income := false
	for _, d := range res.Demographics {
		income = income || d.Variable == "median_income"
	}
	switch {
	case len(res.Demographics) == 0:
		return what + ": it needs census figures for a layer's areas, and none are loaded. Load a census table for a layer (equity311 ingest census --layer L FILE), then run analyze and report again."
	case perResident && !res.Run.Rates:
		return what + ": it is per resident, and per-resident figures are not computed when a source is a sample or an extract (" + res.Run.DesignNote + ")"
	case strings.Contains(what, "concentration") && !income:
		return what + ": it ranks areas by median income, which the census tables loaded do not give (ACS B19013, or BARI's med_house_income)."
	}
	return fmt.Sprintf("%s: too few areas have both census figures and at least %d resident requests.", what, res.MinCount)
}

// models tables each model's terms on each layer, and their fit.
func (r *researchView) models(res *results.Analysis) {
	for _, model := range []string{results.ModelLogit, results.ModelNB2, results.ModelVolume} {
		for _, l := range res.Layers {
			t := tableView{ID: "table-model-" + model + "-" + l, Head: []string{"Term", "Estimate (per SD)", "Clustered SE", "95% interval", "p",
				ratioName(model) + " per SD (95% interval)", "Covariate mean", "Covariate SD", "VIF"}}
			t.Caption = fmt.Sprintf("%s on %s", modelTitle(model), l)
			for _, row := range res.Models {
				if row.Model != model || row.Layer != l {
					continue
				}
				t.add(false, variableLabel(row.Term), dec(row.Estimate, 4), dec(row.SE, 4),
					dec(row.Lo, 4)+" to "+dec(row.Hi, 4), pval(row.P),
					dec(row.Ratio, 3)+" ("+dec(row.RatioLo, 3)+"–"+dec(row.RatioHi, 3)+")",
					dec(row.CovariateMean, 4), dec(row.CovariateSD, 4), dec(row.VIF, 1))
			}
			if len(t.Rows) > 0 {
				r.Models = append(r.Models, t)
			}
		}
	}
	r.Fits = tableView{ID: "table-model-fit", Caption: "Model fit, or why a model was not fitted", Head: []string{"Model", "Layer", "Rows", "Deviance", "Null deviance", "AIC", "Dispersion", "NB2 α", "Converged", "Note"}}
	for _, row := range res.Fits {
		r.Fits.add(row.Deviance != row.Deviance, row.Model, row.Layer, fmt.Sprint(row.N), dec(row.Deviance, 2), dec(row.NullDeviance, 2),
			dec(row.AIC, 2), dec(row.Dispersion, 3), dec(row.Alpha, 4), fmt.Sprint(row.Converged), row.Note)
	}
}

// spatial tables Moran's I and maps the logit's residuals on the who layer.
func (p *page) spatial(r *researchView, res *results.Analysis) error {
	r.Spatial = tableView{ID: "table-spatial", Caption: "Moran's I over queen contiguity (row-standardized weights)",
		Head: []string{"Layer", "Measure", "Areas", "Moran's I", "Expected", "Permutation p", "Permutations", "Islands (left out)"}}
	labels := map[string]map[string]string{}
	for _, v := range p.Layers {
		labels[v.Name] = v.Labels
	}
	for _, row := range res.Spatial {
		var islands []string
		for _, id := range row.Islands {
			islands = append(islands, cmp.Or(labels[row.Layer][id], id))
		}
		r.Spatial.add(false, row.Layer, row.Measure, fmt.Sprint(row.Areas), dec(row.MoranI, 4),
			dec(row.Expected, 4), pval(row.P), fmt.Sprint(row.Permutations), strings.Join(islands, "; "))
	}
	resid := map[string]float64{}
	for _, row := range res.Residuals {
		if row.Model == results.ModelLogit && row.Layer == p.WhoLayer {
			resid[row.AreaID] = row.Residual
		}
	}
	if len(resid) > 0 {
		for _, v := range p.Layers {
			if v.Name != p.WhoLayer {
				continue
			}
			gj, err := layerGeoJSON(res.Shapes[v.Name], v.Labels)
			if err != nil {
				return fmt.Errorf("layer %s: %w", v.Name, err)
			}
			r.ResidualMap = "chart-residuals"
			r.ResidualCaption = fmt.Sprintf("Pearson residuals of the logit on %s: purple where the app is used more than the model predicts from the area's demographics, orange where less. Clusters of one colour mean the model misses something spatial (see Moran's I).", v.Name)
			p.Charts = append(p.Charts, residualMap(r.ResidualMap, v, gj, resid))
		}
	}
	return nil
}

// concentration tables the concentration index and draws its curve.
func (p *page) concentration(r *researchView, res *results.Analysis) {
	r.Concentration = tableView{ID: "table-concentration", Caption: "Concentration index of app requests per resident over income rank (population-weighted), split into volume and channel",
		Head: []string{"Layer", "Areas", "Index", "Standard error", "95% interval", "Volume part: all resident requests (95% interval)", "Channel part: choosing the app"},
		Note: "The volume part is the index of all resident requests per resident: what the app's index would be if every area had the city's app share (requests of every channel concentrate where problems are). The channel part, the index less the volume part, is what channel choice adds; it has no interval of its own here."}
	for _, row := range res.Concentration {
		r.Concentration.add(false, row.Layer, fmt.Sprint(row.Areas), dec(row.Index, 4), dec(row.SE, 4),
			dec(row.Lo, 4)+" to "+dec(row.Hi, 4), dec(row.Volume, 4)+" ("+dec(row.VolumeLo, 4)+" to "+dec(row.VolumeHi, 4)+")", dec(row.Channel, 4))
	}
	var curve []results.ConcentrationPoint
	for _, row := range res.ConcentrationCurve {
		if row.Layer == p.WhoLayer {
			curve = append(curve, row)
		}
	}
	if len(curve) > 0 {
		r.ConcentrationChart = "chart-concentration"
		p.Charts = append(p.Charts, concentrationChart(r.ConcentrationChart, curve))
	}
}

// shrinkAndSensitivity tables the main layer's raw and empirical-Bayes
// shares, the main estimates on each layer, and the correlations.
func (p *page) shrinkAndSensitivity(r *researchView, res *results.Analysis) {
	if p.Main != nil {
		r.Shrinkage = tableView{ID: "table-shrinkage", Caption: fmt.Sprintf("%s: raw app share and the empirical-Bayes (beta-binomial) shrunken share", p.Main.Title),
			Head: []string{"Area", "Requests", "Raw app share", "Shrunken app share"}, Tall: len(p.Main.Rows) > 30}
		for _, a := range p.Main.Rows {
			r.Shrinkage.add(a.LowCount, p.Main.Labels[a.AreaID], num(a.ShareBase), shareWithCI(a.AppShare), shareWithCI(a.EBAppShare))
		}
	}
	// Sensitivity of the main estimates across layers.
	r.Sensitivity = tableView{ID: "table-sensitivity", Caption: "The main estimates on each layer",
		Head: []string{"Layer", "Areas", "Richest − poorest fifth (points)", "Concentration index", "Logit: income odds ratio per SD", "Moran's I of app share"}}
	for _, l := range res.Layers {
		gap, conc, or, moran := "—", "—", "—", "—"
		for _, g := range res.Gaps {
			if g.Layer == l && g.Grouping == "income_quintile" {
				d := g.Difference
				gap = fmt.Sprintf("%+.1f (%+.1f to %+.1f)", 100*d.Value, 100*d.Lo, 100*d.Hi)
			}
		}
		for _, c := range res.Concentration {
			if c.Layer == l {
				conc = dec(c.Index, 3) + " (" + dec(c.Lo, 3) + " to " + dec(c.Hi, 3) + ")"
			}
		}
		for _, m := range res.Models {
			if m.Layer == l && m.Model == results.ModelLogit && m.Term == "log_median_income" {
				or = dec(m.Ratio, 2) + " (" + dec(m.RatioLo, 2) + "–" + dec(m.RatioHi, 2) + ")"
			}
		}
		for _, s := range res.Spatial {
			if s.Layer == l && s.Measure == "app_share" {
				moran = dec(s.MoranI, 3) + " (p " + pval(s.P) + ")"
			}
		}
		r.Sensitivity.add(false, l, fmt.Sprint(len(res.Areas[l])), gap, conc, or, moran)
	}
	r.Correlations = tableView{ID: "table-correlations", Caption: fmt.Sprintf("Correlations of area app share with census variables (%s)", p.WhoLayer),
		Head: []string{"Variable", "Method", "Areas", "r", "95% interval", "p"}, Tall: true}
	for _, row := range res.Correlations {
		if row.Layer != p.WhoLayer {
			continue
		}
		r.Correlations.add(false, variableLabel(row.Variable), row.Method, fmt.Sprint(row.N), dec(row.R, 3),
			dec(row.Lo, 3)+" to "+dec(row.Hi, 3), pval(row.P))
	}
}

func modelTitle(model string) string {
	switch model {
	case results.ModelLogit:
		return "Grouped binomial logit of app vs other resident requests of app-offered types, area × year rows with year effects, errors clustered by area"
	case results.ModelNB2:
		return "Negative binomial (NB2) of app requests with log(resident requests) as offset — channel choice — area × year rows with year effects, errors clustered by area"
	}
	return "Negative binomial (NB2) of resident requests with log(population × weeks) as offset — volume, not channel — area × year rows with year effects, errors clustered by area"
}

func ratioName(model string) string {
	if model == results.ModelLogit {
		return "Odds ratio"
	}
	return "Rate ratio"
}

// types lists the request types with whether the app offers them (and
// how that is known), their resident requests and app share, named by
// their commonest service name and department in the data.
func (r *researchView) types(res *results.Analysis) {
	types := slices.Clone(res.AppTypes)
	slices.SortStableFunc(types, func(a, b results.AppType) int {
		return cmp.Or(cmp.Compare(b.ShareBase, a.ShareBase), strings.Compare(a.ServiceCode, b.ServiceCode))
	})
	offered := 0
	for _, t := range types {
		if t.Offered {
			offered++
		}
	}
	r.Types = tableView{ID: "table-types", Tall: len(types) > 30,
		Caption: fmt.Sprintf("Request types: %d of %d offered in the app, by resident requests", offered, len(types)),
		Head:    []string{"Type", "App share", "Offered in the app", "Resident requests", "Department", "How we know"}}
	for _, t := range types {
		code := t.ServiceCode
		name := res.TypeNames[code]
		label := cmp.Or(name.Name, code)
		if label != code && code != "" {
			label += " (" + code + ")"
		}
		yes := "no"
		if t.Offered {
			yes = "yes"
		}
		r.Types.add(t.ShareBase < int64(res.MinCount), label, shareWithCI(t.AppShare), yes, num(t.ShareBase), name.Department, t.Basis)
	}
}
