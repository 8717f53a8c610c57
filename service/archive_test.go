package service

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestArchiveIsTheServicesOwn: a folder holding what the service did not
// write is refused and left as it was; an archive of week folders and
// state.json (from before the mark) is adopted; in a marked archive,
// clean-up removes only the staging folders the service made.
func TestArchiveIsTheServicesOwn(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: three cycles on one archive take about 4 s; the full suite runs it")
	}
	r, _ := published(t)
	dir := r.Config.Archive.Dir

	// From before the mark: only weeks, state.json and the lock. Adopted.
	if err := os.Remove(filepath.Join(dir, archiveMark)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background(), "2026-W46"); err != nil {
		t.Fatalf("an archive of weeks and state.json was not adopted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, archiveMark)); err != nil {
		t.Errorf("the adopted archive is not marked: %v", err)
	}

	// Someone else's staging-like folder and file in a marked archive stay.
	for _, d := range []string{".tmp-mine", ".old-2026-W10-notes"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, d, "keep.txt"), []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Run(context.Background(), "2026-W46"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{".tmp-mine", ".old-2026-W10-notes"} {
		if _, err := os.Stat(filepath.Join(dir, d, "keep.txt")); err != nil {
			t.Errorf("clean-up removed %s, which the service did not make: %v", d, err)
		}
	}

	// A folder that is not an archive: refused, nothing touched.
	home := t.TempDir()
	for _, f := range []string{"thesis.pdf", ".tmp-draft"} {
		if err := os.WriteFile(filepath.Join(home, f), []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.Config.Archive.Dir = home
	_, err := r.Run(context.Background(), "2026-W46")
	if !errors.Is(err, ErrNotArchive) || !strings.Contains(err.Error(), "thesis.pdf") {
		t.Fatalf("a folder of someone's files as the archive: %v, want ErrNotArchive naming what is there", err)
	}
	ents, _ := os.ReadDir(home)
	if len(ents) != 2 {
		t.Errorf("the refused folder now holds %d entries, want its 2", len(ents))
	}
}

// TestRepublishKilledBetweenRenames: a cycle killed after moving the old
// week aside but before moving the new one in leaves the week only in
// .old-…; the next cycle puts it back even when that cycle fails.
func TestRepublishKilledBetweenRenames(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: two cycles take about 2 s; the full suite runs it")
	}
	r, _ := published(t) // 2026-W47
	dir := r.Config.Archive.Dir
	want, err := os.ReadFile(filepath.Join(dir, "2026-W47", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	// What publish leaves when killed between its renames.
	if err := os.Rename(filepath.Join(dir, "2026-W47"), filepath.Join(dir, ".old-2026-W47-12345")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background(), "2026-W49"); err == nil { // a cycle that fails (the week is not over)
		t.Fatal("the next cycle succeeded")
	}
	got, err := os.ReadFile(filepath.Join(dir, "2026-W47", "index.html"))
	if err != nil || string(got) != string(want) {
		t.Fatalf("the week is not back after the killed republish: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, "2026-W47"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("week folder mode %v (%v), want 0755 like its files' 0644", fi.Mode().Perm(), err)
	}
}

// TestCorruptStateIsSetAside: a state.json cut short does not turn the
// pages into errors; the next cycle sets it aside and rebuilds the state
// from the published weeks.
func TestCorruptStateIsSetAside(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: two cycles take about 3 s; the full suite runs it")
	}
	r, _ := published(t)
	dir := r.Config.Archive.Dir
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte(`{"last": {"week": "2026-W4`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &Server{Runner: r, Clock: fixedClock(cityEnd.Add(30 * 3600e9))}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for _, p := range []string{"/", "/metrics", "/status.json"} {
		if code, body, _ := get(t, http.DefaultClient, ts.URL+p); code != http.StatusOK {
			t.Errorf("%s with a corrupt state.json: %d %.200s", p, code, body)
		}
	}
	if _, err := r.Run(context.Background(), "2026-W46"); err != nil {
		t.Fatal(err)
	}
	aside, _ := filepath.Glob(filepath.Join(dir, "state.json.corrupt-*"))
	if len(aside) != 1 {
		t.Fatalf("the corrupt state.json was not set aside: %v", aside)
	}
	st, corrupt, err := archive{dir}.state()
	if err != nil || corrupt || st.LastSuccessWeek != "2026-W46" {
		t.Errorf("state after the cycle: %+v, corrupt %v, %v", st, corrupt, err)
	}
}
