package stats

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Concentration is a concentration index of a per-resident measure over
// the income rank of areas, weighted by population, with its curve.
type Concentration struct {
	Index, SE float64
	Lo, Hi    float64
	// Curve: after each area in income order (poorest first), the
	// cumulative shares of population and of the measure.
	CumPopulation, CumMeasure []float64
	Order                     []int // area indexes in income order
}

// ConcentrationIndex computes C = 2·cov_w(h, R)/μ_w for per-resident
// measures h (app requests per resident) of areas ranked by income with
// population weights: R is the weighted fractional rank. Its standard
// error is Kakwani, Wagstaff and van Doorslaer's (1997) formula with the
// weights: var(C) = (Σ wᵢaᵢ² − (1+C)²)/n, aᵢ = (hᵢ/μ)(2Rᵢ − 1 − C) + 2 −
// qᵢ₋₁ − qᵢ, q the concentration curve's ordinates; with equal weights it
// is their formula exactly. Positive C: the measure concentrates among
// the richer areas.
func ConcentrationIndex(income, h, pop []float64) Concentration {
	n := len(h)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(income[a], income[b]) })
	total := 0.0
	for _, p := range pop {
		total += p
	}
	w := make([]float64, n)
	hh := make([]float64, n)
	R := make([]float64, n)
	cum, mu := 0.0, 0.0
	for k, i := range order {
		w[k], hh[k] = pop[i]/total, h[i]
		R[k] = cum + w[k]/2
		cum += w[k]
		mu += w[k] * hh[k]
	}
	c := Concentration{Order: order}
	if mu == 0 || n < 2 {
		c.Index, c.SE, c.Lo, c.Hi, c.Order = math.NaN(), math.NaN(), math.NaN(), math.NaN(), nil
		return c
	}
	for k := range hh {
		c.Index += w[k] * (hh[k] - mu) * (R[k] - 0.5)
	}
	c.Index *= 2 / mu
	var q, qPrev, sumA float64
	cp := 0.0
	for k := range hh {
		q = qPrev + w[k]*hh[k]/mu
		a := hh[k]/mu*(2*R[k]-1-c.Index) + 2 - qPrev - q
		sumA += w[k] * a * a
		cp += w[k]
		c.CumPopulation = append(c.CumPopulation, cp)
		c.CumMeasure = append(c.CumMeasure, q)
		qPrev = q
	}
	c.SE = math.Sqrt(math.Max(0, (sumA-(1+c.Index)*(1+c.Index))/float64(n)))
	c.Lo, c.Hi = c.Index-Z95*c.SE, c.Index+Z95*c.SE
	return c
}

// Correlation is a correlation coefficient with its 95% interval and
// two-sided p-value.
type Correlation struct {
	N            int
	R, Lo, Hi, P float64
}

// Pearson is the Pearson correlation of x and y with Fisher's z interval
// and the t-test p-value.
func Pearson(x, y []float64) Correlation {
	return correlation(x, y, 1)
}

// Spearman is the rank correlation (average ranks for ties) with the
// Fisher z interval of Fieller, Hartley and Pearson (1957): standard error
// sqrt(1.06/(n−3)).
func Spearman(x, y []float64) Correlation {
	return correlation(ranks(x), ranks(y), 1.06)
}

func correlation(x, y []float64, varFactor float64) Correlation {
	n := len(x)
	c := Correlation{N: n, R: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), P: math.NaN()}
	if n < 4 {
		return c
	}
	r := stat.Correlation(x, y, nil)
	if math.IsNaN(r) {
		return c
	}
	c.R = r
	zr := math.Atanh(math.Max(-0.999999999, math.Min(0.999999999, r)))
	se := math.Sqrt(varFactor / float64(n-3))
	c.Lo, c.Hi = math.Tanh(zr-Z95*se), math.Tanh(zr+Z95*se)
	t := r * math.Sqrt(float64(n-2)/math.Max(1e-300, 1-r*r))
	c.P = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 2)}.CDF(-math.Abs(t))
	return c
}

// ranks returns average ranks (1-based), ties sharing their mean rank.
func ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(x[a], x[b]) })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && x[idx[j+1]] == x[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = avg
		}
		i = j + 1
	}
	return r
}

// NewcombeDifference is the 95% interval of p1 − p2 for two independent
// proportions k1/n1 and k2/n2 from their Wilson intervals (Newcombe 1998,
// method 10).
func NewcombeDifference(k1, n1, k2, n2 int64) (d, lo, hi float64) {
	if n1 == 0 || n2 == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	p1, p2 := float64(k1)/float64(n1), float64(k2)/float64(n2)
	l1, u1 := Wilson(k1, n1, Z95)
	l2, u2 := Wilson(k2, n2, Z95)
	d = p1 - p2
	lo = d - math.Sqrt((p1-l1)*(p1-l1)+(u2-p2)*(u2-p2))
	hi = d + math.Sqrt((u1-p1)*(u1-p1)+(p2-l2)*(p2-l2))
	return d, lo, hi
}

