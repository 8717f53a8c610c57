package open311sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/equity311/equity311/internal/fetch"
	"github.com/equity311/equity311/internal/storetest"
	"github.com/equity311/equity311/open311"
	"github.com/equity311/equity311/store"
)

// feedServer serves services.json and requests.json: n requests, one per
// hour from start, paged by page/page_size, the record at index bad (if
// ≥ 0) with an unreadable date and coordinate. While down is set it
// answers 200 with a maintenance page; awayURL, when set, redirects there.
type feedServer struct {
	start   time.Time
	n, bad  int
	down    atomic.Bool
	awayURL string
	calls   atomic.Int32
	newIDs  bool        // invent new ids on every page, forever
	longID  int         // the record at this index (if > 0) has a 100,000-character id
	dupOf   map[int]int // record index → the index of the request it duplicates (Chicago's extended attributes)
}

func (f *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if len(r.URL.RawQuery) > 8000 { // as real servers do
		http.Error(w, "URI Too Long", http.StatusRequestURITooLong)
		return
	}
	if f.awayURL != "" {
		http.Redirect(w, r, f.awayURL+r.URL.Path+"?"+r.URL.RawQuery, http.StatusFound)
		return
	}
	if f.down.Load() {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!DOCTYPE html><html><body><h1>Down for maintenance</h1></body></html>")
		return
	}
	if strings.HasSuffix(r.URL.Path, "/services.json") {
		fmt.Fprint(w, `[{"service_code":"1","service_name":"Pothole"}]`)
		return
	}
	q := r.URL.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	size, _ := strconv.Atoi(q.Get("page_size"))
	if page < 1 || size < 1 {
		page, size = 1, 1000
	}
	var out []map[string]any
	if f.newIDs {
		for i := 0; i < size; i++ {
			out = append(out, map[string]any{"service_request_id": fmt.Sprintf("p%d-%d", page, i),
				"requested_datetime": f.start.Format(time.RFC3339), "status": "open"})
		}
	} else {
		for i := (page - 1) * size; i < min(page*size, f.n); i++ {
			rec := map[string]any{"service_request_id": strconv.Itoa(i + 1), "status": "open", "service_code": "1",
				"requested_datetime": f.start.Add(time.Duration(i) * time.Hour).Format(time.RFC3339), "lat": 42.33, "long": -71.08}
			if i == f.bad {
				rec["requested_datetime"], rec["long"] = "not a date", json.RawMessage("1e999")
			}
			if p, ok := f.dupOf[i]; ok {
				rec["extended_attributes"] = map[string]any{"channel": "phone", "duplicate": true, "parent_service_request_id": strconv.Itoa(p + 1)}
			}
			if f.longID > 0 && i == f.longID {
				rec["service_request_id"] = strings.Repeat("9", 100_000)
			}
			out = append(out, rec)
		}
	}
	json.NewEncoder(w).Encode(out)
}

func syncFeed(st *store.Store, url string, now time.Time, opt Options) (Result, error) {
	f := fetch.New()
	f.Retries = 0
	opt.City, opt.Now = "c", func() time.Time { return now }
	opt.Client = &open311.Client{Endpoint: url, HTTP: f}
	if opt.Since.IsZero() {
		opt.Since = now.Add(-72 * time.Hour)
	}
	opt.PageSize = 20
	return Sync(context.Background(), st, opt)
}

