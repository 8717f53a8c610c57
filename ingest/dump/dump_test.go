package dump

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/equity311/equity311/internal/shareddata"
	"github.com/equity311/equity311/internal/storetest"
	"github.com/equity311/equity311/store"
)

// bostonSourceChannel is Boston's source → channel map, written out here
// independently of the profile file.
var bostonSourceChannel = map[string]string{
	"citizens connect app": "app",
	"constituent call":     "phone",
	"self service":         "web",
	"twitter":              "social",
	"employee generated":   "employee",
	"city worker app":      "employee",
	"maximo integration":   "integration",
}

// fileSourceCounts counts data rows and source values (lower-cased) with encoding/csv.
func fileSourceCounts(t *testing.T, path string) (rows int, bySource map[string]int) {
	t.Helper()
	rows, values, _, _ := readCSV(t, path, "source")
	bySource = map[string]int{}
	for v, n := range values {
		bySource[strings.ToLower(v)] += n
	}
	return rows, bySource
}

func tableCounts(t *testing.T, st *store.Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"tickets", "rejects", "sources"} {
		var n int
		if err := st.DB().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	var sum string
	if err := st.DB().QueryRow(`SELECT coalesce(string_agg(ticket_id || channel || coalesce(status,'') || coalesce(CAST(closed_at AS VARCHAR),''), ',' ORDER BY ticket_id), '') FROM tickets`).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	out["digest:"+sum] = 1
	return out
}

func TestLoadBostonSamples(t *testing.T) {
	for _, name := range []string{"qsv_boston311-100.csv", "yashchavan11_raw_sample_2015-2024_4995rows.csv"} {
		t.Run(name, func(t *testing.T) {
			path := shareddata.Path(t, "boston311/"+name)
			ctx := context.Background()
			st := storetest.Open(t)
			res, err := LoadDump(ctx, st, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Profile != "boston-legacy" {
				t.Errorf("detected profile %s, want boston-legacy", res.Profile)
			}
			rows, bySource := fileSourceCounts(t, path)
			if res.Read != int64(rows) {
				t.Errorf("read %d rows, encoding/csv reads %d", res.Read, rows)
			}
			if res.Loaded+res.Rejected+res.Superseded+res.Excluded != int64(rows) {
				t.Errorf("loaded %d + rejected %d + superseded %d + excluded %d != %d rows",
					res.Loaded, res.Rejected, res.Superseded, res.Excluded, rows)
			}
			var inDB int64
			if err := st.DB().QueryRow("SELECT count(*) FROM tickets").Scan(&inDB); err != nil {
				t.Fatal(err)
			}
			if inDB != res.Loaded {
				t.Errorf("tickets holds %d rows, load says %d", inDB, res.Loaded)
			}
			want := map[string]int{}
			for src, n := range bySource {
				ch, ok := bostonSourceChannel[src]
				if !ok {
					ch = "unknown"
				}
				want[ch] += n
			}
			got := storetest.ChannelCounts(t, st, "true")
			if res.Rejected == 0 && res.Superseded == 0 {
				for ch, n := range want {
					if got[ch] != n {
						t.Errorf("channel %s: %d tickets, file has %d", ch, got[ch], n)
					}
				}
			} else {
				t.Logf("rejected %d, superseded %d: channel counts checked against loaded rows only", res.Rejected, res.Superseded)
			}
			before := tableCounts(t, st)
			again, err := LoadDump(ctx, st, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !again.AlreadyLoaded {
				t.Error("second load of the same file was not recognised")
			}
			after := tableCounts(t, st)
			if len(before) != len(after) {
				t.Fatal("second load changed tables")
			}
			for k, v := range before {
				if after[k] != v {
					t.Errorf("second load changed %s: %d → %d", k, v, after[k])
				}
			}
		})
	}
}

// TestTicketNumbersAreSourceAndLine loads the 2015–2024 Boston sample
// twice, into two stores, and checks each ticket's number (the key of its
// places) is its source's id × 2⁴⁰ plus the line its record starts at, as
// encoding/csv counts lines, and the same in both loads.
func TestTicketNumbersAreSourceAndLine(t *testing.T) {
	path := shareddata.Path(t, "boston311/yashchavan11_raw_sample_2015-2024_4995rows.csv")
	r, _ := openCSV(t, path)
	lines := map[string][]int{} // id → the lines its records start at
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		line, _ := r.FieldPos(0)
		lines[rec[0]] = append(lines[rec[0]], line)
	}
	var got [2]map[string]int64
	for k := range got {
		st := storetest.Open(t)
		if _, err := LoadDump(context.Background(), st, path, Options{}); err != nil {
			t.Fatal(err)
		}
		rows, err := st.DB().Query(`SELECT ticket_id, source_id, ticket_no FROM tickets`)
		if err != nil {
			t.Fatal(err)
		}
		got[k] = map[string]int64{}
		checked := 0
		for rows.Next() {
			var id string
			var src, no int64
			if err := rows.Scan(&id, &src, &no); err != nil {
				t.Fatal(err)
			}
			got[k][id] = no
			if no>>40 != src {
				t.Errorf("ticket %s: number %d is not of source %d", id, no, src)
			}
			if l := lines[id]; len(l) == 1 {
				checked++
				if no&(1<<40-1) != int64(l[0]) {
					t.Errorf("ticket %s: number %d, its record starts at line %d", id, no, l[0])
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if checked < 4000 {
			t.Errorf("checked the lines of %d tickets, want over 4000 of the sample's", checked)
		}
	}
	if fmt.Sprint(got[0]) != fmt.Sprint(got[1]) {
		t.Error("two loads of the same file numbered its tickets differently")
	}
}
