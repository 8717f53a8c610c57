package reports

import (
	"bytes"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/paulmach/orb"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/analysis/stats"
)

// Names an attacker might give an area in a published boundary file.
const (
	evilName1 = `</script><script>window.pwned=1</script>`
	evilName2 = `<img src=x onerror="window.pwned=2">`
	evilType  = `Pothole <script>window.pwned=3</script>`
	evilDept  = `<svg onload=window.pwned=4>`
	evilChan  = `<b>Fax</b>`
)

// hostileCity is a two-area city whose area, request type, department
// and channel names are HTML, built by hand as the analysis would have
// stored it: reports render from results alone, no store needed.
func hostileCity(t testing.TB) *results.Analysis {
	t.Helper()
	from := time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
	r := &results.Analysis{Period: equity311.Range(from, from.AddDate(0, 0, 7)), PeriodBasis: "requested", Years: 7 / 365.25,
		MinCount: 10, Seed: 1, City: "boston", Cities: []string{"boston"}, Layers: []string{"neighborhoods"},
		Areas: map[string][]*results.AreaMetrics{}, Quality: map[string]int64{"tickets": 60, "geo:ok": 60, "channel:unknown": 15,
			"channel:unknown_unmapped": 15, "unmapped:" + evilChan: 15},
		TypeNames: map[string]results.TypeName{"PWDx": {Name: evilType, Department: evilDept}},
		Shapes: map[string][]results.AreaShape{"neighborhoods": {
			{ID: "a", Geometry: orb.Polygon{{{-71.10, 42.30}, {-71.05, 42.30}, {-71.05, 42.35}, {-71.10, 42.35}, {-71.10, 42.30}}}},
			{ID: "b", Geometry: orb.Polygon{{{-71.05, 42.30}, {-71.00, 42.30}, {-71.00, 42.35}, {-71.05, 42.35}, {-71.05, 42.30}}}}}}}
	area := func(layer, id, name string, app, phone, web, unknown int64) results.AreaMetrics {
		base := app + phone + web
		return results.AreaMetrics{City: "boston", Period: r.Period.Label, Layer: layer, AreaID: id, Name: name, Population: math.NaN(),
			Counts:  results.Counts{equity311.App: app, equity311.Phone: phone, equity311.Web: web, equity311.Unknown: unknown},
			Tickets: base + unknown, Resident: base, ShareBase: base, App: app, Digital: app + web, AppShare: stats.Share(app, base),
			DigitalShare: stats.Share(app+web, base), ResidentPer1000: stats.NaNEstimate(), AppPer1000: stats.NaNEstimate(),
			OfferedBase: base, OfferedApp: app, OfferedAppShare: stats.Share(app, base), ExpectedApp: float64(app),
			StdAppRatio: results.Estimate{Value: 1, Lo: 0.6, Hi: 1.5}, RepresentationRatio: stats.NaNEstimate(), EBAppShare: stats.Share(app, base)}
	}
	r.Metrics = []results.AreaMetrics{area(results.CityLayer, "boston", "boston", 15, 15, 15, 15),
		area("neighborhoods", "a", evilName1, 8, 7, 8, 7), area("neighborhoods", "b", evilName2, 7, 8, 7, 8)}
	for i := range r.Metrics {
		m := &r.Metrics[i]
		r.Areas[m.Layer] = append(r.Areas[m.Layer], m)
	}
	yes := true
	r.Sources = []results.SourceChannel{{Key: results.Key{City: "boston", Period: r.Period.Label}, SourceID: 1, Source: "dump.csv",
		Profile: "boston-legacy", RecordsApp: true, Channel: equity311.App, Resident: &yes, N: 15}}
	r.AppTypes = []results.AppType{{Key: results.Key{City: "boston", Period: r.Period.Label}, ServiceCode: "PWDx", Offered: true,
		Basis: "threshold", ShareBase: 45, App: 15, AppShare: stats.Share(15, 45)}}
	return r
}

