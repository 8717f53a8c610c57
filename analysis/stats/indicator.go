package stats

import (
	"errors"
	"maps"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// IndicatorFit is a grouped binomial logit whose design is indicators
// (an intercept and one level of each factor per row), with its
// model-based and cluster-robust covariances.
type IndicatorFit struct {
	Beta       []float64
	ModelCov   *mat.SymDense // the inverse Fisher information: requests as independent trials
	ClusterCov *mat.SymDense // clustered by the rows' cluster ids (nil when there are fewer than 2)
	N, K, G    int           // rows, coefficients, clusters
	Iterations int
	Converged  bool
	P          []float64 // fitted probability of each row
}

// IndicatorLogit fits a grouped binomial logit by Newton's method on a
// design of indicators: row i has a 1 in each column of cols[i] (and 0
// elsewhere; k columns in all), y[i] successes of n[i] trials, in cluster
// cluster[i]. The cluster-robust covariance is the sandwich
// H⁻¹ (Σ_c s_c s_cᵀ) H⁻¹ with each cluster's summed score s_c, times
// G/(G−1)·(N−1)/(N−K) — statsmodels' GLM(cov_type="cluster") with its
// default correction. Levels that the data separate (no success, or no
// failure, in every row that has them) have no finite estimate: leave
// them out before fitting.
func IndicatorLogit(k int, cols [][]int, y, n []float64, cluster []int) (IndicatorFit, error) {
	rows := len(cols)
	f := IndicatorFit{N: rows, K: k, Beta: make([]float64, k), P: make([]float64, rows)}
	if rows <= k {
		return f, ErrSingular
	}
	var sy, sn float64
	for i := range y {
		sy, sn = sy+y[i], sn+n[i]
	}
	if sy <= 0 || sy >= sn {
		return f, ErrSingular
	}
	f.Beta[0] = math.Log(sy / (sn - sy)) // columns[0] is the intercept
	hess := mat.NewSymDense(k, nil)
	grad := mat.NewVecDense(k, nil)
	prevDev := math.Inf(1)
	for it := 1; it <= irlsMaxIter; it++ {
		dev := f.accumulate(cols, y, n, hess, grad)
		f.Iterations = it
		if math.Abs(dev-prevDev) <= irlsTol*(math.Abs(dev)+0.1) {
			f.Converged = true
			break
		}
		prevDev = dev
		var chol mat.Cholesky
		if !chol.Factorize(hess) {
			return f, ErrSingular
		}
		var step mat.VecDense
		if err := chol.SolveVecTo(&step, grad); err != nil {
			return f, errors.Join(ErrSingular, err)
		}
		for j := range f.Beta {
			f.Beta[j] += step.AtVec(j)
		}
	}
	// The information at the estimate, and the covariances.
	f.accumulate(cols, y, n, hess, grad)
	var chol mat.Cholesky
	if !chol.Factorize(hess) {
		return f, ErrSingular
	}
	f.ModelCov = mat.NewSymDense(k, nil)
	if err := chol.InverseTo(f.ModelCov); err != nil {
		return f, errors.Join(ErrSingular, err)
	}
	f.ClusterCov = f.Clustered(cols, y, n, cluster)
	f.G = countClusters(cluster)
	return f, nil
}

// accumulate sets each row's fitted probability at the current
// coefficients, the information matrix and the score into hess and grad,
// and returns the deviance.
func (f *IndicatorFit) accumulate(cols [][]int, y, n []float64, hess *mat.SymDense, grad *mat.VecDense) float64 {
	hess.Zero()
	grad.Zero()
	dev := 0.0
	for i, cs := range cols {
		eta := 0.0
		for _, c := range cs {
			eta += f.Beta[c]
		}
		p := 1 / (1 + math.Exp(-eta))
		f.P[i] = p
		w, r := n[i]*p*(1-p), y[i]-n[i]*p
		dev += binomialDeviance(y[i], n[i], p)
		for a, ca := range cs {
			grad.SetVec(ca, grad.AtVec(ca)+r)
			for _, cb := range cs[a:] {
				hess.SetSym(ca, cb, hess.At(ca, cb)+w)
			}
		}
	}
	return dev
}

func countClusters(cluster []int) int {
	seen := map[int]bool{}
	for _, c := range cluster {
		seen[c] = true
	}
	return len(seen)
}

// Clustered returns the covariance clustered by other cluster ids of the
// same rows (a coarser clustering: areas by their neighborhood), with the
// same correction, from the fit's estimate.
func (f IndicatorFit) Clustered(cols [][]int, y, n []float64, cluster []int) *mat.SymDense {
	scores := map[int][]float64{}
	for i, cs := range cols {
		r := y[i] - n[i]*f.P[i]
		s := scores[cluster[i]]
		if s == nil {
			s = make([]float64, f.K)
			scores[cluster[i]] = s
		}
		for _, c := range cs {
			s[c] += r
		}
	}
	g := len(scores)
	if g < 2 {
		return nil
	}
	meat := clusterMeat(f.K, scores)
	var v mat.Dense
	v.Mul(f.ModelCov, meat)
	v.Mul(&v, f.ModelCov)
	adj := float64(g) / float64(g-1) * float64(f.N-1) / float64(f.N-f.K)
	out := mat.NewSymDense(f.K, nil)
	for a := 0; a < f.K; a++ {
		for b := a; b < f.K; b++ {
			out.SetSym(a, b, adj*(v.At(a, b)+v.At(b, a))/2)
		}
	}
	return out
}

// StandardizedCell is one cell of the mix predictions are averaged over:
// its weight and the design columns it has (an intercept and one level of
// each other factor); Fixed, when not NaN, is its probability whatever the
// coefficients (a level the data separate).
type StandardizedCell struct {
	Weight float64
	Cols   []int
	Fixed  float64
}

// Standardized is the average predicted probability over the cells when
// every cell also has the column group (−1 for the reference group), and
// its gradient in the coefficients.
func (f IndicatorFit) Standardized(cells []StandardizedCell, group int) (float64, []float64) {
	grad := make([]float64, f.K)
	var total, sum float64
	for _, c := range cells {
		total += c.Weight
		if !math.IsNaN(c.Fixed) {
			sum += c.Weight * c.Fixed
			continue
		}
		eta := 0.0
		for _, j := range c.Cols {
			eta += f.Beta[j]
		}
		if group >= 0 {
			eta += f.Beta[group]
		}
		p := 1 / (1 + math.Exp(-eta))
		sum += c.Weight * p
		d := c.Weight * p * (1 - p)
		for _, j := range c.Cols {
			grad[j] += d
		}
		if group >= 0 {
			grad[group] += d
		}
	}
	for j := range grad {
		grad[j] /= total
	}
	return sum / total, grad
}

// DeltaSE is the standard error of a function of the coefficients with
// gradient g under covariance v: √(gᵀ v g).
func DeltaSE(g []float64, v mat.Symmetric) float64 {
	if v == nil {
		return math.NaN()
	}
	gv := mat.NewVecDense(len(g), g)
	return math.Sqrt(mat.Inner(gv, v, gv))
}

// clusterMeat is Σ_c s_c s_cᵀ over the clusters' summed scores, in
// cluster order (a sum in map order would differ in its last digits from
// run to run).
func clusterMeat(k int, scores map[int][]float64) *mat.SymDense {
	meat := mat.NewSymDense(k, nil)
	for _, c := range slices.Sorted(maps.Keys(scores)) {
		meat.SymRankOne(meat, 1, mat.NewVecDense(k, scores[c]))
	}
	return meat
}
