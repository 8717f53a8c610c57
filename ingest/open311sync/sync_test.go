package open311sync

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/equity311/equity311/ingest/dump"
	"github.com/equity311/equity311/internal/fetch"
	"github.com/equity311/equity311/internal/storetest"
	"github.com/equity311/equity311/internal/synthcity"
	"github.com/equity311/equity311/open311"
	"github.com/equity311/equity311/open311/sandbox"
	"github.com/equity311/equity311/store"
)

// fakeClock is a clock that only moves when someone sleeps on it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

var cityEnd = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

func testSandbox(t *testing.T, clock *fakeClock, faults sandbox.Faults, tickets int) *sandbox.Server {
	t.Helper()
	frozen := cityEnd.Add(36 * time.Hour)
	sb, err := sandbox.FromCity(context.Background(), synthcity.Options{Seed: 9, Tickets: tickets, Weeks: 3, End: cityEnd},
		sandbox.Options{Now: func() time.Time { return frozen }, Origin: frozen, Faults: faults, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	return sb
}

// syncedState returns id → status of the city's tickets, failing on duplicates.
func syncedState(t *testing.T, st *store.Store, city string) map[string]string {
	t.Helper()
	return storetest.Strings(t, st, "SELECT ticket_id, coalesce(status, '') FROM tickets WHERE city = ?", city)
}

// TestOpen311SyncWithFaults syncs from a sandbox that fails: 5xx answers,
// 429 with Retry-After, repeated pages past the end, a 1000-result cap, and
// the client killed mid-sync and run again. The database must end with
// exactly the sandbox's requests and their current statuses.
func TestOpen311SyncWithFaults(t *testing.T) {
	for _, short := range []bool{false, true} {
		t.Run(map[bool]string{false: "repeat-pages", true: "short-pages"}[short], func(t *testing.T) {
			clock := &fakeClock{t: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)}
			rng := rand.New(rand.NewPCG(1, 2))
			var rngMu sync.Mutex
			faults := sandbox.Faults{ErrorRate: 0.15, RateLimit: 40, RetryAfter: 5, RepeatPages: !short, ShortPages: short, Cap: 1000,
				Now: clock.Now, Rand: func() float64 { rngMu.Lock(); defer rngMu.Unlock(); return rng.Float64() }}
			sb := testSandbox(t, clock, faults, 3000)
			var calls atomic.Int64
			var kill atomic.Int64
			ctx, cancel := context.WithCancel(context.Background())
			kill.Store(25)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == kill.Load() {
					cancel() // the process dies mid-sync
				}
				sb.ServeHTTP(w, r)
			}))
			defer srv.Close()
			st := storetest.Open(t)
			newClient := func() *open311.Client {
				f := fetch.New()
				f.Sleep, f.Now = clock.Sleep, clock.Now
				f.Retries = 20
				return &open311.Client{Endpoint: srv.URL + "/open311/v2", Extensions: true, HTTP: f}
			}
			opt := Options{City: "synthetic", Since: cityEnd.AddDate(0, 0, -28), Window: 7 * 24 * time.Hour, PageSize: 100,
				Now: func() time.Time { return cityEnd.Add(36 * time.Hour) }}
			opt.Client = newClient()
			if _, err := Sync(ctx, st, opt); err == nil || !errors.Is(err, context.Canceled) {
				t.Fatalf("first sync should die with the context, got %v", err)
			}
			partial := len(syncedState(t, st, "synthetic"))
			opt.Client = newClient()
			res, err := Sync(context.Background(), st, opt)
			if err != nil {
				t.Fatal(err)
			}
			got := syncedState(t, st, "synthetic")
			want := map[string]string{}
			for _, r := range sb.Requests() {
				want[r.ID] = r.Status
			}
			if len(got) != len(want) {
				t.Errorf("%d tickets after the rerun (%d before it), the sandbox holds %d", len(got), partial, len(want))
			}
			for id, s := range want {
				if got[id] != s {
					t.Errorf("request %s: status %q, sandbox says %q", id, got[id], s)
					break
				}
			}
			t.Logf("%d requests in %d windows, %d calls, %d before the kill; %d re-polled", len(got), res.Windows, calls.Load(), partial, res.Repolled)
		})
	}
}

