package service

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostileConfig writes a minimal valid config with extra lines appended to
// the named table and returns its path.
func hostileConfig(t *testing.T, database, source, schedule, archive, server string) string {
	t.Helper()
	dir := t.TempDir()
	if database == "" {
		database = `"x.duckdb"`
	}
	if source == "" {
		source = `endpoint = "https://example.org/open311/v2"`
	}
	if archive == "" {
		archive = `dir = "archive"`
	}
	path := filepath.Join(dir, "c.toml")
	body := "database = " + database + "\n[city]\nname = \"c\"\n\n[[source]]\nname = \"feed\"\nkind = \"open311\"\n" + source +
		"\n\n[schedule]\n" + schedule + "\n\n[archive]\n" + archive + "\n\n[server]\n" + server + "\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// problems loads a config and returns its problems joined, or "" when it
// loads.
func problems(t *testing.T, path string) string {
	t.Helper()
	_, err := LoadConfig(path)
	if err == nil {
		return ""
	}
	var ce *ConfigError
	if !errors.As(err, &ce) {
		return err.Error()
	}
	return strings.Join(ce.Problems, "\n")
}

// TestConfigRefusesWhatCannotRun: a schedule with no time to fire, a
// catch-up beyond its bound, a port that cannot exist, a rate that turns
// the limit off, and a database inside the archive are refused, each
// naming its key.
func TestConfigRefusesWhatCannotRun(t *testing.T) {
	for _, c := range []struct {
		name                                        string
		database, source, schedule, archive, server string
		want                                        string
	}{
		{name: "30 February", schedule: `cron = "0 6 30 2 *"`, want: "schedule.cron \"0 6 30 2 *\": never fires"},
		{name: "31 April", schedule: `cron = "0 6 31 4 *"`, want: "never fires"},
		{name: "cycle deadline too short", schedule: `cycle_timeout = "500ms"`, want: "schedule.cycle_timeout 500ms"},
		{name: "cycle deadline past the next week", schedule: `cycle_timeout = "720h"`, want: "schedule.cycle_timeout 720h"},
		{name: "catch-up", schedule: "catch_up_weeks = 200000", want: "schedule.catch_up_weeks 200000: at most 520"},
		{name: "port", server: `listen = "127.0.0.1:99999"`, want: "server.listen \"127.0.0.1:99999\": port"},
		{name: "nan rate", source: "endpoint = \"https://example.org/open311/v2\"\nrequests_per_minute = nan", want: "requests_per_minute"},
		{name: "inf rate", source: "endpoint = \"https://example.org/open311/v2\"\nrequests_per_minute = inf", want: "requests_per_minute"},
		{name: "ftp", source: `endpoint = "ftp://example.org/open311/v2"`, want: "want an http or https URL"},
		{name: "database in archive", database: `"archive/eq.duckdb"`, want: "database: inside the archive folder"},
		{name: "archive is root", archive: `dir = "/"`, want: "archive.dir \"/\""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := problems(t, hostileConfig(t, c.database, c.source, c.schedule, c.archive, c.server))
			if !strings.Contains(got, c.want) {
				t.Errorf("problems lack %q:\n%s", c.want, got)
			}
		})
	}
	// 29 February fires (every four years), so it is kept.
	if got := problems(t, hostileConfig(t, "", "", `cron = "0 6 29 2 *"`, "", "")); got != "" {
		t.Errorf("29 February refused: %s", got)
	}
}

// TestSettingsRedactEndpoints: config check prints a source's settings;
// a credential in an endpoint's query or user information never appears.
func TestSettingsRedactEndpoints(t *testing.T) {
	path := hostileConfig(t, "", `endpoint = "https://user:pw-secret@example.org/open311/v2?token=tok-secret&jurisdiction_id=boston.gov"`, "", "", "")
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, s := range SourceSettings(c.Sources[0]) {
		all = append(all, s.Key+"="+s.Value)
	}
	got := strings.Join(all, " ")
	if strings.Contains(got, "tok-secret") || strings.Contains(got, "pw-secret") {
		t.Errorf("settings show a credential: %s", got)
	}
	if !strings.Contains(got, "jurisdiction_id=boston.gov") || !strings.Contains(got, "token=REDACTED") {
		t.Errorf("settings lost the endpoint's shape: %s", got)
	}
}

// TestUnknownKeyOfOneSourceKind: a key another kind of source has is
// still unknown in this one (the decoder counts source.folder as known
// for every source once one has it), and the line named is this table's.
func TestUnknownKeyOfOneSourceKind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	body := "database = \"x.duckdb\"\n[city]\nname = \"c\"\n" +
		"[[source]]\nname = \"drop\"\nkind = \"folder\"\nfolder = \"" + t.TempDir() + "\"\n" + // lines 4–7
		"[[source]]\nname = \"feed\"\nkind = \"open311\"\nendpoint = \"https://example.org/open311/v2\"\nfolder = \"x\"\n" + // lines 8–12
		"[archive]\ndir = \"archive\"\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	got := problems(t, path)
	if !strings.Contains(got, `line 12: unknown key "source.folder" in source[1] (kind open311)`) {
		t.Errorf("problems: %q", got)
	}
}
