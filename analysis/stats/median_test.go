package stats

import (
	"math"
	"testing"
)

func TestMedianFromBrackets(t *testing.T) {
	lower := IncomeBrackets()
	counts := make([]float64, len(lower))
	// 100 households: 40 below 50,000, 20 in 50,000–59,999, 40 above.
	counts[0], counts[9], counts[12] = 40, 20, 40
	m, approx := MedianFromBrackets(lower, counts)
	// The 50th case is 10 of 20 into [50,000, 60,000): 55,000.
	if approx || math.Abs(m-55000) > 1e-9 {
		t.Errorf("median %v (approx %v), want 55000", m, approx)
	}
	// Two tracts with medians 20k and 120k do not combine to their mean.
	a, b := make([]float64, len(lower)), make([]float64, len(lower))
	a[3] = 100  // all in 20,000–24,999
	b[12] = 300 // all in 100,000–124,999
	sum := make([]float64, len(lower))
	for i := range sum {
		sum[i] = a[i] + b[i]
	}
	m, _ = MedianFromBrackets(lower, sum)
	if m < 100000 || m >= 125000 {
		t.Errorf("combined median %v, want inside the bracket holding the 200th case", m)
	}
	top := make([]float64, len(lower))
	top[15] = 10
	if m, approx := MedianFromBrackets(lower, top); !approx || m != 200000 {
		t.Errorf("open-ended top bracket: %v %v, want 200000 flagged approximate", m, approx)
	}
	if m, _ := MedianFromBrackets(lower, make([]float64, len(lower))); !math.IsNaN(m) {
		t.Errorf("no cases: %v", m)
	}
}
