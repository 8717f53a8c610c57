package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/equity311/equity311/internal/shareddata"
	"github.com/equity311/equity311/internal/storetest"
	"github.com/equity311/equity311/store"
)

// runCLIErr runs the command line in-process and returns stdout, stderr
// and the error.
func runCLIErr(args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	a := newApp(&out, &errb, fixedNow)
	cmd := a.root()
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), errors.Join(err, a.stopProfile())
}

// bostonFiles are the README's walkthrough files, every Boston dump, and
// the 2010 tracts with both ACS tables keyed to them.
type bostonFiles struct {
	dumps                       []string
	hoods, tracts, tracts2010   string
	census2020, aclu, bari      string
	neighborhoodCensusForFenway string
}

func boston(t *testing.T) bostonFiles {
	return bostonFiles{
		dumps: []string{
			shareddata.Path(t, "boston311/qsv_boston311-100.csv"),
			shareddata.Path(t, "boston311/yashchavan11_raw_sample_2015-2024_4995rows.csv"),
			shareddata.Path(t, "boston311/safertrail_2025_open_sidewalk_streetlight_2424rows.csv"),
			shareddata.Path(t, "boston311/boston311_new_system_2025-08_to_2026-02_soham-bhagwat.csv"),
		},
		hoods:      shareddata.Path(t, "boston_geo/Boston_Neighborhoods.geojson"),
		tracts:     shareddata.Path(t, "boston_geo/bpda_boston_tracts_2020.geojson"),
		tracts2010: shareddata.Path(t, "boston_geo/bpda_boston_tracts_2010.geojson"),
		census2020: shareddata.Path(t, "census2020_boston/census-tract-data.csv"),
		aclu:       shareddata.Path(t, "acs/aclum_acs2018_5yr_MA_tract_internet_income_language.csv"),
		bari:       shareddata.Path(t, "acs/BARI_ACS_2013_2017_MA_tracts.csv"),
	}
}

// loadBoston loads the files into db in the given order of steps.
func loadBoston(t *testing.T, db string, f bostonFiles, reverse bool) {
	t.Helper()
	dumps := slices.Clone(f.dumps)
	steps := [][]string{
		{"ingest", "boundaries", "--layer", "neighborhoods", "--id-prop", "Name", "--name-prop", "Name", f.hoods},
		{"ingest", "boundaries", "--layer", "tracts", f.tracts},
		{"ingest", "boundaries", "--layer", "tracts2010", f.tracts2010},
		{"ingest", "census", "--layer", "tracts", "--id-col", "GEOCODE", "--vintage", "census2020", f.census2020},
		{"ingest", "census", "--layer", "tracts2010", "--id-col", "GEOID", "--vintage", "acs2018-5yr", f.aclu},
		{"ingest", "census", "--layer", "tracts2010", "--id-col", "ct_id_10", "--vintage", "acs2017-5yr", f.bari},
	}
	if reverse {
		slices.Reverse(dumps)
		// Boundaries first (census needs its layer), then census files and dumps in reverse.
		steps = append(steps[:3], steps[5], steps[4], steps[3])
	}
	for _, d := range dumps {
		runCLI(t, "--db", db, "--quiet", "ingest", "dump", d)
	}
	for _, s := range steps {
		runCLI(t, append([]string{"--db", db, "--quiet"}, s...)...)
	}
	runCLI(t, "--db", db, "--quiet", "assign")
	runCLI(t, "--db", db, "--quiet", "analyze")
}

