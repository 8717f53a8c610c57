package stats

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// reference holds values computed by testdata/reference.py with statsmodels
// (proportion_confint, method="wilson") and scipy (chi2.ppf).
type reference struct {
	Generator string `json:"generator"`
	Wilson    []struct {
		K, N   int64
		Lo, Hi float64
	} `json:"wilson95"`
	Poisson []struct {
		K      int64
		Lo, Hi float64
	} `json:"poisson_exact95"`
}

func loadReference(t *testing.T) reference {
	t.Helper()
	b, err := os.ReadFile("testdata/intervals.json")
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Wilson) == 0 || len(r.Poisson) == 0 {
		t.Fatal("empty reference file")
	}
	return r
}

func close(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestWilsonMatchesStatsmodels(t *testing.T) {
	r := loadReference(t)
	for _, c := range r.Wilson {
		lo, hi := Wilson(c.K, c.N, Z95)
		if !close(lo, c.Lo, 1e-12) || !close(hi, c.Hi, 1e-12) {
			t.Errorf("Wilson(%d, %d) = [%.15g, %.15g], %s gives [%.15g, %.15g]", c.K, c.N, lo, hi, r.Generator, c.Lo, c.Hi)
		}
	}
	if lo, hi := Wilson(0, 0, Z95); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("Wilson(0, 0) = [%g, %g], want NaN", lo, hi)
	}
}

func TestPoissonExactMatchesScipy(t *testing.T) {
	r := loadReference(t)
	for _, c := range r.Poisson {
		lo, hi := PoissonExact(c.K, 0.95)
		if !close(lo, c.Lo, 1e-9*math.Max(1, c.Lo)) || !close(hi, c.Hi, 1e-9*math.Max(1, c.Hi)) {
			t.Errorf("PoissonExact(%d) = [%.12g, %.12g], %s gives [%.12g, %.12g]", c.K, lo, hi, r.Generator, c.Lo, c.Hi)
		}
	}
}

// TestConcentrationIndexWithoutAnyMeasure: areas without one app request
// have no concentration index and no curve (analyze used to panic
// drawing the curve of an empty period).
func TestConcentrationIndexWithoutAnyMeasure(t *testing.T) {
	c := ConcentrationIndex([]float64{30e3, 40e3, 50e3, 60e3, 70e3}, []float64{0, 0, 0, 0, 0}, []float64{1000, 1000, 1000, 1000, 1000})
	if !math.IsNaN(c.Index) || len(c.Order) != len(c.CumPopulation) || len(c.CumMeasure) != len(c.CumPopulation) {
		t.Errorf("index %v, %d areas in order for %d curve points", c.Index, len(c.Order), len(c.CumPopulation))
	}
}

// testdataCSV reads a committed reference data file's records, header
// first.
func testdataCSV(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("testdata/%s: %v", name, err)
	}
	return recs
}
