package reports

import (
	"html"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/analysis/stats"
)

// TestMapClassesAndSuppression: the share and rate maps' classes are
// centred on the city's figure (the same bins on every layer, the middle
// class holding the city), bounds readable at their size, and an area
// with too few requests shows no rate.
func TestMapClassesAndSuppression(t *testing.T) {
	city := &results.AreaMetrics{AppShare: stats.Share(30, 100), ResidentPer1000: results.Estimate{Value: 2.4, Lo: 2.2, Hi: 2.6}}
	v := &layerView{Labels: map[string]string{"a": "A", "b": "B"}, Rows: []*results.AreaMetrics{
		{AreaID: "a", AppShare: stats.Share(20, 80), ShareBase: 80, ResidentPer1000: results.Estimate{Value: 0.14, Lo: 0.1, Hi: 0.2}, StdAppRatio: stats.NaNEstimate()},
		{AreaID: "b", LowCount: true, AppShare: stats.Share(1, 3), ShareBase: 3, ResidentPer1000: results.Estimate{Value: 131, Lo: 27, Hi: 382}, StdAppRatio: stats.NaNEstimate()},
	}}
	spec := mapChart("m", v, []byte(`{}`), 10, city)
	byKey := map[string]mapMetric{}
	for _, m := range spec.Metrics {
		byKey[m.Key] = m
	}
	for key, centre := range map[string]float64{"share": 30, "rate": 2.4} {
		ps := byKey[key].VisualMap["pieces"].([]any)
		mid := ps[3].(map[string]any)
		if lo, hi := mid["gte"].(float64), mid["lt"].(float64); !(lo < centre && centre < hi) {
			t.Errorf("%s map: the middle class %v–%v does not hold the city's %v", key, lo, hi, centre)
		}
		if key == "rate" && ps[1].(map[string]any)["label"] != "1.4–1.9" {
			t.Errorf("rate classes are labelled %q, want decimals at their size", ps[1].(map[string]any)["label"])
		}
	}
	rate := byKey["rate"].Data[1].(map[string]any)
	if rate["value"].(float64) != -1e9 {
		t.Errorf("a suppressed area's rate is shown: %v", rate["value"])
	}
	if got := byKey["rate"].Data[0].(map[string]any)["value"].(float64); math.Abs(got-0.14) > 1e-9 {
		t.Errorf("a small rate is drawn as %v, want 0.14", got)
	}
	tab := areaTable(v, 10)
	if last := tab.Rows[1][len(tab.Rows[1])-1]; last != "—" {
		t.Errorf("a suppressed area's table row shows the rate %q", last)
	}
}

// TestEmptyPeriodPage: a period without a request is a plain page that
// says so, with no chart, table or script to fail.
func TestEmptyPeriodPage(t *testing.T) {
	res := &results.Analysis{City: "boston", PeriodBasis: "requested"}
	res.Period.From = time.Date(2000, 1, 3, 0, 0, 0, 0, time.UTC)
	res.Period.To = time.Date(2000, 2, 7, 0, 0, 0, 0, time.UTC)
	for _, kind := range []string{KindWeekly, KindResearch} {
		f, err := Write(res, t.TempDir(), Options{Kind: kind})
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(f.HTML)
		if err != nil {
			t.Fatal(err)
		}
		page := string(b)
		if !strings.Contains(page, "No requests in this period") || !strings.Contains(page, "3 January 2000 to 6 February 2000") ||
			strings.Contains(page, "<script") || strings.Contains(page, "<table") {
			t.Errorf("%s page of an empty period:\n%s", kind, page)
		}
	}
}

// TestEmptyResearchSectionsSayWhy: without census figures the research
// report's models, spatial statistics, concentration and correlations
// say why they are empty, with the command that mends it.
func TestEmptyResearchSectionsSayWhy(t *testing.T) {
	f, err := Write(hostileCity(t), t.TempDir(), Options{Kind: KindResearch})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.HTML)
	if err != nil {
		t.Fatal(err)
	}
	models, err := os.ReadFile(filepath.Join(filepath.Dir(f.HTML), "models.csv"))
	if err != nil || !strings.Contains(strings.SplitN(string(models), "\n", 2)[0], "term") {
		t.Errorf("models.csv without models has no header: %q (%v)", models, err)
	}
	for _, what := range []string{"No model was fitted", "No spatial statistic was computed", "No concentration index was computed", "No correlation was computed"} {
		if !strings.Contains(html.UnescapeString(string(b)), what+": it needs census figures for a layer's areas, and none are loaded. Load a census table for a layer (equity311 ingest census") {
			t.Errorf("the research report does not say why: %s", what)
		}
	}
}

// TestDataWarnings: a layer without census figures beside one with them,
// and a period ending mid-week, are said with what mends them.
func TestDataWarnings(t *testing.T) {
	res := hostileCity(t)
	res.Layers = []string{"neighborhoods", "tracts"}
	res.Demographics = []results.AreaDemographic{{Layer: "tracts", AreaID: "t1", Variable: "population", Estimate: 100}}
	res.Period.To = res.Period.From.AddDate(0, 0, 3) // Monday to Thursday
	got := strings.Join(dataWarnings(res), "\n")
	for _, want := range []string{"The layer neighborhoods has no census figures", "equity311 ingest census --layer neighborhoods", "ends on a Wednesday: its last week is only partly in it (3 of 7 days)"} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "layer tracts") {
		t.Errorf("a layer with census figures is warned about:\n%s", got)
	}
}
