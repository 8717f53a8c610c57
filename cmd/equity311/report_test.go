package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/equity311/equity311/internal/browser"
	"github.com/equity311/equity311/internal/synthcity"
	"github.com/equity311/equity311/store"
)

// The sections every report has, and those only the research report has.
var (
	weeklySections   = []string{"findings", "who", "where", "week", "outcomes", "quality", "method"}
	researchSections = []string{"types", "models", "spatial", "concentration", "shrinkage", "sensitivity"}
)

// TestDemoReports writes the demo city's weekly, research and comparison
// reports and checks what a reader relies on: every section is there,
// the key findings' numbers are the analysis tables' numbers, the planted
// income gradient shows in the quintile chart the right way round, the
// same data gives the same bytes, and each report opens in Chromium with
// the network off, draws every chart, logs no error and fits a phone.
func TestDemoReports(t *testing.T) {
	dir, _ := demoCopy(t)
	weekly := filepath.Join(dir, "report", "index.html")
	db := filepath.Join(dir, "equity311.duckdb")
	research := strings.TrimSpace(runCLI(t, "--db", db, "--quiet", "report", "--kind", "research", "--out", filepath.Join(dir, "research")))
	var truth synthcity.Truth
	readJSON(t, filepath.Join(dir, "truth.json"), &truth)
	pages := map[string][]byte{"weekly": readFile(t, weekly), "research": readFile(t, research)}

	t.Run("sections", func(t *testing.T) {
		for kind, page := range pages {
			want := weeklySections
			if kind == "research" {
				want = append(want[:len(want):len(want)], researchSections...)
			}
			for _, id := range want {
				if !bytes.Contains(page, []byte(`<section id="`+id+`">`)) {
					t.Errorf("%s report has no section %q", kind, id)
				}
			}
			if kind == "weekly" && bytes.Contains(page, []byte(`<section id="models">`)) {
				t.Error("the weekly report carries the research sections")
			}
			assertUniqueIDs(t, kind, page)
			if len(page) > 3<<20 {
				t.Errorf("%s report is %d bytes, over 3 MB", kind, len(page))
			}
		}
		for _, f := range []string{"data.json", "models.csv", "spatial.csv", "concentration_curve.csv", "income_curve.csv"} {
			if _, err := os.Stat(filepath.Join(dir, "research", f)); err != nil {
				t.Errorf("research report: %v", err)
			}
		}
	})

	t.Run("findings", func(t *testing.T) {
		st, err := store.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		findings := strings.Join(findingsOf(t, pages["weekly"]), "\n")
		q := func(query string, args ...any) []any {
			t.Helper()
			row := st.DB().QueryRow(query, args...)
			vals := make([]any, strings.Count(strings.SplitN(query, "FROM", 2)[0], ",")+1)
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := row.Scan(ptrs...); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			return vals
		}
		// The citywide app share.
		c := q(`SELECT app, share_base, app_share, app_share_lo, app_share_hi, resident_per_1000 FROM analysis_area_metrics WHERE layer = 'city'`)
		want := fmt.Sprintf("%.1f%% of resident requests came through the smartphone app (%s of %s; 95%% interval %.1f–%.1f%%)",
			100*f64(c[2]), commas(i64(c[0])), commas(i64(c[1])), 100*f64(c[3]), 100*f64(c[4]))
		if !strings.Contains(findings, want) {
			t.Errorf("findings lack %q:\n%s", want, findings)
		}
		if want := fmt.Sprintf("Residents made %.0f requests per 1,000 residents a year", f64(c[5])); !strings.Contains(findings, want) {
			t.Errorf("findings lack %q", want)
		}
		// The clearest adjusted gap comes first, its numbers the table's.
		g := q(`SELECT grouping, gap, gap_lo, gap_hi FROM analysis_adjusted_gaps WHERE layer = 'tracts' AND fitted
			ORDER BY greatest(gap_lo, -gap_hi) DESC LIMIT 1`)
		m := regexp.MustCompile(`came through the app ([\d.]+) points? less often than from [^,]+, for the same kinds of requests \(95% interval: between ([\d.]+) and ([\d.]+) points less\)`).FindStringSubmatch(findings)
		if m == nil {
			t.Fatalf("no clear adjusted gap in the findings:\n%s", findings)
		}
		d, lo, hi := math.Abs(f64(g[1])), math.Min(math.Abs(f64(g[2])), math.Abs(f64(g[3]))), math.Max(math.Abs(f64(g[2])), math.Abs(f64(g[3])))
		for i, v := range []float64{d, lo, hi} {
			if math.Abs(parseF(t, m[i+1])-100*v) > 0.051 {
				t.Errorf("adjusted gap (%v) figure %d: findings say %s, the table %.3f", g[0], i, m[i+1], 100*v)
			}
		}
		if !strings.Contains(findings, "We compared tracts by income, race and ethnicity, limited English, internet access and age, for the same kinds of requests and years") {
			t.Errorf("the findings do not say how many dimensions were compared:\n%s", findings)
		}
		// The planted income effect is positive: the richest fifth uses the
		// app more, beyond chance, for the same kinds of requests.
		if truth.AppLogit["log_income"] <= 0 {
			t.Fatalf("the synthetic city plants log_income %v; the test expects a positive effect", truth.AppLogit["log_income"])
		}
		inc := q(`SELECT gap_lo FROM analysis_adjusted_gaps WHERE layer = 'tracts' AND grouping = 'income_quintile'`)
		if f64(inc[0]) <= 0 {
			t.Errorf("the adjusted income gap's interval starts at %v though the city planted a positive income effect", inc[0])
		}
		// This week, in dates.
		w := regexp.MustCompile(`In the week of ([^,]+), ([\d.]+)% of resident requests came through the app`).FindStringSubmatch(findings)
		if w == nil {
			t.Fatalf("no week in the findings:\n%s", findings)
		}
		wk := q(`SELECT max(week_start) FROM analysis_trends`)
		share := q(`SELECT share FROM analysis_trends WHERE grouping = 'city' AND channel = 'app' AND week_start = (SELECT max(week_start) FROM analysis_trends)`)
		if !strings.HasPrefix(w[1], strconv.Itoa(wk[0].(time.Time).In(time.FixedZone("", -5*3600)).Day())) || math.Abs(parseF(t, w[2])-100*f64(share[0])) > 0.051 {
			t.Errorf("findings say the week of %s: %s%%; the trends table's last week starts %v at %.2f%%", w[1], w[2], wk[0], 100*f64(share[0]))
		}
		// Plain words: no statistical jargon and no ISO week code.
		for _, word := range regexp.MustCompile(`[\pL\pN-]+`).FindAllString(findings, -1) {
			switch {
			case slices.Contains([]string{"Spearman", "odds", "Benjamini", "q"}, word), regexp.MustCompile(`^\d{4}-W\d\d$`).MatchString(word):
				t.Errorf("the first section says %q", word)
			}
		}
		if strings.Contains(findings, "standard deviation") {
			t.Error("the first section says \"standard deviation\"")
		}
	})

	t.Run("income gradient in the chart", func(t *testing.T) {
		specs := chartSpecs(t, pages["weekly"])
		est := intervalEstimates(t, specs, "Poorest fifth")
		if len(est) != 5 {
			t.Fatalf("the income quintile chart has %d estimates, want 5", len(est))
		}
		if est[4] <= est[0] {
			t.Errorf("quintile chart: poorest %.1f%%, richest %.1f%%; the city planted more app use with income", est[0], est[4])
		}
		// The fitted curve over income rises too.
		for _, s := range specs {
			if s.ID != "chart-income" {
				continue
			}
			fit := s.Option.Series[1].Data
			if len(fit) < 10 {
				t.Fatalf("the income curve has %d points", len(fit))
			}
			y := func(d any) float64 { return d.(map[string]any)["value"].([]any)[1].(float64) }
			first, last := y(fit[0]), y(fit[len(fit)-1])
			if last <= first {
				t.Errorf("the fitted income curve falls from %.1f%% to %.1f%%", first, last)
			}
			return
		}
		t.Error("no income chart")
	})

	t.Run("same bytes", func(t *testing.T) {
		again := strings.TrimSpace(runCLI(t, "--db", db, "--quiet", "report", "--out", filepath.Join(dir, "again")))
		if !bytes.Equal(readFile(t, again), pages["weekly"]) {
			t.Error("the weekly report's bytes changed between two runs on the same data")
		}
		again = strings.TrimSpace(runCLI(t, "--db", db, "--quiet", "report", "--kind", "research", "--out", filepath.Join(dir, "again-research")))
		if !bytes.Equal(readFile(t, again), pages["research"]) {
			t.Error("the research report's bytes changed between two runs on the same data")
		}
		for _, f := range []string{"data.json", "models.csv", "areas.csv"} {
			if !bytes.Equal(readFile(t, filepath.Join(dir, "research", f)), readFile(t, filepath.Join(dir, "again-research", f))) {
				t.Errorf("%s changed between two runs", f)
			}
		}
		stamped := readFile(t, strings.TrimSpace(runCLI(t, "--db", db, "--quiet", "report", "--stamp", "--out", filepath.Join(dir, "stamped"))))
		if !bytes.Contains(stamped, []byte(fixedNow().Format("2 January 2006 15:04"))) {
			t.Error("--stamp did not print the time the report was made")
		}
	})

	var comparePath string
	t.Run("comparison", func(t *testing.T) {
		// A second city: the same dump loaded under another name.
		runCLI(t, "--db", db, "--quiet", "ingest", "dump", "--city", "twin <b>town</b>", "--force", filepath.Join(dir, "boston311_synthetic.csv"))
		runCLI(t, "--db", db, "--quiet", "assign")
		path := strings.TrimSpace(runCLI(t, "--db", db, "--quiet", "report", "--compare", "--from", "2000-01-01", "--to", "2100-01-01", "--out", filepath.Join(dir, "compare")))
		comparePath = path
		page := readFile(t, path)
		for _, city := range []string{"synthetic", html.EscapeString("twin <b>town</b>")} {
			if !bytes.Contains(page, []byte("<td>"+city+"</td>")) {
				t.Errorf("the comparison has no row for %s", city)
			}
		}
		if bytes.Contains(page, []byte("<b>town</b>")) {
			t.Error("a city name reached the comparison unescaped")
		}
		rows := regexp.MustCompile(`<tr><td>[^<]+</td>((?:<td class="n">[^<]*</td>)+)`).FindAllSubmatch(page, -1)
		if len(rows) < 2 || !bytes.Equal(rows[0][1], rows[1][1]) {
			t.Errorf("two cities from the same dump should show the same figures; rows %q", rows)
		}
		if !bytes.Contains(page, []byte("table-vocabulary-")) {
			t.Error("the comparison does not explain each city's channels")
		}
	})

	t.Run("chromium", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short: TestDemo and TestGolden open reports in Chromium; the full suite opens both kinds at both widths")
		}
		browser.Path(t)
		for kind, path := range map[string]string{"weekly": weekly, "research": research} {
			openEverywhere(t, "demo-"+kind, path)
			printReport(t, "demo-"+kind, path, 5<<20)
		}
		// The comparison of cities has tables only.
		if comparePath == "" {
			t.Fatal("the comparison subtest wrote no comparison to open (run the whole test)")
		}
		for _, width := range []int{1400, 390} {
			p := browser.Open(t, "file://"+comparePath, browser.Options{Width: width, Axe: true, NoCharts: true})
			if len(p.Exceptions) > 0 || len(p.External()) > 0 || p.Overflow > 0 {
				t.Errorf("comparison at %d px: exceptions %q, external %v, %d px too wide", width, p.Exceptions, p.External(), p.Overflow)
			}
			if p.AxePasses == 0 {
				t.Errorf("comparison at %d px: axe-core passed no rule", width)
			}
			for _, v := range p.Violations {
				t.Errorf("comparison at %d px: accessibility (WCAG 2.1 AA, axe-core): %s", width, v)
			}
		}
	})
}

