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
//
// The archive is the service's own: ARCHIVE/.equity311-archive marks it,
// and every folder the service creates holds a .equity311 marker, so that
// clean-up only ever removes what the service made. A folder without the
// mark is adopted when it holds nothing but week folders and state.json
// (an archive from before the mark), and refused otherwise.

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
	// ScriptHashes are the CSP hashes of each page's inline scripts (by
	// its path in the week): the only scripts the server lets run.
	ScriptHashes map[string][]string `json:"script_hashes,omitempty"`
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

// archiveMark marks a folder as an equity311 archive; folderMark marks
// each folder the service made inside it.
const (
	archiveMark = ".equity311-archive"
	folderMark  = ".equity311"
)

// ErrNotArchive is an archive folder holding what the service did not
// write.
var ErrNotArchive = errors.New("not an equity311 archive")

// own makes sure the folder is the service's archive: marked, or new, or
// holding only week folders, state.json and the lock (then it is adopted
// and marked). Anything else is refused, naming what is there.
func (a archive) own() error {
	if _, err := os.Stat(filepath.Join(a.dir, archiveMark)); err == nil {
		return nil
	}
	ents, err := os.ReadDir(a.dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var foreign []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() && weekPattern.MatchString(n) || !e.IsDir() && (n == "state.json" || n == ".lock") {
			continue
		}
		foreign = append(foreign, n)
	}
	if len(foreign) > 0 {
		more := ""
		if len(foreign) > 5 {
			foreign, more = foreign[:5], fmt.Sprintf(" and %d more", len(foreign)-5)
		}
		return fmt.Errorf("%w: %s holds %s%s, which the service did not write; give archive.dir a folder of its own (an empty one, or an archive holding only week folders and state.json)",
			ErrNotArchive, a.dir, strings.Join(foreign, ", "), more)
	}
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(a.dir, archiveMark), []byte("This folder is an equity311 report archive: the service adds, replaces and removes week folders here.\n"))
}

// made reports whether the service made the folder (it holds the mark).
func made(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, folderMark))
	return err == nil
}

// cleanup removes what a killed cycle left: temporary week folders, and
// replaced ones — unless a cycle was killed between a republish's two
// renames, when the replaced folder is the week's only copy and is put
// back. Only folders the service made are touched. Call it holding the
// lock.
func (a archive) cleanup() error {
	ents, err := os.ReadDir(a.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		n := e.Name()
		p := filepath.Join(a.dir, n)
		if !e.IsDir() || !(strings.HasPrefix(n, ".tmp-") || strings.HasPrefix(n, ".old-")) || !made(p) {
			continue
		}
		if week, ok := oldWeek(n); ok && !a.has(week) {
			if _, err := os.Stat(filepath.Join(p, "summary.json")); err == nil {
				if err := os.RemoveAll(a.weekDir(week)); err != nil {
					return err
				}
				if err := os.Rename(p, a.weekDir(week)); err != nil {
					return fmt.Errorf("restore %s from %s: %w", week, n, err)
				}
				continue
			}
		}
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}

// oldWeek is the week of a replaced week folder's name (.old-2026-W47-123).
func oldWeek(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, ".old-")
	if !ok || len(rest) < 8 || !weekPattern.MatchString(rest[:8]) {
		return "", false
	}
	return rest[:8], true
}

// staging makes the hidden folder a week is written into, marked as the
// service's and readable by all like the files in it.
func (a archive) staging(week string) (string, error) {
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(a.dir, ".tmp-"+week+"-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return dir, err
	}
	return dir, os.WriteFile(filepath.Join(dir, folderMark), nil, 0o644)
}

// publish renames a staged week into place, replacing an earlier version
// of it; readers see the old folder or the new one, never a part.
func (a archive) publish(staged, week string) error {
	dst := a.weekDir(week)
	if _, err := os.Stat(dst); err == nil {
		// Marked (a week published before the mark), so that a cycle killed
		// between the two renames leaves a copy clean-up puts back.
		if err := os.WriteFile(filepath.Join(dst, folderMark), nil, 0o644); err != nil {
			return err
		}
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

// state reads state.json. A file that cannot be read as a state (cut
// short, overwritten) gives the state rebuilt from the published weeks,
// with corrupt set: the caller sets the file aside before saving anew.
func (a archive) state() (s State, corrupt bool, err error) {
	err = readJSON(filepath.Join(a.dir, "state.json"), &s)
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, os.ErrNotExist):
		return State{}, false, nil
	case errors.As(err, &syn) || errors.As(err, &typ):
		s, err = a.rebuildState()
		return s, true, err
	}
	return s, false, err
}

// rebuildState is the state the published weeks imply: the newest one
// is the last success, at its folder's time.
func (a archive) rebuildState() (State, error) {
	weeks, err := a.weeks()
	if err != nil || len(weeks) == 0 {
		return State{}, err
	}
	last := weeks[len(weeks)-1].Week
	s := State{LastSuccessWeek: last}
	if fi, err := os.Stat(a.weekDir(last)); err == nil {
		s.LastSuccess = fi.ModTime().UTC()
	}
	return s, nil
}

// setAsideState renames an unreadable state.json to
// state.json.corrupt-TIME, keeping it for a look.
func (a archive) setAsideState(now time.Time) (string, error) {
	to := filepath.Join(a.dir, "state.json.corrupt-"+now.UTC().Format("20060102T150405Z"))
	return to, os.Rename(filepath.Join(a.dir, "state.json"), to)
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