// TwoProportionZ is the pooled two-proportion z test of k1/n1 against
// k2/n2: the z statistic and its two-sided p-value.
func TwoProportionZ(k1, n1, k2, n2 int64) (z, p float64) {
	if n1 == 0 || n2 == 0 {
		return math.NaN(), math.NaN()
	}
	pool := float64(k1+k2) / float64(n1+n2)
	se := math.Sqrt(pool * (1 - pool) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		return 0, 1
	}
	z = (float64(k1)/float64(n1) - float64(k2)/float64(n2)) / se
	return z, 2 * distuv.UnitNormal.CDF(-math.Abs(z))
}

// BenjaminiHochberg returns the adjusted q-values of p-values (NaN stays
// NaN and is not counted).
func BenjaminiHochberg(p []float64) []float64 {
	var idx []int
	for i, v := range p {
		if !math.IsNaN(v) {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	q := make([]float64, len(p))
	for i := range q {
		q[i] = math.NaN()
	}
	m := float64(len(idx))
	prev := 1.0
	for k := len(idx) - 1; k >= 0; k-- {
		v := math.Min(prev, p[idx[k]]*m/float64(k+1))
		q[idx[k]] = v
		prev = v
	}
	return q
}

// PoissonRatio is O/E with the exact (Garwood) interval of the observed
// count, for indirectly standardized ratios.
func PoissonRatio(observed int64, expected float64) Estimate {
	if expected <= 0 {
		return Estimate{math.NaN(), math.NaN(), math.NaN()}
	}
	lo, hi := PoissonExact(observed, 0.95)
	return Estimate{float64(observed) / expected, lo / expected, hi / expected}
}

// BetaBinomialPrior estimates a Beta(α, β) prior for area proportions
// k/n by the method of moments (weighted by n, with the binomial part of
// the variance removed); ok is false when the areas vary no more than
// binomial noise, in which case no shrinkage is possible beyond pooling.
func BetaBinomialPrior(k, n []int64) (alpha, beta float64, ok bool) {
	var sk, sn float64
	m := 0
	for i := range k {
		if n[i] > 0 {
			sk, sn = sk+float64(k[i]), sn+float64(n[i])
			m++
		}
	}
	if m < 3 || sn == 0 {
		return 0, 0, false
	}
	mean := sk / sn
	var s2, nbar float64
	for i := range k {
		if n[i] > 0 {
			p := float64(k[i]) / float64(n[i])
			s2 += float64(n[i]) * (p - mean) * (p - mean)
		}
	}
	s2 /= sn
	nbar = sn / float64(m)
	// Var of observed proportions ≈ τ² + μ(1−μ)/n̄; the prior variance τ².
	tau2 := s2 - mean*(1-mean)/nbar
	if tau2 <= 0 || mean <= 0 || mean >= 1 {
		return 0, 0, false
	}
	strength := mean*(1-mean)/tau2 - 1 // α + β
	if strength <= 0 {
		return 0, 0, false
	}
	return mean * strength, (1 - mean) * strength, true
}

// ShrunkShare is an area's posterior app share under the prior: mean and
// the 95% equal-tailed interval of Beta(α + k, β + n − k).
func ShrunkShare(k, n int64, alpha, beta float64) Estimate {
	a, b := alpha+float64(k), beta+float64(n-k)
	if a <= 0 || b <= 0 {
		return Estimate{math.NaN(), math.NaN(), math.NaN()}
	}
	d := distuv.Beta{Alpha: a, Beta: b}
	return Estimate{a / (a + b), d.Quantile(0.025), d.Quantile(0.975)}
}

// Moran is Moran's I of values over a row-standardized weight list, with
// a permutation p-value.
type Moran struct {
	I, Expected, P float64
	Permutations   int
}

// MoransI computes Moran's I of x over neighbours (row-standardized
// binary weights: nb[i] lists i's neighbours) and a two-sided permutation
// p-value from perms random relabellings drawn with rng.
func MoransI(x []float64, nb [][]int, perms int, rng *rand.Rand) Moran {
	n := len(x)
	m := Moran{Expected: -1 / float64(n-1), Permutations: perms, I: math.NaN(), P: math.NaN()}
	if n < 3 {
		return m
	}
	mean := 0.0
	for _, v := range x {
		mean += v
	}
	mean /= float64(n)
	z := make([]float64, n)
	var zz float64
	for i, v := range x {
		z[i] = v - mean
		zz += z[i] * z[i]
	}
	s0 := 0.0
	for i := range nb {
		if len(nb[i]) > 0 {
			s0++ // each row of row-standardized weights sums to 1
		}
	}
	if zz == 0 || s0 == 0 {
		return m
	}
	stat := func(z []float64) float64 {
		s := 0.0
		for i, ns := range nb {
			if len(ns) == 0 {
				continue
			}
			lag := 0.0
			for _, j := range ns {
				lag += z[j]
			}
			s += z[i] * lag / float64(len(ns))
		}
		return float64(n) / s0 * s / zz
	}
	m.I = stat(z)
	if perms > 0 && rng != nil {
		perm := slices.Clone(z)
		extreme := 0
		for p := 0; p < perms; p++ {
			rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			if math.Abs(stat(perm)-m.Expected) >= math.Abs(m.I-m.Expected) {
				extreme++
			}
		}
		m.P = float64(extreme+1) / float64(perms+1)
	}
	return m
}
