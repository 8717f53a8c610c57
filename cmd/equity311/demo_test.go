package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/equity311/equity311/internal/browser"
	"github.com/equity311/equity311/internal/storetest"
	"github.com/equity311/equity311/internal/synthcity"
	"github.com/equity311/equity311/store"
)

var fixedNow = func() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) }

// runCLI runs the command line in-process and returns stdout.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	a := newApp(&out, &errb, fixedNow)
	cmd := a.root()
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("equity311 %s: %v\nstderr:\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// sharedDemo is one demo city (40,000 tickets over 8 weeks, seed 3) that
// the package's tests build once and copy: `demo` runs once per test binary
// instead of once per test.
type sharedDemo struct {
	once sync.Once
	dir  string // where demo wrote the city
	out  string // what demo printed
	err  error
}

// demoFixture is the package's shared demo; TestMain removes its folder.
var demoFixture sharedDemo

// demoCopy returns a fresh copy of the shared demo's folder, which the test
// may change, and what demo printed when it made the original.
func demoCopy(t *testing.T) (dir, printed string) {
	t.Helper()
	demoFixture.once.Do(func() {
		demoFixture.dir, demoFixture.err = os.MkdirTemp("", "equity311-demo-fixture-")
		if demoFixture.err != nil {
			return
		}
		var out, errb bytes.Buffer
		cmd := newApp(&out, &errb, fixedNow).root()
		cmd.SetArgs([]string{"demo", "--dir", demoFixture.dir, "--tickets", "40000", "--weeks", "8", "--seed", "3", "--quiet"})
		if err := cmd.ExecuteContext(context.Background()); err != nil {
			demoFixture.err = fmt.Errorf("demo: %w\n%s", err, errb.String())
		}
		demoFixture.out = out.String()
	})
	if demoFixture.err != nil {
		t.Fatalf("the shared demo: %v", demoFixture.err)
	}
	dir = filepath.Join(t.TempDir(), "demo")
	if err := os.CopyFS(dir, os.DirFS(demoFixture.dir)); err != nil {
		t.Fatalf("copy the shared demo: %v", err)
	}
	return dir, demoFixture.out
}

// TestDemo runs the whole pipeline on a small synthetic city and checks the
// report against plain SQL on the database and against what the city
// planted, then opens the report in Chromium.
func TestDemo(t *testing.T) {
	dir, out := demoCopy(t)
	if strings.TrimSpace(out) != filepath.Join(demoFixture.dir, "report", "index.html") {
		t.Fatalf("demo printed %q, want the report path", out)
	}
	path := filepath.Join(dir, "report", "index.html")
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var truth synthcity.Truth
	b, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "equity311.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	db := st.DB()

	// Load accounting against the planted dirt.
	var read, loaded, rejected, superseded int
	if err := db.QueryRow("SELECT rows_read, rows_loaded, rows_rejected, rows_superseded FROM sources WHERE kind = 'dump'").
		Scan(&read, &loaded, &rejected, &superseded); err != nil {
		t.Fatal(err)
	}
	if read != truth.Rows || loaded != truth.Tickets || rejected != truth.Dirt.MalformedDates || superseded != truth.Dirt.Duplicates {
		t.Errorf("load: read %d loaded %d rejected %d superseded %d; truth rows %d tickets %d malformed %d duplicates %d",
			read, loaded, rejected, superseded, truth.Rows, truth.Tickets, truth.Dirt.MalformedDates, truth.Dirt.Duplicates)
	}
	got := storetest.ChannelCounts(t, st, "true")
	for ch, n := range truth.ChannelCounts {
		if got[ch] != n {
			t.Errorf("channel %s: %d tickets, the city wrote %d", ch, got[ch], n)
		}
	}
	var placeholder, missing int
	if err := db.QueryRow("SELECT count(*) FILTER (WHERE geo_quality = 'default_point'), count(*) FILTER (WHERE geo_quality = 'missing') FROM tickets").Scan(&placeholder, &missing); err != nil {
		t.Fatal(err)
	}
	if placeholder == 0 || missing == 0 {
		t.Errorf("geo quality: %d default_point, %d missing; the city planted both", placeholder, missing)
	}
	var unassigned int
	if err := db.QueryRow("SELECT count(*) FROM tickets WHERE geo_quality IS NULL OR geo_quality = 'outside'").Scan(&unassigned); err != nil {
		t.Fatal(err)
	}
	if unassigned != 0 {
		t.Errorf("%d tickets unplaced inside a city that covers every generated point", unassigned)
	}

	// Keys hold without indexes (migration 0003): loaders and assign keep them.
	assertKeys(t, st)
	// Placing again changes nothing.
	before := countRows(t, st, "ticket_areas")
	st.Close()
	runCLI(t, "--db", filepath.Join(dir, "equity311.duckdb"), "assign", "--all", "--quiet")
	runCLI(t, "--db", filepath.Join(dir, "equity311.duckdb"), "assign", "--quiet")
	if st, err = store.Open(ctx, filepath.Join(dir, "equity311.duckdb")); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db = st.DB()
	if after := countRows(t, st, "ticket_areas"); after != before {
		t.Errorf("assign --all changed ticket_areas from %d to %d rows", before, after)
	}
	assertKeys(t, st)

	// The report's numbers equal plain SQL on the database.
	type cnt struct{ resident, app int64 }
	want := map[string]cnt{}
	rows, err := db.Query(`SELECT a.name, count(*) FILTER (WHERE t.resident_initiated), count(*) FILTER (WHERE t.channel = 'app')
		FROM tickets t JOIN ticket_areas ta USING (city, ticket_id) JOIN areas a ON a.layer = ta.layer AND a.area_id = ta.area_id
		WHERE ta.layer = 'neighborhoods' GROUP BY a.name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var c cnt
		if err := rows.Scan(&name, &c.resident, &c.app); err != nil {
			t.Fatal(err)
		}
		want[name] = c
	}
	rows.Close()
	if len(want) < 20 {
		t.Fatalf("only %d neighborhoods with requests", len(want))
	}
	f, err := os.Open(filepath.Join(dir, "report", "areas.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	checked := 0
	for _, r := range recs[1:] {
		if r[col["layer"]] != "neighborhoods" || r[col["low_count"]] == "true" {
			continue
		}
		name := r[col["name"]]
		res, _ := strconv.ParseInt(r[col["resident"]], 10, 64)
		app, _ := strconv.ParseInt(r[col["app"]], 10, 64)
		if w := want[name]; w.resident != res || w.app != app {
			t.Errorf("%s: CSV says %d resident, %d app; SQL says %d, %d", name, res, app, w.resident, w.app)
		}
		// And the HTML table row shows the same counts.
		row := fmt.Sprintf(`<tr><td>%s</td>(?:<td[^>]*>[^<]*</td>){2}<td class="n">%s</td><td class="n">%s</td>`, regexp.QuoteMeta(html.EscapeString(name)), commas(res), commas(app))
		if !regexp.MustCompile(row).Match(page) {
			t.Errorf("HTML has no row %q", row)
		}
		checked++
	}
	if checked < 20 {
		t.Errorf("checked only %d neighborhoods", checked)
	}
	var cityRes, cityApp int64
	if err := db.QueryRow("SELECT count(*) FILTER (WHERE resident_initiated), count(*) FILTER (WHERE channel = 'app') FROM tickets").Scan(&cityRes, &cityApp); err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("(%s of %s;", commas(cityApp), commas(cityRes)); !bytes.Contains(page, []byte(s)) {
		t.Errorf("key findings lack the citywide counts %s", s)
	}

	// The report opens offline in Chromium: both maps draw every area and
	// nothing is fetched.
	t.Run("chromium", func(t *testing.T) {
		browser.Path(t)
		areas := storetest.CountBy(t, st, "SELECT layer, count(*) FROM areas GROUP BY layer")
		p := browser.Open(t, "file://"+path, browser.Options{})
		if len(p.Exceptions) > 0 {
			t.Errorf("JavaScript exceptions: %v", p.Exceptions)
		}
		if ext := p.External(); len(ext) > 0 {
			t.Errorf("the report fetched from outside the file: %v", ext)
		}
		// Layers are in name order: map-0 neighborhoods, map-1 tracts.
		for id, layer := range map[string]string{"map-0": "neighborhoods", "map-1": "tracts"} {
			if p.Charts[id] < areas[layer] {
				t.Errorf("%s drew %d paths for %d %s", id, p.Charts[id], areas[layer], layer)
			}
		}
		if p.Charts["chart-rank"] == 0 {
			t.Errorf("ranking drew nothing: %v", p.Charts)
		}
		t.Logf("charts %v, rendered after %v", p.Charts, p.LoadTime)
	})
}

func countRows(t *testing.T, st *store.Store, table string) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// assertKeys checks the keys of tickets, ticket_areas and duplicates are
// unique: their loaders keep them, not an index; and that every duplicate
// link names its ticket's number (duplicates.ticket_no), as the analyses
// match them on it.
func assertKeys(t *testing.T, st *store.Store) {
	t.Helper()
	var links, wrong int
	if err := st.DB().QueryRow(`SELECT count(*), count(*) FILTER (WHERE d.ticket_no IS DISTINCT FROM t.ticket_no)
		FROM duplicates d LEFT JOIN tickets t USING (city, ticket_id)`).Scan(&links, &wrong); err != nil {
		t.Fatal(err)
	}
	if links == 0 || wrong != 0 {
		t.Errorf("%d of %d duplicate links do not name their ticket's number", wrong, links)
	}
	for table, key := range map[string]string{"tickets": "city, ticket_id", "ticket_areas": "city, ticket_id, layer", "duplicates": "city, ticket_id"} {
		var dup int
		if err := st.DB().QueryRow("SELECT count(*) FROM (SELECT " + key + " FROM " + table + " GROUP BY ALL HAVING count(*) > 1)").Scan(&dup); err != nil {
			t.Fatal(err)
		}
		if dup != 0 {
			t.Errorf("%s: %d keys (%s) appear more than once", table, dup, key)
		}
	}
}

func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
