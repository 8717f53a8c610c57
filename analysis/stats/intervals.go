// Package stats holds the statistics equity311's analysis uses, as pure
// functions of numbers: no store, no tables. Intervals for proportions and
// counts (Wilson, Garwood, Newcombe), grouped binomial logit and NB2
// regressions by IRLS with HC1 sandwich errors, correlations with Fisher
// intervals, the concentration index, Benjamini–Hochberg, beta-binomial
// shrinkage, Moran's I, and medians from bracket counts. Each is checked
// against statsmodels, scipy or numpy on committed values (testdata/).
package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Z95 is the standard normal quantile for a two-sided 95% interval.
const Z95 = 1.959963984540054

// Estimate is a value with its 95% interval; NaN when undefined.
type Estimate struct{ Value, Lo, Hi float64 }

// NaNEstimate is the undefined estimate.
func NaNEstimate() Estimate { return Estimate{math.NaN(), math.NaN(), math.NaN()} }

// Share is k of n as a proportion with its Wilson 95% interval.
func Share(k, n int64) Estimate {
	if n == 0 {
		return NaNEstimate()
	}
	lo, hi := Wilson(k, n, Z95)
	return Estimate{float64(k) / float64(n), lo, hi}
}

// Wilson returns the Wilson score interval for k successes in n trials at
// the given normal quantile z (Z95 for 95%). For n = 0 it returns NaNs.
func Wilson(k, n int64, z float64) (lo, hi float64) {
	if n <= 0 {
		return math.NaN(), math.NaN()
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	den := 1 + z2/nf
	centre := (p + z2/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / den
	lo, hi = centre-half, centre+half
	if k == 0 {
		lo = 0
	}
	if k == n {
		hi = 1
	}
	return math.Max(0, lo), math.Min(1, hi)
}

// PoissonExact returns the exact (Garwood) interval for a Poisson count k
// at confidence level (0.95 for 95%): the chi-square / gamma quantiles.
func PoissonExact(k int64, level float64) (lo, hi float64) {
	a := (1 - level) / 2
	if k > 0 {
		lo = distuv.Gamma{Alpha: float64(k), Beta: 1}.Quantile(a)
	}
	hi = distuv.Gamma{Alpha: float64(k + 1), Beta: 1}.Quantile(1 - a)
	return lo, hi
}