// TestMaintenancePageThenRecovery: a server that answers 200 with an HTML
// maintenance page makes the sync fail without moving its cursor; once the
// server recovers, the next sync ends with exactly a clean run's requests.
func TestMaintenancePageThenRecovery(t *testing.T) {
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	f := &feedServer{start: now.Add(-70 * time.Hour), n: 60, bad: -1}
	srv := httptest.NewServer(f)
	defer srv.Close()
	url := srv.URL + "/open311/v2"

	clean := storetest.Open(t)
	if _, err := syncFeed(clean, url, now, Options{}); err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t)
	f.down.Store(true)
	_, err := syncFeed(st, url, now, Options{})
	if !errors.Is(err, open311.ErrNotGeoReport) {
		t.Fatalf("sync against a maintenance page: %v, want ErrNotGeoReport", err)
	}
	if c, _ := st.Cursor(context.Background(), "open311:"+url); c != "" {
		t.Errorf("the cursor moved to %s past a window never fetched", c)
	}
	f.down.Store(false)
	if _, err := syncFeed(st, url, now, Options{}); err != nil {
		t.Fatal(err)
	}
	got := syncedState(t, st, "c")
	want := syncedState(t, clean, "c")
	if len(got) != 60 || !maps.Equal(got, want) {
		t.Errorf("after recovery %d requests, a clean run %d (the server 60); equal: %v", len(got), len(want), maps.Equal(got, want))
	}
}

// TestRedirectElsewhereIsAnError: a redirect to another host that answers
// [] is not an empty window.
func TestRedirectElsewhereIsAnError(t *testing.T) {
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "[]") }))
	defer other.Close()
	f := &feedServer{start: now.Add(-70 * time.Hour), n: 10, bad: -1, awayURL: other.URL}
	srv := httptest.NewServer(f)
	defer srv.Close()
	st := storetest.Open(t)
	_, err := syncFeed(st, srv.URL+"/open311/v2?api_key=k3y", now, Options{})
	if !errors.Is(err, fetch.ErrRedirect) || strings.Contains(err.Error(), "k3y") {
		t.Fatalf("redirect to another host: %v", err)
	}
	var feeds int
	if err := st.DB().QueryRow("SELECT count(*) FROM sync_state").Scan(&feeds); err != nil || feeds != 0 {
		t.Errorf("%d cursors saved (%v)", feeds, err)
	}
}

// TestOneBadRecordLoadsTheRest: a record with an unreadable date and
// coordinate goes to rejects with its endpoint, window and reason; the
// rest of its window loads, and the next sync is not stuck on it.
func TestOneBadRecordLoadsTheRest(t *testing.T) {
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	f := &feedServer{start: now.Add(-70 * time.Hour), n: 30, bad: 7}
	srv := httptest.NewServer(f)
	defer srv.Close()
	st := storetest.Open(t)
	if _, err := syncFeed(st, srv.URL+"/open311/v2", now, Options{}); err != nil {
		t.Fatalf("one bad record failed the sync: %v", err)
	}
	if n := len(syncedState(t, st, "c")); n != 29 {
		t.Errorf("%d requests loaded, want the 29 good ones", n)
	}
	var name, reason string
	if err := st.DB().QueryRow(`SELECT s.name, r.reason FROM rejects r JOIN sources s USING (source_id)`).Scan(&name, &reason); err != nil {
		t.Fatalf("no reject recorded: %v", err)
	}
	if !strings.Contains(name, srv.URL+"/open311/v2 until ") || !strings.Contains(reason, "requested_datetime") {
		t.Errorf("reject from %q: %q; want the endpoint, the window and the reason", name, reason)
	}
	// The next sync goes on from the cursor.
	if _, err := syncFeed(st, srv.URL+"/open311/v2", now.Add(24*time.Hour), Options{}); err != nil {
		t.Fatalf("the sync after a bad record: %v", err)
	}
}