// printReport prints a report to PDF in Chromium as a reader would
// (Ctrl+P, US Letter): under maxBytes, and every chart drawn across at
// least 90% of the printed column (a map drawn while hidden printed as a
// 15 px sliver).
func printReport(t *testing.T, name, path string, maxBytes int) {
	t.Helper()
	pdf := filepath.Join(t.TempDir(), name+".pdf")
	if shots := os.Getenv("EQUITY311_SCREENSHOTS"); shots != "" {
		pdf = filepath.Join(shots, name+".pdf")
	}
	p := browser.Open(t, "file://"+path, browser.Options{PDF: pdf})
	t.Logf("%s: PDF of %d bytes; charts' printed widths %v", name, p.PDFBytes, p.PrintWidths)
	if p.PDFBytes == 0 || p.PDFBytes > maxBytes {
		t.Errorf("%s prints to a PDF of %d bytes, want at most %d", name, p.PDFBytes, maxBytes)
	}
	if len(p.PrintWidths) == 0 {
		t.Errorf("%s: no chart measured in print", name)
	}
	for id, w := range p.PrintWidths {
		if w < 0.9 {
			t.Errorf("%s: chart %s prints %.0f%% of the column wide, want at least 90%%", name, id, 100*w)
		}
	}
	if len(p.Exceptions) > 0 {
		t.Errorf("%s printing: exceptions %q", name, p.Exceptions)
	}
}

