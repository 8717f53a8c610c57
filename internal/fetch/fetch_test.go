package fetch

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testClient records the waits instead of sleeping.
func testClient(waits *[]time.Duration) *Client {
	c := New()
	c.Sleep = func(ctx context.Context, d time.Duration) error { *waits = append(*waits, d); return ctx.Err() }
	return c
}

func TestRetriesAndRetryAfter(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
		case 2:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			w.Write([]byte(`{"ok": 12345678901234567890}`))
		}
	}))
	defer srv.Close()
	var waits []time.Duration
	c := testClient(&waits)
	var v map[string]any
	if err := c.GetJSON(context.Background(), srv.URL+"/x", nil, &v); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 3 {
		t.Errorf("%d requests, want 3", n.Load())
	}
	if len(waits) != 2 || waits[0] != time.Second || waits[1] != 7*time.Second {
		t.Errorf("waits %v, want [1s 7s] (backoff, then Retry-After)", waits)
	}
	if got := v["ok"]; got.(interface{ String() string }).String() != "12345678901234567890" {
		t.Errorf("number lost digits: %v", got)
	}
}

func TestClientErrorIsNotRetriedAndSecretsAreRedacted(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte("bad key " + r.URL.Query().Get("api_key")))
	}))
	defer srv.Close()
	var waits []time.Duration
	c := testClient(&waits)
	c.Secret("s3cr3t-key")
	_, err := c.Get(context.Background(), srv.URL+"/requests.json?api_key=s3cr3t-key", nil)
	if err == nil || n.Load() != 1 {
		t.Fatalf("err %v after %d requests; want one failed request", err, n.Load())
	}
	if strings.Contains(err.Error(), "s3cr3t-key") || !strings.Contains(err.Error(), "REDACTED") {
		t.Errorf("error leaks the key: %v", err)
	}
}

func TestGivesUpAfterRetries(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	var waits []time.Duration
	c := testClient(&waits)
	c.Retries = 3
	if _, err := c.Get(context.Background(), srv.URL, nil); err == nil || !strings.Contains(err.Error(), "4 attempts") {
		t.Fatalf("want a give-up error after 4 attempts, got %v", err)
	}
	if len(waits) != 3 || waits[2] != 4*time.Second {
		t.Errorf("waits %v, want 1s 2s 4s", waits)
	}
}

func TestMinInterval(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) }))
	defer srv.Close()
	var waits []time.Duration
	c := testClient(&waits)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Now = func() time.Time { return now }
	c.MinInterval = 6 * time.Second // 10 requests a minute
	for i := 0; i < 3; i++ {
		if _, err := c.Get(context.Background(), srv.URL, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(waits) != 2 || waits[0] != 6*time.Second || waits[1] != 12*time.Second {
		t.Errorf("waits %v with a frozen clock, want 6s then 12s", waits)
	}
}

// TestRedirectsKeepTheKeyHome: a redirect to another host is refused (the
// key in the query would go along), a same-host redirect is followed, and
// no Referer is ever sent.
func TestRedirectsKeepTheKeyHome(t *testing.T) {
	var leaked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Add(1)
		w.Write([]byte("[]"))
	}))
	defer other.Close()
	var referer atomic.Value
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		referer.Store(r.Header.Get("Referer"))
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/x?"+r.URL.RawQuery, http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/final", http.StatusFound)
		default:
			w.Write([]byte("ok"))
		}
	}))
	defer home.Close()
	var waits []time.Duration
	c := testClient(&waits)
	c.Secret("s3cret")
	_, err := c.Get(context.Background(), home.URL+"/away?api_key=s3cret", nil)
	if !errors.Is(err, ErrRedirect) || strings.Contains(err.Error(), "s3cret") || leaked.Load() != 0 {
		t.Errorf("cross-host redirect: %v; the other host was asked %d times", err, leaked.Load())
	}
	b, err := c.Get(context.Background(), home.URL+"/here?api_key=s3cret", nil)
	if err != nil || string(b) != "ok" {
		t.Fatalf("same-host redirect: %q, %v", b, err)
	}
	if r, _ := referer.Load().(string); r != "" {
		t.Errorf("a Referer was sent: %q", r)
	}
	if len(waits) != 0 {
		t.Errorf("retried a refused redirect: %v", waits)
	}
}

// TestResponseSizeCap: an answer over MaxBytes fails at once, announced or not.
func TestResponseSizeCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush() // no Content-Length
		}
		w.Write([]byte(strings.Repeat("x", 5000)))
	}))
	defer srv.Close()
	var waits []time.Duration
	c := testClient(&waits)
	c.MaxBytes = 1000
	for _, p := range []string{"/announced", "/chunked"} {
		if _, err := c.Get(context.Background(), srv.URL+p, nil); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %v, want ErrTooLarge", p, err)
		}
	}
	c.MaxBytes = 10000
	if b, err := c.Get(context.Background(), srv.URL+"/announced", nil); err != nil || len(b) != 5000 {
		t.Errorf("under the cap: %d bytes, %v", len(b), err)
	}
}

// TestRetryAfterBeyondTheLimit: a Retry-After longer than MaxRetryAfter
// (a billion seconds, a number too large for a Duration, a date next
// year) ends the request at once with ErrRetryTooLong, without waiting;
// one within the limit is obeyed.
func TestRetryAfterBeyondTheLimit(t *testing.T) {
	for _, ra := range []string{"999999999", "99999999999999999999", time.Now().AddDate(1, 0, 0).UTC().Format(http.TimeFormat)} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", ra)
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		var waits []time.Duration
		c := testClient(&waits)
		_, err := c.Get(context.Background(), srv.URL, nil)
		srv.Close()
		if !errors.Is(err, ErrRetryTooLong) || len(waits) != 0 {
			t.Errorf("Retry-After %s: err %v after waits %v, want ErrRetryTooLong at once", ra, err, waits)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "90")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	var waits []time.Duration
	c := testClient(&waits)
	c.Retries = 1
	c.MaxRetryAfter = 2 * time.Minute
	if _, err := c.Get(context.Background(), srv.URL, nil); errors.Is(err, ErrRetryTooLong) || len(waits) != 1 || waits[0] != 90*time.Second {
		t.Errorf("Retry-After 90 with a 2m limit: %v, waits %v", err, waits)
	}
}

// TestLongURLInErrorIsShortened: an error for a URL of 100,000 bytes
// shows its start and how much was left out, not the whole URL.
func TestLongURLInErrorIsShortened(t *testing.T) {
	e := &StatusError{URL: "http://h/x?id=" + strings.Repeat("9", 100_000), Code: 414, Body: "URI Too Long"}
	if msg := e.Error(); len(msg) > 400 || !strings.Contains(msg, "bytes more") || !strings.Contains(msg, "HTTP 414") {
		t.Errorf("error of %d bytes: %.200s", len(msg), msg)
	}
}
