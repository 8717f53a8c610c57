package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/equity311/equity311/internal/loadtest"
	"github.com/equity311/equity311/internal/synthcity"
	"github.com/equity311/equity311/open311"
)

// TestBadPaging: page and page_size that are not whole numbers in range
// are a 400 with the spec's error body (the handler used to panic on a
// page past int64, and took other junk as page 1).
func TestBadPaging(t *testing.T) {
	_, h := newTestServer(t, Options{})
	for _, q := range []string{"page=99999999999999999999", "page=-1", "page=abc", "page=0", "page_size=0",
		"page_size=-5", "page=1&page_size=99999999999", "page=1.5"} {
		code, b := get(t, h.URL+"/open311/v2/requests.json?"+q)
		var errs []open311.APIError
		if code != http.StatusBadRequest || json.Unmarshal(b, &errs) != nil || len(errs) != 1 || errs[0].Code != 400 {
			t.Errorf("%s: HTTP %d %s; want 400 with an error list", q, code, b)
		}
	}
	code, b := get(t, h.URL+"/open311/v2/requests.xml?page=99999999999999999999")
	if code != http.StatusBadRequest || !strings.Contains(string(b), "<errors><error><code>400</code>") {
		t.Errorf("XML: HTTP %d %s", code, b)
	}
	if code, _ := get(t, h.URL+"/open311/v2/requests.json?page=2&page_size=10"); code != http.StatusOK {
		t.Errorf("good paging: HTTP %d", code)
	}
}

// TestPostLimits: a body over MaxBodyBytes is refused with 413; stored text
// is clipped.
func TestPostLimits(t *testing.T) {
	s, h := newTestServer(t, Options{})
	code := s.opt.Services[0].Code
	form := url.Values{"api_key": {"sandbox-key"}, "service_code": {code}, "lat": {"42.33"}, "long": {"-71.08"},
		"description": {strings.Repeat("d", 9<<20)}}
	resp, err := http.PostForm(h.URL+"/open311/v2/requests.json", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a 9 MB description: HTTP %d, want 413", resp.StatusCode)
	}
	form.Set("description", strings.Repeat("d", 50000)) // 50 KB: under the body cap, over the text cap
	resp, err = http.PostForm(h.URL+"/open311/v2/requests.json", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a 50 KB description: HTTP %d", resp.StatusCode)
	}
	s.mu.Lock()
	d := s.posted[len(s.posted)-1].seed.Request.Description
	s.mu.Unlock()
	if len(d) != MaxTextBytes || !strings.HasPrefix(d, "ddd") {
		t.Errorf("stored description of %d bytes", len(d))
	}
}

// TestSlowBodyIsCut: a client that sends its POST body slowly is cut off
// by the server's read timeout instead of holding the connection.
func TestSlowBodyIsCut(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the read timeout")
	}
	s, err := FromCity(context.Background(), synthcity.Options{Seed: 4, Tickets: 100, Weeks: 1, End: end}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := s.HTTPServer()
	hs.ReadTimeout = 300 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	defer hs.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /open311/v2/requests.json HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n")
	start := time.Now()
	closed := false
	for time.Since(start) < 5*time.Second {
		if _, err := c.Write([]byte("a")); err != nil {
			closed = true
			break
		}
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(make([]byte, 512)); err == io.EOF {
			closed = true
			break
		}
	}
	if !closed {
		t.Errorf("a slow body held the connection for %v", time.Since(start))
	}
}

// TestSandboxUnderLoad runs 200 concurrent clients paging through the
// sandbox on loopback for EQUITY311_LOAD_SECONDS (default 3; CI runs 20)
// and checks that no request fails and the process stays under 1 GB.
func TestSandboxUnderLoad(t *testing.T) {
	seconds := loadtest.Seconds(t, 3)
	now := end.Add(24 * time.Hour)
	s, err := FromCity(context.Background(), synthcity.Options{Seed: 3, Tickets: 100_000, Weeks: 12, End: end},
		Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	hs := s.HTTPServer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String() + "/open311/v2/requests.json"
	r := loadtest.Run(200, seconds, func(hc *http.Client, c, i int) error {
		day := end.AddDate(0, 0, -1-(c+i)%80)
		q := fmt.Sprintf("?start_date=%s&end_date=%s&page=%d&page_size=100&extensions=true",
			day.Format(time.RFC3339), day.Add(24*time.Hour).Format(time.RFC3339), 1+i%3)
		if c%10 == 0 {
			q = fmt.Sprintf("?updated_after=%s&page=%d&page_size=50", end.Add(-48*time.Hour).Format(time.RFC3339), 1+i%5)
		}
		return loadtest.Get(hc, base+q, http.StatusOK)
	})
	loadtest.Check(t, r, 1<<30)
}
