package service

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/equity311/equity311/internal/loadtest"
	"github.com/equity311/equity311/reports"
)

// published runs one cycle of the test city and returns the runner.
func published(t *testing.T) (*Runner, string) {
	t.Helper()
	dir := t.TempDir()
	r := newRunner(t, testCity(t, dir, ""), cityEnd.Add(30*time.Hour))
	if _, err := r.Run(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	return r, dir
}

func get(t *testing.T, c *http.Client, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// TestServerServesTheArchive checks the index, the reports, /latest/,
// /status.json, /metrics, and that nothing outside the published weeks
// can be read: "..", its encoded forms, hidden files, and symbolic links
// that lead out of the archive.
func TestServerServesTheArchive(t *testing.T) {
	r, dir := published(t)
	archiveDir := r.Config.Archive.Dir
	secret := filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(secret, []byte("SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	week := filepath.Join(archiveDir, "2026-W47")
	for link, target := range map[string]string{
		filepath.Join(week, "research", "leak.txt"): secret,
		filepath.Join(week, "up"):                   dir,
		filepath.Join(archiveDir, "2026-W01"):       dir,
	} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	s := &Server{Runner: r, Clock: fixedClock(cityEnd.Add(30 * time.Hour))}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	code, body, h := get(t, c, ts.URL+"/")
	if code != 200 || !strings.Contains(body, `href="/reports/2026-W47/"`) || !strings.Contains(body, "synthetic") {
		t.Errorf("index: %d\n%s", code, body)
	}
	if h.Get("Content-Security-Policy") == "" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("index headers %v", h)
	}
	if code, body, _ := get(t, c, ts.URL+"/reports/2026-W47/"); code != 200 || !strings.Contains(body, "<!DOCTYPE html>") {
		t.Errorf("weekly report: %d", code)
	}
	if code, _, h := get(t, c, ts.URL+"/latest/"); code != http.StatusFound || h.Get("Location") != "/reports/2026-W47/" {
		t.Errorf("/latest/: %d to %q", code, h.Get("Location"))
	}
	for _, p := range []string{
		"/reports/../state.json", "/reports/%2e%2e/state.json", "/reports/2026-W47/..%2f..%2fsecret.txt",
		"/reports/2026-W47/%2e%2e/%2e%2e/secret.txt", "/reports/..%5c..%5csecret.txt", "/reports/.lock", "/reports/state.json",
		"/reports/2026-W47/research/leak.txt", "/reports/2026-W47/up/secret.txt", "/reports/2026-W01/secret.txt",
		"/reports/2026-W47/../../secret.txt", "/reports//etc/passwd", "/reports/2026-W47%00/summary.json",
	} {
		req, _ := http.NewRequest("GET", ts.URL+p, nil)
		req.URL.Opaque = p // send the path exactly as written, undecoded and uncleaned
		resp, err := c.Do(req)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 || strings.Contains(string(b), "SECRET") || strings.Contains(string(b), "root:") {
			t.Errorf("GET %s: %d %q — a path outside the published weeks was served", p, resp.StatusCode, truncate(string(b), 80))
		}
	}
	code, body, _ = get(t, c, ts.URL+"/status.json")
	var st statusDoc
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil || len(st.Weeks) != 1 || st.Weeks[0].Week != "2026-W47" || st.State.Last == nil {
		t.Errorf("status.json: %d %v %s", code, err, truncate(body, 300))
	}
	code, body, _ = get(t, c, ts.URL+"/metrics")
	for _, want := range []string{
		"equity311_last_cycle_success 1", "equity311_archive_reports 1", "equity311_consecutive_failures 0",
		`equity311_source_up{kind="folder",source="drop"} 1`, `equity311_source_rows_loaded{kind="folder",source="drop"} `,
		`equity311_source_feed_lag_seconds{kind="folder",source="drop"} `, "# TYPE equity311_last_success_timestamp_seconds gauge",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	if code, body, _ := get(t, c, ts.URL+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// listen runs s.ListenAndServe on a loopback port until the returned stop
// is called; stop returns what ListenAndServe returned.
func listen(t *testing.T, s *Server) (base string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx, func(a string) { addr <- a }) }()
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { stop() })
	return base, stop
}

// fixedClock is a clock that stands still and never waits long.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }
func (c fixedClock) Sleep(ctx context.Context, d time.Duration) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestServerUnderLoad runs 200 concurrent clients on loopback for
// EQUITY311_LOAD_SECONDS (default 3) against the index, a report, the
// metrics and a refused path, and checks no request fails and memory stays
// bounded.
func TestServerUnderLoad(t *testing.T) {
	seconds := loadtest.Seconds(t, 3)
	r, _ := published(t)
	s := &Server{Runner: r, Clock: fixedClock(cityEnd.Add(30 * time.Hour))}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: s.Handler()}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()
	paths := []string{"/", "/reports/2026-W47/", "/reports/2026-W47/research/areas.csv", "/metrics", "/status.json", "/reports/2026-W47/../../x"}
	res := loadtest.Run(200, seconds, func(hc *http.Client, c, i int) error {
		p := paths[(c+i)%len(paths)]
		want := http.StatusOK
		if strings.Contains(p, "..") {
			want = http.StatusNotFound
		}
		return loadtest.Get(hc, base+p, want)
	})
	loadtest.Check(t, res, 1<<30)
}

// TestFailedCycleKeepsReports makes a cycle fail after a good one: the
// good week stays published, the failure is recorded, shown on the index
// and in the metrics, and the next good cycle clears it.
func TestFailedCycleKeepsReports(t *testing.T) {
	r, _ := published(t)
	census := r.Config.Census[0].File
	saved, err := os.ReadFile(census)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(census, []byte("not,a,census\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The census file changed, so the cycle loads it again, and fails.
	if _, err := r.Run(context.Background(), "2026-W46"); err == nil {
		t.Fatal("a cycle with a broken census file succeeded")
	}
	s := &Server{Runner: r, Clock: fixedClock(cityEnd.Add(30 * time.Hour))}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	_, body, _ := get(t, http.DefaultClient, ts.URL+"/")
	if !strings.Contains(body, "The last cycle (2026-W46) failed") || !strings.Contains(body, `href="/reports/2026-W47/"`) {
		t.Errorf("index after a failure:\n%s", body)
	}
	_, body, _ = get(t, http.DefaultClient, ts.URL+"/metrics")
	if !strings.Contains(body, "equity311_last_cycle_success 0") || !strings.Contains(body, "equity311_consecutive_failures 1") {
		t.Errorf("metrics after a failure:\n%s", body)
	}
	if code, _, _ := get(t, http.DefaultClient, ts.URL+"/reports/2026-W47/"); code != 200 {
		t.Errorf("the earlier week is gone after a failed cycle: %d", code)
	}
	if err := os.WriteFile(census, saved, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background(), "2026-W46"); err != nil {
		t.Fatalf("the retry: %v", err)
	}
	_, body, _ = get(t, http.DefaultClient, ts.URL+"/metrics")
	if !strings.Contains(body, "equity311_last_cycle_success 1") || !strings.Contains(body, "equity311_consecutive_failures 0") || !strings.Contains(body, "equity311_archive_reports 2") {
		t.Errorf("metrics after the retry:\n%s", body)
	}
}

// TestServeStopsMidCycle stops serve while its first cycle runs: it
// returns promptly, the cycle is abandoned (no partial week, no staging
// folder), and the next start publishes the week.
func TestServeStopsMidCycle(t *testing.T) {
	dir := t.TempDir()
	cfg, err := LoadConfig(testCity(t, dir, "\n[server]\nlisten = \"127.0.0.1:0\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Runner: &Runner{Config: cfg}, Clock: fixedClock(cityEnd.Add(30 * time.Hour))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx, nil) }()
	// Wait until the cycle runs, then stop.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s.mu.Lock()
		running := s.running
		s.mu.Unlock()
		if running != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first cycle never started")
		}
	}
	time.Sleep(150 * time.Millisecond)
	t0 := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30 s of SIGTERM")
	}
	t.Logf("stopped %v after the signal", time.Since(t0).Round(time.Millisecond))
	ents, _ := os.ReadDir(cfg.Archive.Dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") || (e.IsDir() && weekPattern.MatchString(e.Name()) && !archive{cfg.Archive.Dir}.has(e.Name())) {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	if _, err := (&Runner{Config: cfg}).Run(context.Background(), "2026-W47"); err != nil {
		t.Errorf("the next cycle: %v", err)
	}
}

// TestServedReportsRunOnlyTheirOwnScripts: a published report's page is
// served with a policy that lets its own inline scripts run, by hash, and
// no other; a script added to the page after publishing is not allowed.
func TestServedReportsRunOnlyTheirOwnScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a published week takes about 2 s; the full suite runs it")
	}
	r, _ := published(t)
	s := &Server{Runner: r, Clock: fixedClock(cityEnd.Add(30 * time.Hour))}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for _, p := range []string{"/reports/2026-W47/", "/reports/2026-W47/research/", "/reports/2026-W47/index.html"} {
		code, body, h := get(t, http.DefaultClient, ts.URL+p)
		policy := h.Get("Content-Security-Policy")
		hashes := reports.InlineScriptHashes([]byte(body))
		if code != 200 || len(hashes) == 0 || strings.Contains(policy, "script-src 'unsafe-inline'") {
			t.Errorf("%s: %d, policy %q", p, code, policy)
		}
		for _, hash := range hashes {
			if !strings.Contains(policy, hash) {
				t.Errorf("%s: the page's own script %s is not allowed by %q", p, hash, policy)
			}
		}
	}
	page := filepath.Join(r.Config.Archive.Dir, "2026-W47", "index.html")
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, append(b, []byte("<script>window.pwned=1</script>")...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, body, h := get(t, http.DefaultClient, ts.URL+"/reports/2026-W47/")
	hashes := reports.InlineScriptHashes([]byte(body))
	if planted := hashes[len(hashes)-1]; strings.Contains(h.Get("Content-Security-Policy"), planted) {
		t.Errorf("the script planted after publishing is allowed: %q", h.Get("Content-Security-Policy"))
	}
	if _, _, h := get(t, http.DefaultClient, ts.URL+"/"); !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'none'") {
		t.Errorf("the index runs scripts: %q", h.Get("Content-Security-Policy"))
	}
}
