package census

import (
	"fmt"
	"math"
	"strings"
)

// derivation makes one of equity311's canonical variables from census
// variables: a copy of the first source present, a share of summed
// numerators over a denominator, a sum of shares (all present), or a
// scaled copy (percent → share).
type derivation struct {
	name  string
	kind  string   // "copy", "share", "sum" or "scale"
	num   []string // summed; for copy and scale, alternatives in order of preference
	den   string
	scale float64
}

// seq returns table_NNN names for n in [from, to].
func seq(table string, from, to int) []string {
	var out []string
	for n := from; n <= to; n++ {
		out = append(out, fmt.Sprintf("%s_%03d", table, n))
	}
	return out
}

// Derivations lists the canonical variables equity311 derives from ACS
// 5-year tables (and from the derived tables BARI and the ACLU publish),
// in the order they are tried; the first whose sources are all present
// for an area wins.
func derivations() []derivation {
	age65 := append(seq("B01001", 20, 25), seq("B01001", 44, 49)...)
	return []derivation{
		// Total population only: the decennial census count, else ACS
		// B01003 (BARI's total_pop is B01003). Never a table's universe
		// such as B28008_001 (people in households: dormitories excluded).
		{name: "population", kind: "copy", num: []string{"P1_001N", "P0010001", "P2_001N", "P0020001", "B01003_001", "total_pop"}},
		{name: "median_income", kind: "copy", num: []string{"B19013_001", "med_house_income"}},
		{name: "per_capita_income", kind: "copy", num: []string{"B19301_001"}},
		{name: "share_65plus", kind: "share", num: age65, den: "B01001_001"},
		{name: "share_65plus", kind: "copy", num: []string{"age_o65"}},
		{name: "share_white", kind: "share", num: []string{"B03002_003"}, den: "B03002_001"},
		{name: "share_white", kind: "copy", num: []string{"white"}},
		// The decennial redistricting table P2 (2020: P2_…N from the API,
		// P002… in the legacy files): Hispanic or Latino, and not Hispanic
		// by race alone.
		{name: "share_white", kind: "share", num: []string{"P2_005N"}, den: "P2_001N"},
		{name: "share_white", kind: "share", num: []string{"P0020005"}, den: "P0020001"},
		{name: "share_black", kind: "share", num: []string{"P2_006N"}, den: "P2_001N"},
		{name: "share_black", kind: "share", num: []string{"P0020006"}, den: "P0020001"},
		{name: "share_asian", kind: "share", num: []string{"P2_008N"}, den: "P2_001N"},
		{name: "share_asian", kind: "share", num: []string{"P0020008"}, den: "P0020001"},
		{name: "share_hispanic", kind: "share", num: []string{"P2_002N"}, den: "P2_001N"},
		{name: "share_hispanic", kind: "share", num: []string{"P0020002"}, den: "P0020001"},
		{name: "share_black", kind: "share", num: []string{"B03002_004"}, den: "B03002_001"},
		{name: "share_black", kind: "copy", num: []string{"black"}},
		{name: "share_asian", kind: "share", num: []string{"B03002_006"}, den: "B03002_001"},
		{name: "share_asian", kind: "copy", num: []string{"asian"}},
		{name: "share_hispanic", kind: "share", num: []string{"B03002_012"}, den: "B03002_001"},
		{name: "share_hispanic", kind: "copy", num: []string{"hispanic"}},
		{name: "share_limited_english", kind: "share", num: []string{"C16002_004", "C16002_007", "C16002_010", "C16002_013"}, den: "C16002_001"},
		{name: "share_other_language", kind: "scale", num: []string{"pct_lang_other_than_english_S1601_C02_003"}, scale: 0.01},
		{name: "share_broadband", kind: "share", num: []string{"B28002_004"}, den: "B28002_001"},
		{name: "share_broadband", kind: "share", num: []string{"broadband_pop_B28008_005"}, den: "B28008_001_total_pop"},
		{name: "share_no_internet", kind: "share", num: []string{"B28002_013"}, den: "B28002_001"},
		{name: "share_smartphone", kind: "share", num: []string{"B28001_005"}, den: "B28001_001"},
		{name: "share_renter", kind: "share", num: []string{"B25003_003"}, den: "B25003_001"},
		{name: "share_renter", kind: "copy", num: []string{"renters_per"}},
		{name: "share_bachelor_plus", kind: "share", num: seq("B15003", 22, 25), den: "B15003_001"},
		// BARI's bach is a bachelor's degree only: bachelor's or higher
		// adds master's, professional and doctoral degrees.
		{name: "share_bachelor_plus", kind: "sum", num: []string{"bach", "master", "prof", "doc"}},
		{name: "share_poverty", kind: "share", num: []string{"B17001_002"}, den: "B17001_001"},
		{name: "share_foreign_born", kind: "share", num: []string{"B05002_013"}, den: "B05002_001"},
		{name: "share_foreign_born", kind: "copy", num: []string{"for_born"}},
	}
}

