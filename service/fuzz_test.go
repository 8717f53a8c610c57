package service

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzArchivePath requests arbitrary paths from the archive's handler,
// whose archive also holds state, the lock, a staging folder, an
// unpublished week, a database and a link out: an answer other than an
// error or a redirect is a published file's exact content, and nothing
// planted ever leaks.
func FuzzArchivePath(f *testing.F) {
	dir := f.TempDir()
	ar := filepath.Join(dir, "archive")
	published := map[string]string{
		"2026-W47/summary.json":         `{"week":"2026-W47","reports":["weekly","research"]}`,
		"2026-W47/index.html":           "PUBLISHED-WEEKLY",
		"2026-W47/research/index.html":  "PUBLISHED-RESEARCH",
		"2026-W47/research/tickets.csv": "PUBLISHED-CSV",
	}
	planted := map[string]string{
		"state.json":                 "STATE-LEAK",
		".lock":                      "LOCK-LEAK",
		".tmp-2026-W48-1/index.html": "STAGING-LEAK",
		"2026-W49/index.html":        "UNPUBLISHED-LEAK",
		"eq.duckdb":                  "DATABASE-LEAK",
		"2026-W47/.equity311":        "MARK-LEAK",
	}
	all := maps.Clone(published)
	maps.Copy(all, planted)
	for name, body := range all {
		p := filepath.Join(ar, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("SECRET-LEAK"), 0o644); err != nil {
		f.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "secret.txt"), filepath.Join(ar, "2026-W47", "leak.txt")); err != nil {
		f.Fatal(err)
	}
	s := &Server{Runner: &Runner{Config: &Config{Archive: Archive{Dir: ar}, City: City{Name: "c"}}}}
	h := s.Handler()
	contents := map[string]bool{}
	for _, b := range published {
		contents[b] = true
	}
	for _, seed := range []string{"/reports/2026-W47/", "/reports/2026-W47/research/tickets.csv", "/reports/2026-W47/../state.json",
		"/reports/2026-W47/leak.txt", "/reports/2026-W49/", "/reports/.tmp-2026-W48-1/index.html", "/latest/../eq.duckdb",
		"/reports/2026-W47/.equity311", "/reports/2026-W47//research/", "/reports/2026-W47/research/..", "/reports/2026-W47\\..\\state.json"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, path string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.Path, req.URL.RawPath = path, ""
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.String()
		if strings.Contains(body, "LEAK") {
			t.Fatalf("GET %q (%d) leaked: %.80q", path, rec.Code, body)
		}
		if rec.Code == http.StatusOK && strings.HasPrefix(path, "/reports/") && !contents[body] {
			t.Fatalf("GET %q answered 200 with %.80q, not a published file", path, body)
		}
	})
}