// TestBostonReports renders both report kinds for Boston's real samples
// (every dump, neighborhoods, 2010 tracts with both ACS tables): twice, to
// the same bytes, under 3 MB, and in Chromium without an error.
func TestBostonReports(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: Boston's reports take about 8 s; the full suite writes them")
	}
	dir := t.TempDir()
	db := bostonACS(t, dir)
	for _, kind := range []string{"weekly", "research"} {
		a := strings.TrimSpace(runCLI(t, "--db", db, "--quiet", "report", "--kind", kind, "--out", filepath.Join(dir, kind+"-1")))
		b := strings.TrimSpace(runCLI(t, "--db", db, "--quiet", "report", "--kind", kind, "--out", filepath.Join(dir, kind+"-2")))
		pa, pb := readFile(t, a), readFile(t, b)
		if !bytes.Equal(pa, pb) {
			t.Errorf("%s: two runs gave different bytes", kind)
		}
		if len(pa) > 3<<20 {
			t.Errorf("%s report is %d bytes, over the 3 MB budget", kind, len(pa))
		}
		t.Logf("%s report: %d bytes", kind, len(pa))
		assertUniqueIDs(t, kind, pa)
		// Tracts are named with their neighborhood, never as bare GEOIDs.
		if regexp.MustCompile(`<td>25025\d{6}</td>`).Match(pa) {
			t.Errorf("%s report shows a tract as a bare GEOID", kind)
		}
		if !bytes.Contains(pa, []byte("Tract ")) {
			t.Errorf("%s report names no tract", kind)
		}
		if !bytes.Contains(pa, []byte(`id="chart-income"`)) {
			t.Errorf("%s report has no income chart though the ACS tables give median income", kind)
		}
		if kind == "weekly" {
			t.Run("chromium", func(t *testing.T) {
				browser.Path(t)
				openEverywhere(t, "boston-"+kind, a)
			})
		}
		t.Run("print "+kind, func(t *testing.T) {
			browser.Path(t)
			printReport(t, "boston-"+kind, a, 5<<20)
		})
	}
}

