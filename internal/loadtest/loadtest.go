// Package loadtest drives an HTTP server with many concurrent clients for
// a while, for tests: it counts answers and failures, keeps the worst
// latency and samples the process's memory.
package loadtest

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Result is what a run saw.
type Result struct {
	OK, Failed int64
	FirstError string
	Worst      time.Duration // the slowest request
	PeakSys    uint64        // the most memory the Go runtime held (runtime.MemStats.Sys)
	Seconds    float64
}

func (r Result) String() string {
	return fmt.Sprintf("%.0f s: %d answers (%.0f/s), %d failed, worst latency %v, peak Go memory %.0f MB",
		r.Seconds, r.OK, float64(r.OK)/r.Seconds, r.Failed, r.Worst.Round(time.Millisecond), float64(r.PeakSys)/(1<<20))
}

// Seconds is how long a load test runs: EQUITY311_LOAD_SECONDS, else def.
// Under -short, with no EQUITY311_LOAD_SECONDS, it skips the test.
func Seconds(t testing.TB, def float64) float64 {
	t.Helper()
	v := os.Getenv("EQUITY311_LOAD_SECONDS")
	if v == "" && testing.Short() {
		t.Skip("-short: load tests run in the full suite (or set EQUITY311_LOAD_SECONDS)")
	}
	if v == "" {
		return def
	}
	s, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("EQUITY311_LOAD_SECONDS=%q: %v", v, err)
	}
	return s
}

// Run runs clients goroutines for seconds, each calling do with a shared
// keep-alive client, its number and its request count until time is up.
func Run(clients int, seconds float64, do func(c *http.Client, client, i int) error) Result {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 30 * time.Second}
	var ok, failed, worst atomic.Int64
	var firstErr atomic.Value
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() { // sample the runtime's memory
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.Sys > peak.Load() {
					peak.Store(m.Sys)
				}
			}
		}
	}()
	deadline := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				err := do(hc, c, i)
				if d := int64(time.Since(t0)); d > worst.Load() {
					worst.Store(d)
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	close(done)
	r := Result{OK: ok.Load(), Failed: failed.Load(), Worst: time.Duration(worst.Load()), PeakSys: peak.Load(), Seconds: seconds}
	if e, _ := firstErr.Load().(string); e != "" {
		r.FirstError = e
	}
	return r
}

// Get fetches url, reads the whole answer and fails unless its status is want.
func Get(c *http.Client, url string, want int) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return nil
}

// Check fails the test on any failed request, no answer at all, or a peak
// over maxBytes, and logs the result.
func Check(t testing.TB, r Result, maxBytes uint64) {
	t.Helper()
	t.Log(r)
	if r.Failed > 0 {
		t.Errorf("%d requests failed, the first: %s", r.Failed, r.FirstError)
	}
	if r.OK == 0 {
		t.Error("no answer at all")
	}
	if r.PeakSys > maxBytes {
		t.Errorf("peak memory %.0f MB, want under %.0f MB", float64(r.PeakSys)/(1<<20), float64(maxBytes)/(1<<20))
	}
}
