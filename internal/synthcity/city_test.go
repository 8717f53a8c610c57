package synthcity

import (
	"bufio"
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb/planar"
)

func testCity(t testing.TB, seed uint64, tickets int) *City {
	t.Helper()
	c, err := New(Options{Seed: seed, Tickets: tickets, Weeks: 4, End: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLayout(t *testing.T) {
	c := testCity(t, 7, 1000)
	if n := len(c.Tracts); n < 170 || n > 230 {
		t.Errorf("%d tracts, want about 200", n)
	}
	if n := len(c.Neighborhoods); n < 20 || n > 26 {
		t.Errorf("%d neighborhoods, want about 25", n)
	}
	holes, multi := 0, 0
	for _, n := range c.Neighborhoods {
		if len(n.Geometry) > 1 {
			multi++
		}
		for _, p := range n.Geometry {
			holes += len(p) - 1
		}
		// A neighborhood's area is the sum of its tracts' areas: the union is exact.
		sum := 0.0
		for _, ti := range n.Tracts {
			sum += planar.Area(c.Tracts[ti].Geometry)
		}
		if a := planar.Area(n.Geometry); (a-sum)/sum > 1e-9 || (sum-a)/sum > 1e-9 {
			t.Errorf("%s: area %g, tracts sum to %g", n.Name, a, sum)
		}
	}
	if holes == 0 || multi == 0 {
		t.Errorf("want a hole and a multi-part neighborhood: holes %d, multi-part %d", holes, multi)
	}
	var enclave, host *Neighborhood
	for k := range c.Neighborhoods {
		switch c.Neighborhoods[k].ID {
		case c.Truth.EnclaveOf[0]:
			enclave = &c.Neighborhoods[k]
		case c.Truth.EnclaveOf[1]:
			host = &c.Neighborhoods[k]
		}
	}
	if enclave == nil || host == nil {
		t.Fatalf("enclave %v not found", c.Truth.EnclaveOf)
	}
	hasHole := false
	for _, p := range host.Geometry {
		if len(p) > 1 {
			hasHole = true
		}
	}
	if !hasHole {
		t.Error("enclave host has no hole")
	}
	// City Hall, Boston's placeholder point, is inside the city.
	inside := false
	for _, tr := range c.Tracts {
		if planar.MultiPolygonContains(tr.Geometry, cityHall) {
			inside = true
		}
	}
	if !inside {
		t.Error("City Hall placeholder point is outside the synthetic city")
	}
}

func TestDeterministic(t *testing.T) {
	dump := func(seed uint64) []byte {
		c := testCity(t, seed, 2000)
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		if err := c.WriteDump(context.Background(), w); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		return buf.Bytes()
	}
	a, b, other := dump(3), dump(3), dump(4)
	if !bytes.Equal(a, b) {
		t.Error("same seed gave different dumps")
	}
	if bytes.Equal(a, other) {
		t.Error("different seeds gave the same dump")
	}
}

func TestDumpAccounting(t *testing.T) {
	c := testCity(t, 11, 20000)
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if err := c.WriteDump(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	lines := bytes.Count(buf.Bytes(), []byte("\n")) - 1
	tr := c.Truth
	if lines != tr.Rows {
		t.Errorf("%d data lines, truth says %d rows", lines, tr.Rows)
	}
	if tr.Rows != tr.Tickets+tr.Dirt.MalformedDates+tr.Dirt.Duplicates {
		t.Errorf("rows %d != tickets %d + malformed %d + duplicates %d", tr.Rows, tr.Tickets, tr.Dirt.MalformedDates, tr.Dirt.Duplicates)
	}
	sum := 0
	for _, n := range tr.ChannelCounts {
		sum += n
	}
	if sum != tr.Tickets {
		t.Errorf("channel counts sum to %d, tickets %d", sum, tr.Tickets)
	}
	for _, d := range []int{tr.Dirt.MissingCoords, tr.Dirt.Placeholder, tr.Dirt.MalformedDates, tr.Dirt.Duplicates, tr.Dirt.BlankSource} {
		if d == 0 {
			t.Errorf("dirt %+v: every kind should occur in 20,000 tickets", tr.Dirt)
			break
		}
	}
}

// ForSeeds runs every seed once, never more than workers at a time.
func TestForSeeds(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	running, most := 0, 0
	ForSeeds(20, 3, func(s int) {
		mu.Lock()
		seen[s]++
		running++
		most = max(most, running)
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
	})
	if len(seen) != 20 || most > 3 || most < 1 {
		t.Errorf("seeds run %v, at most %d at once; want each of 0–19 once, at most 3", seen, most)
	}
	for s, n := range seen {
		if n != 1 || s < 0 || s >= 20 {
			t.Errorf("seed %d ran %d times", s, n)
		}
	}
}
