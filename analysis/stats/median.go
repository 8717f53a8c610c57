package stats

import "math"

// IncomeBrackets are the lower bounds of ACS table B19001's household
// income brackets (B19001_002 … B19001_017); the last is open-ended.
func IncomeBrackets() []float64 {
	return []float64{0, 10000, 15000, 20000, 25000, 30000, 35000, 40000, 45000, 50000, 60000, 75000, 100000, 125000, 150000, 200000}
}

// MedianFromBrackets estimates a median from counts in brackets with the
// given lower bounds, by linear interpolation within the bracket that holds
// the middle case, as the Census Bureau does for ACS medians. Medians of
// areas combined from several tracts are made this way, from their summed
// bracket counts, never by averaging the tracts' medians. approx is true
// when the middle case falls in the open-ended top bracket: the result is
// then only its lower bound. It returns NaN when there are no cases.
func MedianFromBrackets(lower, counts []float64) (median float64, approx bool) {
	total := 0.0
	for _, c := range counts {
		total += c
	}
	if total <= 0 || len(lower) != len(counts) {
		return math.NaN(), false
	}
	half := total / 2
	cum := 0.0
	for i, c := range counts {
		if cum+c >= half && c > 0 {
			if i == len(counts)-1 {
				return lower[i], true
			}
			width := lower[i+1] - lower[i]
			return lower[i] + (half-cum)/c*width, false
		}
		cum += c
	}
	return lower[len(lower)-1], true
}