// content returns the rows of what loading and analysing produced, with
// source ids replaced by file names (ids follow the load order).
func content(t *testing.T, db string) map[string][]string {
	t.Helper()
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := map[string][]string{}
	for name, q := range map[string]string{
		"tickets":      `SELECT t.* EXCLUDE (source_id, ticket_no), regexp_extract(s.name, '[^/]*$') FROM tickets t JOIN sources s USING (source_id)`,
		"ticket_areas": `SELECT * FROM ticket_areas`,
		"demographics": `SELECT d.* EXCLUDE (source_id), regexp_extract(s.name, '[^/]*$') FROM demographics d JOIN sources s USING (source_id)`,
		"crosswalk":    `SELECT from_layer, from_id, to_layer, to_id, round(weight, 9) FROM crosswalk`,
		"metrics": `SELECT * EXCLUDE (population, resident_per_1000, resident_per_1000_lo, resident_per_1000_hi, app_per_1000, app_per_1000_lo, app_per_1000_hi),
			round(population, 6), round(resident_per_1000, 9), round(app_per_1000, 9) FROM analysis_area_metrics`,
		"runs": `SELECT * FROM analysis_runs`,
	} {
		rows, err := st.DB().Query(q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out[name] = append(out[name], fmt.Sprint(vals...))
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		slices.Sort(out[name])
	}
	return out
}

// TestBostonCensusVintages loads the README's Boston walkthrough with
// every dump, the 2020 census and both ACS tables, in two orders: the
// tables are the same; Fenway's population is the 2020 census figure; no
// tract with people shows 0; the 2010-keyed ACS tables are refused on the
// 2020 tracts with a message, reach them through the crosswalk from the
// 2010 tracts, and status says which.
func TestBostonCensusVintages(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: two Boston databases take about 8 s; the full suite builds them")
	}
	f := boston(t)
	dir := t.TempDir()
	db1, db2 := filepath.Join(dir, "a.duckdb"), filepath.Join(dir, "b.duckdb")

	// The 2010-keyed table onto the 2020 tracts: refused, pointing at the 2010 layer.
	runCLI(t, "--db", db1, "--quiet", "ingest", "boundaries", "--layer", "tracts", f.tracts)
	runCLI(t, "--db", db1, "--quiet", "ingest", "boundaries", "--layer", "tracts2010", f.tracts2010)
	_, _, err := runCLIErr("--db", db1, "--quiet", "ingest", "census", "--layer", "tracts", "--id-col", "GEOID", f.aclu)
	if err == nil || !strings.Contains(err.Error(), "another geography or vintage") || !strings.Contains(err.Error(), "tracts2010") {
		t.Fatalf("ACS 2018 (2010 tracts) onto the 2020 tracts: %v; want a refusal naming layer tracts2010", err)
	}
	loadBoston(t, db1, f, false)
	loadBoston(t, db2, f, true)

	c1, c2 := content(t, db1), content(t, db2)
	for name, rows := range c1 {
		if len(rows) == 0 && name != "runs" {
			t.Errorf("%s is empty", name)
		}
		if !slices.Equal(rows, c2[name]) {
			n := 0
			for i := range min(len(rows), len(c2[name])) {
				if rows[i] != c2[name][i] && n < 3 {
					t.Logf("%s row %d:\n  %s\n  %s", name, i, rows[i], c2[name][i])
					n++
				}
			}
			t.Errorf("%s differs between load orders (%d and %d rows)", name, len(rows), len(c2[name]))
		}
	}

	st, err := store.Open(context.Background(), db1)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var fenway float64
	var basis string
	if err := st.DB().QueryRow(`SELECT population, population_basis FROM analysis_area_metrics
		WHERE layer = 'neighborhoods' AND area_id = 'Fenway'`).Scan(&fenway, &basis); err != nil {
		t.Fatal(err)
	}
	// The city's own 2020 table (boston-neighborhood-data.csv) gives Fenway 37,733.
	if math.Abs(fenway-37733)/37733 > 0.02 || !strings.HasPrefix(basis, "crosswalk from tracts (polygon overlap):") {
		t.Errorf("Fenway: population %.0f (%s), want the 2020 census's 37,733 within 2%% through the crosswalk from tracts", fenway, basis)
	}
	var zero, tracts int
	if err := st.DB().QueryRow(`SELECT count(*) FILTER (WHERE coalesce(m.population, 0) = 0), count(*)
		FROM analysis_area_metrics m JOIN demographics d ON d.layer = m.layer AND d.area_id = m.area_id
		WHERE m.layer = 'tracts' AND d.variable = 'P0020001' AND d.estimate > 0`).Scan(&zero, &tracts); err != nil {
		t.Fatal(err)
	}
	if zero != 0 || tracts < 200 {
		t.Errorf("%d of %d 2020 tracts with people show no population", zero, tracts)
	}
	// The 2010 tracts take their population from the ACS (B01003 through BARI's total_pop), never from B28008's universe.
	var measure string
	if err := st.DB().QueryRow(`SELECT DISTINCT regexp_extract(population_basis, 'census (\S+)', 1) FROM analysis_area_metrics
		WHERE layer = 'tracts2010' AND population_basis LIKE 'census%'`).Scan(&measure); err != nil {
		t.Fatal(err)
	}
	if measure != "total_pop" {
		t.Errorf("2010 tracts' population measure %q, want BARI's total_pop (ACS B01003)", measure)
	}
	st.Close()
	status := runCLI(t, "--db", db1, "status")
	for _, want := range []string{"tracts2010     179    census of the layer", "neighborhoods  26     crosswalk from tracts", "aclum_acs2018_5yr_MA_tract_internet_income_language.csv"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q", want)
		}
	}
}

