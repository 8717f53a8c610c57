package dump

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/equity311/equity311/internal/fetch"
	"github.com/equity311/equity311/internal/shareddata"
	"github.com/equity311/equity311/internal/storetest"
)

// sampleRecords reads a real CSV sample as API records: blank values left
// out, as Socrata does, and unnamed columns dropped.
func sampleRecords(t *testing.T, rel string) ([]string, []map[string]any) {
	t.Helper()
	_, _, recs, header := readCSV(t, shareddata.Path(t, rel), "")
	var fields []string
	for _, h := range header {
		if h != "" {
			fields = append(fields, h)
		}
	}
	var out []map[string]any
	for _, r := range recs {
		m := map[string]any{}
		for i, h := range header {
			if h != "" && strings.TrimSpace(r[i]) != "" {
				m[h] = r[i]
			}
		}
		out = append(out, m)
	}
	return fields, out
}

// flaky wraps a handler so that the given request numbers fail.
type flaky struct {
	mu    sync.Mutex
	n     int
	fail  map[int]int // request number → status
	inner http.HandlerFunc
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.n++
	code := f.fail[f.n]
	f.mu.Unlock()
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "3")
	}
	if code != 0 {
		http.Error(w, "try later", code)
		return
	}
	f.inner(w, r)
}

func recordingClient(waits *[]time.Duration) *fetch.Client {
	c := fetch.New()
	c.Sleep = func(ctx context.Context, d time.Duration) error { *waits = append(*waits, d); return ctx.Err() }
	return c
}

func TestCKANMatchesTheDump(t *testing.T) {
	const file = "boston311/safertrail_2025_open_sidewalk_streetlight_2424rows.csv"
	fields, records := sampleRecords(t, file)
	srv := httptest.NewServer(&flaky{fail: map[int]int{2: 500, 4: 429}, inner: func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/3/action/datastore_search" || r.URL.Query().Get("resource_id") != "res-1" {
			http.NotFound(w, r)
			return
		}
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		var fs []map[string]string
		fs = append(fs, map[string]string{"id": "_id", "type": "int"})
		for _, f := range fields {
			fs = append(fs, map[string]string{"id": f, "type": "text"})
		}
		page := []map[string]any{}
		for i := offset; i < min(offset+limit, len(records)); i++ {
			rec := map[string]any{"_id": i + 1}
			for k, v := range records[i] {
				rec[k] = v
			}
			page = append(page, rec)
		}
		json.NewEncoder(w).Encode(map[string]any{"success": true, "result": map[string]any{
			"fields": fs, "records": page, "total": len(records)}})
	}})
	defer srv.Close()
	var waits []time.Duration
	ctx := context.Background()
	st := storetest.Open(t)
	res, err := LoadCKAN(ctx, st, CKANOptions{URL: srv.URL, Resource: "res-1", PageSize: 500, Client: recordingClient(&waits)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Profile != "boston-2024" || res.Loaded != int64(len(records)) {
		t.Errorf("profile %s, loaded %d of %d", res.Profile, res.Loaded, len(records))
	}
	if len(waits) != 2 || waits[1] != 3*time.Second {
		t.Errorf("waits %v: want a backoff after the 500 and Retry-After's 3 s after the 429", waits)
	}
	dump := storetest.Open(t)
	if _, err := LoadDump(ctx, dump, shareddata.Path(t, file), Options{}); err != nil {
		t.Fatal(err)
	}
	a, b := tableCounts(t, st), tableCounts(t, dump)
	for k := range b {
		if strings.HasPrefix(k, "digest:") && a[k] != 1 {
			t.Error("the CKAN load holds different tickets from the dump of the same rows")
		}
	}
	again, err := LoadCKAN(ctx, st, CKANOptions{URL: srv.URL, Resource: "res-1", PageSize: 700, Client: recordingClient(&waits)})
	if err != nil || !again.AlreadyLoaded {
		t.Errorf("second sync of unchanged records: %+v %v, want already loaded", again, err)
	}
}

// socrataServer serves records like SODA: $where col >= 'v', $order
// col,:id, $limit, $offset; it wants an app token.
func socrataServer(t *testing.T, records func() []map[string]any, token string) http.HandlerFunc {
	where := regexp.MustCompile(`^(\w+) >= '([^']*)'$`)
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-App-Token") != token {
			http.Error(w, "bad token", http.StatusForbidden)
			return
		}
		q := r.URL.Query()
		col := strings.TrimSuffix(q.Get("$order"), ",:id")
		var rows []map[string]any
		for i, rec := range records() {
			rec["__id"] = i
			rows = append(rows, rec)
		}
		if m := where.FindStringSubmatch(q.Get("$where")); m != nil {
			var kept []map[string]any
			for _, rec := range rows {
				if v, _ := rec[m[1]].(string); v >= m[2] {
					kept = append(kept, rec)
				}
			}
			rows = kept
		} else if q.Get("$where") != "" {
			http.Error(w, "bad $where", http.StatusBadRequest)
			return
		}
		sort.SliceStable(rows, func(i, j int) bool {
			a, _ := rows[i][col].(string)
			b, _ := rows[j][col].(string)
			if a != b {
				return a < b
			}
			return rows[i]["__id"].(int) < rows[j]["__id"].(int)
		})
		limit, _ := strconv.Atoi(q.Get("$limit"))
		offset, _ := strconv.Atoi(q.Get("$offset"))
		out := []map[string]any{}
		for i := offset; i < min(offset+limit, len(rows)); i++ {
			rec := map[string]any{}
			for k, v := range rows[i] {
				if k != "__id" {
					rec[k] = v
				}
			}
			out = append(out, rec)
		}
		json.NewEncoder(w).Encode(out)
	}
}

