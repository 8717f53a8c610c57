package service

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/equity311/equity311/internal/synthcity"
	"github.com/equity311/equity311/open311/sandbox"
)

// fastClock runs speed times as fast as the real one from origin.
type fastClock struct {
	origin, start time.Time
	speed         float64
}

func (c fastClock) Now() time.Time {
	return c.origin.Add(time.Duration(float64(time.Since(c.start)) * c.speed))
}

func (c fastClock) Sleep(ctx context.Context, d time.Duration) error {
	return realClock{}.Sleep(ctx, time.Duration(float64(d)/c.speed))
}

// TestServeEndToEnd runs serve against the Open311 sandbox (a fast clock)
// and a drop folder: the missed weeks are published on start and listed
// on the index; between cycles a researcher's read-only DuckDB connection
// opens the database while serve runs; after a restart two weeks later
// the weeks missed while it was down are caught up.
func TestServeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: serve against the sandbox on a fast clock takes about 8 s; the full suite runs it")
	}
	const speed = 600 // a real second is ten minutes
	origin := cityEnd.Add(30 * time.Hour)
	sb, err := sandbox.FromCity(context.Background(), synthcity.Options{Seed: 4, Tickets: 6000, Weeks: 6, End: cityEnd},
		sandbox.Options{Origin: origin, Start: time.Now(), ClockSpeed: speed, StreamPerHour: 40, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := sb.HTTPServer()
	go hs.Serve(sln)
	defer hs.Close()
	dir := t.TempDir()
	path := testCity(t, dir, fmt.Sprintf(`
[[source]]
name = "feed"
kind = "open311"
endpoint = "http://%s/open311/v2"
since = "2026-10-05"
requests_per_minute = 0   # the local sandbox needs no rate limit (the default is Boston's 10 a minute)

[schedule]
catch_up_weeks = 2

[server]
listen = "127.0.0.1:0"
`, sln.Addr()))
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}

	serve := func(clock Clock, until func(base string) bool) {
		t.Helper()
		r := &Runner{Config: cfg}
		s := &Server{Runner: r, Clock: clock}
		base, stop := listen(t, s)
		deadline := time.Now().Add(90 * time.Second)
		for !until(base) {
			if time.Now().After(deadline) {
				st, _, _ := archive{cfg.Archive.Dir}.state()
				t.Fatalf("timed out; archive state %+v", st.Last)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err := stop(); err != nil {
			t.Errorf("serve returned %v", err)
		}
	}
	status := func(base string) statusDoc {
		resp, err := http.Get(base + "/status.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d statusDoc
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	weeks := func(d statusDoc) []string {
		var out []string
		for _, w := range d.Weeks {
			out = append(out, w.Week)
		}
		return out
	}

	readOnly := false
	serve(fastClock{origin, time.Now(), speed}, func(base string) bool {
		d := status(base)
		if !slices.Equal(weeks(d), []string{"2026-W46", "2026-W47"}) || d.Running != "" {
			return false
		}
		// Between cycles: a researcher reads the database.
		db, err := sql.Open("duckdb", cfg.Database+"?access_mode=read_only")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var all, feed int
		if err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE s.kind = 'open311') FROM tickets t JOIN sources s USING (source_id)`).Scan(&all, &feed); err != nil {
			t.Fatalf("a read-only connection between cycles: %v", err)
		}
		if all == 0 || feed == 0 {
			t.Errorf("%d tickets, %d of them from the Open311 feed", all, feed)
		}
		readOnly = true
		resp, err := http.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		page, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"2026-W46", "2026-W47"} {
			if !strings.Contains(string(page), `/reports/`+w+`/"`) {
				t.Errorf("the index does not list %s", w)
			}
		}
		return true
	})
	if !readOnly {
		t.Fatal("never got between cycles")
	}
	st, _, err := archive{cfg.Archive.Dir}.state()
	if err != nil || st.Sources["feed"].Loaded == 0 && st.Sources["feed"].Newest.IsZero() {
		t.Errorf("the feed source: %+v (%v)", st.Sources["feed"], err)
	}

	// Two weeks later: the weeks missed while it was down are caught up —
	// each published, or, where no source gave a request (the synthetic
	// city ends with W47), recorded as no data and not published.
	tried := func(d statusDoc, w string) bool {
		_, noData := d.State.NoData[w]
		return slices.Contains(weeks(d), w) || noData
	}
	serve(fastClock{origin.AddDate(0, 0, 14), time.Now(), speed}, func(base string) bool {
		d := status(base)
		return tried(d, "2026-W48") && tried(d, "2026-W49") && d.Running == ""
	})
	st, _, err = archive{cfg.Archive.Dir}.state()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"2026-W48", "2026-W49"} {
		_, err := os.Stat(filepath.Join(cfg.Archive.Dir, w, "index.html"))
		nd, noData := st.NoData[w]
		switch {
		case err == nil && noData:
			t.Errorf("%s is both published and recorded as no data", w)
		case err != nil && !noData:
			t.Errorf("caught-up week %s: neither published (%v) nor recorded as no data", w, err)
		case noData && len(nd.Sources) != 2:
			t.Errorf("%s recorded as no data without its two sources' state: %+v", w, nd.Sources)
		}
	}
}
