package dump

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/equity311/equity311/internal/shareddata"
	"github.com/equity311/equity311/internal/storetest"
)

// openCSV opens a file with encoding/csv (records of any length) and reads
// its header; the file is closed when the test ends.
func openCSV(t *testing.T, path string) (*csv.Reader, []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	return r, header
}

// readCSV reads a file with encoding/csv: the independent count of data
// rows and of each value of one column.
func readCSV(t *testing.T, path, column string) (rows int, values map[string]int, all [][]string, header []string) {
	t.Helper()
	r, header := openCSV(t, path)
	col := -1
	for i, h := range header {
		if strings.EqualFold(strings.TrimPrefix(h, "\ufeff"), column) {
			col = i
		}
	}
	if col < 0 && column != "" {
		t.Fatalf("%s: no column %q", path, column)
	}
	values = map[string]int{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, values, all, header
		}
		if err != nil {
			t.Fatal(err)
		}
		rows++
		if col >= 0 {
			values[strings.TrimSpace(rec[col])]++
		}
		all = append(all, rec)
	}
}

// TestEveryCityDump loads each real sample with --profile auto and checks
// the accounting, the channel counts against the file's raw values, and
// that a second load changes nothing.
func TestEveryCityDump(t *testing.T) {
	cases := []struct {
		file, profile string
	}{
		{"boston311/qsv_boston311-100.csv", "boston-legacy"},
		{"boston311/yashchavan11_raw_sample_2015-2024_4995rows.csv", "boston-legacy"},
		{"boston311/safertrail_2025_open_sidewalk_streetlight_2424rows.csv", "boston-2024"},
		{"boston311/boston311_new_system_2025-08_to_2026-02_soham-bhagwat.csv", "boston-2025"},
		{"other_cities/nyc/nyc311_2022-05-01_sample_fedhere.csv", "nyc"},
		{"other_cities/chicago/chicago311_2021-01_first5000_nandini1bag.csv", "chicago"},
		{"other_cities/sf/sf311_cases_sample_10000_no-geo_sfbrigade.csv", "sf"},
		{"other_cities/la/myla311_2017_subset_hackforla.csv", "la"},
	}
	for _, c := range cases {
		t.Run(c.profile+"/"+filepath.Base(c.file), func(t *testing.T) {
			path := shareddata.Path(t, c.file)
			p, err := FindProfile(c.profile)
			if err != nil {
				t.Fatal(err)
			}
			st := storetest.Open(t)
			ctx := context.Background()
			res, err := LoadDump(ctx, st, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Profile != c.profile {
				t.Errorf("auto picked %s, want %s", res.Profile, c.profile)
			}
			rows, raw, recs, header := readCSV(t, path, p.Columns.Channel)
			if res.Read != int64(rows) || res.Loaded+res.Rejected+res.Excluded+res.Superseded != int64(rows) {
				t.Errorf("read %d (encoding/csv: %d) = loaded %d + rejected %d + excluded %d + superseded %d",
					res.Read, rows, res.Loaded, res.Rejected, res.Excluded, res.Superseded)
			}
			// Rows the profile excludes, counted independently.
			excluded := map[string]int{}
			nExcluded := 0
			for _, ex := range p.Exclude {
				col := -1
				for i, h := range header {
					if strings.EqualFold(h, ex.Column) {
						col = i
					}
				}
				chCol := -1
				for i, h := range header {
					if strings.EqualFold(h, p.Columns.Channel) {
						chCol = i
					}
				}
				for _, r := range recs {
					for _, v := range ex.Equals {
						if strings.EqualFold(strings.TrimSpace(r[col]), v) {
							excluded[strings.TrimSpace(r[chCol])]++
							nExcluded++
						}
					}
				}
			}
			if int64(nExcluded) != res.Excluded {
				t.Errorf("excluded %d rows, the file has %d", res.Excluded, nExcluded)
			}
			if res.Rejected != 0 || res.Superseded != 0 {
				t.Fatalf("real sample: %d rejected, %d superseded; the channel check below assumes none", res.Rejected, res.Superseded)
			}
			want := map[string]int{}
			for v, n := range raw {
				ch, ok := p.Channel(v)
				if !ok {
					ch = "unknown"
				}
				want[string(ch)] += n - excluded[v]
			}
			got := storetest.ChannelCounts(t, st, "true")
			for ch, n := range want {
				if n > 0 && got[ch] != n {
					t.Errorf("channel %s: %d tickets, the file's raw values mapped to it count %d", ch, got[ch], n)
				}
			}
			for ch, n := range got {
				if want[ch] != n {
					t.Errorf("channel %s: %d tickets, want %d", ch, n, want[ch])
				}
			}
			before := tableCounts(t, st)
			again, err := LoadDump(ctx, st, path, Options{})
			if err != nil || !again.AlreadyLoaded {
				t.Fatalf("second load: %+v, %v", again, err)
			}
			for k, v := range tableCounts(t, st) {
				if before[k] != v {
					t.Errorf("second load changed %s", k)
				}
			}
		})
	}
}

// TestGzipDump loads a gzipped copy of a dump: the same tickets as the plain file.
func TestGzipDump(t *testing.T) {
	plain := shareddata.Path(t, "boston311/qsv_boston311-100.csv")
	b, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	gz := filepath.Join(t.TempDir(), "boston.csv.gz")
	if err := os.WriteFile(gz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	st1, st2 := storetest.Open(t), storetest.Open(t)
	r1, err := LoadDump(context.Background(), st1, plain, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := LoadDump(context.Background(), st2, gz, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r1.Loaded != r2.Loaded || r1.Loaded != 100 {
		t.Errorf("plain loaded %d, gzip %d", r1.Loaded, r2.Loaded)
	}
	d1, d2 := tableCounts(t, st1), tableCounts(t, st2)
	for k := range d1 {
		if strings.HasPrefix(k, "digest:") && d2[k] != 1 {
			t.Error("gzip load holds different tickets from the plain load")
		}
	}
}

// TestSpecialFields checks the quirks the profiles exist for.
func TestSpecialFields(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, file, q, want string) {
		t.Helper()
		st := storetest.Open(t)
		if _, err := LoadDump(ctx, st, shareddata.Path(t, file), Options{}); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := st.DB().QueryRow(q).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: %s = %q, want %q", file, q, got, want)
		}
	}
	// San Francisco: coordinates from the "(lat, lon)" text.
	check(t, "other_cities/sf/sf311_cases_sample_10000_no-geo_sfbrigade.csv",
		"SELECT count(*) FILTER (WHERE lat BETWEEN 37.6 AND 37.9 AND lon BETWEEN -122.6 AND -122.3) || '/' || count(*) FILTER (WHERE geo_quality = 'missing') FROM tickets", "9976/24")
	// Boston 2025: UTC "+00" times with and without fractions.
	check(t, "boston311/boston311_new_system_2025-08_to_2026-02_soham-bhagwat.csv",
		"SELECT strftime(opened_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%g') FROM tickets WHERE ticket_id = (SELECT min(ticket_id) FROM tickets)", "2025-08-01 06:35:06.539")
	// NYC: a 12-hour clock, in New York time.
	check(t, "other_cities/nyc/nyc311_2022-05-01_sample_fedhere.csv",
		"SELECT strftime(min(opened_at) AT TIME ZONE 'America/New_York', '%Y-%m-%d %H:%M:%S') FROM tickets", "2022-05-01 00:00:03")
}
