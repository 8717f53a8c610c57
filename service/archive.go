package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/internal/atomicfile"
	"github.com/equity311/equity311/reports"
)

// The archive holds one folder per published week:
//
//	ARCHIVE/2026-W47/index.html (the weekly report, + its CSVs)
//	ARCHIVE/2026-W47/research/index.html (+ CSVs, data.json)
//	ARCHIVE/2026-W47/summary.json
//	ARCHIVE/state.json   the last cycle, the last success, per-source counts
//	ARCHIVE/.lock        held (flock) while a cycle runs
//
// A week is written into a hidden temporary folder and renamed into place,
// so it appears whole or not at all; leftovers of a killed cycle are
// removed by the next one.

// kindDir is where a report kind goes inside a week's folder: the weekly
// report at the top (reports/YYYY-Www/index.html), others in a folder of
// their name.
func kindDir(kind string) string {
	if kind == reports.KindWeekly {
		return ""
	}
	return kind
}

// weekPattern matches a published week's folder name.
var weekPattern = regexp.MustCompile(`^\d{4}-W\d{2}$`)

// ErrBusy is returned when another cycle holds the archive's lock.
var ErrBusy = errors.New("another cycle is running (the archive's lock is held)")

// Summary is a published week's headline, kept in its summary.json for
// the index: the same data gives the same bytes.
type Summary struct {
	Week        string   `json:"week"`
	Period      string   `json:"period"`
	PeriodBasis string   `json:"period_basis"`
	From        string   `json:"from"`
	To          string   `json:"to"`
	City        string   `json:"city"`
	Tickets     int64    `json:"tickets"`
	Resident    int64    `json:"resident"`
	ShareBase   int64    `json:"share_base"`
	App         int64    `json:"app"`
	AppShare    Interval `json:"app_share"`      // over the report's 13 weeks
	WeekShare   Interval `json:"week_app_share"` // the week itself, citywide
	Reports     []string `json:"reports"`
}

// Interval is an estimate with its 95% interval; a figure that does not
// exist (no requests) is left out rather than written as NaN.
type Interval struct {
	Value *float64 `json:"value,omitempty"`
	Lo    *float64 `json:"lo,omitempty"`
	Hi    *float64 `json:"hi,omitempty"`
}

func interval(e results.Estimate) Interval {
	p := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	return Interval{p(e.Value), p(e.Lo), p(e.Hi)}
}

// State is what the archive remembers of cycles.
type State struct {
	Last            *CycleResult `json:"last,omitempty"`
	LastSuccess     time.Time    `json:"last_success,omitzero"`
	LastSuccessWeek string       `json:"last_success_week,omitempty"`
	Failures        int          `json:"consecutive_failures"`
	// Sources keeps each source's latest counts and newest request seen,
	// carried over cycles in which it loaded nothing.
	Sources map[string]SourceResult `json:"sources,omitempty"`
	// NoData keeps the weeks a cycle found without a single request (not
	// published), each with its sources' state, until one is published.
	NoData map[string]CycleResult `json:"no_data_weeks,omitempty"`
}

type archive struct{ dir string }

func (a archive) weekDir(w string) string { return filepath.Join(a.dir, w) }

// lock takes the archive's lock without waiting. The kernel drops it when
// the process dies, so a crash never leaves it held.
func (a archive) lock() (unlock func(), err error) {
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(a.dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrBusy
		}
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// cleanup removes what a killed cycle left: temporary and replaced week
// folders. Call it holding the lock.
func (a archive) cleanup() error {
	ents, err := os.ReadDir(a.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") || strings.HasPrefix(e.Name(), ".old-") {
			if err := os.RemoveAll(filepath.Join(a.dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// staging makes the hidden folder a week is written into.
func (a archive) staging(week string) (string, error) {
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(a.dir, ".tmp-"+week+"-")
}

// publish renames a staged week into place, replacing an earlier version
// of it; readers see the old folder or the new one, never a part.
func (a archive) publish(staged, week string) error {
	dst := a.weekDir(week)
	if _, err := os.Stat(dst); err == nil {
		old, err := os.MkdirTemp(a.dir, ".old-"+week+"-")
		if err != nil {
			return err
		}
		if err := os.Remove(old); err != nil {
			return err
		}
		if err := os.Rename(dst, old); err != nil {
			return err
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(staged, dst); err != nil {
		return err
	}
	return syncDir(a.dir)
}

// syncDir flushes a folder's entries (the renames) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// weeks returns the published weeks' summaries, oldest first.
func (a archive) weeks() ([]Summary, error) {
	ents, err := os.ReadDir(a.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Summary
	for _, e := range ents {
		if !e.IsDir() || !weekPattern.MatchString(e.Name()) {
			continue
		}
		var s Summary
		if err := readJSON(filepath.Join(a.dir, e.Name(), "summary.json"), &s); err != nil {
			continue // not a week this service published
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(x, y Summary) int { return strings.Compare(x.Week, y.Week) })
	return out, nil
}

// has reports whether week is published.
func (a archive) has(week string) bool {
	_, err := os.Stat(filepath.Join(a.weekDir(week), "summary.json"))
	return err == nil
}

func (a archive) state() (State, error) {
	var s State
	err := readJSON(filepath.Join(a.dir, "state.json"), &s)
	if errors.Is(err, os.ErrNotExist) {
		return State{}, nil
	}
	return s, err
}

func (a archive) saveState(s State) error {
	return writeJSON(filepath.Join(a.dir, "state.json"), s)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeJSON writes v to path through a temporary file and a rename.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'))
}

func nan() float64 { return math.NaN() }
