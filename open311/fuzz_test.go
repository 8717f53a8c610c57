package open311

import (
	"math"
	"testing"
)

// FuzzParseRequests reads arbitrary bytes as a GET requests answer: it
// must never panic, and every request it returns either carries its error
// or has an id, a requested time and finite coordinates.
func FuzzParseRequests(f *testing.F) {
	for _, s := range []string{
		`[{"service_request_id":"1","requested_datetime":"2026-11-20T10:00:00Z","lat":"42.3","long":-71.1,"extended_attributes":{"channel":"iphone"}}]`,
		`[{"service_request_id":2,"requested_datetime":"not a date","long":1e999}]`,
		`{"service_requests":[{"service_request_id":"3","requested_datetime":"2026-11-20T10:00:00-05:00"}]}`,
		`<?xml version="1.0"?><service_requests><request><service_request_id>4</service_request_id><requested_datetime>2026-11-20T10:00:00Z</requested_datetime><lat></lat><extended_attributes/></request></service_requests>`,
		`<!DOCTYPE html><html><body>maintenance</body></html>`,
		`null`, `[1, "x", null]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		reqs, skipped, err := ParseRequests(data)
		if err != nil {
			return
		}
		if skipped < 0 {
			t.Fatal("negative skipped")
		}
		for _, r := range reqs {
			if r.Err != nil {
				continue
			}
			if r.ID == "" || r.Requested.IsZero() {
				t.Fatalf("a request without id or time: %+v", r)
			}
			for _, v := range []*float64{r.Lat, r.Lon} {
				if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
					t.Fatalf("a coordinate that is not a number: %+v", r)
				}
			}
		}
		ParseServices(data)
		ParseErrors(data)
		ParseDiscovery(data)
	})
}
