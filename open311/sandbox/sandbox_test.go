package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/equity311/equity311/internal/shareddata"
	"github.com/equity311/equity311/internal/synthcity"
	"github.com/equity311/equity311/open311"
)

var end = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

func newTestServer(t *testing.T, opt Options) (*Server, *httptest.Server) {
	t.Helper()
	if opt.Now == nil {
		now := end.Add(24 * time.Hour)
		opt.Now = func() time.Time { return now }
	}
	s, err := FromCity(context.Background(), synthcity.Options{Seed: 4, Tickets: 600, Weeks: 2, End: end}, opt)
	if err != nil {
		t.Fatal(err)
	}
	h := httptest.NewServer(s)
	t.Cleanup(h.Close)
	return s, h
}

func get(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestJSONValidatesAgainstSchemas checks the sandbox's JSON with the
// Open311 JSON Schemas (draft-04), formats asserted.
func TestJSONValidatesAgainstSchemas(t *testing.T) {
	dir := shareddata.Path(t, "open311/spec/json-schema")
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.AssertFormat()
	for _, name := range []string{"request.json", "requests.json", "service.json", "services.json", "service-definition.json"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource("file:///schemas/"+name, doc); err != nil {
			t.Fatal(err)
		}
	}
	// A negative control: the schemas do reject what the spec forbids.
	sch, err := c.Compile("file:///schemas/requests.json")
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(`[{"service_request_id": 6, "status": "pending", "service_code": "x", "requested_datetime": "yesterday"}]`))
	if sch.Validate(bad) == nil {
		t.Fatal("the schema accepts a numeric id, an unknown status and a bad date")
	}
	_, h := newTestServer(t, Options{})
	base := h.URL + "/open311/v2/"
	_, reqs := get(t, base+"requests.json?extensions=true&start_date=2026-11-01T00:00:00Z")
	var list []map[string]any
	json.Unmarshal(reqs, &list)
	if len(list) == 0 {
		t.Fatal("no requests served")
	}
	id := list[0]["service_request_id"].(string)
	_, svcs := get(t, base+"services.json")
	var sl []map[string]any
	json.Unmarshal(svcs, &sl)
	code := sl[0]["service_code"].(string)
	for _, c2 := range []struct{ path, schema string }{
		{"services.json", "services.json"},
		{"services/" + url.PathEscape(code) + ".json", "service-definition.json"},
		{"requests.json", "requests.json"},
		{"requests.json?extensions=true&page=2&page_size=20", "requests.json"},
		{"requests.json?status=closed&service_code=" + url.QueryEscape(code), "requests.json"},
		{"requests/" + id + ".json", "requests.json"},
	} {
		sch, err := c.Compile("file:///schemas/" + c2.schema)
		if err != nil {
			t.Fatal(err)
		}
		code, body := get(t, base+c2.path)
		if code != 200 {
			t.Errorf("%s: HTTP %d %s", c2.path, code, body)
			continue
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", c2.path, err)
		}
		if err := sch.Validate(doc); err != nil {
			t.Errorf("%s does not validate against %s: %v", c2.path, c2.schema, err)
		}
	}
}

