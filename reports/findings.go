package reports

import (
	"fmt"
	"math"
	"slices"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
)

// findings are the key findings: plain sentences made from the analysis
// tables, with uncertainty said in words. Nothing is computed here that
// the tables do not hold.
func (p *page) findings(res *results.Analysis, city *results.AreaMetrics) {
	var out []string
	if city.Resident == 0 {
		p.Findings = []string{"No resident-initiated requests were recorded in this period."}
		return
	}
	if city.ShareBase == 0 {
		out = append(out, fmt.Sprintf("None of the %s resident requests came from a source that can record the app, so no app share can be given.", num(city.Resident)))
	} else {
		out = append(out, fmt.Sprintf("Across %s, %s of resident requests came through the smartphone app (%s of %s; 95%% interval %s), from %s to %s.",
			p.City, pct(city.AppShare.Value), num(city.App), num(city.ShareBase), ci(city.AppShare), p.From, p.To))
	}
	if run := res.Run; run.Weeks > 0 {
		s := fmt.Sprintf("The sources that record the app cover %d of the period's %d weeks", run.CoveredWeeks, run.Weeks)
		if run.Years != "" {
			s += " (" + run.Years + ")"
		}
		out = append(out, s+". "+run.DesignNote)
	}
	if s := p.incomeSentence(res); s != "" {
		out = append(out, s)
	}
	if p.Below != "" {
		out = append(out, p.Below)
	}
	out = append(out, p.Associations...)
	if s := p.modelSentence(res); s != "" {
		out = append(out, s)
	}
	if p.Week != nil {
		out = append(out, p.Week.Summary)
	}
	if !math.IsNaN(city.ResidentPer1000.Value) {
		out = append(out, fmt.Sprintf("Residents made %s requests per 1,000 residents a year (95%% interval %s–%s), %s of them through the app.",
			rate(city.ResidentPer1000.Value), rate(city.ResidentPer1000.Lo), rate(city.ResidentPer1000.Hi), rate(city.AppPer1000.Value)))
	}
	if s := outcomeSentence(res); s != "" {
		out = append(out, s)
	}
	if left := city.Resident - city.ShareBase; left > 0 {
		out = append(out, fmt.Sprintf("%s resident requests came from sources whose records cannot tell app requests from others (see Data quality); they count in the rates but not in the app shares.", num(left)))
	}
	q := res.Quality
	unplaced := q["geo:missing"] + q["geo:default_point"] + q["geo:outside"] + q["geo:invalid"] + q["geo:unassigned"]
	if unplaced > 0 {
		out = append(out, fmt.Sprintf("%s of %s requests (%s) could not be placed in an area (no coordinates, a placeholder point, or outside the boundaries); they count in the citywide figures only.",
			num(unplaced), num(q["tickets"]), pct(float64(unplaced)/float64(max(1, q["tickets"])))))
	}
	out = append(out, "These are patterns across areas, not facts about any resident: a request is placed where the problem is, not where the person who reported it lives, and the app offers only some request types.")
	p.Findings = out
}

// incomeSentence compares the poorest and richest fifths of areas.
func (p *page) incomeSentence(res *results.Analysis) string {
	var q1, q5 *results.Group
	for i, r := range res.Groups {
		if r.Layer != p.WhoLayer || r.Grouping != "income_quintile" {
			continue
		}
		switch r.Label {
		case "Q1":
			q1 = &res.Groups[i]
		case "Q5":
			q5 = &res.Groups[i]
		}
	}
	if q1 == nil || q5 == nil || q1.LowCount || q5.LowCount {
		return ""
	}
	s1, s5 := q1.AppShare, q5.AppShare
	out := fmt.Sprintf("In %s, %s of requests came through the app (%s), against %s in %s (%s).",
		groupNoun("income_quintile", "Q1", p.AreaNoun), pct0(s1.Value), ci0(s1), pct0(s5.Value), groupNoun("income_quintile", "Q5", p.AreaNoun), ci0(s5))
	for _, g := range res.Gaps {
		if g.Layer == p.WhoLayer && g.Grouping == "income_quintile" {
			d := g.Difference
			word := "higher"
			if d.Value < 0 {
				word = "lower"
			}
			clear := "a difference beyond chance"
			if d.Lo <= 0 && d.Hi >= 0 {
				clear = "a difference within chance"
			}
			out += fmt.Sprintf(" The richest fifth's share is %s %s (95%% interval %s to %s points): %s.", pointsWord(d.Value), word, points(d.Lo), points(d.Hi), clear)
		}
	}
	return out
}

// modelSentence reports the logit term with the clearest effect.
func (p *page) modelSentence(res *results.Analysis) string {
	var best *results.ModelTerm
	for i, r := range res.Models {
		if r.Layer != p.WhoLayer || r.Model != results.ModelLogit || r.Term == "intercept" {
			continue
		}
		if best == nil || r.P < best.P {
			best = &res.Models[i]
		}
	}
	if best == nil || best.P >= 0.05 {
		return ""
	}
	return fmt.Sprintf("Holding the other factors in the model equal, %s with one standard deviation %s have %s times the odds that a request of an app-offered type comes through the app (95%% interval %s–%s).",
		p.AreaNoun, termWords(best.Term), dec(best.Ratio, 2), dec(best.RatioLo, 2), dec(best.RatioHi, 2))
}

func termWords(term string) string {
	switch term {
	case "log_median_income":
		return "higher (log) median income"
	}
	return variableWords(term)
}

// outcomeSentence compares how fast app and phone requests close.
func outcomeSentence(res *results.Analysis) string {
	find := func(ch equity311.Channel) *results.Outcome {
		i := slices.IndexFunc(res.Outcomes, func(r results.Outcome) bool {
			return r.Layer == results.CityLayer && !r.LowCount && r.Channel == ch
		})
		if i < 0 {
			return nil
		}
		return &res.Outcomes[i]
	}
	app, phone := find(equity311.App), find(equity311.Phone)
	if app == nil || phone == nil {
		return ""
	}
	r := app.DaysRatio
	return fmt.Sprintf("App requests closed in a median %s days, phone requests in %s; for the same request types, app requests took %s times the usual time (95%% interval %s–%s).",
		dec(app.MedianDays, 1), dec(phone.MedianDays, 1), dec(r.Value, 2), dec(r.Lo, 2), dec(r.Hi, 2))
}
