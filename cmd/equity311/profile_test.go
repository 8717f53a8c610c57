package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCPUProfile checks that --cpuprofile writes a profile go tool pprof
// can read (gzipped protocol buffers) once the command ends, and that a
// file it cannot create fails the command before it runs.
func TestCPUProfile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cpu.pprof")
	out, _, err := runCLIErr("--cpuprofile", path, "profiles")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "boston") {
		t.Errorf("profiles printed %q; want the dump profiles", out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("profile is not gzipped (%d bytes): %v", len(b), err)
	}
	body, err := io.ReadAll(zr)
	if err != nil || len(body) == 0 {
		t.Fatalf("profile body: %d bytes, %v", len(body), err)
	}
	_, _, err = runCLIErr("--cpuprofile", filepath.Join(dir, "missing", "cpu.pprof"), "profiles")
	if err == nil || !strings.Contains(err.Error(), "cpu profile") {
		t.Errorf("an uncreatable profile file gave %v; want a cpu profile error", err)
	}
}
