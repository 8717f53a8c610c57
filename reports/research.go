package reports

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/equity311/equity311/analysis"
	"github.com/equity311/equity311/store"
)

// research adds what the research report shows beyond the weekly one:
// the models, spatial statistics, the concentration curve, shrunken
// shares beside raw ones, and the main estimates across layers.
func (p *page) research(ctx context.Context, st *store.Store, res *analysis.Results, parents map[string]map[string]string) error {
	r := &researchView{}
	if err := r.types(ctx, st, res); err != nil {
		return err
	}
	// Models.
	for _, model := range []string{analysis.ModelLogit, analysis.ModelNB2} {
		for _, l := range res.Layers {
			t := tableView{ID: "table-model-" + model + "-" + l, Head: []string{"Term", "Estimate (per SD)", "Robust SE", "95% interval", "p",
				ratioName(model) + " per SD (95% interval)", "Covariate mean", "Covariate SD"}}
			t.Caption = fmt.Sprintf("%s on %s", modelTitle(model), l)
			for _, row := range res.Tables["analysis_models"] {
				if row.String("model") != model || row.String("layer") != l {
					continue
				}
				t.add(false, variableLabel(row.String("term")), dec(row.Float("estimate"), 4), dec(row.Float("se"), 4),
					dec(row.Float("lo"), 4)+" to "+dec(row.Float("hi"), 4), pval(row.Float("p")),
					dec(row.Float("ratio"), 3)+" ("+dec(row.Float("ratio_lo"), 3)+"–"+dec(row.Float("ratio_hi"), 3)+")",
					dec(row.Float("covariate_mean"), 4), dec(row.Float("covariate_sd"), 4))
			}
			if len(t.Rows) > 0 {
				r.Models = append(r.Models, t)
			}
		}
	}
	r.Fits = tableView{ID: "table-model-fit", Caption: "Model fit", Head: []string{"Model", "Layer", "Areas", "Deviance", "Null deviance", "AIC", "Dispersion", "NB2 α", "Converged"}}
	for _, row := range res.Tables["analysis_model_fit"] {
		r.Fits.add(false, row.String("model"), row.String("layer"), fmt.Sprint(row.Int("n")), dec(row.Float("deviance"), 2), dec(row.Float("null_deviance"), 2),
			dec(row.Float("aic"), 2), dec(row.Float("dispersion"), 3), dec(row.Float("alpha"), 4), fmt.Sprint(row.Bool("converged")))
	}
	// Spatial.
	r.Spatial = tableView{ID: "table-spatial", Caption: "Moran's I over queen contiguity (row-standardized weights)",
		Head: []string{"Layer", "Measure", "Areas", "Moran's I", "Expected", "Permutation p", "Permutations", "Islands (left out)"}}
	labels := map[string]map[string]string{}
	for _, v := range p.Layers {
		labels[v.Name] = v.Labels
	}
	for _, row := range res.Tables["analysis_spatial"] {
		var islands []string
		for _, id := range strings.Fields(row.String("islands")) {
			islands = append(islands, cmp.Or(labels[row.String("layer")][id], id))
		}
		r.Spatial.add(false, row.String("layer"), row.String("measure"), fmt.Sprint(row.Int("areas")), dec(row.Float("moran_i"), 4),
			dec(row.Float("expected"), 4), pval(row.Float("p_value")), fmt.Sprint(row.Int("permutations")), strings.Join(islands, "; "))
	}
	resid := map[string]float64{}
	for _, row := range res.Tables["analysis_model_residuals"] {
		if row.String("model") == analysis.ModelLogit && row.String("layer") == p.WhoLayer {
			resid[row.String("area_id")] = row.Float("residual")
		}
	}
	if len(resid) > 0 {
		for _, v := range p.Layers {
			if v.Name != p.WhoLayer {
				continue
			}
			gj, err := layerGeoJSON(ctx, st, v.Name, v.Labels)
			if err != nil {
				return err
			}
			r.ResidualMap = "chart-residuals"
			r.ResidualCaption = fmt.Sprintf("Pearson residuals of the logit on %s: purple where the app is used more than the model predicts from the area's demographics, orange where less. Clusters of one colour mean the model misses something spatial (see Moran's I).", v.Name)
			p.Charts = append(p.Charts, residualMap(r.ResidualMap, v, gj, resid))
		}
	}
	// Concentration.
	r.Concentration = tableView{ID: "table-concentration", Caption: "Concentration index of app requests per resident over income rank (population-weighted)",
		Head: []string{"Layer", "Areas", "Index", "Standard error", "95% interval"}}
	for _, row := range res.Tables["analysis_concentration"] {
		r.Concentration.add(false, row.String("layer"), fmt.Sprint(row.Int("areas")), dec(row.Float("ci"), 4), dec(row.Float("se"), 4),
			dec(row.Float("ci_lo"), 4)+" to "+dec(row.Float("ci_hi"), 4))
	}
	var curve []analysis.Row
	for _, row := range res.Tables["analysis_concentration_curve"] {
		if row.String("layer") == p.WhoLayer {
			curve = append(curve, row)
		}
	}
	if len(curve) > 0 {
		r.ConcentrationChart = "chart-concentration"
		p.Charts = append(p.Charts, concentrationChart(r.ConcentrationChart, curve))
	}
	// Shrinkage: the main layer's raw and empirical-Bayes shares.
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
		for _, g := range res.Tables["analysis_group_gaps"] {
			if g.String("layer") == l && g.String("grouping") == "income_quintile" {
				d := g.Estimate("difference")
				gap = fmt.Sprintf("%+.1f (%+.1f to %+.1f)", 100*d.Value, 100*d.Lo, 100*d.Hi)
			}
		}
		for _, c := range res.Tables["analysis_concentration"] {
			if c.String("layer") == l {
				conc = dec(c.Float("ci"), 3) + " (" + dec(c.Float("ci_lo"), 3) + " to " + dec(c.Float("ci_hi"), 3) + ")"
			}
		}
		for _, m := range res.Tables["analysis_models"] {
			if m.String("layer") == l && m.String("model") == analysis.ModelLogit && m.String("term") == "log_median_income" {
				or = dec(m.Float("ratio"), 2) + " (" + dec(m.Float("ratio_lo"), 2) + "–" + dec(m.Float("ratio_hi"), 2) + ")"
			}
		}
		for _, s := range res.Tables["analysis_spatial"] {
			if s.String("layer") == l && s.String("measure") == "app_share" {
				moran = dec(s.Float("moran_i"), 3) + " (p " + pval(s.Float("p_value")) + ")"
			}
		}
		r.Sensitivity.add(false, l, fmt.Sprint(len(res.Areas[l])), gap, conc, or, moran)
	}
	r.Correlations = tableView{ID: "table-correlations", Caption: fmt.Sprintf("Correlations of area app share with census variables (%s)", p.WhoLayer),
		Head: []string{"Variable", "Method", "Areas", "r", "95% interval", "p"}, Tall: true}
	for _, row := range res.Tables["analysis_correlations"] {
		if row.String("layer") != p.WhoLayer {
			continue
		}
		r.Correlations.add(false, variableLabel(row.String("variable")), row.String("method"), fmt.Sprint(row.Int("n")), dec(row.Float("r"), 3),
			dec(row.Float("r_lo"), 3)+" to "+dec(row.Float("r_hi"), 3), pval(row.Float("p")))
	}
	p.Research = r
	return nil
}