// TestWorkflowAndPost: a posted request gets a token, the token an id,
// and the request moves from open to closed as the clock runs.
func TestWorkflowAndPost(t *testing.T) {
	now := end.Add(24 * time.Hour)
	clock := func() time.Time { return now }
	s, h := newTestServer(t, Options{Now: clock, ClockSpeed: 3600}) // an hour a second
	base := h.URL + "/open311/v2/"
	code, body := get(t, base+"services.json")
	var sl []open311.Service
	json.Unmarshal(body, &sl)
	if code != 200 || len(sl) != 8 {
		t.Fatalf("services: HTTP %d, %d services", code, len(sl))
	}
	post := func(form url.Values) (int, []byte) {
		resp, err := http.PostForm(base+"requests.json", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, _ := post(url.Values{"service_code": {sl[0].Code}, "lat": {"42.33"}, "long": {"-71.06"}}); code != 403 {
		t.Errorf("POST without api_key: HTTP %d, want 403", code)
	}
	if code, body := post(url.Values{"api_key": {"sandbox-key"}, "service_code": {sl[0].Code}}); code != 400 || !strings.Contains(string(body), "location") {
		t.Errorf("POST without a location: HTTP %d %s", code, body)
	}
	code, body = post(url.Values{"api_key": {"sandbox-key"}, "service_code": {sl[0].Code}, "lat": {"42.33"}, "long": {"-71.06"}, "description": {"<b>deep</b> pothole"}})
	var tok []map[string]any
	json.Unmarshal(body, &tok)
	if code != 200 || len(tok) != 1 || tok[0]["token"] == nil {
		t.Fatalf("POST: HTTP %d %s", code, body)
	}
	_, body = get(t, base+"tokens/"+tok[0]["token"].(string)+".json")
	var ids []map[string]any
	json.Unmarshal(body, &ids)
	if len(ids) != 1 || ids[0]["service_request_id"] == nil {
		t.Fatalf("token lookup: %s", body)
	}
	id := ids[0]["service_request_id"].(string)
	status := func() string {
		_, b := get(t, base+"requests/"+id+".json")
		reqs, _, err := open311.ParseRequests(b)
		if err != nil || len(reqs) != 1 {
			t.Fatalf("GET one: %s %v", b, err)
		}
		return reqs[0].Status + "/" + reqs[0].StatusNotes
	}
	if got := status(); got != "open/Submitted" {
		t.Errorf("fresh request: %s", got)
	}
	now = now.Add(20 * time.Second) // 20 simulated hours
	if got := status(); !strings.HasPrefix(got, "open/In review") && !strings.HasPrefix(got, "closed") {
		t.Errorf("after 20 simulated hours: %s", got)
	}
	now = now.Add(400 * time.Second)
	if got := status(); got != "closed/Case resolved" && got != "open/In review: assigned to a crew" {
		t.Errorf("after 17 days: %s", got)
	}
	// XML: the same request, and errors in the spec's shape.
	_, xmlBody := get(t, base+"requests/"+id+".xml")
	if reqs, _, err := open311.ParseRequests(xmlBody); err != nil || len(reqs) != 1 || reqs[0].ID != id {
		t.Errorf("XML request: %v %s", err, xmlBody)
	}
	code, xmlErr := get(t, base+"requests/nope.xml")
	if errs := open311.ParseErrors(xmlErr); code != 404 || len(errs) != 1 || errs[0].Code != 404 {
		t.Errorf("XML 404: HTTP %d %s", code, xmlErr)
	}
	_ = s
}

// TestFilters checks the spec's filters and paging on the served requests.
func TestFilters(t *testing.T) {
	s, h := newTestServer(t, Options{})
	base := h.URL + "/open311/v2/requests.json?start_date=2026-11-09T00:00:00Z&end_date=2026-11-16T00:00:00Z"
	_, b := get(t, base)
	all, _, _ := open311.ParseRequests(b)
	from, to := time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	want := 0
	for _, r := range s.Requests() {
		if !r.Requested.Before(from) && !r.Requested.After(to) {
			want++
		}
	}
	if len(all) != want || want == 0 {
		t.Errorf("window holds %d, sandbox %d", len(all), want)
	}
	var paged []open311.Request
	for p := 1; ; p++ {
		_, b := get(t, base+"&page_size=25&page="+string(rune('0'+p/10))+string(rune('0'+p%10)))
		reqs, _, _ := open311.ParseRequests(b)
		if len(reqs) == 0 {
			break
		}
		paged = append(paged, reqs...)
	}
	if len(paged) != len(all) {
		t.Errorf("pages hold %d, the window %d", len(paged), len(all))
	}
	_, b = get(t, base+"&status=open")
	open, _, _ := open311.ParseRequests(b)
	for _, r := range open {
		if r.Status != "open" {
			t.Fatalf("status filter let %s through", r.Status)
		}
	}
	_, b = get(t, base+"&service_request_id="+all[0].ID+","+all[1].ID)
	if two, _, _ := open311.ParseRequests(b); len(two) != 2 {
		t.Errorf("id list gave %d", len(two))
	}
}

// TestDiscoveryRoundTrip reads the sandbox's discovery in both formats.
func TestDiscoveryRoundTrip(t *testing.T) {
	_, h := newTestServer(t, Options{})
	for _, f := range []string{"json", "xml"} {
		_, b := get(t, h.URL+"/open311/v2/discovery."+f)
		d, err := open311.ParseDiscovery(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		e, ok := d.GeoReportV2("test")
		if !ok || e.URL != h.URL+"/open311/v2" || len(e.Formats) != 2 {
			t.Errorf("%s discovery: %+v", f, d)
		}
	}
}
