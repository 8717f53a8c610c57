package stats

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"testing"
)

// TestKaplanMeierMatchesStatsmodels compares the survival function, its
// Greenwood errors, the median and 90th percentile and the median's
// interval with statsmodels' SurvfuncRight on testdata/km_data.csv (three
// groups, censored, tied times), to 1e-6 (testdata/km_reference.py).
func TestKaplanMeierMatchesStatsmodels(t *testing.T) {
	recs := testdataCSV(t, "km_data.csv")
	times, events := map[int][]float64{}, map[int][]bool{}
	for _, r := range recs[1:] {
		g, _ := strconv.Atoi(r[0])
		d, err := strconv.ParseFloat(r[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		times[g], events[g] = append(times[g], d), append(events[g], r[2] == "1")
	}
	var ref struct {
		Groups []struct {
			Times, Prob []float64
			SE          []*float64
			Median, P90 float64
			MedianLo    float64  `json:"median_lo"`
			MedianHi    *float64 `json:"median_hi"`
		}
	}
	b, err := os.ReadFile("testdata/km_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %.10g, statsmodels %.10g", what, got, want)
		}
	}
	for g, want := range ref.Groups {
		s := KaplanMeier(times[g], events[g])
		if len(s.Times) != len(want.Times) {
			t.Fatalf("group %d: %d event times, statsmodels %d", g, len(s.Times), len(want.Times))
		}
		for i := range want.Times {
			near("time", s.Times[i], want.Times[i])
			near("S(t)", s.Prob[i], want.Prob[i])
			if want.SE[i] == nil {
				if !math.IsNaN(s.SE[i]) {
					t.Errorf("group %d time %v: SE %v, statsmodels undefined", g, s.Times[i], s.SE[i])
				}
			} else {
				near("SE", s.SE[i], *want.SE[i])
			}
		}
		near("median", s.Quantile(0.5), want.Median)
		near("90th percentile", s.Quantile(0.9), want.P90)
		lo, hi := s.QuantileCI(0.5)
		near("median lower bound", lo, want.MedianLo)
		if want.MedianHi == nil {
			if !math.IsInf(hi, 1) {
				t.Errorf("group %d: median upper bound %v, statsmodels unbounded", g, hi)
			}
		} else {
			near("median upper bound", hi, *want.MedianHi)
		}
	}
}
