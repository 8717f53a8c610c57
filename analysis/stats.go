// Package analysis computes channel-use metrics per period, layer and area
// from the placed tickets and census figures in the store, and writes them
// to the analysis_* tables that reports and researchers read.
package analysis

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// z95 is the standard normal quantile for a two-sided 95% interval.
const z95 = 1.959963984540054

// Wilson returns the Wilson score interval for k successes in n trials at
// the given normal quantile z (z95 for 95%). For n = 0 it returns NaNs.
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
