package sandbox

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// RequireNodeEnv, when set (CI sets it), turns a missing Node.js or npm
// client into a failure instead of a skip.
const requireNodeEnv = "EQUITY311_REQUIRE_NODE"

// TestNpmOpen311Client drives the sandbox with a third-party client, npm
// open311 0.0.12 in JSON mode: discovery, services, service definition,
// POST, token, GET requests and GET one request.
func TestNpmOpen311Client(t *testing.T) {
	skip := func(msg string) {
		if os.Getenv(requireNodeEnv) != "" {
			t.Fatal(msg + ", but " + requireNodeEnv + " is set")
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip("no node on PATH: skipping the npm open311 interop test")
	}
	dir, _ := filepath.Abs("testdata/npm")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "open311")); err != nil {
		skip("npm open311 not installed (run: cd " + dir + " && npm ci --ignore-scripts): skipping the interop test")
	}
	_, h := newTestServer(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "interop.js", h.URL+"/open311/v2/")
	cmd.Dir = dir
	out, err := cmd.Output()
	var got struct {
		Endpoints  int    `json:"endpoints"`
		Services   int    `json:"services"`
		Attributes int    `json:"attributes"`
		Requests   int    `json:"requests"`
		Token      string `json:"token"`
		ID         string `json:"id"`
		One        string `json:"one"`
		OneStatus  string `json:"one_status"`
		Error      string `json:"error"`
	}
	if jerr := json.Unmarshal(out, &got); jerr != nil {
		t.Fatalf("node: %v %v\n%s", err, jerr, out)
	}
	if err != nil || got.Error != "" {
		t.Fatalf("npm open311 failed: %v %s", err, got.Error)
	}
	if got.Endpoints != 1 || got.Services != 8 || got.Attributes != 2 || got.Token == "" || got.ID == "" || got.Requests == 0 || got.One != got.ID || got.OneStatus != "open" {
		t.Errorf("npm open311 saw %s", out)
	}
}