// TestReconcileChannelLessDump: the synthetic city's dump without its
// source column loads with unknown channels; the city's Open311 feed then
// gives them back, marked as coming from the feed.
func TestReconcileChannelLessDump(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	city, err := synthcity.New(synthcity.Options{Seed: 9, Tickets: 3000, Weeks: 3, End: cityEnd})
	if err != nil {
		t.Fatal(err)
	}
	files, err := city.Write(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	src, err := dump.BuiltinProfileSource("boston-legacy")
	if err != nil {
		t.Fatal(err)
	}
	// The same dump read as if it had no channel column.
	noChannel := strings.Replace(strings.Replace(string(src), `name = "boston-legacy"`, `name = "boston-nochannel"`, 1), `channel = "source"`+"\n", "", 1)
	pf := filepath.Join(dir, "nochannel.toml")
	if err := os.WriteFile(pf, []byte(noChannel), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := dump.LoadProfileFile(pf)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: cityEnd}
	sb := testSandbox(t, clock, sandbox.Faults{}, 3000)
	srv := httptest.NewServer(sb)
	defer srv.Close()
	st := storetest.Open(t)
	f := fetch.New()
	f.Sleep = clock.Sleep
	if _, err := Sync(ctx, st, Options{City: "synthetic", Client: &open311.Client{Endpoint: srv.URL + "/open311/v2", Extensions: true, HTTP: f},
		Since: cityEnd.AddDate(0, 0, -28), Now: func() time.Time { return cityEnd.Add(36 * time.Hour) }}); err != nil {
		t.Fatal(err)
	}
	res, err := dump.LoadDump(ctx, st, files.Dump, dump.Options{Profile: p, City: "synthetic"})
	if err != nil {
		t.Fatal(err)
	}
	// Each ticket keeps its most recent version, the dump's or the feed's;
	// the dump's versions take their channel from the feed.
	var inferred, unknown, fromFeed int64
	if err := st.DB().QueryRow(`SELECT count(*) FILTER (WHERE channel_basis = 'open311'), count(*) FILTER (WHERE channel_basis = 'none'),
		count(*) FILTER (WHERE source_id IN (SELECT source_id FROM sources WHERE kind = 'open311'))
		FROM tickets`).Scan(&inferred, &unknown, &fromFeed); err != nil {
		t.Fatal(err)
	}
	if inferred != res.Loaded || unknown != 0 || inferred == 0 || inferred+fromFeed < int64(city.Truth.Tickets) {
		t.Errorf("%d dump tickets kept (of %d loaded) took their channel from the feed, %d feed versions kept, %d left without; the city has %d",
			inferred, res.Loaded, fromFeed, unknown, city.Truth.Tickets)
	}
	// Every ticket of the city has its own channel (the sandbox serves a few more).
	want := map[string]string{}
	fresh, err := synthcity.New(synthcity.Options{Seed: 9, Tickets: 3000, Weeks: 3, End: cityEnd}) // Tickets draws as a new city does
	if err != nil {
		t.Fatal(err)
	}
	if err := fresh.Tickets(ctx, func(ts []synthcity.Ticket) error {
		for _, tk := range ts {
			want[tk.ID] = tk.Channel
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got := storetest.Strings(t, st, "SELECT ticket_id, channel FROM tickets")
	wrong := 0
	for id, ch := range want {
		if got[id] != ch {
			if wrong < 5 {
				t.Logf("%s: %q, want %q", id, got[id], ch)
			}
			wrong++
		}
	}
	if wrong > 0 || len(want) < 3000 {
		t.Errorf("%d of the city's %d tickets have another channel than the city gave them", wrong, len(want))
	}
}

// TestOpen311XMLAndUpdatedAfter syncs in XML, lets the sandbox's clock
// run so that requests close, and syncs again with updated_after: the
// statuses follow.
func TestOpen311XMLAndUpdatedAfter(t *testing.T) {
	var mu sync.Mutex
	now := cityEnd.Add(36 * time.Hour)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	sb, err := sandbox.FromCity(context.Background(), synthcity.Options{Seed: 9, Tickets: 800, Weeks: 2, End: cityEnd},
		sandbox.Options{Now: clock, Origin: now, Start: now, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	defer srv.Close()
	st := storetest.Open(t)
	fc := &fakeClock{t: now}
	f := fetch.New()
	f.Sleep = fc.Sleep
	opt := Options{City: "synthetic", Since: cityEnd.AddDate(0, 0, -21), UpdatedAfter: true, Now: clock,
		Client: &open311.Client{Endpoint: srv.URL + "/open311/v2", Format: "xml", Extensions: true, HTTP: f}}
	if _, err := Sync(context.Background(), st, opt); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(10 * 24 * time.Hour) // ten days on: most open requests close
	mu.Unlock()
	if _, err := Sync(context.Background(), st, opt); err != nil {
		t.Fatal(err)
	}
	got := syncedState(t, st, "synthetic")
	want := sb.Requests()
	if len(got) != len(want) {
		t.Errorf("%d tickets, sandbox %d", len(got), len(want))
	}
	for _, r := range want {
		if got[r.ID] != r.Status {
			t.Errorf("request %s: %q, sandbox %q", r.ID, got[r.ID], r.Status)
			break
		}
	}
}
