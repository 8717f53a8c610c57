// Package reports writes the HTML reports of an analysed period from the
// analysis tables — the weekly policy report, the research report and the
// comparison of cities — each one self-contained file (echarts and all
// data inline, nothing fetched from the network) that opens offline in any
// browser and prints, with its tables as CSV files beside it. Reports
// compute no statistics: every number comes from the analysis tables.
package reports

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/internal/atomicfile"
)

//go:embed assets/echarts.min.js
var echartsJS string

//go:embed assets/echarts-NOTICE
var echartsNotice string

//go:embed assets/echarts-LICENSE
var echartsLicense string

//go:embed report.html.tmpl
var pageTemplate string

// The kinds of report.
const (
	KindWeekly   = "weekly"   // the policy report: who, where, this week, outcomes, quality, method
	KindResearch = "research" // the weekly report's sections plus models, spatial statistics and methods, with every table as CSV and data.json
)

// Options configure Write.
type Options struct {
	Kind  string // KindWeekly (default) or KindResearch
	Title string
	// MainLayer is the layer of the headline ranking; "" picks the layer
	// with the fewest areas (neighborhoods rather than tracts).
	MainLayer string
	// Generated, when set, is printed in the provenance; zero keeps the
	// report's bytes the same for the same data and parameters.
	Generated time.Time
	// Warnings are what the caller knows the results cannot tell (an
	// analysis older than the last load, a layer without placed
	// requests), each with the command that mends it; the report shows
	// them at the top with its own (a layer without census figures, a
	// last week only partly in the period).
	Warnings []string
}

// Files are what Write produced.
type Files struct {
	HTML string
	CSVs []string
	JSON string // data.json, research reports only
}

// Write renders the report of res into dir (created if needed). It reads
// nothing but res.
func Write(res *results.Analysis, dir string, opt Options) (Files, error) {
	if opt.Kind == "" {
		opt.Kind = KindWeekly
	}
	if opt.Kind != KindWeekly && opt.Kind != KindResearch {
		return Files{}, fmt.Errorf("report kind %q: want %s or %s", opt.Kind, KindWeekly, KindResearch)
	}
	if opt.Title == "" {
		opt.Title = "Who reports problems through the app?"
		if opt.Kind == KindResearch {
			opt.Title = "Who uses the app: the research report"
		}
	}
	f := Files{HTML: filepath.Join(dir, "index.html")}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return f, err
	}
	if res.CityRow().Tickets == 0 {
		return f, writeEmpty(res, f.HTML, opt)
	}
	p, err := build(res, opt)
	if err != nil {
		return f, err
	}
	if f.CSVs, err = writeCSVs(res, dir, opt.Kind); err != nil {
		return f, err
	}
	for _, c := range f.CSVs {
		p.CSVs = append(p.CSVs, filepath.Base(c))
	}
	if opt.Kind == KindResearch {
		f.JSON = filepath.Join(dir, "data.json")
		if err := writeDataJSON(res, f.JSON); err != nil {
			return f, err
		}
	}
	b, err := render(p)
	if err != nil {
		return f, err
	}
	return f, writeAtomic(f.HTML, b)
}

