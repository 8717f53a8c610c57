package dump

import (
	"context"
	"encoding/csv"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/equity311/equity311/internal/shareddata"
	"github.com/equity311/equity311/internal/storetest"
)

// TestDuplicateLinks loads the real Chicago sample, whose duplicate and
// parent_sr_number columns mark 175 duplicates, 73 of them of a request
// in the file; and the real Boston 2015–2024 sample, whose closure
// reasons mark duplicates in words, some naming the case.
func TestDuplicateLinks(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	if _, err := LoadDump(ctx, st, shareddata.Path(t, "other_cities/chicago/chicago311_2021-01_first5000_nandini1bag.csv"), Options{}); err != nil {
		t.Fatal(err)
	}
	var all, loaded, missing int
	if err := st.DB().QueryRow(`SELECT count(*), count(*) FILTER (WHERE parent_loaded), count(*) FILTER (WHERE NOT parent_loaded)
		FROM duplicate_links WHERE city = 'chicago' AND basis = 'reported' AND parent_id LIKE 'SR%'`).Scan(&all, &loaded, &missing); err != nil {
		t.Fatal(err)
	}
	if all != 175 || loaded != 73 || missing != 102 {
		t.Errorf("Chicago: %d reported links, %d with the parent loaded, %d without; want 175, 73, 102", all, loaded, missing)
	}

	boston := shareddata.Path(t, "boston311/yashchavan11_raw_sample_2015-2024_4995rows.csv")
	if _, err := LoadDump(ctx, st, boston, Options{}); err != nil {
		t.Fatal(err)
	}
	// Counted independently from the raw file: closure reasons with the word.
	want, withCase := 0, 0
	for _, reason := range closureReasons(t, boston) {
		l := strings.ToLower(reason)
		if strings.Contains(l, "duplicate") || strings.Contains(l, "dupe") {
			want++
			if strings.Contains(l, "case #1") {
				withCase++
			}
		}
	}
	var got, parents int
	var example string
	if err := st.DB().QueryRow(`SELECT count(*), count(parent_id), coalesce(min(parent_id) FILTER (WHERE ticket_id = '101004289150' OR parent_id = '101004289150'), '')
		FROM duplicates WHERE city = 'boston' AND basis = 'text'`).Scan(&got, &parents, &example); err != nil {
		t.Fatal(err)
	}
	if got != want || parents < withCase || example != "101004289150" {
		t.Errorf("Boston: %d duplicates read from closure reasons (%d naming a case; the one naming 101004289150: %q); the raw file has %d, %d naming a case #1…", got, parents, example, want, withCase)
	}
	t.Logf("Boston: %d duplicates in closure reasons, %d naming their case", got, parents)
	// Every link names its ticket's number, which the analyses match on.
	var links, wrong int
	if err := st.DB().QueryRow(`SELECT count(*), count(*) FILTER (WHERE d.ticket_no IS DISTINCT FROM t.ticket_no)
		FROM duplicates d LEFT JOIN tickets t USING (city, ticket_id)`).Scan(&links, &wrong); err != nil {
		t.Fatal(err)
	}
	if wrong != 0 || links < all+got {
		t.Errorf("%d of %d links do not name their ticket's number", wrong, links)
	}
}

// TestFindDuplicateTextIsThePattern checks that the scan before the
// duplicate pattern never changes what it finds: on phrases that match,
// near misses, other cases and scripts, and every closure reason of the
// real Boston 2015–2024 sample.
func TestFindDuplicateTextIsThePattern(t *testing.T) {
	texts := []string{"", "d", "du", "dup", "DUP", "Dupe", "duplicate", "Case Resolved. Duplicate of case #101002993457",
		"DUPLICATE REQUEST", "duplicated", "a dupe.", "undupe", "Dup", "d-u-p", "dUpLiCaTe case", "ᴅᴜᴘʟɪᴄᴀᴛᴇ", "ＤＵＰＬＩＣＡＴＥ",
		"Duplicate report ", "noted: duplicate of open case", "closed", "Case Noted", "ΔUPLICATE", "duplicat", "xdupex"}
	texts = append(texts, closureReasons(t, shareddata.Path(t, "boston311/yashchavan11_raw_sample_2015-2024_4995rows.csv"))...)
	var matched int
	for _, s := range texts {
		got, want := findDuplicateText(s), duplicateText.FindString(s)
		if got != want {
			t.Errorf("%q: found %q; the pattern finds %q", s, got, want)
		}
		if want != "" {
			matched++
		}
	}
	if matched < 10 {
		t.Errorf("only %d texts match the pattern: the comparison would not show a difference", matched)
	}
}

// closureReasons reads the closure_reason column of a CSV dump with
// encoding/csv, independently of the loader.
func closureReasons(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.IndexFunc(recs[0], func(h string) bool { return strings.EqualFold(h, "closure_reason") })
	if col < 0 {
		t.Fatalf("%s has no closure_reason column", path)
	}
	var out []string
	for _, r := range recs[1:] {
		out = append(out, r[col])
	}
	return out
}
