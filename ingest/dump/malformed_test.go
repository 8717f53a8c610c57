package dump

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/equity311/equity311/internal/storetest"
)

const legacyHeader = "case_enquiry_id,open_dt,closed_dt,case_status,type,department,latitude,longitude,source,target_dt"

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMalformedFile loads a file with every fault city exports have: each
// bad row is rejected with its line and reason, every good row loads.
func TestMalformedFile(t *testing.T) {
	lines := []string{
		"\xef\xbb\xbf" + legacyHeader, // 1: BOM
		"1,2024-03-01 10:00:00,,Open,Pothole,PWDx,42.33,-71.06,Citizens Connect App,2024-03-05 10:00:00", // 2: good
		"", // 3: blank
		"2,2024-03-01 25:00:00,,Open,Pothole,PWDx,42.33,-71.06,Constituent Call,2024-03-05 10:00:00",                             // 4: bad hour
		"3,not a date,,Open,Pothole,PWDx,42.33,-71.06,Constituent Call,2024-03-05 10:00:00",                                      // 5: bad date
		"4,2024-03-01 10:00:00,,Open,Pothole,PWDx,95.0,-71.06,Self Service,2024-03-05 10:00:00",                                  // 6: latitude out of range
		"5,2024-03-01 10:00:00,,Open,Pothole,PWDx,-71.06,42.33,Self Service,2024-03-05 10:00:00",                                 // 7: swapped
		"6,2024-03-01 10:00:00,,Open,Caf\xe9 permit,PWDx,42.33,-71.06,Self Service,2024-03-05 10:00:00",                          // 8: Latin-1
		"7,2024-03-01 10:00:00,,Open,Pothole,PWDx,42.33,-71.06,Twitter,2024-03-05 10:00:00\r",                                    // 9: CRLF
		"8,2024-03-01 10:00:00,,Open,Pothole,PWDx,42.33,2024-03-05 10:00:00",                                                     // 10: short row
		"9,2024-03-01 10:00:00,,Open,\"Pothole, big,PWDx,42.33,-71.06,Self Service,2024-03-05 10:00:00",                          // 11: unterminated quote
		"10,2024-03-01 10:00:00,,Open,Pothole,PWDx, , ,Fax Machine,2024-03-05 10:00:00",                                          // 12: good, no coordinates, unmapped channel
		",2024-03-01 10:00:00,,Open,Pothole,PWDx,42.33,-71.06,Self Service,2024-03-05 10:00:00",                                  // 13: no id
		"11,2024-03-01 10:00:00,2024-03-02 11:00:00,Closed,Pothole,PWDx,42.3594,-71.0587,Employee Generated,2024-03-05 10:00:00", // 14: good, placeholder
		"12,2024-03-01 10:00:00,,Open,Pothole,PWDx,abc,-71.06,Self Service,2024-03-05 10:00:00",                                  // 15: latitude not a number
	}
	path := writeFile(t, "bad.csv", strings.Join(lines, "\n")+"\n")
	st := storetest.Open(t)
	res, err := LoadDump(context.Background(), st, path, Options{AllowRejects: true}) // 9 of 13 rejected on purpose
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 13 || res.Loaded != 4 || res.Rejected != 9 {
		t.Errorf("read %d loaded %d rejected %d; want 13 = 4 + 9", res.Read, res.Loaded, res.Rejected)
	}
	want := map[int]string{
		4: "bad opened time", 5: "bad opened time", 6: "latitude 95 out of range", 7: "coordinates swapped",
		8: "not UTF-8", 10: "row has 8 fields", 11: "unterminated", 13: "empty ticket id", 15: "is not a number",
	}
	rows, err := st.DB().Query("SELECT line, coalesce(field, ''), reason, raw FROM rejects ORDER BY line")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int]string{}
	for rows.Next() {
		var line int
		var field, reason, raw string
		if err := rows.Scan(&line, &field, &reason, &raw); err != nil {
			t.Fatal(err)
		}
		got[line] = reason
		if raw == "" {
			t.Errorf("line %d: reject keeps no raw text", line)
		}
		if w, ok := want[line]; !ok || !strings.Contains(reason, w) {
			t.Errorf("line %d rejected with %q (field %q), want a reason containing %q", line, reason, field, w)
		}
		if line == 4 && field != "open_dt" {
			t.Errorf("line 4: field %q, want open_dt", field)
		}
	}
	for line := range want {
		if _, ok := got[line]; !ok {
			t.Errorf("line %d not rejected", line)
		}
	}
	check := func(id, col, want string) {
		t.Helper()
		var v string
		if err := st.DB().QueryRow("SELECT coalesce(CAST("+col+" AS VARCHAR), 'NULL') FROM tickets WHERE ticket_id = ?", id).Scan(&v); err != nil {
			t.Fatalf("ticket %s: %v", id, err)
		}
		if v != want {
			t.Errorf("ticket %s %s = %s, want %s", id, col, v, want)
		}
	}
	check("7", "channel", "social")
	check("10", "channel", "unknown")
	check("10", "channel_raw", "Fax Machine")
	check("10", "channel_basis", "reported")
	check("10", "geo_quality", "missing")
	check("11", "geo_quality", "default_point")
	check("11", "resident_initiated", "false")
	check("1", "resident_initiated", "true")
	check("10", "resident_initiated", "NULL")
	// Naive local times are read in the city's zone: 10:00 in Boston in March is 15:00 UTC.
	var opened time.Time
	if err := st.DB().QueryRow("SELECT opened_at FROM tickets WHERE ticket_id = '1'").Scan(&opened); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 3, 1, 15, 0, 0, 0, time.UTC); !opened.Equal(want) {
		t.Errorf("opened_at %v, want %v", opened.UTC(), want)
	}
}