// TestAppShareOverSourcesThatRecordTheApp: on every Boston sample, the
// citywide app share is the share over the sources that can record the
// app (plain SQL; Boston's new system records only Call and BOS311,
// online), and the report shows the per-source breakdown.
func TestAppShareOverSourcesThatRecordTheApp(t *testing.T) {
	f := boston(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "b.duckdb")
	runCLI(t, append([]string{"--db", db, "--quiet", "ingest", "dump"}, f.dumps...)...)
	runCLI(t, "--db", db, "--quiet", "ingest", "boundaries", "--layer", "neighborhoods", "--id-prop", "Name", "--name-prop", "Name", f.hoods)
	runCLI(t, "--db", db, "--quiet", "assign")
	// The whole range, so that every source takes part.
	runCLI(t, "--db", db, "--quiet", "analyze", "--from", "2015-01-01", "--to", "2026-03-01")
	path := strings.TrimSpace(runCLI(t, "--db", db, "--quiet", "report", "--from", "2015-01-01", "--to", "2026-03-01", "--out", filepath.Join(dir, "r")))
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var app, base, all int64
	if err := st.DB().QueryRow(`SELECT count(*) FILTER (WHERE t.channel = 'app' AND s.profile <> 'boston-2025'),
		count(*) FILTER (WHERE t.channel IN ('app', 'web', 'online', 'phone', 'email', 'social', 'walk_in') AND s.profile <> 'boston-2025'),
		count(*) FILTER (WHERE t.channel IN ('app', 'web', 'online', 'phone', 'email', 'social', 'walk_in'))
		FROM tickets t JOIN sources s USING (source_id)`).Scan(&app, &base, &all); err != nil {
		t.Fatal(err)
	}
	var gotApp, gotBase, gotResident int64
	var share float64
	if err := st.DB().QueryRow(`SELECT app, share_base, resident, app_share FROM analysis_area_metrics WHERE layer = 'city'`).
		Scan(&gotApp, &gotBase, &gotResident, &share); err != nil {
		t.Fatal(err)
	}
	if gotApp != app || gotBase != base || gotResident != all || math.Abs(share-float64(app)/float64(base)) > 1e-12 {
		t.Errorf("city: app %d of %d (share %.4f), resident %d; SQL over the sources that record the app: %d of %d, all resident %d",
			gotApp, gotBase, share, gotResident, app, base, all)
	}
	if base == all {
		t.Fatal("the new system's requests are missing: the test proves nothing")
	}
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Resident requests by source", "boston311_new_system_2025-08_to_2026-02_soham-bhagwat.csv",
		"no: left out of the shares", "the source records only that the request came online"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

// TestCLIRoughEdges covers the command line's answers to mistakes.
func TestCLIRoughEdges(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "t.duckdb")
	for _, args := range [][]string{{"ingest", "dumb", "x.csv"}, {"ingest"}, {"nosuch"}, {"ingest", "dump"}} {
		if _, _, err := runCLIErr(append([]string{"--db", db}, args...)...); err == nil {
			t.Errorf("equity311 %s: exit 0, want an error", strings.Join(args, " "))
		}
	}
	census := filepath.Join(dir, "c.csv")
	if err := os.WriteFile(census, []byte("GEOID,population\nA,10\nB,20\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCLIErr("--db", db, "ingest", "census", "--layer", "nosuch", census)
	if err == nil || !strings.Contains(err.Error(), "no layer") {
		t.Errorf("census onto a missing layer: %v", err)
	}
	gj := filepath.Join(dir, "a.geojson")
	if err := os.WriteFile(gj, []byte(`{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"GEOID":"A"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}},
		{"type":"Feature","properties":{"GEOID":"B"},"geometry":{"type":"Polygon","coordinates":[[[1,0],[2,0],[2,1],[1,1],[1,0]]]}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	runCLI(t, "--db", db, "--quiet", "ingest", "boundaries", "--layer", "tracts", gj)
	_, _, err = runCLIErr("--db", db, "ingest", "census", "--layer", "nosuch", census)
	if err == nil || !strings.Contains(err.Error(), "the layers are tracts") {
		t.Errorf("census onto a missing layer: %v; want the layers named", err)
	}
	runCLI(t, "--db", db, "--quiet", "ingest", "census", "--layer", "tracts", census)
	_, _, err = runCLIErr("--db", db, "ingest", "census", "--layer", "tracts", "--vintage", "acs2020", census)
	if err == nil || !strings.Contains(err.Error(), `vintage was (none), now "acs2020"`) || !strings.Contains(err.Error(), "--force") {
		t.Errorf("census again with another vintage: %v", err)
	}
	runCLI(t, "--db", db, "--quiet", "ingest", "census", "--layer", "tracts", "--vintage", "acs2020", "--force", census)

	status := runCLI(t, "--db", db, "status")
	for _, want := range []string{"Tables (equity311 export --table T)", "analysis_area_metrics", "demographics"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q", want)
		}
	}
	out := filepath.Join(dir, "areas.csv")
	runCLI(t, "--db", db, "export", "--table", "areas", "--format", "csv", "--out", out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))"`)) && !bytes.Contains(b, []byte(`"MULTIPOLYGON (((0 0, 1 0, 1 1, 0 1, 0 0)))"`)) {
		t.Errorf("areas.csv geometry is not WKT:\n%s", b)
	}
}

// TestStatusSummarizesUnmatchedIDs: many census ids without an area show
// as a count and a few examples; --full lists them all.
func TestStatusSummarizesUnmatchedIDs(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "t.duckdb")
	gj := filepath.Join(dir, "a.geojson")
	if err := os.WriteFile(gj, []byte(`{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"GEOID":"A"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("GEOID,population\nA,5\n")
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "X%03d,%d\n", i, i)
	}
	census := filepath.Join(dir, "c.csv")
	if err := os.WriteFile(census, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runCLI(t, "--db", db, "--quiet", "ingest", "boundaries", "--layer", "tracts", gj)
	runCLI(t, "--db", db, "--quiet", "ingest", "census", "--layer", "tracts", census)
	short := runCLI(t, "--db", db, "status")
	full := runCLI(t, "--db", db, "status", "--full")
	if !strings.Contains(short, "tracts  40   X000 X001") || strings.Contains(short, "X039") {
		t.Errorf("status does not summarize the 40 unmatched ids:\n%s", short)
	}
	if !strings.Contains(full, "X039") {
		t.Errorf("status --full does not list every id")
	}
}

// TestCLIRefusesBadValues: values that made nonsense or raw errors are
// refused with a message naming the flag.
func TestCLIRefusesBadValues(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "t.duckdb")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--dir", filepath.Join(dir, "d"), "--tickets", "0"}, "--tickets 0"},
		{[]string{"assign", "--snap", "-5"}, "--snap -5"},
		{[]string{"analyze", "--min-count", "99999999999"}, "--min-count"},
		{[]string{"analyze", "--min-count", "0"}, "--min-count 0"},
	} {
		_, _, err := runCLIErr(append([]string{"--db", db}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("equity311 %s: %v, want an error naming %s", strings.Join(c.args, " "), err, c.want)
		}
	}
	// A report of a layer that is not there.
	demo, _ := demoCopy(t)
	_, _, err := runCLIErr("--db", filepath.Join(demo, "equity311.duckdb"), "report", "--layer", "nosuch", "--out", filepath.Join(dir, "r"))
	if err == nil || !strings.Contains(err.Error(), "the layers are neighborhoods, tracts") {
		t.Errorf("report --layer nosuch: %v", err)
	}
	// assign's summary does not call outside points placed.
	out := runCLI(t, "--db", filepath.Join(demo, "equity311.duckdb"), "assign", "--all")
	if !strings.Contains(out, "inside an area") || !strings.Contains(out, "outside every area") {
		t.Errorf("assign says %q", out)
	}
}

// TestCSVCellsAreNotFormulas: text that a spreadsheet would run as a
// formula is exported with a leading apostrophe; numbers are not.
func TestCSVCellsAreNotFormulas(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "t.duckdb")
	gj := filepath.Join(dir, "a.geojson")
	if err := os.WriteFile(gj, []byte(`{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"id":"a","name":"=HYPERLINK(\"http://x\",\"y\")"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}},
		{"type":"Feature","properties":{"id":"-12","name":"-Minus"},"geometry":{"type":"Polygon","coordinates":[[[1,0],[2,0],[2,1],[1,1],[1,0]]]}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	runCLI(t, "--db", db, "--quiet", "ingest", "boundaries", "--layer", "x", "--id-prop", "id", "--name-prop", "name", gj)
	out := filepath.Join(dir, "areas.csv")
	runCLI(t, "--db", db, "export", "--table", "areas", "--format", "csv", "--out", out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"'=HYPERLINK(`)) || !bytes.Contains(b, []byte(`,'-Minus,`)) || !bytes.Contains(b, []byte("x,-12,")) {
		t.Errorf("areas.csv:\n%s", b[:min(len(b), 400)])
	}
}

// TestBostonAnalysisFillsEveryTable analyses every Boston sample with the
// 2010 tracts and both ACS tables over the samples' whole range: every
// analysis table gets rows, and the income quintiles' app shares equal a
// plain SQL computation of the same population-weighted quintiles.
func TestBostonAnalysisFillsEveryTable(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: Boston's every sample analysed takes about 3 s; the full suite runs it")
	}
	db := bostonACS(t, t.TempDir())
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.DB().Query(`SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'analysis_%' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	// The samples and extracts among Boston's dumps leave out what needs
	// the city's whole volume: the concentration index per resident.
	var rates bool
	if err := st.DB().QueryRow(`SELECT rates FROM analysis_cities`).Scan(&rates); err != nil {
		t.Fatal(err)
	}
	if rates {
		t.Error("rates computed from Boston's samples and extracts")
	}
	var why string
	if err := st.DB().QueryRow(`SELECT string_agg(DISTINCT status, '; ') FROM analysis_reporting_fit`).Scan(&why); err != nil || why != "not computed: the sources are samples" {
		t.Errorf("reporting-rate model on Boston's samples: %q (%v), want not computed: the sources are samples", why, err)
	}
	for _, tbl := range tables {
		var n int
		if err := st.DB().QueryRow(`SELECT count(*) FROM ` + tbl).Scan(&n); err != nil {
			t.Fatal(err)
		}
		// As are the reporting-rate tables, which say why in analysis_reporting_fit.
		perResident := tbl == "analysis_concentration" || tbl == "analysis_concentration_curve" ||
			tbl == "analysis_first_reports" || tbl == "analysis_reporting_areas" || tbl == "analysis_reporting_model"
		if n == 0 && !perResident {
			t.Errorf("%s is empty", tbl)
		}
		if n > 0 && perResident {
			t.Errorf("%s has %d rows, though the sources are samples", tbl, n)
		}
	}
	// The quintiles by plain SQL: 2010 tracts by median income, each in the
	// fifth its population's midpoint falls in; app share over resident
	// requests from sources that record the app.
	want := storetest.Strings(t, st, `WITH tr AS (
			SELECT m.area_id, m.population AS pop, d.estimate AS income FROM analysis_area_metrics m
			JOIN analysis_area_demographics d USING (city, period, layer, area_id)
			WHERE m.layer = 'tracts2010' AND d.variable = 'median_income' AND m.population > 0),
		q AS (SELECT area_id, least(4, floor((sum(pop) OVER (ORDER BY income, area_id) - pop / 2) / sum(pop) OVER () * 5))::INT + 1 AS quintile FROM tr),
		c AS (SELECT q.quintile, count(*) FILTER (WHERE t.channel = 'app') AS app,
				count(*) FILTER (WHERE t.resident_initiated) AS base
			FROM tickets t JOIN sources s ON s.source_id = t.source_id JOIN ticket_areas ta ON ta.city = t.city AND ta.ticket_id = t.ticket_id JOIN q ON q.area_id = ta.area_id
			WHERE ta.layer = 'tracts2010' AND coalesce(s.records_app, true)
			AND t.opened_at >= TIMESTAMPTZ '2015-01-01 00:00:00 America/New_York' AND t.opened_at < TIMESTAMPTZ '2026-03-01 00:00:00 America/New_York'
			GROUP BY 1)
		SELECT 'Q' || quintile, app || '/' || base FROM c`)
	got := storetest.Strings(t, st, `SELECT group_label, app || '/' || share_base FROM analysis_groups
		WHERE layer = 'tracts2010' AND grouping = 'income_quintile'`)
	if len(want) != 5 || !maps.Equal(got, want) {
		t.Errorf("income quintiles: analysis %v, plain SQL %v", got, want)
	}
	var terms int
	if err := st.DB().QueryRow(`SELECT count(*) FROM analysis_models WHERE layer = 'tracts2010' AND model = 'logit'`).Scan(&terms); err != nil || terms < 5 {
		t.Errorf("the logit on the 2010 tracts has %d terms (%v)", terms, err)
	}
}

// TestBostonSourceDesigns: on Boston's samples the open-only extract is
// recorded as an extract with its status filter and reason (detected),
// the sample of closed cases as a status selection, a declared design
// wins over what is detected and is kept beside it, analyze says which
// sources it used and leaves some out on request, and no rate is given.
func TestBostonSourceDesigns(t *testing.T) {
	f := boston(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "b.duckdb")
	runCLI(t, append([]string{"--db", db, "--quiet", "ingest", "dump"}, f.dumps...)...)
	// A declaration made after the load replaces none of the data.
	runCLI(t, "--db", db, "--quiet", "ingest", "dump", "--design", "sample", "--frame", "closed cases 2015-2024",
		"--filter", "status=closed: the sample was drawn from closed cases", f.dumps[1])
	_, _, err := runCLIErr("--db", db, "ingest", "dump", "--design", "census", f.dumps[1])
	if err == nil || !strings.Contains(err.Error(), "(--design)") {
		t.Errorf("--design census: %v", err)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	got := storetest.Strings(t, st, `SELECT regexp_extract(s.name, '[^/]*$') || ' ' || f.basis || ' ' || f.kind, f.value || ': ' || f.reason
		FROM sources s JOIN source_filters f USING (source_id)`)
	extract := got["safertrail_2025_open_sidewalk_streetlight_2424rows.csv detected status"]
	if !strings.HasPrefix(extract, "open: every one of its 2424 requests is open") {
		t.Errorf("the open-only extract: %q (filters %v)", extract, got)
	}
	if !strings.HasPrefix(got["yashchavan11_raw_sample_2015-2024_4995rows.csv detected status"], "closed: every one of its") ||
		got["yashchavan11_raw_sample_2015-2024_4995rows.csv declared status"] != "closed: the sample was drawn from closed cases" {
		t.Errorf("the closed-case sample: %v", got)
	}
	designs := storetest.Strings(t, st, `SELECT regexp_extract(name, '[^/]*$'), coalesce(design, '-') || '/' || coalesce(detected_design, '-') FROM sources`)
	if designs["yashchavan11_raw_sample_2015-2024_4995rows.csv"] != "sample/extract" || designs["safertrail_2025_open_sidewalk_streetlight_2424rows.csv"] != "-/extract" {
		t.Errorf("designs (declared/detected): %v", designs)
	}
	st.Close()
	out := runCLI(t, "--db", db, "analyze", "--from", "2015-01-01", "--to", "2026-03-01", "--exclude-source", "safertrail_2025_open_sidewalk_streetlight_2424rows.csv")
	if !strings.Contains(out, "analyze:") {
		t.Fatalf("analyze printed %q", out)
	}
	if st, err = store.Open(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	used := storetest.Strings(t, st, `SELECT regexp_extract(source, '[^/]*$'), used::VARCHAR || ' ' || coalesce(design, '-') || ' ' || design_basis FROM analysis_sources WHERE period = '2015-01-01..2026-03-01'`)
	if used["safertrail_2025_open_sidewalk_streetlight_2424rows.csv"] != "false extract detected" {
		t.Errorf("analysis_sources: %v", used)
	}
	var design, note, filter string
	var rates bool
	if err := st.DB().QueryRow(`SELECT design, design_note, rates, source_filter FROM analysis_cities WHERE period = '2015-01-01..2026-03-01'`).Scan(&design, &note, &rates, &filter); err != nil {
		t.Fatal(err)
	}
	if filter != "all but safertrail_2025_open_sidewalk_streetlight_2424rows.csv" {
		t.Errorf("source filter %q", filter)
	}
	// The whole range pools the sample with the rest: no rates.
	st.Close()
	runCLI(t, "--db", db, "--quiet", "analyze", "--from", "2015-01-01", "--to", "2026-03-01")
	if st, err = store.Open(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.DB().QueryRow(`SELECT design, design_note, rates FROM analysis_cities WHERE period = '2015-01-01..2026-03-01'`).Scan(&design, &note, &rates); err != nil {
		t.Fatal(err)
	}
	if design != "samples" || rates || !strings.Contains(note, "yashchavan11_raw_sample_2015-2024_4995rows.csv is a sample of closed cases 2015-2024") {
		t.Errorf("whole range: design %s, rates %v, note %q", design, rates, note)
	}
	var withRate int
	if err := st.DB().QueryRow(`SELECT count(*) FROM analysis_area_metrics WHERE period = '2015-01-01..2026-03-01' AND resident_per_1000 IS NOT NULL`).Scan(&withRate); err != nil || withRate != 0 {
		t.Errorf("%d areas with a rate from samples (%v)", withRate, err)
	}
	// A month with 41 resident requests fits no model, and says why.
	st.Close()
	runCLI(t, "--db", db, "--quiet", "ingest", "boundaries", "--layer", "neighborhoods", "--id-prop", "Name", "--name-prop", "Name", f.hoods)
	runCLI(t, "--db", db, "--quiet", "ingest", "boundaries", "--layer", "tracts", f.tracts)
	runCLI(t, "--db", db, "--quiet", "ingest", "census", "--layer", "tracts", "--id-col", "GEOCODE", f.census2020)
	runCLI(t, "--db", db, "--quiet", "assign")
	runCLI(t, "--db", db, "--quiet", "analyze", "--month", "2024-05")
	if st, err = store.Open(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	notes := storetest.Strings(t, st, `SELECT layer || ' ' || model, note FROM analysis_model_fit WHERE period = '2024-05'`)
	for k, n := range notes {
		if !strings.HasPrefix(n, "not fitted: ") {
			t.Errorf("--month 2024-05: %s fitted (%s)", k, n)
		}
	}
	if len(notes) < 4 || !strings.Contains(notes["tracts nb2"], "too few events") {
		t.Errorf("--month 2024-05: model notes %v", notes)
	}
	var terms, gaps int
	if err := st.DB().QueryRow(`SELECT (SELECT count(*) FROM analysis_models WHERE period = '2024-05'),
		(SELECT count(*) FROM analysis_adjusted_gaps WHERE period = '2024-05' AND fitted)`).Scan(&terms, &gaps); err != nil || terms+gaps > 0 {
		t.Errorf("--month 2024-05: %d model terms and %d adjusted gaps published (%v)", terms, gaps, err)
	}
}
