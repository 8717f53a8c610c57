package dump

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/internal/storetest"
)

// legacy12h is the invented fixture in the layout of Boston's older
// portal: an unnamed index column, 12-hour US dates, zip codes as floats.
const legacy12h = "testdata/boston_legacy_12h.csv"

// TestLegacyTwelveHourDates loads the older portal's layout: the legacy
// profile is picked, every row loads, and the time layout found in the
// file is reported.
func TestLegacyTwelveHourDates(t *testing.T) {
	st := storetest.Open(t)
	res, err := LoadDump(context.Background(), st, legacy12h, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Profile != "boston-legacy" || res.Read != 24 || res.Loaded != 24 || res.Rejected != 0 {
		t.Errorf("load: %+v, want boston-legacy with 24 of 24 rows loaded", res)
	}
	if len(res.TimeLayouts) != 1 || res.TimeLayouts[0].Layout != "01/02/2006 03:04:05 PM" || res.TimeLayouts[0].Rows != 24 {
		t.Errorf("time layouts %+v, want 01/02/2006 03:04:05 PM for 24 rows", res.TimeLayouts)
	}
	var pm int
	if err := st.DB().QueryRow(`SELECT count(*) FROM tickets WHERE ticket_id = '101001000000' AND strftime(timezone('America/New_York', opened_at), '%Y-%m-%d %H:%M:%S') = '2015-08-28 21:54:59'`).Scan(&pm); err != nil || pm != 1 {
		t.Errorf("09:54:59 PM was not read as 21:54:59 local (%d rows, %v)", pm, err)
	}
	if !strings.Contains(DescribeTimeLayouts(res), "01/02/2006 03:04:05 PM (24 rows)") {
		t.Errorf("the load's description does not say the layout: %q", DescribeTimeLayouts(res))
	}
}

// TestFileThatLoadsNothingFails: with a profile that does not know the
// file's dates every row is rejected; the load fails, naming the
// commonest reason and the option that allows it, and leaves nothing
// behind (so the file loads once the profile is mended). AllowRejects
// loads it anyway, rejects and all.
func TestFileThatLoadsNothingFails(t *testing.T) {
	old, err := FindProfile("boston-legacy")
	if err != nil {
		t.Fatal(err)
	}
	p := *old
	p.TimeFormats = []string{"2006-01-02 15:04:05"} // the profile before this file was known
	st := storetest.Open(t)
	_, err = LoadDump(context.Background(), st, legacy12h, Options{Profile: &p})
	var re *RejectsError
	if !errors.As(err, &re) || re.Rejected != 24 || re.Read != 24 {
		t.Fatalf("load of a file whose every row is rejected: %v, want a RejectsError for 24 of 24", err)
	}
	for _, want := range []string{"24 of 24 rows rejected", "bad opened time", "(24 rows)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if equity311.OptionKey(err) != "allow_rejects" {
		t.Errorf("the error names option %q, want allow_rejects", equity311.OptionKey(err))
	}
	var sources int
	if err := st.DB().QueryRow(`SELECT count(*) FROM sources`).Scan(&sources); err != nil || sources != 0 {
		t.Errorf("the failed load left %d sources rows (%v)", sources, err)
	}
	// The mended profile loads the same file: the failed load did not mark it loaded.
	res, err := LoadDump(context.Background(), st, legacy12h, Options{})
	if err != nil || res.AlreadyLoaded || res.Loaded != 24 {
		t.Errorf("the mended profile: %+v, %v", res, err)
	}
	res, err = LoadDump(context.Background(), storetest.Open(t), legacy12h, Options{Profile: &p, AllowRejects: true})
	if err != nil || res.Rejected != 24 || res.Loaded != 0 {
		t.Errorf("with AllowRejects: %+v, %v", res, err)
	}
}
