package service

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// stallingFeed is an Open311 server on loopback that answers every request
// 503 with the given Retry-After, and counts the requests.
func stallingFeed(t *testing.T, retryAfter string) (endpoint string, hits *atomic.Int64) {
	t.Helper()
	hits = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", retryAfter)
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/open311/v2", hits
}

// TestCycleDeadline: a feed that asks to wait a billion seconds ends the
// request at once (beyond max_wait), and a feed that asks for two minutes
// again and again ends the cycle at its deadline; either way the cycle
// fails with the reason in the state and the archive's lock is released.
func TestCycleDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the 2 s deadline is waited out; the full suite runs it")
	}
	for _, c := range []struct {
		name, retryAfter, timeout, want string
		within                          time.Duration
	}{
		{name: "billion seconds", retryAfter: "1000000000", timeout: "1h", want: "max_wait", within: 20 * time.Second},
		{name: "two minutes, over and over", retryAfter: "120", timeout: "2s", want: "schedule.cycle_timeout = 2s", within: 20 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			endpoint, hits := stallingFeed(t, c.retryAfter)
			path := hostileConfig(t, "", `endpoint = "`+endpoint+`"`, `cycle_timeout = "`+c.timeout+`"`, "", "")
			r := newRunner(t, path, cityEnd.Add(30*time.Hour))
			start := time.Now()
			res, err := r.Run(context.Background(), "")
			took := time.Since(start)
			if err == nil {
				t.Fatal("a cycle whose only feed never answers succeeded")
			}
			if took > c.within {
				t.Errorf("the cycle took %v, want under %v", took, c.within)
			}
			if len(res.Sources) != 1 || !strings.Contains(err.Error()+res.Sources[0].Error, c.want) {
				t.Errorf("error %q (source: %+v), want it to name %q", err, res.Sources, c.want)
			}
			if hits.Load() == 0 {
				t.Error("the feed was never asked")
			}
			ar := archive{r.Config.Archive.Dir}
			unlock, err := ar.lock()
			if err != nil {
				t.Fatalf("the lock is still held after the cycle: %v", err)
			}
			unlock()
			st, _, err := ar.state()
			if err != nil || st.Last == nil || st.Last.OK || st.Failures != 1 {
				t.Errorf("state after the failed cycle: %+v, %v", st, err)
			}
		})
	}
}
