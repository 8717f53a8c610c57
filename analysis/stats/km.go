package stats

import (
	"math"
	"slices"
)

// Survival is a Kaplan–Meier estimate of a survival function from
// right-censored times: at each distinct event time, the survival
// probability and its Greenwood standard error.
type Survival struct {
	Times  []float64 // distinct times at which an event occurred, ascending
	Prob   []float64 // S(t) just after each time
	SE     []float64 // Greenwood's standard error of Prob (NaN where undefined)
	N      int       // observations
	Events int       // observations with the event (not censored)
}

// KaplanMeier estimates the survival function of times (time to the
// event, or to censoring when event is false), as statsmodels'
// SurvfuncRight does (Greenwood errors).
func KaplanMeier(times []float64, event []bool) Survival {
	idx := make([]int, len(times))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmpFloat(times[a], times[b]) })
	var t []float64
	var d, c []int64
	for _, i := range idx {
		if len(t) == 0 || t[len(t)-1] != times[i] {
			t, d, c = append(t, times[i]), append(d, 0), append(c, 0)
		}
		if event[i] {
			d[len(d)-1]++
		} else {
			c[len(c)-1]++
		}
	}
	return KaplanMeierCounts(t, d, c)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// KaplanMeierCounts estimates the survival function from distinct times
// in ascending order with the events and the censored observations at
// each (a table of counts: the same estimate as KaplanMeier on the
// observations it counts).
func KaplanMeierCounts(times []float64, events, censored []int64) Survival {
	s := Survival{}
	var atRisk int64
	for i := range times {
		atRisk += events[i] + censored[i]
	}
	s.N = int(atRisk)
	logS, green := 0.0, 0.0
	for i, t := range times {
		d := events[i]
		if d > 0 {
			n := float64(atRisk)
			sp := 1 - float64(d)/n
			if sp < 1e-16 {
				logS = math.Inf(-1)
			} else {
				logS += math.Log(sp)
			}
			p := math.Exp(logS)
			se := math.NaN()
			if atRisk != d {
				green += float64(d) / (n * (n - float64(d)))
				se = math.Sqrt(green) * p
			} else {
				green = math.NaN()
			}
			s.Times, s.Prob, s.SE = append(s.Times, t), append(s.Prob, p), append(s.SE, se)
			s.Events += int(d)
		}
		atRisk -= events[i] + censored[i]
	}
	return s
}

// Quantile is the smallest event time at which the survival probability
// falls below 1 − p (statsmodels' strict inequality); NaN when it never
// does.
func (s Survival) Quantile(p float64) float64 {
	for i, v := range s.Prob {
		if v < 1-p {
			return s.Times[i]
		}
	}
	return math.NaN()
}

// QuantileCI is the 95% interval of the p quantile by inverting z tests on
// the complementary log-log scale (Brookmeyer and Crowley, as SAS and
// statsmodels' quantile_ci do): the event times whose survival
// probability is not rejected as 1 − p; the upper end is +Inf when the
// last time is not rejected.
func (s Survival) QuantileCI(p float64) (lo, hi float64) {
	g := func(x float64) float64 { return math.Log(-math.Log(x)) }
	gp := func(x float64) float64 { return -1 / (x * math.Log(x)) }
	first, last := -1, -1
	for i, v := range s.Prob {
		r := (g(v) - g(1-p)) / (gp(v) * s.SE[i])
		if math.Abs(r) <= Z95 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return math.NaN(), math.NaN()
	}
	lo = s.Times[first]
	if last == len(s.Times)-1 {
		return lo, math.Inf(1)
	}
	return lo, s.Times[last+1]
}
