package service

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/equity311/equity311/internal/fetch"
	"github.com/equity311/equity311/internal/synthcity"
)

// cityEnd is the Monday that ends the test city's last week.
var cityEnd = time.Date(2026, 11, 23, 0, 0, 0, 0, mustLoc("America/New_York"))

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// testCity writes a small synthetic city and a config that serves it from
// a drop folder, and returns the config's path.
func testCity(t testing.TB, dir string, extra string) string {
	t.Helper()
	city, err := synthcity.New(synthcity.Options{Seed: 4, Tickets: 6000, Weeks: 6, End: cityEnd})
	if err != nil {
		t.Fatal(err)
	}
	files, err := city.Write(context.Background(), filepath.Join(dir, "city"))
	if err != nil {
		t.Fatal(err)
	}
	drop := filepath.Join(dir, "drop")
	if err := os.MkdirAll(drop, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(files.Dump, filepath.Join(drop, "requests.csv")); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`database = "equity311.duckdb"
[city]
name = "synthetic"
time_zone = "America/New_York"

[[source]]
name = "drop"
kind = "folder"
folder = "drop"
%s
[[layer]]
name = "neighborhoods"
file = %q
id_prop = "nbhd_id"
name_prop = "name"

[[layer]]
name = "tracts"
file = %q
id_prop = "GEOID"
name_prop = "name"

[[census]]
layer = "tracts"
file = %q
vintage = "synthetic"

[archive]
dir = "archive"
`, extra, files.Neighborhoods, files.Tracts, files.Census)
	path := filepath.Join(dir, "equity311.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func newRunner(t testing.TB, path string, now time.Time) *Runner {
	t.Helper()
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	return &Runner{Config: cfg, Now: func() time.Time { return now }}
}

// TestCycle runs a cycle for the last complete week, then again: the week
// is published whole with both reports and its summary, a failing source
// does not stop the others, and a second run gives the same bytes.
func TestCycle(t *testing.T) {
	dir := t.TempDir()
	path := testCity(t, dir, `
[[source]]
name = "broken feed"
kind = "open311"
endpoint = "http://127.0.0.1:1/open311/v2"
`)
	r := newRunner(t, path, cityEnd.Add(30*time.Hour)) // Tuesday after the city's last week
	r.HTTP = func() *fetch.Client { c := fetch.New(); c.Retries = 0; return c }
	res, err := r.Run(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Week != "2026-W47" {
		t.Errorf("week %s, want the last complete one, 2026-W47", res.Week)
	}
	if len(res.Sources) != 2 || !res.Sources[0].OK || res.Sources[0].Loaded == 0 || res.Sources[0].Files != 1 {
		t.Errorf("drop folder: %+v", res.Sources)
	}
	if res.Sources[1].OK || res.Sources[1].Error == "" {
		t.Errorf("the broken feed should fail and say why: %+v", res.Sources[1])
	}
	week := filepath.Join(dir, "archive", "2026-W47")
	first := map[string][]byte{}
	for _, f := range []string{"index.html", "research/index.html", "research/data.json", "summary.json"} {
		b, err := os.ReadFile(filepath.Join(week, f))
		if err != nil {
			t.Fatal(err)
		}
		first[f] = b
	}
	if !bytes.Contains(first["summary.json"], []byte(`"period": "2026-W47-13w"`)) {
		t.Errorf("summary: %s", first["summary.json"])
	}
	st, _, err := archive{filepath.Join(dir, "archive")}.state()
	if err != nil || st.Last == nil || !st.Last.OK || st.LastSuccessWeek != "2026-W47" || st.Sources["drop"].Newest.IsZero() {
		t.Errorf("state %+v, %v", st, err)
	}
	// Again: nothing new to load, the same bytes.
	res, err = r.Run(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Sources[0].Loaded != 0 || res.Sources[0].Files != 0 {
		t.Errorf("the second cycle loaded the dropped file again: %+v", res.Sources[0])
	}
	for f, b := range first {
		again, err := os.ReadFile(filepath.Join(week, f))
		if err != nil || !bytes.Equal(again, b) {
			t.Errorf("%s changed between two cycles on the same data (%v)", f, err)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "archive"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") || strings.HasPrefix(e.Name(), ".old-") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestCycleLock refuses a second cycle while one holds the archive.
func TestCycleLock(t *testing.T) {
	dir := t.TempDir()
	path := testCity(t, dir, "")
	r := newRunner(t, path, cityEnd.Add(30*time.Hour))
	unlock, err := archive{filepath.Join(dir, "archive")}.lock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background(), ""); err != ErrBusy {
		t.Errorf("Run under a held lock: %v, want ErrBusy", err)
	}
	unlock()
	if _, err := r.Run(context.Background(), ""); err != nil {
		t.Errorf("Run after the lock was released: %v", err)
	}
}