// bostonACS loads every Boston dump, the neighborhoods and the 2010 tracts
// with both ACS tables, places and analyses 2015 to February 2026, and
// returns the database's path.
func bostonACS(t *testing.T, dir string) string {
	t.Helper()
	f := boston(t)
	db := filepath.Join(dir, "b.duckdb")
	runCLI(t, append([]string{"--db", db, "--quiet", "ingest", "dump"}, f.dumps...)...)
	runCLI(t, "--db", db, "--quiet", "ingest", "boundaries", "--layer", "neighborhoods", "--id-prop", "Name", "--name-prop", "Name", f.hoods)
	runCLI(t, "--db", db, "--quiet", "ingest", "boundaries", "--layer", "tracts2010", f.tracts2010)
	runCLI(t, "--db", db, "--quiet", "ingest", "census", "--layer", "tracts2010", "--id-col", "GEOID", "--vintage", "acs2018-5yr", f.aclu)
	runCLI(t, "--db", db, "--quiet", "ingest", "census", "--layer", "tracts2010", "--id-col", "ct_id_10", "--vintage", "acs2017-5yr", f.bari)
	runCLI(t, "--db", db, "--quiet", "assign")
	runCLI(t, "--db", db, "--quiet", "analyze", "--from", "2015-01-01", "--to", "2026-03-01")
	return db
}

