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
	"time"
)

// TestWeekWithoutData: a week in which no source gave a request is not
// published; the state records it as "no data" with each source's state,
// the index says so, /latest/ stays on the last real week, /metrics counts
// the outcome, and a source removed from the config leaves the state.
func TestWeekWithoutData(t *testing.T) {
	r, _ := published(t) // 2026-W47, the city's last week with requests
	ar := archive{r.Config.Archive.Dir}
	st, _, err := ar.state()
	if err != nil {
		t.Fatal(err)
	}
	st.Sources["removed from the config"] = SourceResult{Name: "removed from the config", Error: "old failure"}
	if err := ar.saveState(st); err != nil {
		t.Fatal(err)
	}

	// The week after the city's last: the drop folder has nothing new.
	s := &Server{Runner: r, Clock: fixedClock(cityEnd.AddDate(0, 0, 8))}
	r.Now = s.Clock.Now
	r.Config.Schedule.CatchUpWeeks = 2
	err = s.CatchUp(context.Background())
	if !errors.Is(err, ErrNoData) {
		t.Fatalf("catch-up over a week without requests: %v, want ErrNoData", err)
	}
	if _, err := os.Stat(filepath.Join(ar.dir, "2026-W48")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the week without data has a folder in the archive: %v", err)
	}
	st, _, err = ar.state()
	if err != nil {
		t.Fatal(err)
	}
	nd, ok := st.NoData["2026-W48"]
	if !ok || !st.Last.NoData || st.Last.OK || len(nd.Sources) != 1 || nd.Sources[0].Name != "drop" {
		t.Errorf("state: last %+v, no-data weeks %+v", st.Last, st.NoData)
	}
	if _, ok := st.Sources["removed from the config"]; ok {
		t.Error("a source removed from the config is still in the state")
	}
	if st.LastSuccessWeek != "2026-W47" {
		t.Errorf("last success week %q, want 2026-W47", st.LastSuccessWeek)
	}

	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	_, body, _ := get(t, http.DefaultClient, ts.URL+"/")
	for _, want := range []string{"No data for 2026-W48", "Weeks with no data", "no data: not published"} {
		if !strings.Contains(body, want) {
			t.Errorf("index lacks %q:\n%s", want, body)
		}
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, _, h := get(t, noRedirect, ts.URL+"/latest/")
	if loc := h.Get("Location"); loc != "/reports/2026-W47/" {
		t.Errorf("/latest/ goes to %q, want the last week with data", loc)
	}
	if code, _, _ := get(t, http.DefaultClient, ts.URL+"/reports/2026-W48/"); code != http.StatusNotFound {
		t.Errorf("/reports/2026-W48/: %d, want 404", code)
	}

	// A cycle that cannot take the lock is counted too.
	unlock, err := ar.lock()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CatchUp(context.Background()); !errors.Is(err, ErrBusy) {
		t.Errorf("catch-up under a held lock: %v, want ErrBusy", err)
	}
	unlock()
	_, body, _ = get(t, http.DefaultClient, ts.URL+"/metrics")
	for _, want := range []string{`equity311_cycles_total{outcome="no_data"} 1`, `equity311_cycles_total{outcome="busy"} 1`,
		`equity311_cycles_total{outcome="published"} 0`, "equity311_last_cycle_success 0"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

// TestInterruptedCycleIsNotAFailure: a cycle abandoned because the
// process was asked to stop is recorded as interrupted, not as a failure.
func TestInterruptedCycleIsNotAFailure(t *testing.T) {
	dir := t.TempDir()
	r := newRunner(t, testCity(t, dir, ""), cityEnd.Add(30*time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // SIGTERM before the cycle gets anywhere
	res, err := r.Run(ctx, "")
	if !errors.Is(err, ErrInterrupted) || res.Outcome(err) != OutcomeInterrupted {
		t.Fatalf("Run after a stop: %v (%s), want ErrInterrupted", err, res.Outcome(err))
	}
	st, _, err := archive{r.Config.Archive.Dir}.state()
	if err != nil || st.Last == nil || !st.Last.Interrupted || st.Failures != 0 {
		t.Errorf("state after an interrupted cycle: %+v (%v)", st, err)
	}
}

// TestWeekNotOverIsRefused: on Tuesday 1 December 2026 neither the week
// running now nor the last week of the year (2026 has a week 53) can be
// published; nothing reaches the archive.
func TestWeekNotOverIsRefused(t *testing.T) {
	dir := t.TempDir()
	r := newRunner(t, testCity(t, dir, ""), time.Date(2026, 12, 1, 9, 0, 0, 0, mustLoc("America/New_York")))
	for _, w := range []string{"2026-W49", "2026-W53", "2027-W01"} {
		_, err := r.Run(context.Background(), w)
		if err == nil || !strings.Contains(err.Error(), "not over yet") {
			t.Errorf("run --week %s on 1 December: %v, want a refusal", w, err)
		}
		if _, serr := os.Stat(filepath.Join(r.Config.Archive.Dir, w)); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("week %s is in the archive: %v", w, serr)
		}
	}
	st, _, err := archive{r.Config.Archive.Dir}.state()
	if err != nil || st.Last == nil || st.Last.Week != "2027-W01" || st.LastSuccessWeek != "" {
		t.Errorf("state: %+v (%v)", st, err)
	}
}
