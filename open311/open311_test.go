package open311

import (
	"os"
	"testing"

	"github.com/equity311/equity311/internal/shareddata"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(shareddata.Path(t, "open311/real/"+name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestChicagoDuplicateLinks reads the duplicate links Chicago's
// extensions carry: one request marked duplicate with its parent, and one
// with a parent only.
func TestChicagoDuplicateLinks(t *testing.T) {
	reqs, _, err := ParseRequests(read(t, "chicago_requests_extensions_2015.json"))
	if err != nil {
		t.Fatal(err)
	}
	parents := map[string]string{}
	marked := 0
	for _, r := range reqs {
		if r.ParentID != "" {
			parents[r.ID] = r.ParentID
		}
		if r.Duplicate {
			marked++
		}
	}
	if parents["14-02155558"] != "15-05164921" || len(parents) != 2 || marked != 1 {
		t.Errorf("parents %v, %d marked duplicate; want 2 parents (14-02155558 → 15-05164921) and 1 marked", parents, marked)
	}
}

// TestRealRequests parses the real responses of six systems.
func TestRealRequests(t *testing.T) {
	cases := []struct {
		file     string
		n        int
		firstID  string
		channels map[string]int
		geo      bool // every request has coordinates
	}{
		{"chicago_requests_extensions_2015.json", 50, "14-00684314", map[string]int{"phone": 37, "web": 10, "open311": 3}, false},
		{"open311status__chicago_service_requests.json", 2, "", nil, false},
		{"open311status__toronto_requests_many.xml", 0, "101005420892", nil, true},
		{"r311__koeln_markaspot_requests.json", 50, "A-173480", nil, false},
		{"sf_extended_attributes_from_wiki.json", 1, "4944710", map[string]int{"android": 1}, true},
		{"boston_2013_single_record_transcribed.json", 1, "", nil, false},
		{"boston_2026_single_record_transcribed.json", 1, "101006564843", nil, true},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			reqs, skipped, err := ParseRequests(read(t, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if c.n > 0 && len(reqs) != c.n {
				t.Errorf("%d requests (%d skipped), want %d", len(reqs), skipped, c.n)
			}
			if len(reqs) == 0 {
				t.Fatal("no requests")
			}
			if c.firstID != "" && reqs[0].ID != c.firstID {
				t.Errorf("first id %q, want %q", reqs[0].ID, c.firstID)
			}
			got := map[string]int{}
			for _, r := range reqs {
				if r.ID == "" || r.Requested.IsZero() || r.ServiceCode == "" || (r.Status != "open" && r.Status != "closed") {
					t.Errorf("incomplete request %+v", r)
				}
				if c.geo && (r.Lat == nil || r.Lon == nil) {
					t.Errorf("request %s lost its coordinates", r.ID)
				}
				if r.Channel != "" {
					got[r.Channel]++
				}
			}
			for ch, n := range c.channels {
				if got[ch] != n {
					t.Errorf("channel %s: %d, want %d", ch, got[ch], n)
				}
			}
		})
	}
}

func TestTorontoXMLOrderAndEmpties(t *testing.T) {
	reqs, _, err := ParseRequests(read(t, "open311status__toronto_requests_many.xml"))
	if err != nil {
		t.Fatal(err)
	}
	r := reqs[0]
	if r.Lon == nil || *r.Lon != -79.272306875 || *r.Lat != 43.691104288 {
		t.Errorf("long before lat: %v %v", r.Lon, r.Lat)
	}
	if r.Updated != nil || r.Description != "" {
		t.Errorf("empty elements should read as absent: updated %v, description %q", r.Updated, r.Description)
	}
	if r.Expected == nil || r.Requested.Format("2006-01-02T15:04:05-07:00") != "2018-07-30T00:01:00-04:00" {
		t.Errorf("times: %v %v", r.Requested, r.Expected)
	}
}

func TestRealServicesAndErrors(t *testing.T) {
	for _, c := range []struct {
		file string
		n    int
	}{{"nodeopen311__dc-services.xml", 86}, {"rubyopen311__sf_services_2010.xml", 36}, {"open311status__giessen_services.xml", 0}} {
		s, err := ParseServices(read(t, c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if c.n > 0 && len(s) != c.n || len(s) == 0 || s[0].Code == "" {
			t.Errorf("%s: %d services, first %+v", c.file, len(s), s)
		}
	}
	errs := ParseErrors(read(t, "nodeopen311__boston-err-submitrequest-base_is_duplicate.xml"))
	if len(errs) != 1 || errs[0].Code != 400 {
		t.Errorf("errors %+v", errs)
	}
}

func TestRealDiscovery(t *testing.T) {
	for _, c := range []struct{ file, url string }{
		{"nodeopen311__discovery-boston.json", "https://mayors24.cityofboston.gov/open311/v2"},
		{"nodeopen311__discovery-dc.xml", "http://app.311.dc.gov/cwi/Open311/v2"},
	} {
		d, err := ParseDiscovery(read(t, c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		e, ok := d.GeoReportV2("production")
		if !ok || e.URL != c.url {
			t.Errorf("%s: production GeoReport v2 endpoint %+v", c.file, e)
		}
	}
}
