package stats

import (
	"math"
	"math/rand/v2"
	"slices"
)

// BootstrapRatio is the percentile 95% interval of Σnum/Σden over
// clusters (areas) resampled with replacement, b times, drawn with rng:
// an interval that admits dependence within clusters. NaN when there are
// no clusters or no denominator.
func BootstrapRatio(num, den []float64, b int, rng *rand.Rand) (lo, hi float64) {
	if len(num) == 0 {
		return math.NaN(), math.NaN()
	}
	reps := make([]float64, 0, b)
	for r := 0; r < b; r++ {
		var sn, sd float64
		for range num {
			i := rng.IntN(len(num))
			sn, sd = sn+num[i], sd+den[i]
		}
		if sd > 0 {
			reps = append(reps, sn/sd)
		}
	}
	return percentiles(reps)
}

// BootstrapRatioDiff is the percentile 95% interval of Σn1/Σd1 − Σn2/Σd2,
// the two sets of clusters resampled apart.
func BootstrapRatioDiff(n1, d1, n2, d2 []float64, b int, rng *rand.Rand) (lo, hi float64) {
	if len(n1) == 0 || len(n2) == 0 {
		return math.NaN(), math.NaN()
	}
	reps := make([]float64, 0, b)
	draw := func(num, den []float64) float64 {
		var sn, sd float64
		for range num {
			i := rng.IntN(len(num))
			sn, sd = sn+num[i], sd+den[i]
		}
		return sn / sd
	}
	for r := 0; r < b; r++ {
		v := draw(n1, d1) - draw(n2, d2)
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			reps = append(reps, v)
		}
	}
	return percentiles(reps)
}

// percentiles are the 2.5th and 97.5th percentiles of the replicates
// (linear interpolation between order statistics).
func percentiles(reps []float64) (lo, hi float64) {
	if len(reps) < 20 {
		return math.NaN(), math.NaN()
	}
	slices.Sort(reps)
	at := func(q float64) float64 {
		x := q * float64(len(reps)-1)
		i := int(x)
		if i+1 >= len(reps) {
			return reps[len(reps)-1]
		}
		return reps[i] + (x-float64(i))*(reps[i+1]-reps[i])
	}
	return at(0.025), at(0.975)
}
