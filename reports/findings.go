package reports

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
)

// findings are the key findings, the report's first screen: who uses the
// app less, in plain sentences — the clearest type-and-year-adjusted gaps
// first, each with its interval in words and how sure we are — then where,
// then what the figures rest on. Nothing is computed here that the tables
// do not hold; no statistical jargon and no ISO week codes.
func (p *page) findings(res *results.Analysis, city *results.AreaMetrics) {
	if city.Resident == 0 {
		p.Findings = []string{"No resident-initiated requests were recorded in this period."}
		return
	}
	var out []string
	out = append(out, p.whoSentences(res)...)
	if p.Below != "" {
		out = append(out, p.Below)
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
	if s := reportingSentence(res, p.WhoLayer, p.AreaNoun); s != "" {
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

// groupPhrase names a group of areas for a person: "the poorest fifth of
// tracts", "tracts where the largest group of residents is Black".
func groupPhrase(grouping, label, noun string) string {
	switch grouping {
	case "income_quintile":
		return groupNoun(grouping, label, noun)
	case "majority_race":
		return fmt.Sprintf("%s where the largest group of residents is %s", noun, raceWord(label))
	case "limited_english_tercile":
		return map[string]string{"T1": "the third of " + noun + " with the fewest households that speak limited English",
			"T3": "the third of " + noun + " with the most households that speak limited English"}[label]
	case "broadband_tercile":
		return map[string]string{"T1": "the third of " + noun + " where the fewest households have broadband internet",
			"T3": "the third of " + noun + " where the most households have broadband internet"}[label]
	case "age_tercile":
		return map[string]string{"T1": "the third of " + noun + " with the fewest residents 65 and over",
			"T3": "the third of " + noun + " with the most residents 65 and over"}[label]
	}
	return label + " " + noun
}

func raceWord(label string) string {
	return map[string]string{"white": "white", "black": "Black", "hispanic": "Hispanic or Latino", "asian": "Asian"}[label]
}

// dimensionWord names what a grouping compares.
func dimensionWord(grouping string) string {
	return map[string]string{"income_quintile": "income", "majority_race": "race and ethnicity", "limited_english_tercile": "limited English",
		"broadband_tercile": "internet access", "age_tercile": "age"}[grouping]
}

// whoSentences say who uses the app less: the adjusted gaps of the who
// layer, clearest first (by how far the interval stays from zero), each
// in words with how sure we are, and where a raw gap mostly disappears for
// the same kinds of requests. Without a fitted gap, the raw ones, called
// raw.
func (p *page) whoSentences(res *results.Analysis) []string {
	var gaps []results.AdjustedGap
	dims := map[string]bool{}
	for _, g := range res.AdjustedGaps {
		if g.Layer == p.WhoLayer {
			gaps = append(gaps, g)
			dims[g.Grouping] = true
		}
	}
	if len(gaps) == 0 {
		return nil
	}
	margin := func(g results.AdjustedGap) float64 { // how far the interval stays from zero, in points
		if !g.Fitted {
			return math.Inf(-1)
		}
		return math.Max(g.Gap.Lo, -g.Gap.Hi)
	}
	slices.SortStableFunc(gaps, func(a, b results.AdjustedGap) int { return cmp.Compare(margin(b), margin(a)) })
	var out []string
	clearDims := map[string]bool{}
	for _, g := range gaps {
		if g.Fitted && (g.Gap.Lo > 0 || g.Gap.Hi < 0) {
			clearDims[g.Grouping] = true
		}
	}
	clear := len(clearDims)
	var names []string
	for _, gr := range results.Groupings() {
		if dims[gr.Name] {
			names = append(names, dimensionWord(gr.Name))
		}
	}
	intro := fmt.Sprintf("We compared %s by %s, for the same kinds of requests and years; ", p.AreaNoun, listAnd(names))
	switch clear {
	case 0:
		intro += "none of these showed a difference in app use that is clearly more than chance."
	case len(names):
		intro += "each showed a clear difference."
	default:
		intro += fmt.Sprintf("%s of the %s showed a clear difference.", numberWord(clear), numberWord(len(names)))
	}
	shown := 0
	for _, g := range gaps {
		if shown == 4 || !g.Fitted {
			break
		}
		if shown > 0 && !(g.Gap.Lo > 0 || g.Gap.Hi < 0) {
			break
		}
		out = append(out, gapSentence(g, p.AreaNoun))
		shown++
	}
	out = append([]string{intro}, out...)
	for _, g := range gaps {
		if !g.Fitted {
			continue
		}
		rawClear := g.RawGap.Lo > 0 || g.RawGap.Hi < 0
		adjClear := g.Gap.Lo > 0 || g.Gap.Hi < 0
		if rawClear && (!adjClear || math.Abs(g.Gap.Value) < 0.5*math.Abs(g.RawGap.Value)) {
			out = append(out, fmt.Sprintf("Comparing %s with %s, the raw difference of %s points mostly reflects the kinds of requests made there: for the same kinds of requests and years it is %s points.",
				groupPhrase(g.Grouping, g.Top, p.AreaNoun), groupPhrase(g.Grouping, g.Bottom, p.AreaNoun), dec(100*math.Abs(g.RawGap.Value), 1), signedPoints(g.Gap.Value)))
		}
	}
	if shown == 0 {
		for _, g := range gaps {
			if g.Note != "" && !g.Fitted {
				out = append(out, fmt.Sprintf("The difference by %s could not be adjusted for the kinds of requests: %s. The raw difference is %s points (95%% interval %s to %s).",
					dimensionWord(g.Grouping), strings.TrimPrefix(g.Note, "not fitted: "), signedPoints(g.RawGap.Value), points(g.RawGap.Lo), points(g.RawGap.Hi)))
				break
			}
		}
	}
	return out
}

// gapSentence is one adjusted gap in words, with its interval and how
// sure we are.
func gapSentence(g results.AdjustedGap, noun string) string {
	less, more := g.Bottom, g.Top
	d, lo, hi := g.Gap.Value, g.Gap.Lo, g.Gap.Hi
	if d < 0 {
		less, more, d, lo, hi = g.Top, g.Bottom, -d, -hi, -lo
	}
	s := fmt.Sprintf("Requests from %s came through the app %s less often than from %s, for the same kinds of requests",
		groupPhrase(g.Grouping, less, noun), pointsWord(d), groupPhrase(g.Grouping, more, noun))
	switch {
	case lo > 0:
		s += fmt.Sprintf(" (95%% interval: between %s and %s points less).", dec(100*lo, 1), dec(100*hi, 1))
	default:
		s += fmt.Sprintf(" (95%% interval: from %s points less to %s points more).", dec(100*hi, 1), dec(-100*lo, 1))
	}
	z := d / g.SECluster
	if !math.IsNaN(g.SESpatial) && g.SESpatial > g.SECluster {
		z = d / g.SESpatial
	}
	switch {
	case lo > 0 && z >= 3:
		s += " We are confident this is a real difference: the interval stays well away from zero."
	case lo > 0:
		s += " This is unlikely to be chance, but its size is uncertain."
	default:
		s += " This could be chance."
	}
	return capitalize(s)
}

// signedPoints is a difference in points with its sign: "+2.1", "−0.4".
func signedPoints(v float64) string { return points(v) }

func numberWord(n int) string {
	if n >= 0 && n < 10 {
		return []string{"none", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}[n]
	}
	return fmt.Sprint(n)
}

// outcomeSentence compares how fast app and phone requests close: the
// Kaplan–Meier medians (open cases counted as open), and for the same
// request types.
func outcomeSentence(res *results.Analysis) string {
	km := func(ch equity311.Channel) *results.Survival {
		i := slices.IndexFunc(res.Survival, func(s results.Survival) bool { return s.Channel == ch && !s.LowCount })
		if i < 0 {
			return nil
		}
		return &res.Survival[i]
	}
	app, phone := km(equity311.App), km(equity311.Phone)
	if app == nil || phone == nil || math.IsNaN(app.MedianDays.Value) || math.IsNaN(phone.MedianDays.Value) {
		return ""
	}
	s := fmt.Sprintf("Half of app requests were closed within %s days and half of phone requests within %s, counting requests still open.",
		dec(app.MedianDays.Value, 1), dec(phone.MedianDays.Value, 1))
	i := slices.IndexFunc(res.Outcomes, func(r results.Outcome) bool {
		return r.Layer == results.CityLayer && !r.LowCount && r.Channel == equity311.App
	})
	if i >= 0 && !math.IsNaN(res.Outcomes[i].DaysRatio.Value) {
		r := res.Outcomes[i].DaysRatio
		s += fmt.Sprintf(" For the same request types, closed app requests took %s times the usual time (95%% interval %s–%s).", dec(r.Value, 2), dec(r.Lo, 2), dec(r.Hi, 2))
	}
	return s
}

// reportingSentence says, in plain words, how readily the poorest and the
// richest fifth of areas report problems again while they are open,
// against the city for the same kinds of requests (the reporting-rate
// tables on the who layer), when the data allow the model.
func reportingSentence(res *results.Analysis, layer, noun string) string {
	fit := slices.IndexFunc(res.ReportingFits, func(f results.ReportingFit) bool {
		return f.Layer == layer && f.Status == results.ReportingComputed
	})
	if fit < 0 {
		return ""
	}
	var poor, rich *results.FirstReport
	for i := range res.FirstReports {
		r := &res.FirstReports[i]
		if r.Layer != layer {
			continue
		}
		switch r.Rank {
		case 1:
			poor = r
		case 5:
			rich = r
		}
	}
	if poor == nil || rich == nil || math.IsNaN(poor.RateRatio.Lo) || math.IsNaN(rich.RateRatio.Lo) {
		return ""
	}
	return fmt.Sprintf("Counting repeat reports of the same problem while it stayed open: in the richest fifth of %s, problems were reported again %s times as often a day as is usual in the city for the same kinds of requests (95%% interval %s–%s); in the poorest fifth, %s times (%s–%s). This measures who reports at all, whatever the number of problems (see the research report).",
		noun, dec(rich.RateRatio.Value, 2), dec(rich.RateRatio.Lo, 2), dec(rich.RateRatio.Hi, 2),
		dec(poor.RateRatio.Value, 2), dec(poor.RateRatio.Lo, 2), dec(poor.RateRatio.Hi, 2))
}