func modelTitle(model string) string {
	if model == analysis.ModelLogit {
		return "Grouped binomial logit of app vs other resident requests of app-offered types (quasi-binomial dispersion reported)"
	}
	return "Negative binomial (NB2) of app requests with a log(population) offset"
}

func ratioName(model string) string {
	if model == analysis.ModelLogit {
		return "Odds ratio"
	}
	return "Rate ratio"
}

var _ = math.NaN

// types lists the request types with whether the app offers them (and
// how that is known), their resident requests and app share, named by
// their commonest service name and department in the data.
func (r *researchView) types(ctx context.Context, st *store.Store, res *analysis.Results) error {
	names := map[string][2]string{}
	rows, err := st.DB().QueryContext(ctx, `SELECT service_code, first(service_name ORDER BY n DESC, service_name NULLS LAST), first(department ORDER BY n DESC, department NULLS LAST)
		FROM (SELECT service_code, service_name, department, count(*) AS n FROM tickets WHERE city = ? GROUP BY ALL) GROUP BY ALL`, res.City)
	if err != nil {
		return fmt.Errorf("request type names: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var code, name, dept sql.NullString
		if err := rows.Scan(&code, &name, &dept); err != nil {
			return err
		}
		names[code.String] = [2]string{name.String, dept.String}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	types := slices.Clone(res.Tables["analysis_app_types"])
	slices.SortStableFunc(types, func(a, b analysis.Row) int {
		return cmp.Or(cmp.Compare(b.Int("share_base"), a.Int("share_base")), strings.Compare(a.String("service_code"), b.String("service_code")))
	})
	offered := 0
	for _, t := range types {
		if t.Bool("offered") {
			offered++
		}
	}
	r.Types = tableView{ID: "table-types", Tall: len(types) > 30,
		Caption: fmt.Sprintf("Request types: %d of %d offered in the app, by resident requests", offered, len(types)),
		Head:    []string{"Type", "Department", "Offered in the app", "How we know", "Resident requests", "App share"}}
	for _, t := range types {
		code := t.String("service_code")
		label := cmp.Or(names[code][0], code)
		if label != code && code != "" {
			label += " (" + code + ")"
		}
		yes := "no"
		if t.Bool("offered") {
			yes = "yes"
		}
		r.Types.add(t.Int("share_base") < int64(res.MinCount), label, names[code][1], yes, t.String("basis"), num(t.Int("share_base")), shareWithCI(t.Estimate("app_share")))
	}
	return nil
}
