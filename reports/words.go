package reports

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/equity311/equity311/analysis/results"
)

// pct formats a proportion as a percentage with one decimal, "—" for NaN.
func pct(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return strconv.FormatFloat(100*v, 'f', 1, 64) + "%"
}

// pct0 formats a proportion as a whole percentage.
func pct0(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return strconv.FormatFloat(math.Round(100*v), 'f', 0, 64) + "%"
}

// ci formats a share's interval, "—" when there is none.
func ci(e results.Estimate) string {
	if math.IsNaN(e.Lo) || math.IsNaN(e.Hi) {
		return "—"
	}
	return strconv.FormatFloat(100*e.Lo, 'f', 1, 64) + "–" + strconv.FormatFloat(100*e.Hi, 'f', 1, 64) + "%"
}

// ci0 formats a share's interval in whole percentages: "10–14%".
func ci0(e results.Estimate) string {
	if math.IsNaN(e.Lo) || math.IsNaN(e.Hi) {
		return "—"
	}
	return strconv.FormatFloat(math.Round(100*e.Lo), 'f', 0, 64) + "–" + strconv.FormatFloat(math.Round(100*e.Hi), 'f', 0, 64) + "%"
}

// shareWithCI is "12.3% (10.1–14.6%)", or "—".
func shareWithCI(e results.Estimate) string {
	if math.IsNaN(e.Value) {
		return "—"
	}
	return pct(e.Value) + " (" + ci(e) + ")"
}

// ratio formats a ratio with two decimals and its interval.
func ratioWithCI(e results.Estimate) string {
	if math.IsNaN(e.Value) {
		return "—"
	}
	s := strconv.FormatFloat(e.Value, 'f', 2, 64)
	if !math.IsNaN(e.Lo) {
		s += " (" + strconv.FormatFloat(e.Lo, 'f', 2, 64) + "–" + strconv.FormatFloat(e.Hi, 'f', 2, 64) + ")"
	}
	return s
}