func TestWrongHeaderFails(t *testing.T) {
	path := writeFile(t, "wrong.csv", "id,when,what\n1,2024-01-01,x\n")
	_, err := LoadDump(context.Background(), storetest.Open(t), path, Options{})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "boston-legacy lacks") {
		t.Fatalf("want an error naming the file, line 1 and the closest profile's missing columns; got %v", err)
	}
}

// TestLaterDumpUpdates loads a dump and then a later one in which a ticket
// has closed: the ticket is updated, not duplicated, and duplicate ids
// inside one file keep the latest version.
func TestLaterDumpUpdates(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	first := writeFile(t, "d1.csv", legacyHeader+"\n"+
		"1,2024-03-01 10:00:00,,Open,Pothole,PWDx,42.33,-71.06,Citizens Connect App,\n"+
		"2,2024-03-01 11:00:00,,Open,Pothole,PWDx,42.33,-71.06,Constituent Call,\n")
	second := writeFile(t, "d2.csv", legacyHeader+"\n"+
		"1,2024-03-01 10:00:00,2024-03-03 09:00:00,Closed,Pothole,PWDx,42.33,-71.06,Citizens Connect App,\n"+
		"3,2024-03-02 10:00:00,2024-03-02 12:00:00,Closed,Pothole,PWDx,42.33,-71.06,Self Service,\n"+
		"3,2024-03-02 10:00:00,,Open,Pothole,PWDx,42.33,-71.06,Self Service,\n")
	if _, err := LoadDump(ctx, st, first, Options{}); err != nil {
		t.Fatal(err)
	}
	res, err := LoadDump(ctx, st, second, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 3 || res.Loaded != 2 || res.Superseded != 1 {
		t.Errorf("second dump: read %d loaded %d superseded %d, want 3 = 2 + 1", res.Read, res.Loaded, res.Superseded)
	}
	var n int
	if err := st.DB().QueryRow("SELECT count(*) FROM tickets").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("%d tickets, want 3", n)
	}
	for _, id := range []string{"1", "3"} {
		var status string
		if err := st.DB().QueryRow("SELECT status FROM tickets WHERE ticket_id = ?", id).Scan(&status); err != nil {
			t.Fatal(err)
		}
		if status != "Closed" {
			t.Errorf("ticket %s status %q, want Closed (the latest version)", id, status)
		}
	}
}
