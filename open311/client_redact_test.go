package open311

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/equity311/equity311/internal/fetch"
)

// TestEveryQueryParameterIsRedacted: an endpoint's query parameters are
// kept out of logs and errors whatever they are called (token=…, not
// only api_key=…), but for the GeoReport parameters known to be public.
func TestEveryQueryParameterIsRedacted(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	defer ts.Close()
	h := fetch.New()
	h.Retries = 0
	c := &Client{Endpoint: ts.URL + "/open311/v2?token=s3cret-token&session=s3cret-session&jurisdiction_id=city.gov&key=s3cret-key", HTTP: h}
	if err := c.Prepare(); err != nil {
		t.Fatal(err)
	}
	_, err := c.Services(context.Background())
	for _, where := range []string{c.Redacted(), c.Name(), err.Error()} {
		if strings.Contains(where, "s3cret") {
			t.Errorf("a secret is shown: %s", where)
		}
	}
	if !strings.Contains(c.Redacted(), "jurisdiction_id=city.gov") || !strings.Contains(c.Redacted(), "token=") {
		t.Errorf("Redacted %q: want the parameter names, public values kept", c.Redacted())
	}
}
