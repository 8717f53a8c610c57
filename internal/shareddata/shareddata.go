// Package shareddata finds the real public data samples (../shared/data
// beside the repository) for tests, and skips a test when they are absent.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the shared data directory: $EQUITY311_SHARED_DATA, or the
// first "shared/data" found beside the repository or one of its parents.
// It returns "" when there is none.
func Dir() string {
	if d := os.Getenv("EQUITY311_SHARED_DATA"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		cand := filepath.Join(d, "shared", "data")
		if st, err := os.Stat(filepath.Join(cand, "SOURCES.md")); err == nil && !st.IsDir() {
			return cand
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// Path returns the path of a file under the shared data directory, or skips
// the test with a message when the directory or file is absent.
func Path(t testing.TB, rel string) string {
	t.Helper()
	d := Dir()
	if d == "" {
		t.Skipf("real data samples not found (../shared/data beside the repository, or $EQUITY311_SHARED_DATA): skipping test on %s", rel)
	}
	p := filepath.Join(d, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real data sample %s absent: %v", p, err)
	}
	return p
}
