package reports

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/equity311/equity311/analysis"
	"github.com/equity311/equity311/geo"
	"github.com/equity311/equity311/geo/boundary"
	"github.com/equity311/equity311/ingest/dump"

	"github.com/equity311/equity311/store"
)

// Names an attacker might give an area in a published boundary file.
const (
	evilName1 = `</script><script>window.pwned=1</script>`
	evilName2 = `<img src=x onerror="window.pwned=2">`
	evilType  = `Pothole <script>window.pwned=3</script>`
	evilDept  = `<svg onload=window.pwned=4>`
	evilChan  = `<b>Fax</b>`
)

// hostileCity writes a two-area city whose names are HTML and a small
// Boston-legacy dump, loads it and analyses it.
func hostileCity(t testing.TB) (*store.Store, *analysis.Results) {
	t.Helper()
	dir := t.TempDir()
	gj := `{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"id":"a","name":` + jsonString(evilName1) + `},"geometry":{"type":"Polygon","coordinates":[[[-71.10,42.30],[-71.05,42.30],[-71.05,42.35],[-71.10,42.35],[-71.10,42.30]]]}},
 {"type":"Feature","properties":{"id":"b","name":` + jsonString(evilName2) + `},"geometry":{"type":"Polygon","coordinates":[[[-71.05,42.30],[-71.00,42.30],[-71.00,42.35],[-71.05,42.35],[-71.05,42.30]]]}}]}`
	gjPath := filepath.Join(dir, "areas.geojson")
	if err := os.WriteFile(gjPath, []byte(gj), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("case_enquiry_id,open_dt,closed_dt,case_status,type,department,latitude,longitude,source,target_dt\n")
	for i := 0; i < 60; i++ {
		lon := -71.09 + float64(i%2)*0.05
		src := []string{"Citizens Connect App", "Constituent Call", "Self Service", evilChan}[i%4]
		fmt.Fprintf(&b, "%d,2024-03-%02d 10:00:00,,Open,\"%s\",\"%s\",42.32,%.4f,%s,\n", 1000+i, 4+i%7, evilType, evilDept, lon, src) // Monday 4 to Sunday 10 March: one complete week
	}
	dumpPath := filepath.Join(dir, "dump.csv")
	if err := os.WriteFile(dumpPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "t.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p, err := dump.FindProfile("boston-legacy")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dump.LoadDump(ctx, st, dumpPath, dump.Options{Profile: p}); err != nil {
		t.Fatal(err)
	}
	if _, err := boundary.Load(ctx, st, gjPath, boundary.Options{Layer: "neighborhoods", IDProp: "id", NameProp: "name"}); err != nil {
		t.Fatal(err)
	}
	if _, err := geo.Assign(ctx, st, geo.AssignOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := analysis.Analyze(ctx, st, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := analysis.Load(ctx, st, r.Period.Label)
	if err != nil {
		t.Fatal(err)
	}
	return st, res
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
	st, res := hostileCity(t)
	for _, kind := range []string{KindWeekly, KindResearch} {
		t.Run(kind, func(t *testing.T) {
			files, err := Write(context.Background(), st, res, t.TempDir(), Options{Kind: kind})
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