// estimate is a value with its margin of error (90%, as the ACS
// publishes); moe is NaN when unknown. measure names what it measures:
// the census variable it is, or the ones it was derived from.
type estimate struct {
	est, moe float64
	measure  string
}

// SumMOE is the Census Bureau's approximation for the margin of error of
// a sum: the square root of the sum of squared margins.
func SumMOE(moes ...float64) float64 {
	s := 0.0
	for _, m := range moes {
		s += m * m
	}
	return math.Sqrt(s)
}

// ProportionMOE is the Census Bureau's approximation for the margin of
// error of a proportion p = num/den whose numerator is a subset of its
// denominator; when the radicand is negative it falls back to the ratio
// formula, as the ACS handbook says.
func ProportionMOE(num, moeNum, den, moeDen float64) float64 {
	p := num / den
	r := moeNum*moeNum - p*p*moeDen*moeDen
	if r < 0 {
		r = moeNum*moeNum + p*p*moeDen*moeDen
	}
	return math.Sqrt(r) / den
}

// derive computes the canonical variables for one area from its census
// variables; it leaves out those the file already has and those whose
// sources are missing.
func derive(vars map[string]estimate) map[string]estimate {
	out := map[string]estimate{}
	for _, d := range derivations() {
		if _, ok := vars[d.name]; ok {
			continue
		}
		if _, ok := out[d.name]; ok {
			continue
		}
		switch d.kind {
		case "copy", "scale":
			for _, n := range d.num {
				if v, ok := vars[n]; ok {
					if d.kind == "scale" {
						v = estimate{v.est * d.scale, v.moe * d.scale, n}
					}
					v.measure = n
					if d.kind == "scale" {
						v.measure = fmt.Sprintf("%s×%g", n, d.scale)
					}
					out[d.name] = v
					break
				}
			}
		case "share":
			den, ok := vars[d.den]
			if !ok || den.est <= 0 {
				continue
			}
			sum, moes, all := sumOf(vars, d.num)
			if !all {
				continue
			}
			e := estimate{est: sum / den.est, moe: math.NaN(), measure: strings.Join(d.num, "+") + "/" + d.den}
			if m := SumMOE(moes...); !math.IsNaN(m) && !math.IsNaN(den.moe) {
				e.moe = ProportionMOE(sum, m, den.est, den.moe)
			}
			out[d.name] = e
		case "sum":
			if sum, moes, all := sumOf(vars, d.num); all {
				out[d.name] = estimate{est: sum, moe: SumMOE(moes...), measure: strings.Join(d.num, "+")}
			}
		}
	}
	return out
}

// sumOf sums the named variables and lists their margins; all is false
// when one is missing.
func sumOf(vars map[string]estimate, names []string) (sum float64, moes []float64, all bool) {
	for _, n := range names {
		v, ok := vars[n]
		if !ok {
			return 0, nil, false
		}
		sum += v.est
		moes = append(moes, v.moe)
	}
	return sum, moes, true
}
