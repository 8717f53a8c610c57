package geo_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/equity311/equity311/geo"
	"github.com/equity311/equity311/geo/boundary"
	"github.com/equity311/equity311/ingest/dump"
	"github.com/equity311/equity311/store"
)

// TestAssignAgain places tickets in two layers, then again after new
// tickets arrive (only they are placed; the old places stay) and after one
// layer's boundaries are loaded again (every ticket is placed anew, with
// no stale or doubled places). A ticket inside one layer only is ok; one
// inside neither is outside.
func TestAssignAgain(t *testing.T) {
	dir := t.TempDir()
	square := func(name, id string, w, s, e, n string) string {
		f := filepath.Join(dir, name)
		os.WriteFile(f, []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"`+id+`"},
		"geometry":{"type":"Polygon","coordinates":[[[`+w+`,`+s+`],[`+e+`,`+s+`],[`+e+`,`+n+`],[`+w+`,`+n+`],[`+w+`,`+s+`]]]}}]}`), 0o644)
		return f
	}
	small := square("a.geojson", "a1", "-71.10", "42.30", "-71.08", "42.32")
	big := square("b.geojson", "b1", "-71.20", "42.20", "-71.00", "42.40")
	bigAgain := square("b2.geojson", "b2", "-71.20", "42.20", "-71.00", "42.40")
	header := "case_enquiry_id,open_dt,closed_dt,case_status,type,department,latitude,longitude,source,target_dt\n"
	first := filepath.Join(dir, "d1.csv")
	os.WriteFile(first, []byte(header+
		"1,2024-03-01 10:00:00,,Open,x,y,42.31,-71.09,Self Service,\n"+
		"2,2024-03-01 11:00:00,,Open,x,y,42.35,-71.15,Self Service,\n"), 0o644)
	second := filepath.Join(dir, "d2.csv")
	os.WriteFile(second, []byte(header+
		"3,2024-03-02 10:00:00,,Open,x,y,42.305,-71.085,Self Service,\n"+
		"4,2024-03-02 11:00:00,,Open,x,y,42.60,-70.50,Self Service,\n"), 0o644)

	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "x.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	load := func(f string) {
		t.Helper()
		if _, err := dump.LoadDump(ctx, st, f, dump.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	layer := func(f, name string) {
		t.Helper()
		if _, err := boundary.Load(ctx, st, f, boundary.Options{Layer: name}); err != nil {
			t.Fatal(err)
		}
	}
	assign := func(wantTickets, wantOutside int64) {
		t.Helper()
		res, err := geo.Assign(ctx, st, geo.AssignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Tickets != wantTickets || res.Outside != wantOutside {
			t.Errorf("assign located %d tickets, %d outside; want %d, %d", res.Tickets, res.Outside, wantTickets, wantOutside)
		}
	}
	places := func(want string) {
		t.Helper()
		var got string
		if err := st.DB().QueryRow(`SELECT string_agg(ticket_id || ':' || coalesce(layer, '') || '=' || coalesce(area_id, '') || ' ' || geo_quality, ', ' ORDER BY ticket_id, layer)
			FROM tickets LEFT JOIN ticket_areas USING (city, ticket_id)`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("places\n got %s\nwant %s", got, want)
		}
	}

	load(first)
	layer(small, "a")
	layer(big, "b")
	assign(2, 0)
	places("1:a=a1 ok, 1:b=b1 ok, 2:b=b1 ok")

	load(second)
	assign(2, 1) // only the two new tickets
	places("1:a=a1 ok, 1:b=b1 ok, 2:b=b1 ok, 3:a=a1 ok, 3:b=b1 ok, 4:= outside")

	layer(bigAgain, "b")
	assign(4, 1) // every ticket again, against the new b
	places("1:a=a1 ok, 1:b=b2 ok, 2:b=b2 ok, 3:a=a1 ok, 3:b=b2 ok, 4:= outside")
}
