package dump

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/equity311/equity311/internal/storetest"
)

// legacyRows writes n good legacy rows after the header.
func legacyRows(n int) string {
	var b strings.Builder
	b.WriteString(legacyHeader + "\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%d,2024-05-%02d 09:00:00,,Open,Pothole,PWDx,42.33,-71.08,Constituent Call,\n", 1000+i, 1+i%28)
	}
	return b.String()
}

// TestBatchesWithoutLoadableRows: a batch of records with no loadable row
// used to panic (index out of range) and load nothing; each of these files
// now loads what it can and rejects or excludes the rest, with accounts
// that balance.
func TestBatchesWithoutLoadableRows(t *testing.T) {
	ctx := context.Background()
	full := legacyRows(4097)
	truncated := full[:len(full)-30] // the 4,097th line cut off mid-row
	p, err := FindProfile("boston-legacy")
	if err != nil {
		t.Fatal(err)
	}
	src, err := BuiltinProfileSource("boston-legacy")
	if err != nil {
		t.Fatal(err)
	}
	noTimes, err := ParseProfile("x", regexp.MustCompile(`(?m)^time_formats = .*$`).ReplaceAll(src, []byte(`time_formats = ["02/01/2006"]`)))
	if err != nil {
		t.Fatal(err)
	}
	excludeAll, err := ParseProfile("y", append(append([]byte(nil), src...), []byte("\n[[exclude]]\ncolumn = \"department\"\nequals = [\"PWDx\"]\nreason = \"test\"\n")...))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, content              string
		profile                    *Profile
		loaded, rejected, excluded int64
	}{
		{"one bad row", legacyHeader + "\n1,not a date,,Open,Pothole,PWDx,42.33,-71.08,Constituent Call,\n", p, 0, 1, 0},
		{"4097 rows, the last truncated", truncated, p, 4096, 1, 0},
		{"time formats match nothing", legacyRows(10), noTimes, 0, 10, 0},
		{"exclude matches every row", legacyRows(10), excludeAll, 0, 0, 10},
		{"a header and one very long line", legacyHeader + "\n" + strings.Repeat("y", 3<<20) + "\n", p, 0, 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := storetest.Open(t)
			// These files are mostly rejects on purpose: allow them, to check the accounts.
			res, err := LoadDump(ctx, st, writeFile(t, "d.csv", c.content), Options{Profile: c.profile, AllowRejects: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Loaded != c.loaded || res.Rejected != c.rejected || res.Excluded != c.excluded || !res.Balanced() {
				t.Errorf("read %d = loaded %d + rejected %d + excluded %d; want loaded %d, rejected %d, excluded %d",
					res.Read, res.Loaded, res.Rejected, res.Excluded, c.loaded, c.rejected, c.excluded)
			}
			var rejects int64
			if err := st.DB().QueryRow("SELECT count(*) FROM rejects").Scan(&rejects); err != nil {
				t.Fatal(err)
			}
			if rejects != c.rejected {
				t.Errorf("%d rows in rejects, want %d", rejects, c.rejected)
			}
		})
	}
}