// rate formats a rate per 1,000, "—" for NaN.
func rate(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// rateWithCI is "12.4 (11.9–13.0)", or "no population" when there is none.
func rateWithCI(e results.Estimate) string {
	if math.IsNaN(e.Value) {
		return "no population"
	}
	return rate(e.Value) + " (" + rate(e.Lo) + "–" + rate(e.Hi) + ")"
}

// num formats an integer-ish count with thousands separators.
func num(v any) string {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case int:
		n = int64(x)
	case float64:
		if math.IsNaN(x) {
			return "—"
		}
		n = int64(math.Round(x))
	}
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// dec formats a float with the given decimals, "—" for NaN; a value
// that rounds to zero is "0.00", never "-0.00".
func dec(v float64, d int) string {
	if math.IsNaN(v) {
		return "—"
	}
	s := strconv.FormatFloat(v, 'f', d, 64)
	if strings.HasPrefix(s, "-") && strings.Trim(s, "-0.") == "" {
		return s[1:]
	}
	return s
}

// pval formats a p-value.
func pval(p float64) string {
	switch {
	case math.IsNaN(p):
		return "—"
	case p < 0.001:
		return "< 0.001"
	}
	return strconv.FormatFloat(p, 'f', 3, 64)
}

// money formats a dollar amount.
func money(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return "$" + num(v)
}

// listAnd joins items as "a, b and c".
func listAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// groupNoun names a quantile group in words: "the poorest fifth".
func groupNoun(grouping, label string, areaNoun string) string {
	switch grouping {
	case "income_quintile":
		return map[string]string{"Q1": "the poorest fifth of " + areaNoun, "Q2": "the second-poorest fifth of " + areaNoun,
			"Q3": "the middle fifth of " + areaNoun, "Q4": "the second-richest fifth of " + areaNoun, "Q5": "the richest fifth of " + areaNoun}[label]
	case "majority_race":
		return areaNoun + " where most residents are " + map[string]string{"white": "white", "black": "Black", "hispanic": "Hispanic or Latino", "asian": "Asian"}[label]
	case "limited_english_tercile":
		return map[string]string{"T1": "the third of " + areaNoun + " with the fewest limited-English households",
			"T2": "the middle third", "T3": "the third with the most limited-English households"}[label]
	case "broadband_tercile":
		return map[string]string{"T1": "the third of " + areaNoun + " with the least broadband",
			"T2": "the middle third", "T3": "the third with the most broadband"}[label]
	case "age_tercile":
		return map[string]string{"T1": "the third of " + areaNoun + " with the fewest residents 65 and over",
			"T2": "the middle third", "T3": "the third with the most residents 65 and over"}[label]
	}
	return label
}

// groupLabel names a group for a chart axis.
func groupLabel(grouping, label string) string {
	switch grouping {
	case "income_quintile":
		return map[string]string{"Q1": "Poorest fifth", "Q2": "Second fifth", "Q3": "Middle fifth", "Q4": "Fourth fifth", "Q5": "Richest fifth"}[label]
	case "majority_race":
		return map[string]string{"white": "Mostly white", "black": "Mostly Black", "hispanic": "Mostly Hispanic/Latino", "asian": "Mostly Asian"}[label]
	case "limited_english_tercile", "broadband_tercile", "age_tercile":
		return map[string]string{"T1": "Lowest third", "T2": "Middle third", "T3": "Highest third"}[label]
	}
	return label
}

// variableWords describes a census variable in a sentence.
func variableWords(v string) string {
	if w, ok := map[string]string{
		"median_income": "higher median income", "per_capita_income": "higher income per resident",
		"share_65plus": "more residents 65 and over", "share_limited_english": "more limited-English households",
		"share_other_language": "more residents speaking a language other than English at home",
		"share_broadband":      "more broadband subscriptions", "share_no_internet": "more households without internet",
		"share_smartphone": "more smartphone owners", "share_white": "more white residents", "share_black": "more Black residents",
		"share_hispanic": "more Hispanic or Latino residents", "share_asian": "more Asian residents", "share_renter": "more renters",
		"share_bachelor_plus": "more college graduates", "share_poverty": "more residents in poverty",
		"share_foreign_born": "more foreign-born residents",
	}[v]; ok {
		return w
	}
	return v
}

// variableLabel names a census variable for a table.
func variableLabel(v string) string {
	if w, ok := map[string]string{
		"population": "Population", "median_income": "Median household income", "per_capita_income": "Income per resident",
		"share_65plus": "Share 65 and over", "share_limited_english": "Share of limited-English households",
		"share_other_language": "Share speaking another language at home", "share_broadband": "Share with broadband",
		"share_no_internet": "Share without internet", "share_smartphone": "Share with a smartphone", "share_white": "Share white",
		"share_black": "Share Black", "share_hispanic": "Share Hispanic or Latino", "share_asian": "Share Asian",
		"share_renter": "Share renting", "share_bachelor_plus": "Share with a bachelor's degree", "share_poverty": "Share in poverty",
		"share_foreign_born": "Share foreign-born", "log_median_income": "Log median income", "intercept": "Intercept",
	}[v]; ok {
		return w
	}
	return v
}

// layerTitle makes a layer name a heading: "tracts" → "Tracts",
// "tracts2010" → "Tracts (2010)", "block_groups" → "Block groups".
func layerTitle(l string) string {
	base, year := splitYear(l)
	if base == "" {
		return l
	}
	t := capitalize(base)
	if year != "" {
		t += " (" + year + ")"
	}
	return t
}

// layerNoun is a layer's areas in a sentence: "tracts2010" → "tracts".
func layerNoun(l string) string {
	base, _ := splitYear(l)
	if base == "" {
		return l
	}
	return strings.ToLower(base)
}

// splitYear splits a trailing four-digit vintage off a layer name and
// turns underscores into spaces.
func splitYear(l string) (base, year string) {
	base = strings.TrimRight(strings.ReplaceAll(l, "_", " "), " ")
	if n := len(base); n > 4 && strings.Trim(base[n-4:], "0123456789") == "" {
		base, year = strings.TrimRight(base[:n-4], " -"), base[n-4:]
	}
	return base, year
}

// plural returns n and the word, pluralized with s.
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%s %ss", num(n), word)
}

// points formats a difference of proportions in percentage points with
// one decimal and a sign: "+3.2", "−0.4", "0.0" (never "-0.0").
func points(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	s := strconv.FormatFloat(100*v, 'f', 1, 64)
	switch {
	case s == "-0.0" || s == "0.0":
		return "0.0"
	case strings.HasPrefix(s, "-"):
		return "−" + s[1:]
	}
	return "+" + s
}

// pointsWord is "1 point" / "3.2 points" for an unsigned difference.
func pointsWord(v float64) string {
	s := strconv.FormatFloat(math.Abs(100*v), 'f', 1, 64)
	if s == "1.0" {
		return "1 point"
	}
	return strings.TrimSuffix(s, ".0") + " points"
}

// cityTitle capitalizes a city key written in lower case ("boston",
// "new york") for prose; a name with capitals is kept as it is.
func cityTitle(c string) string {
	if c != strings.ToLower(c) {
		return c
	}
	words := strings.Fields(c)
	for i, w := range words {
		words[i] = capitalize(w)
	}
	return strings.Join(words, " ")
}