// TestOverlongIDGoesToRejects: a record whose id is 100,000 characters
// long goes to rejects (its raw text cut short) instead of into the
// requests re-polled by id, so the next sync's re-poll URL stays short and
// the feed is not poisoned by one record.
func TestOverlongIDGoesToRejects(t *testing.T) {
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	f := &feedServer{start: now.Add(-70 * time.Hour), n: 30, bad: -1, longID: 4}
	srv := httptest.NewServer(f)
	defer srv.Close()
	st := storetest.Open(t)
	if _, err := syncFeed(st, srv.URL+"/open311/v2", now, Options{}); err != nil {
		t.Fatalf("the first sync: %v", err)
	}
	var reason string
	var raw int
	if err := st.DB().QueryRow(`SELECT reason, length(raw) FROM rejects`).Scan(&reason, &raw); err != nil {
		t.Fatalf("no reject for the overlong id: %v", err)
	}
	if !strings.Contains(reason, "service_request_id") || !strings.Contains(reason, "100000 characters") || raw > 10_000 {
		t.Errorf("reject %q with %d bytes of raw text; want the field, its length, and the raw text cut short", reason, raw)
	}
	if n := len(syncedState(t, st, "c")); n != 29 {
		t.Errorf("%d requests loaded, want the 29 others", n)
	}
	for day := 1; day <= 2; day++ {
		if _, err := syncFeed(st, srv.URL+"/open311/v2", now.Add(time.Duration(day)*24*time.Hour), Options{}); err != nil {
			t.Fatalf("sync %d days later (re-polling the open requests): %v", day, err)
		}
	}
}

// TestKeyInEndpointStaysSecret: an api_key written into --endpoint is sent
// as the key but kept out of the feed's name, the sources and the errors.
func TestKeyInEndpointStaysSecret(t *testing.T) {
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	var sawKey atomic.Bool
	f := &feedServer{start: now.Add(-70 * time.Hour), n: 5, bad: -1}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("api_key") == "s3cret" {
			sawKey.Store(true)
		}
		f.ServeHTTP(w, r)
	}))
	defer srv.Close()
	st := storetest.Open(t)
	if _, err := syncFeed(st, "http://user:pw0rd@"+strings.TrimPrefix(srv.URL, "http://")+"/open311/v2?api_key=s3cret", now, Options{}); err != nil {
		t.Fatal(err)
	}
	if !sawKey.Load() {
		t.Error("the key was not sent")
	}
	for _, q := range []string{"SELECT string_agg(feed, ' ') FROM sync_state", "SELECT string_agg(name, ' ') FROM sources",
		"SELECT string_agg(endpoint, ' ') FROM open311_services"} {
		var s string
		if err := st.DB().QueryRow(q).Scan(&s); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(s, "s3cret") || strings.Contains(s, "pw0rd") {
			t.Errorf("%s: %s", q, s)
		}
	}
}

// TestPagesWithoutEnd: a server that invents new ids on every page is
// stopped at MaxPages with a clear error.
func TestPagesWithoutEnd(t *testing.T) {
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	f := &feedServer{start: now.Add(-70 * time.Hour), newIDs: true}
	srv := httptest.NewServer(f)
	defer srv.Close()
	st := storetest.Open(t)
	_, err := syncFeed(st, srv.URL+"/open311/v2", now, Options{MaxPages: 25})
	if !errors.Is(err, open311.ErrTooManyPages) || f.calls.Load() > 30 {
		t.Errorf("endless pages: %v after %d calls", err, f.calls.Load())
	}
}

// TestDuplicateLinksFromTheFeed: a server's duplicate link (Chicago's
// extended_attributes.duplicate and parent_service_request_id) is loaded
// as a reported link, with its parent, like a dump's.
func TestDuplicateLinksFromTheFeed(t *testing.T) {
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	f := &feedServer{start: now.Add(-40 * time.Hour), n: 10, bad: -1, dupOf: map[int]int{5: 2, 8: 2}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	st := storetest.Open(t)
	if _, err := syncFeed(st, srv.URL+"/open311/v2", now, Options{}); err != nil {
		t.Fatal(err)
	}
	got := storetest.Strings(t, st, `SELECT ticket_id, parent_id || ' ' || basis || ' ' || parent_loaded FROM duplicate_links`)
	want := map[string]string{"6": "3 reported true", "9": "3 reported true"}
	if len(got) != len(want) || got["6"] != want["6"] || got["9"] != want["9"] {
		t.Errorf("duplicate links %v, want %v", got, want)
	}
}
