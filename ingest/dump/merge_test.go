package dump

import (
	"context"
	"strings"
	"testing"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/internal/storetest"
)

// TestSameCaseInTwoFiles loads two exports that hold the same cases, in
// both orders: each case keeps its most recent version whichever file came
// last, real coordinates beat the City Hall placeholder, the winner's
// source is recorded, and the merges are counted.
func TestSameCaseInTwoFiles(t *testing.T) {
	// An older export: case 1 open with real coordinates, case 2 closed on
	// the placeholder, case 3 open on the placeholder, case 4 only here.
	older := legacyHeader + "\n" +
		"1,2024-05-01 09:00:00,,Open,Pothole,PWDx,42.3300,-71.0800,Citizens Connect App,\n" +
		"2,2024-05-02 09:00:00,2024-05-03 10:00:00,Closed,Graffiti,PWDx,42.3594,-71.0587,Constituent Call,\n" +
		"3,2024-05-02 10:00:00,,Open,Streetlight,PWDx,42.3594,-71.0587,Self Service,\n" +
		"4,2024-05-02 11:00:00,,Open,Streetlight,PWDx,42.3400,-71.0700,Self Service,\n"
	// A newer export: case 1 closed but on the placeholder; case 2 the
	// same close, with real coordinates; case 3 in progress with real ones.
	newer := legacyHeader + "\n" +
		"1,2024-05-01 09:00:00,2024-05-06 12:00:00,Closed,Pothole,PWDx,42.3594,-71.0587,Citizens Connect App,\n" +
		"2,2024-05-02 09:00:00,2024-05-03 10:00:00,Closed,Graffiti,PWDx,42.3510,-71.0650,Constituent Call,\n" +
		"3,2024-05-02 10:00:00,,In Progress,Streetlight,PWDx,42.3450,-71.0750,Self Service,\n"
	a, b := writeFile(t, "older.csv", older), writeFile(t, "newer.csv", newer)
	want := map[string]string{
		"1": "Closed 2024-05-06 42.33,-71.08 newer.csv",   // newer closes it; older's real point stays
		"2": "Closed 2024-05-03 42.351,-71.065 newer.csv", // same versions but for the point: real coordinates win
		"3": "In Progress <nil> 42.345,-71.075 newer.csv", // progressed
		"4": "Open <nil> 42.34,-71.07 older.csv",          // only in one file
	}
	for _, order := range [][]string{{a, b}, {b, a}} {
		st := storetest.Open(t)
		var merged int64
		for _, f := range order {
			res, err := LoadDump(context.Background(), st, f, Options{})
			if err != nil {
				t.Fatal(err)
			}
			merged += res.Merged
		}
		got := storetest.Strings(t, st, `SELECT t.ticket_id, t.status || ' ' || coalesce(strftime(t.closed_at AT TIME ZONE 'America/New_York', '%Y-%m-%d'), '<nil>')
			|| ' ' || round(t.lat, 4) || ',' || round(t.lon, 4) || ' ' || regexp_extract(s.name, '[^/]*$')
			FROM tickets t JOIN sources s USING (source_id)`)
		for id, w := range want {
			if got[id] != w {
				t.Errorf("load order %v: case %s is %q, want %q", names(order), id, got[id], w)
			}
		}
		if merged != 3 {
			t.Errorf("load order %v: %d merges counted, want 3", names(order), merged)
		}
		var placeholders int
		if err := st.DB().QueryRow("SELECT count(*) FROM tickets WHERE geo_quality = 'default_point'").Scan(&placeholders); err != nil {
			t.Fatal(err)
		}
		if placeholders != 0 {
			t.Errorf("load order %v: %d cases kept the placeholder though a real point was loaded", names(order), placeholders)
		}
	}
}

func names(paths []string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, p[strings.LastIndex(p, "/")+1:])
	}
	return out
}

// TestReloadWithOtherOptions: the same file again with another city is
// refused, naming what differs; --force loads it.
func TestReloadWithOtherOptions(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	f := writeFile(t, "d.csv", legacyHeader+"\n1,2024-05-01 09:00:00,,Open,Pothole,PWDx,42.33,-71.08,Constituent Call,\n")
	if _, err := LoadDump(ctx, st, f, Options{}); err != nil {
		t.Fatal(err)
	}
	res, err := LoadDump(ctx, st, f, Options{})
	if err != nil || !res.AlreadyLoaded {
		t.Fatalf("same file, same options: %+v, %v; want already loaded", res, err)
	}
	_, err = LoadDump(ctx, st, f, Options{City: "cambridge"})
	if err == nil || !strings.Contains(err.Error(), `city was "boston", now "cambridge"`) || equity311.OptionKey(err) != "force" {
		t.Fatalf("other city: %v; want a refusal naming the option that differs, mended by the force option", err)
	}
	if res, err = LoadDump(ctx, st, f, Options{City: "cambridge", Force: true}); err != nil || res.Loaded != 1 {
		t.Fatalf("forced: %+v, %v", res, err)
	}
	cities := storetest.CountBy(t, st, "SELECT city, count(*) FROM tickets GROUP BY city")
	if cities["boston"] != 1 || cities["cambridge"] != 1 {
		t.Errorf("tickets by city %v", cities)
	}
}
