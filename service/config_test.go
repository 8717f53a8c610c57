package service

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readmeConfig returns the README's example config.
func readmeConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "```toml\n# equity311.toml")
	if i < 0 {
		t.Fatal("the README has no example config")
	}
	s = s[i+len("```toml\n"):]
	return s[:strings.Index(s, "```")]
}

// TestREADMEConfig checks that the README's example loads once its files
// exist and its secret is set, with the defaults and paths resolved.
func TestREADMEConfig(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"geo/Boston_Neighborhoods.geojson", "geo/bpda_boston_tracts_2020.geojson", "census/census-tract-data.csv"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	os.MkdirAll(filepath.Join(dir, "drop"), 0o755)
	path := filepath.Join(dir, "equity311.toml")
	os.WriteFile(path, []byte(readmeConfig(t)), 0o644)
	t.Setenv("BOSTON_OPEN311_KEY", "k")
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.City.Name != "boston" || c.Location().String() != "America/New_York" || len(c.Sources) != 2 || len(c.Layers) != 2 ||
		c.Database != filepath.Join(dir, "boston.duckdb") || c.Archive.Dir != filepath.Join(dir, "archive") ||
		c.Server.Listen != "127.0.0.1:8311" || c.Schedule.CatchUpWeeks != 4 {
		t.Errorf("loaded %+v", c)
	}
	// Without the secret in the environment the check says so.
	os.Unsetenv("BOSTON_OPEN311_KEY")
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), "BOSTON_OPEN311_KEY is empty") {
		t.Errorf("missing secret: %v", err)
	}
}

// TestConfigProblems lists every problem of a bad file, each with its key
// and, for unknown keys, its line.
func TestConfigProblems(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.toml")
	os.WriteFile(path, []byte(`database = "x.duckdb"
[city]
name = "c"
time_zone = "Mars/Olympus"

[[source]]
kind = "open311"
endpont = "https://example.org/open311/v2"

[[source]]
kind = "ftp"

[[census]]
layer = "blocks"
file = "nope.csv"

[schedule]
cron = "every monday"

[server]
listen = "localhost"
`), 0o644)
	_, err := LoadConfig(path)
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a ConfigError", err)
	}
	all := strings.Join(ce.Problems, "\n")
	for _, want := range []string{
		`line 8: unknown key "source.endpont"`,
		`city.time_zone "Mars/Olympus"`,
		`source[0].endpoint: give the endpoint`,
		`source[1].kind: source kind "ftp"`,
		`census[0].layer "blocks": no [[layer]] of that name`,
		`census[0].file`,
		`schedule.cron "every monday"`,
		`server.listen "localhost"`,
		`archive.dir: give the folder`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q:\n%s", want, all)
		}
	}
	// A syntax error names its line.
	os.WriteFile(path, []byte("database = \"x\"\n[city\nname = 1\n"), 0o644)
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), ": line ") || !strings.Contains(err.Error(), "table name") {
		t.Errorf("syntax error: %v", err)
	}
}
