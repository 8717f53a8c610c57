package dump

import (
	"database/sql/driver"
	"strings"
	"testing"
	"time"
)

// FuzzParseRow feeds arbitrary fields to the Boston legacy row parser: it
// never panics, and a row it accepts has an id, an opened time and
// coordinates in range.
func FuzzParseRow(f *testing.F) {
	f.Add("1,2024-03-01 10:00:00,,Open,Pothole,PWDx,42.33,-71.06,Citizens Connect App,")
	f.Add("2,2024-02-30 10:00:00,2024-03-01 10:00:00,Closed,x,y,-71.06,42.33,Self Service,")
	f.Add(",,,,,,,,,")
	f.Add("3,2024-03-01 10:00:00,,Open,\xe9,PWDx,abc,1e400,Twitter,")
	p, err := FindProfile("boston-legacy")
	if err != nil {
		f.Fatal(err)
	}
	rp, err := newRowParser(p, strings.Split(legacyHeader, ","), time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var fields [][]byte
		for _, x := range strings.Split(s, ",") {
			fields = append(fields, []byte(x))
		}
		if len(fields) != rp.ncols {
			return // the record reader rejects these (csvrec.ErrFieldCount)
		}
		var row [stageCols]driver.Value
		r := rp.parse(fields, 7, &row)
		if r.Reason != "" || r.excluded {
			if r.Reason != "" && r.Line != 7 {
				t.Fatalf("reject without its line: %+v", r)
			}
			return
		}
		if id, _ := row[sTicketID].(string); id == "" {
			t.Fatalf("accepted a row without an id: %q", s)
		}
		if _, ok := row[sOpenedAt].(time.Time); !ok {
			t.Fatalf("accepted a row without an opened time: %q", s)
		}
		if lat, ok := row[sLat].(float64); ok && (lat < -90 || lat > 90) {
			t.Fatalf("accepted latitude %v", lat)
		}
	})
}