// TestImplausibleValues: NaN coordinates are rejected, dates in year 1 or
// 9999 are rejected as implausible, a close before the open is dropped
// (the request loads without it, and the reject says so).
func TestImplausibleValues(t *testing.T) {
	st := storetest.Open(t)
	content := legacyHeader + "\n" +
		"1,2024-05-01 09:00:00,,Open,Pothole,PWDx,NaN,-71.08,Constituent Call,\n" +
		"2,0001-01-01 00:00:00,,Open,Pothole,PWDx,42.33,-71.08,Constituent Call,\n" +
		"3,9999-12-31 09:00:00,,Open,Pothole,PWDx,42.33,-71.08,Constituent Call,\n" +
		"4,2024-05-01 09:00:00,2024-05-01 08:00:00,Closed,Pothole,PWDx,42.33,-71.08,Constituent Call,\n" +
		"5,2024-05-01 09:00:00,9999-05-01 08:00:00,Closed,Pothole,PWDx,42.33,Inf,Constituent Call,\n" +
		"6,2024-05-01 09:00:00,2024-05-02 08:00:00,Closed,Pothole,PWDx,42.33,-71.08,Constituent Call,\n"
	res, err := LoadDump(context.Background(), st, writeFile(t, "d.csv", content), Options{AllowRejects: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 6 || res.Loaded != 2 || res.Rejected != 4 {
		t.Errorf("read %d loaded %d rejected %d; want 6 = 2 + 4", res.Read, res.Loaded, res.Rejected)
	}
	reasons := storetest.Strings(t, st, "SELECT line::VARCHAR, reason FROM rejects")
	for line, want := range map[string]string{"2": "latitude \"NaN\" is not a number", "3": "implausible opened time 0001-01-01",
		"4": "implausible opened time 9999-12-31", "5": "before the opened time", "6": "longitude \"Inf\" is not a number"} {
		if !strings.Contains(reasons[line], want) {
			t.Errorf("line %s: reject %q, want %q", line, reasons[line], want)
		}
	}
	var closed *string
	if err := st.DB().QueryRow("SELECT closed_at::VARCHAR FROM tickets WHERE ticket_id = '4'").Scan(&closed); err != nil {
		t.Fatal(err)
	}
	if closed != nil {
		t.Errorf("case 4 kept its close before its open: %s", *closed)
	}
}

// TestInvertedBounds: a profile whose bounds are the wrong way round is refused.
func TestInvertedBounds(t *testing.T) {
	src, err := BuiltinProfileSource("boston-legacy")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseProfile("x", bytes.Replace(src, []byte("bounds = [-71.25, 42.20, -70.90, 42.42]"), []byte("bounds = [-70.90, 42.42, -71.25, 42.20]"), 1))
	if err == nil || !strings.Contains(err.Error(), "each minimum below its maximum") {
		t.Errorf("inverted bounds: %v", err)
	}
}

// TestTruncatedGzip: a gzip file cut short fails with the line it got to.
func TestTruncatedGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(legacyRows(3000)))
	zw.Close()
	path := filepath.Join(t.TempDir(), "d.csv.gz")
	if err := os.WriteFile(path, buf.Bytes()[:buf.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t)
	_, err := LoadDump(context.Background(), st, path, Options{})
	if err == nil || !strings.Contains(err.Error(), "after line") || !strings.Contains(err.Error(), path) {
		t.Fatalf("truncated gzip: %v; want an error naming the file and the last line read", err)
	}
	var n int
	if err := st.DB().QueryRow("SELECT count(*) FROM tickets").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d tickets loaded from a broken file (%v)", n, err)
	}
}

// TestByteOrderMarkMidFile: two exports joined with cat leave the second
// one's byte-order mark at the start of a line; the id it sticks to is
// the same ticket, not a new one.
func TestByteOrderMarkMidFile(t *testing.T) {
	content := "\ufeff" + legacyHeader + "\n" +
		"1,2024-05-01 09:00:00,,Open,Pothole,PWDx,42.33,-71.08,Constituent Call,\n" +
		"\ufeff2,2024-05-02 09:00:00,,Open,Pothole,PWDx,42.33,-71.08,Constituent Call,\n" +
		"\ufeff1,2024-05-01 09:00:00,2024-05-03 09:00:00,Closed,Pothole,PWDx,42.33,-71.08,Constituent Call,\n"
	st := storetest.Open(t)
	res, err := LoadDump(context.Background(), st, writeFile(t, "joined.csv", content), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ids := storetest.Strings(t, st, `SELECT ticket_id, status FROM tickets`)
	if len(ids) != 2 || ids["1"] != "Closed" || ids["2"] == "" || res.Superseded != 1 {
		t.Errorf("tickets %q (result %+v); want 1 (closed, its later version) and 2", ids, res)
	}
}