func TestSocrataIncrementalMatchesTheDump(t *testing.T) {
	const file = "other_cities/chicago/chicago311_2021-01_first5000_nandini1bag.csv"
	_, records := sampleRecords(t, file)
	// The portal first holds the rows modified before a cut, then all.
	var mods []string
	for _, r := range records {
		mods = append(mods, r["last_modified_date"].(string))
	}
	sort.Strings(mods)
	cut := mods[len(mods)/2]
	var mu sync.Mutex
	all := false
	visible := func() []map[string]any {
		mu.Lock()
		defer mu.Unlock()
		var out []map[string]any
		for _, r := range records {
			if all || r["last_modified_date"].(string) < cut {
				c := map[string]any{}
				for k, v := range r {
					c[k] = v
				}
				out = append(out, c)
			}
		}
		return out
	}
	srv := httptest.NewServer(&flaky{fail: map[int]int{3: 429, 5: 503}, inner: socrataServer(t, visible, "tok-123")})
	defer srv.Close()
	p, err := FindProfile("chicago")
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	ctx := context.Background()
	st := storetest.Open(t)
	opt := SocrataOptions{URL: srv.URL, Dataset: "v6vf-nfxy", AppToken: "tok-123", Profile: p, PageSize: 400, Client: recordingClient(&waits)}
	first, err := LoadSocrata(ctx, st, opt)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	all = true
	mu.Unlock()
	second, err := LoadSocrata(ctx, st, opt)
	if err != nil {
		t.Fatal(err)
	}
	if first.Read == 0 || second.Read == 0 || first.Read+second.Read >= int64(2*len(records)) {
		t.Errorf("first sync read %d, second %d of %d: the second should resume near the cut", first.Read, second.Read, len(records))
	}
	dump := storetest.Open(t)
	if _, err := LoadDump(ctx, dump, shareddata.Path(t, file), Options{}); err != nil {
		t.Fatal(err)
	}
	a, b := tableCounts(t, st), tableCounts(t, dump)
	if a["tickets"] != b["tickets"] {
		t.Errorf("%d tickets after two syncs, %d from the dump", a["tickets"], b["tickets"])
	}
	for k := range b {
		if strings.HasPrefix(k, "digest:") && a[k] != 1 {
			t.Error("the synced tickets differ from the dump's: a gap or a stale version")
		}
	}
	// A wrong token fails with the token kept out of the message.
	opt.AppToken = "wrong-token-xyz"
	_, err = LoadSocrata(ctx, st, opt)
	if err == nil || strings.Contains(err.Error(), "wrong-token-xyz") {
		t.Errorf("bad token: err %v", err)
	}
}

// TestFeedsThatNeverStop: a CKAN server that ignores the offset sends the
// first page for ever, and a Socrata server invents new rows on every
// page; both loads end with an error after a bounded number of requests
// (a repeated page is seen at once; new pages stop at max_pages) and
// commit nothing.
func TestFeedsThatNeverStop(t *testing.T) {
	const file = "other_cities/chicago/chicago311_2021-01_first5000_nandini1bag.csv"
	fields, records := sampleRecords(t, file)
	var requests int
	var mu sync.Mutex
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		requests++
		return requests
	}
	ckan := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		count()
		fs := []map[string]string{{"id": "_id"}}
		for _, f := range fields {
			fs = append(fs, map[string]string{"id": f})
		}
		json.NewEncoder(w).Encode(map[string]any{"success": true, "result": map[string]any{"fields": fs, "records": records[:50]}})
	}))
	defer ckan.Close()
	ctx := context.Background()
	st := storetest.Open(t)
	var waits []time.Duration
	_, err := LoadCKAN(ctx, st, CKANOptions{URL: ckan.URL, Resource: "r", PageSize: 50, Client: recordingClient(&waits)})
	if !errors.Is(err, ErrRepeatedPage) || requests > 3 {
		t.Errorf("CKAN ignoring the offset: %v after %d requests, want ErrRepeatedPage within 3", err, requests)
	}
	requests = 0
	socrata := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := count()
		page := make([]map[string]any, 0, 20)
		for i, rec := range records[:20] {
			c := map[string]any{}
			for k, v := range rec {
				c[k] = v
			}
			c["sr_number"] = fmt.Sprintf("SR-INVENTED-%d-%d", n, i)
			page = append(page, c)
		}
		json.NewEncoder(w).Encode(page)
	}))
	defer socrata.Close()
	p, err := FindProfile("chicago")
	if err != nil {
		t.Fatal(err)
	}
	_, err = LoadSocrata(ctx, st, SocrataOptions{URL: socrata.URL, Dataset: "d", Profile: p, PageSize: 20, MaxPages: 7, Client: recordingClient(&waits)})
	if !errors.Is(err, ErrTooManyPages) || !strings.Contains(err.Error(), "after 7 pages") || requests > 8 {
		t.Errorf("Socrata inventing rows: %v after %d requests, want ErrTooManyPages after 7 pages, within 8 requests", err, requests)
	}
	if n := tableCounts(t, st)["tickets"]; n != 0 {
		t.Errorf("%d tickets committed from feeds that failed", n)
	}
}