// emptyTemplate is the page of a period without a single request: what
// was asked, that nothing is there, and how to see what the database
// holds — no charts, no tables, no script.
const emptyTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — {{.City}}, {{.From}} to {{.To}}</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; margin: 0; line-height: 1.5; }
  main { max-width: 720px; margin: 0 auto; padding: 1.25rem; }
  footer { margin-top: 3rem; font-size: .8rem; color: #555; }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p><b>No requests in this period.</b> The database holds no request for {{.City}} opened from {{.From}} to {{.To}} ({{.Basis}}), so there is nothing to report: no shares, no gaps, no maps.</p>
<p>If requests were expected, the period may lie outside the data loaded, or a feed may have stopped. <code>equity311 status</code> shows the dates the database holds and each source's last load; <code>equity311 report</code> without a period reports the last complete weeks of the data.</p>
<footer>Made by equity311 {{.Version}}{{if .Generated}} on {{.Generated}}{{end}}.</footer>
</main>
</body>
</html>
`

// writeEmpty writes the page of a period without requests.
func writeEmpty(res *results.Analysis, path string, opt Options) error {
	tpl, err := template.New("empty").Parse(emptyTemplate)
	if err != nil {
		return err
	}
	v := struct{ Title, City, From, To, Basis, Version, Generated string }{opt.Title, cityTitle(res.City),
		res.Period.From.Format("2 January 2006"), res.Period.To.Add(-time.Second).Format("2 January 2006"), res.PeriodBasis, equity311.Version, ""}
	if v.City == "" {
		v.City = "the city"
	}
	if !opt.Generated.IsZero() {
		v.Generated = opt.Generated.Format("2 January 2006 15:04 MST")
	}
	var b strings.Builder
	if err := tpl.Execute(&b, v); err != nil {
		return fmt.Errorf("render the empty period's page: %w", err)
	}
	return writeAtomic(path, []byte(b.String()))
}

func render(p any) ([]byte, error) {
	tpl, err := template.New("report").Funcs(template.FuncMap{"num": num, "pct": pct}).Parse(pageTemplate)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := tpl.Execute(&buf, p); err != nil {
		return nil, fmt.Errorf("render report: %w", err)
	}
	return buf.Bytes(), nil
}

// writeAtomic writes a file through a temporary one and a rename, so that
// a reader never sees half a report.
func writeAtomic(path string, data []byte) error { return atomicfile.Write(path, data) }

// csvTables are the analysis tables a weekly report writes beside itself;
// a research report writes every one.
var csvTables = map[string]string{
	"analysis_area_metrics": "areas.csv", "analysis_area_channels": "channels.csv", "analysis_quality": "quality.csv",
	"analysis_groups": "groups.csv", "analysis_outcomes": "outcomes.csv", "analysis_changes": "changes.csv",
}

// writeCSVs writes the report's tables, values as the analysis stores them.
func writeCSVs(res *results.Analysis, dir, kind string) ([]string, error) {
	var out []string
	for _, t := range res.Tables() {
		file, ok := csvTables[t.Name]
		if kind == KindResearch && !ok {
			file, ok = strings.TrimPrefix(t.Name, "analysis_")+".csv", true
		}
		if !ok {
			continue
		}
		// The header even without rows: an empty table still says its columns.
		cols := leadingFirst(slices.Sorted(slices.Values(t.Columns)))
		idx := make([]int, len(cols))
		for i, c := range cols {
			idx[i] = slices.Index(t.Columns, c)
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write(cols)
		for _, r := range t.Rows {
			rec := make([]string, len(cols))
			for i := range cols {
				rec[i] = SpreadsheetSafe(cellText(r[idx[i]]))
			}
			w.Write(rec)
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return nil, err
		}
		path := filepath.Join(dir, file)
		if err := writeAtomic(path, buf.Bytes()); err != nil {
			return nil, err
		}
		out = append(out, path)
	}
	return out, nil
}

// leadingFirst puts the key columns first, the rest in name order.
func leadingFirst(cols []string) []string {
	lead := []string{"city", "period", "layer", "area_id", "name", "grouping", "group_label", "model", "term", "channel", "week", "item"}
	var out []string
	for _, l := range lead {
		if slices.Contains(cols, l) {
			out = append(out, l)
		}
	}
	for _, c := range cols {
		if !slices.Contains(lead, c) {
			out = append(out, c)
		}
	}
	return out
}

func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		if math.IsNaN(x) {
			return ""
		}
		return strconv.FormatFloat(x, 'g', 10, 64)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// writeDataJSON writes every figure's numbers: the analysis tables of the
// city and period.
func writeDataJSON(res *results.Analysis, path string) error {
	doc := map[string]any{
		"city": res.City, "period": res.Period.Label, "period_from": res.Period.From.UTC().Format(time.RFC3339),
		"period_to": res.Period.To.UTC().Format(time.RFC3339), "period_basis": res.PeriodBasis, "min_count": res.MinCount,
		"seed": res.Seed, "tables": jsonTables(res.Tables()),
	}
	b, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return err
	}
	return writeAtomic(path, b)
}

func jsonTables(tables []results.Table) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, t := range tables {
		for _, r := range t.Rows {
			m := map[string]any{}
			for i, v := range r {
				k := t.Columns[i]
				if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
					v = nil
				}
				if tm, ok := v.(time.Time); ok {
					v = tm.UTC().Format(time.RFC3339)
				}
				m[k] = v
			}
			out[t.Name] = append(out[t.Name], m)
		}
	}
	return out
}

// SpreadsheetSafe keeps a text cell from being read as a formula by a
// spreadsheet: a value that begins with =, +, @, a tab or a carriage
// return, or with - not followed by a number, gets a leading apostrophe
// (as OWASP advises against CSV injection). Numbers are left alone.
func SpreadsheetSafe(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '@', '\t', '\r':
		return "'" + v
	case '-':
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return "'" + v
		}
	}
	return v
}