func jsonString(s string) string {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// TestReportEscapesDataAndFetchesNothing renders both kinds for a city
// whose area, request type, department and channel names are HTML: each
// shows escaped where the report names it and never raw, and nothing in
// the page refers to a script, style, font or data outside the file.
func TestReportEscapesDataAndFetchesNothing(t *testing.T) {
	res := hostileCity(t)
	for _, kind := range []string{KindWeekly, KindResearch} {
		t.Run(kind, func(t *testing.T) {
			files, err := Write(res, t.TempDir(), Options{Kind: kind})
			if err != nil {
				t.Fatal(err)
			}
			page, err := os.ReadFile(files.HTML)
			if err != nil {
				t.Fatal(err)
			}
			checkEscaped(t, kind, page)
			checkSelfContained(t, page)
		})
	}
}

// checkEscaped fails when a hostile name appears raw, or does not appear
// escaped where the report kind names it.
func checkEscaped(t *testing.T, kind string, page []byte) {
	t.Helper()
	for _, bad := range []string{evilName1, evilName2, evilType, evilDept, evilChan, "<script>window.pwned", "<svg onload"} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("report contains unescaped data %q", bad)
		}
	}
	shown := map[string]string{"area name": evilName2, "channel value": evilChan}
	if kind == KindResearch {
		shown["request type"] = evilType
		shown["department"] = evilDept
	}
	for what, name := range shown {
		if !bytes.Contains(page, []byte(html.EscapeString(name))) {
			t.Errorf("report does not show the %s %q escaped", what, name)
		}
	}
}

// checkSelfContained walks the document: no element may load anything
// from outside the file, and no style may import one.
func checkSelfContained(t *testing.T, page []byte) {
	t.Helper()
	// Walk the document: no element may load anything from outside the file.
	z := html.NewTokenizer(bytes.NewReader(page))
	scripts := 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		if tok.Data == "script" {
			scripts++
		}
		for _, a := range tok.Attr {
			switch a.Key {
			case "src", "href", "srcset", "poster", "data", "action":
				if !strings.HasPrefix(a.Val, "#") {
					t.Errorf("<%s %s=%q> refers outside the file", tok.Data, a.Key, a.Val)
				}
			}
		}
	}
	if scripts < 2 {
		t.Errorf("%d script elements; want echarts and the chart code inline", scripts)
	}
	if m := regexp.MustCompile(`(?i)(@import|url\(\s*['"]?https?:|<link[^>]+stylesheet)`).Find(page); m != nil {
		t.Errorf("report loads a style from outside: %q", m)
	}
	if len(page) > 3<<20 {
		t.Errorf("report is %d bytes, over the 3 MB budget", len(page))
	}
}

func TestSpreadsheetSafe(t *testing.T) {
	for in, want := range map[string]string{"=1+1": "'=1+1", "+cmd": "'+cmd", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx",
		"-Minus": "'-Minus", "-71.08": "-71.08", "-1e5": "-1e5", "Fenway": "Fenway", "": ""} {
		if got := SpreadsheetSafe(in); got != want {
			t.Errorf("SpreadsheetSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWords(t *testing.T) {
	for in, want := range map[string]string{"tracts": "Tracts", "tracts2010": "Tracts (2010)", "block_groups": "Block groups", "tracts_2020": "Tracts (2020)", "2010": "2010", "": ""} {
		if got := layerTitle(in); got != want {
			t.Errorf("layerTitle(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"tracts2010": "tracts", "neighborhoods": "neighborhoods"} {
		if got := layerNoun(in); got != want {
			t.Errorf("layerNoun(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"boston": "Boston", "new york": "New York", "San Francisco": "San Francisco", "évry": "Évry"} {
		if got := cityTitle(in); got != want {
			t.Errorf("cityTitle(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]string{0.032: "+3.2", -0.0004: "0.0", -0.015: "−1.5", 0: "0.0"} {
		if got := points(in); got != want {
			t.Errorf("points(%v) = %q, want %q", in, got, want)
		}
	}
	if got := dec(-0.0001, 3); got != "0.000" {
		t.Errorf("dec(-0.0001, 3) = %q", got)
	}
	if got := pointsWord(0.01); got != "1 point" {
		t.Errorf("pointsWord(0.01) = %q", got)
	}
}
