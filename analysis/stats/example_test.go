package stats_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/equity311/equity311/analysis/stats"
)

// The share of 42 app requests among 120 resident requests, with its
// Wilson 95% interval. The outputs of these examples were checked with
// Debian's python3-statsmodels (proportion_confint, multipletests, GLM
// with HC0 errors times √(n/(n−k))) and scipy (chi2.ppf).
func ExampleShare() {
	s := stats.Share(42, 120)
	fmt.Printf("%.3f (%.3f–%.3f)\n", s.Value, s.Lo, s.Hi)
	// Output: 0.350 (0.271–0.439)
}

// The exact (Garwood) 95% interval of a Poisson count of 7.
func ExamplePoissonExact() {
	lo, hi := stats.PoissonExact(7, 0.95)
	fmt.Printf("%.3f–%.3f\n", lo, hi)
	// Output: 2.814–14.423
}

// The difference between two groups' app shares, with Newcombe's interval.
func ExampleNewcombeDifference() {
	d, lo, hi := stats.NewcombeDifference(60, 100, 45, 100)
	fmt.Printf("%+.3f (%+.3f to %+.3f)\n", d, lo, hi)
	// Output: +0.150 (+0.012 to +0.280)
}

// Benjamini–Hochberg q-values of five tests; NaN is not a test.
func ExampleBenjaminiHochberg() {
	q := stats.BenjaminiHochberg([]float64{0.001, 0.04, 0.03, 0.2, 0.5})
	fmt.Printf("%.4f\n", q)
	// Output: [0.0050 0.0667 0.0667 0.2500 0.5000]
}

// A grouped logit: app requests of all requests in four areas against a
// standardized covariate, with HC1 errors.
func ExampleFitLogit() {
	x, _, _ := stats.Standardize([][]float64{{1, 2, 3, 4}})
	f, err := stats.FitLogit(x, []float64{10, 20, 30, 45}, []float64{100, 100, 100, 100})
	if err != nil {
		panic(err)
	}
	fmt.Printf("slope %.3f, HC1 SE %.3f, converged %v\n", f.Beta[1], f.SE[1], f.Converged)
	// Output: slope 0.827, HC1 SE 0.045, converged true
}

// The median household income of an area from its B19001 bracket counts.
func ExampleMedianFromBrackets() {
	counts := make([]float64, len(stats.IncomeBrackets()))
	counts[5], counts[8], counts[12] = 100, 150, 120 // $30–35k, $45–50k, $100–125k
	m, approx := stats.MedianFromBrackets(stats.IncomeBrackets(), counts)
	fmt.Printf("%.0f %v\n", m, approx)
	// Output: 47833 false
}

// Moran's I of a gradient along a line of six areas, each touching the
// next: strongly positive, and beyond chance.
func ExampleMoransI() {
	x := []float64{1, 2, 3, 4, 5, 6}
	nb := [][]int{{1}, {0, 2}, {1, 3}, {2, 4}, {3, 5}, {4}}
	m := stats.MoransI(x, nb, 999, rand.New(rand.NewPCG(1, 2)))
	fmt.Printf("I = %.3f, E[I] = %.3f, p < 0.05: %v\n", m.I, m.Expected, m.P < 0.05)
	// Output: I = 0.714, E[I] = -0.200, p < 0.05: true
}
