package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/equity311/equity311/internal/synthcity"
	"github.com/equity311/equity311/store"
)

// TestMain lets a test run the equity311 binary as a child process: the
// test binary itself, with EQUITY311_TEST_MAIN set and the arguments in
// EQUITY311_TEST_ARGS (separated by the unit separator, 0x1f).
func TestMain(m *testing.M) {
	if os.Getenv("EQUITY311_TEST_MAIN") == "1" {
		os.Args = append([]string{"equity311"}, strings.Split(os.Getenv("EQUITY311_TEST_ARGS"), "\x1f")...)
		main()
		os.Exit(0)
	}
	code := m.Run()
	if demoFixture.dir != "" {
		os.RemoveAll(demoFixture.dir)
	}
	os.Exit(code)
}

// child is the equity311 command line as a child process.
func child(args ...string) *exec.Cmd {
	c := exec.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), "EQUITY311_TEST_MAIN=1", "EQUITY311_TEST_ARGS="+strings.Join(args, "\x1f"))
	return c
}

// killCity drops a written city's requests, split over three dumps, into
// dir/drop and writes a config for it under dir.
func killCity(t *testing.T, files synthcity.Files, dir string) string {
	t.Helper()
	b, err := os.ReadFile(files.Dump)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	header, rows := lines[0], lines[1:]
	drop := filepath.Join(dir, "drop")
	os.MkdirAll(drop, 0o755)
	for i := 0; i < 3; i++ {
		part := rows[i*len(rows)/3 : (i+1)*len(rows)/3]
		if err := os.WriteFile(filepath.Join(drop, fmt.Sprintf("part-%d.csv", i)), []byte(header+strings.Join(part, "")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf(`database = "db.duckdb"
[city]
name = "synthetic"
time_zone = "America/New_York"
[[source]]
name = "drop"
kind = "folder"
folder = "drop"
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
[archive]
dir = "archive"
`, files.Neighborhoods, files.Tracts, files.Census)
	path := filepath.Join(dir, "equity311.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// weekFiles reads a published week's files.
func weekFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(filepath.Join(dir, "archive", "2026-W47"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		// Sources are named by their paths, which differ between runs' folders.
		out[strings.TrimPrefix(p, dir)] = bytes.ReplaceAll(b, []byte(dir), []byte("DIR"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRunSurvivesKill kills `run` with SIGKILL at 20 seeded random
// moments (half from a fresh state, half after a complete cycle), restarts
// it, and checks each time that the database opens with every load's
// accounting balanced and the tickets of an uninterrupted run, that the
// archive holds no partial week, and that the week's files have the same
// bytes as an uninterrupted run's.
func TestRunSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the 20 SIGKILLs of run take about 25 s; the full suite runs them")
	}
	city, err := synthcity.New(synthcity.Options{Seed: 8, Tickets: 4000, Weeks: 5, End: time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	// Write the city once: each Write draws new dirt.
	files, err := city.Write(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	refDir := t.TempDir()
	refCfg := killCity(t, files, refDir)
	t0 := time.Now()
	if out, err := child("--quiet", "run", "--config", refCfg, "--week", "2026-W47").CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	full := time.Since(t0)
	// Kills are drawn over the faster of two uninterrupted runs: the first
	// of a busy machine can be twice as slow as the rest, and kills drawn
	// over its length would mostly land after the run finished.
	t0 = time.Now()
	if out, err := child("--quiet", "run", "--config", killCity(t, files, t.TempDir()), "--week", "2026-W47").CombinedOutput(); err != nil {
		t.Fatalf("second uninterrupted run: %v\n%s", err, out)
	}
	full = min(full, time.Since(t0))
	ref := weekFiles(t, refDir)
	refTickets := ticketCount(t, filepath.Join(refDir, "db.duckdb"))
	if len(ref) < 10 || refTickets == 0 {
		t.Fatalf("reference: %d files, %d tickets", len(ref), refTickets)
	}
	rng := rand.New(rand.NewPCG(20261127, 1))
	dir := t.TempDir()
	var killedMid int
	for i := 0; i < 20; i++ {
		if i%2 == 0 { // a fresh state
			dir = t.TempDir()
			killCity(t, files, dir)
		}
		cfg := filepath.Join(dir, "equity311.toml")
		delay := time.Duration(rng.Float64() * float64(full))
		c := child("--quiet", "run", "--config", cfg, "--week", "2026-W47")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		c.Process.Signal(syscall.SIGKILL)
		err := c.Wait()
		if err != nil {
			killedMid++
		}
		if out, err := child("--quiet", "run", "--config", cfg, "--week", "2026-W47").CombinedOutput(); err != nil {
			t.Fatalf("kill %d after %v: the restarted run failed: %v\n%s", i, delay, err, out)
		}
		got := weekFiles(t, dir)
		for name, b := range ref {
			if !bytes.Equal(got[name], b) {
				t.Errorf("kill %d after %v: %s differs from the uninterrupted run's: %s", i, delay, name, firstDiff(got[name], b))
			}
		}
		if len(got) != len(ref) {
			t.Errorf("kill %d: %d files in the week, the uninterrupted run has %d", i, len(got), len(ref))
		}
		ents, _ := os.ReadDir(filepath.Join(dir, "archive"))
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".tmp-") || strings.HasPrefix(e.Name(), ".old-") {
				t.Errorf("kill %d: %s left in the archive", i, e.Name())
			}
		}
		if n := ticketCount(t, filepath.Join(dir, "db.duckdb")); n != refTickets {
			t.Errorf("kill %d after %v: %d tickets, the uninterrupted run has %d", i, delay, n, refTickets)
		}
	}
	t.Logf("an uninterrupted run takes %v; %d of 20 kills landed before the run finished", full.Round(time.Millisecond), killedMid)
	if killedMid < 10 {
		t.Errorf("only %d kills landed mid-run", killedMid)
	}
}

// firstDiff describes the first line where got and want differ.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			if len(a) > 300 {
				a = a[:300] + "…"
			}
			if len(b) > 300 {
				b = b[:300] + "…"
			}
			return fmt.Sprintf("line %d is %q, want %q", i+1, a, b)
		}
	}
	return "same lines"
}

// ticketCount opens the database, checks each load's accounting balances
// and no ticket is stored twice, and counts the tickets.
func ticketCount(t *testing.T, path string) int {
	t.Helper()
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open %s after a kill: %v", path, err)
	}
	defer st.Close()
	var unbalanced, dup, n int
	if err := st.DB().QueryRow(`SELECT count(*) FROM sources WHERE kind = 'dump' AND rows_read <> rows_loaded + rows_rejected + rows_excluded + rows_superseded`).Scan(&unbalanced); err != nil {
		t.Fatal(err)
	}
	if err := st.DB().QueryRow(`SELECT count(*) FROM (SELECT city, ticket_id FROM tickets GROUP BY ALL HAVING count(*) > 1)`).Scan(&dup); err != nil {
		t.Fatal(err)
	}
	if err := st.DB().QueryRow(`SELECT count(*) FROM tickets`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if unbalanced > 0 || dup > 0 {
		t.Errorf("%s: %d loads unbalanced, %d tickets stored twice", path, unbalanced, dup)
	}
	return n
}

// smallCity writes a synthetic city of 500 requests over the two weeks
// to 2026-W47.
func smallCity(t *testing.T) synthcity.Files {
	t.Helper()
	city, err := synthcity.New(synthcity.Options{Seed: 8, Tickets: 500, Weeks: 2, End: time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	files, err := city.Write(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestConfigCheckCLI checks a good file and a bad one from the command
// line: the bad one fails, with each problem on stderr.
func TestConfigCheckCLI(t *testing.T) {
	dir := t.TempDir()
	path := killCity(t, smallCity(t), dir)
	if out := runCLI(t, "config", "check", path); !strings.Contains(out, "ok: city synthetic (America/New_York), 1 sources, 2 layers") {
		t.Errorf("config check printed %q", out)
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("database = \"x\"\ncolour = \"blue\"\n"), 0o644)
	_, stderr, err := runCLIErr("config", "check", bad)
	if err == nil || !strings.Contains(stderr, `line 2: unknown key "colour"`) || !strings.Contains(stderr, "city.name") {
		t.Errorf("bad config: err %v, stderr %q", err, stderr)
	}
}
