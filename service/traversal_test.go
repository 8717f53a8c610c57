package service

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeOnlyPublishedWeeks walks 200 encoded and decoded traversal
// paths against a live serve whose archive also holds a staging folder,
// state.json, the lock, an unpublished week (no summary.json, with a
// script planted in it), a symbolic link out and a database: every one
// answers 404.
func TestServeOnlyPublishedWeeks(t *testing.T) {
	r, dir := published(t)
	ar := r.Config.Archive.Dir
	for name, body := range map[string]string{
		".tmp-2026-W48-1/index.html": "HALF-WRITTEN",
		"2026-W49/index.html":        "<script>window.pwned=1</script>UNPUBLISHED",
		"eq.duckdb":                  "DATABASE",
		".lock":                      "LOCK",
	} {
		p := filepath.Join(ar, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "secret.txt"), filepath.Join(ar, "2026-W47", "leak.txt")); err != nil {
		t.Fatal(err)
	}
	s := &Server{Runner: r, Clock: fixedClock(cityEnd.Add(30 * time.Hour))}
	base, stop := listen(t, s)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// Sanity: the published week is served.
	if resp, err := c.Get(base + "/reports/2026-W47/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the published week: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	ups := []string{"..", "%2e%2e", "%2E%2E", ".%2e", "%2e.", "%252e%252e", "..%00", "..;"}
	seps := []string{"/", "%2f", "%2F", "%5c", "\\", "%252f", "//"}
	targets := []string{"", "state.json", ".lock", ".tmp-2026-W48-1/index.html", "2026-W49/index.html", "eq.duckdb", "secret.txt"}
	var paths []string
	for _, up := range ups {
		for _, sep := range seps {
			paths = append(paths, "/reports/2026-W47/"+up+sep+targets[len(paths)%len(targets)])
			paths = append(paths, "/reports/2026-W47/research/"+up+sep+up+sep+targets[(len(paths)+3)%len(targets)])
			paths = append(paths, "/reports/"+up+sep+targets[(len(paths)+5)%len(targets)])
		}
	}
	for _, tg := range targets {
		paths = append(paths, "/reports/"+tg, "/reports/2026-W49/", "/reports/2026-W49/index.html", "/reports/.tmp-2026-W48-1/",
			"/reports/2026-W47/leak.txt", "/reports/2026-W47/%2e%2e%2f"+tg, "/reports/2026-W47/.."+"%5c"+tg, "/latest/..%2f"+tg)
	}
	for len(paths) < 200 {
		paths = append(paths, fmt.Sprintf("/reports/2026-W47/%s/%s", strings.Repeat("..%2f", len(paths)%5+1), targets[len(paths)%len(targets)]))
	}
	paths = paths[:200]
	for _, p := range paths {
		req, err := http.NewRequest("GET", base+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = p // sent exactly as written
		resp, err := c.Do(req)
		if err != nil {
			continue // refused by the client or the server: nothing served
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 404 (%.60q)", p, resp.StatusCode, body)
			continue
		}
		for _, leak := range []string{"SECRET", "DATABASE", "HALF-WRITTEN", "UNPUBLISHED", "LOCK", "state.json", "last_success"} {
			if strings.Contains(body, leak) {
				t.Errorf("GET %s leaked %q", p, leak)
			}
		}
	}
	if err := stop(); err != nil {
		t.Errorf("serve returned %v", err)
	}
}
