package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestRunExitStatus runs `run` as cron would and reads its exit status:
// 0 when the week is published from every source, 3 when some source
// failed, 4 for a week without any request (nothing published), 1 when
// every source failed.
func TestRunExitStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: four cycles as child processes take about 3 s; the full suite runs it")
	}
	path := killCity(t, smallCity(t), t.TempDir())
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A feed that answers 404 to everything fails at once (no retries).
	gone := httptest.NewServer(http.NotFoundHandler())
	defer gone.Close()
	broken := "\n[[source]]\nname = \"broken feed\"\nkind = \"open311\"\nendpoint = \"" + gone.URL + "/open311/v2\"\n"
	onlyBroken := strings.Replace(string(good), "[[source]]\nname = \"drop\"\nkind = \"folder\"\nfolder = \"drop\"\n", broken, 1)
	for _, c := range []struct {
		name, config, week string
		status             int
		want               string
	}{
		{"every source ok", string(good), "2026-W47", 0, "archive/2026-W47"},
		{"one source of two failed", string(good) + broken, "2026-W47", exitPartial, "published, but 1 of 2 sources failed (broken feed)"},
		{"no request in the week", string(good), "2026-W48", exitNoData, "no requests in the week from any source"},
		{"every source failed", onlyBroken, "2026-W47", 1, "every source failed (broken feed)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(c.config), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := child("--quiet", "run", "--config", path, "--week", c.week).CombinedOutput()
			status := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				status = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if status != c.status || !strings.Contains(string(out), c.want) {
				t.Errorf("exit status %d, want %d, with %q in:\n%s", status, c.status, c.want, out)
			}
		})
	}
}

// TestPageCapNamesItsFlag: an Open311 server that pages on forever stops
// at --max-pages, and the error says which flag raises the cap.
func TestPageCapNamesItsFlag(t *testing.T) {
	var page atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/services.json") {
			fmt.Fprint(w, `[{"service_code":"1","service_name":"Pothole"}]`)
			return
		}
		n := page.Add(1)
		var out []string
		for i := 0; i < 5; i++ {
			out = append(out, fmt.Sprintf(`{"service_request_id":"p%d-%d","requested_datetime":"2026-11-20T10:00:00Z","status":"open"}`, n, i))
		}
		fmt.Fprint(w, "["+strings.Join(out, ",")+"]")
	}))
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "x.duckdb")
	_, _, err := runCLIErr("--db", db, "--quiet", "ingest", "open311", "--endpoint", srv.URL+"/open311/v2", "--city", "c",
		"--since", "2026-11-19", "--page-size", "5", "--max-pages", "3", "--rate", "0")
	if err == nil || !strings.Contains(err.Error(), "after 3 pages") || !strings.Contains(err.Error(), "(--max-pages)") {
		t.Errorf("a feed paging forever: %v; want the cap and --max-pages named", err)
	}
}