// openEverywhere opens a report at 1400 and 390 CSS pixels wide (390 only
// under -short) with the
// network off, saving full-page screenshots (to $EQUITY311_SCREENSHOTS when
// set, else the test's directory), and checks it draws every chart, logs
// and throws nothing, fetches nothing, fits the phone's width and has no
// blocks drawn over each other, and that axe-core finds no serious or
// critical WCAG 2.1 A/AA violation.
func openEverywhere(t *testing.T, name, path string) {
	t.Helper()
	shots := os.Getenv("EQUITY311_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	page := readFile(t, path)
	charts := bytes.Count(page, []byte(`class="chart"`))
	widths := []int{1400, 390}
	if testing.Short() {
		widths = []int{390} // -short: the phone only, where most goes wrong
	}
	for _, width := range widths {
		shot := filepath.Join(shots, fmt.Sprintf("%s-%d.png", name, width))
		// The key column of every table ("App share") in view without scrolling.
		keyOff := `Array.from(document.querySelectorAll('table')).filter(tb => tb.offsetParent !== null).flatMap(tb => {
			const th = Array.from(tb.querySelectorAll('th')).find(h => h.textContent.trim() === 'App share');
			return th && th.getBoundingClientRect().right > window.innerWidth + 1 ? [tb.id] : [];
		})`
		p := browser.Open(t, "file://"+path, browser.Options{Width: width, Screenshot: shot, Axe: true, Eval: map[string]string{"keyOff": keyOff}})
		t.Logf("%s at %d px: axe-core passed %d WCAG 2.1 A/AA rules", name, width, p.AxePasses)
		for _, v := range p.Violations {
			t.Errorf("%s at %d px: accessibility (WCAG 2.1 AA, axe-core): %s", name, width, v)
		}
		if off, _ := p.Eval["keyOff"].([]any); len(off) > 0 {
			t.Errorf("%s at %d px: the App share column is off-screen in %v", name, width, off)
		}
		if len(p.Exceptions) > 0 || len(p.Console) > 0 {
			t.Errorf("%s at %d px: exceptions %q, console %q", name, width, p.Exceptions, p.Console)
		}
		if ext := p.External(); len(ext) > 0 {
			t.Errorf("%s fetched from the network: %v", name, ext)
		}
		if len(p.Charts) != charts {
			t.Errorf("%s: %d charts drawn of %d", name, len(p.Charts), charts)
		}
		for id, n := range p.Charts {
			if n == 0 {
				t.Errorf("%s: chart %s drew nothing", name, id)
			}
		}
		if p.Overflow > 0 {
			t.Errorf("%s at %d px is %d px too wide: %v", name, width, p.Overflow, p.OverflowBy)
		}
		if len(p.Overlaps) > 0 {
			t.Errorf("%s at %d px: blocks overlap: %v", name, width, p.Overlaps)
		}
		if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
			t.Errorf("no screenshot %s: %v", shot, err)
		}
		// DESIGN's budget is a second; the bound leaves room for a busy CI machine.
		t.Logf("%s at %d px: every chart drawn %v after navigation began", name, width, p.LoadTime.Round(time.Millisecond))
		if p.LoadTime > 3*time.Second {
			t.Errorf("%s at %d px took %v to draw, over 3 s", name, width, p.LoadTime)
		}
	}
}

// assertUniqueIDs fails when two elements share an id (a chart drawn into
// a section of the same name never renders).
func assertUniqueIDs(t *testing.T, name string, page []byte) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`\sid="([^"]+)"`).FindAllSubmatch(page, -1) {
		id := string(m[1])
		if seen[id] {
			t.Errorf("%s: id %q appears twice", name, id)
		}
		seen[id] = true
	}
}

// findingsOf returns the key findings' sentences, unescaped.
func findingsOf(t *testing.T, page []byte) []string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<ul class="findings">(.*?)</ul>`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no key findings")
	}
	var out []string
	for _, li := range regexp.MustCompile(`(?s)<li>(.*?)</li>`).FindAllSubmatch(m[1], -1) {
		out = append(out, html.UnescapeString(string(li[1])))
	}
	return out
}

// chartSpec is the part of a report's chart spec the tests read.
type chartSpec struct {
	ID     string `json:"id"`
	Option struct {
		YAxis  json.RawMessage `json:"yAxis"` // an array for interval charts, an object for others
		Series []struct {
			Name string `json:"name"`
			Data []any  `json:"data"`
		} `json:"series"`
	} `json:"option"`
}

// chartSpecs reads the chart specs a report's script draws.
func chartSpecs(t *testing.T, page []byte) []chartSpec {
	t.Helper()
	m := regexp.MustCompile(`var specs = (\[.*\]);\n`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no chart specs in the report")
	}
	var specs []chartSpec
	if err := json.Unmarshal(m[1], &specs); err != nil {
		t.Fatalf("chart specs: %v", err)
	}
	return specs
}

// intervalEstimates returns the estimates of the interval chart whose
// first row is labelled first, in row order.
func intervalEstimates(t *testing.T, specs []chartSpec, first string) []float64 {
	t.Helper()
	for _, s := range specs {
		var y []struct {
			Data []string `json:"data"`
		}
		if json.Unmarshal(s.Option.YAxis, &y) != nil || len(y) == 0 || len(y[0].Data) == 0 || y[0].Data[0] != first {
			continue
		}
		for _, ser := range s.Option.Series {
			if ser.Name != "estimate" {
				continue
			}
			var out []float64
			for _, d := range ser.Data {
				out = append(out, d.(map[string]any)["value"].([]any)[0].(float64))
			}
			return out
		}
	}
	t.Fatalf("no interval chart starting with %q", first)
	return nil
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := json.Unmarshal(readFile(t, path), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func parseF(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.Replace(s, "−", "-", 1), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func f64(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	}
	return math.NaN()
}

func i64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case float64:
		return int64(x)
	}
	return -1
}
