// Package fetch gets data from city APIs over HTTP the way a polite,
// persistent client should: a minimum interval between requests, retries
// with exponential backoff on network errors, timeouts and 5xx answers,
// Retry-After honoured on 429 and 503, and secrets (API keys, app tokens)
// kept out of every error and log line.
package fetch

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Client is a retrying HTTP client. The zero value is not usable; use New.
type Client struct {
	// HTTP does the requests (default: 60 s timeout).
	HTTP *http.Client
	// Retries is how many times a failed request is tried again.
	Retries int
	// BaseDelay is the first backoff; it doubles per retry up to MaxDelay.
	BaseDelay, MaxDelay time.Duration
	// MinInterval is the least time between two requests (a rate limit).
	MinInterval time.Duration
	// Sleep waits (tests replace it); it returns early with ctx's error.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock (tests replace it).
	Now func() time.Time
	// Log receives one line per retry.
	Log *slog.Logger
	// MaxRetryAfter is the longest Retry-After obeyed (default
	// DefaultMaxRetryAfter): a server asking for more ends the request
	// with ErrRetryTooLong, since waiting holds the cycle and coming back
	// sooner than asked is rude.
	MaxRetryAfter time.Duration
	// MaxBytes caps a response body (default DefaultMaxBytes); a larger
	// answer is an error, read no further than the cap.
	MaxBytes int64

	mu      sync.Mutex
	last    time.Time
	secrets []string
}

// DefaultMaxBytes is the default cap on a response body.
const DefaultMaxBytes = 64 << 20

// DefaultMaxRetryAfter is the default MaxRetryAfter.
const DefaultMaxRetryAfter = 5 * time.Minute

// ErrRetryTooLong is a Retry-After longer than Client.MaxRetryAfter.
var ErrRetryTooLong = errors.New("the server asks to wait longer than the limit")

// ErrTooLarge is a response body over Client.MaxBytes.
var ErrTooLarge = errors.New("response larger than the limit")

// ErrRedirect is a redirect to another host: the client does not follow
// it (credentials in the query would go along).
var ErrRedirect = errors.New("redirect to another host refused")

// New returns a client with sensible defaults: 6 retries, backoff from 1 s
// to 60 s, no rate limit, bodies up to DefaultMaxBytes, redirects followed
// only within the same host and never with a Referer.
func New() *Client {
	return &Client{
		HTTP:      &http.Client{Timeout: 60 * time.Second, CheckRedirect: SameHostRedirects},
		Retries:   6,
		BaseDelay: time.Second,
		MaxDelay:  60 * time.Second,
		Sleep:     sleep,
		Now:       time.Now,
		Log:       slog.New(slog.DiscardHandler),
	}
}

// SameHostRedirects is an http.Client CheckRedirect that follows at most
// 5 redirects within the scheme and host of the first request, and never
// sends a Referer (the first URL may carry an API key).
func SameHostRedirects(req *http.Request, via []*http.Request) error {
	req.Header.Del("Referer")
	if len(via) >= 5 {
		return errors.New("more than 5 redirects")
	}
	first := via[0].URL
	if req.URL.Host != first.Host || req.URL.Scheme != first.Scheme {
		return fmt.Errorf("%w: %s://%s", ErrRedirect, req.URL.Scheme, req.URL.Host)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Secret registers a string (an API key, a token) to redact from errors
// and logs.
func (c *Client) Secret(s string) {
	if s == "" {
		return
	}
	c.mu.Lock()
	c.secrets = append(c.secrets, s)
	c.mu.Unlock()
}

// Redact removes registered secrets and the values of query parameters
// that carry keys from s.
func (c *Client) Redact(s string) string {
	c.mu.Lock()
	secrets := append([]string(nil), c.secrets...)
	c.mu.Unlock()
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, "REDACTED")
		s = strings.ReplaceAll(s, url.QueryEscape(sec), "REDACTED")
	}
	return s
}

// StatusError is an HTTP answer that is not worth retrying (or the last
// one after the retries ran out).
type StatusError struct {
	Code int
	Body string // the start of the body
	URL  string // redacted
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: HTTP %d: %s", shorten(e.URL, maxURLInError), e.Code, e.Body)
}

// maxURLInError is the most of a URL an error message shows.
const maxURLInError = 300

// shorten cuts s to about n bytes (at a character's start), saying how
// much was left out.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	k := n
	for k > 0 && !utf8.RuneStart(s[k]) {
		k--
	}
	return fmt.Sprintf("%s… (%d bytes more)", s[:k], len(s)-k)
}

// Get fetches url and returns the body of a 2xx answer. hdr adds request
// headers (their values are never logged).
func (c *Client) Get(ctx context.Context, rawURL string, hdr http.Header) ([]byte, error) {
	return c.Do(ctx, http.MethodGet, rawURL, hdr, nil)
}

// Do sends a request with an optional body (re-sent on each retry).
func (c *Client) Do(ctx context.Context, method, rawURL string, hdr http.Header, body []byte) ([]byte, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		if err := c.wait(ctx); err != nil {
			return nil, err
		}
		b, retryAfter, err := c.once(ctx, method, rawURL, hdr, body)
		if err == nil {
			return b, nil
		}
		var se *StatusError
		if errors.As(err, &se) && se.Code != http.StatusTooManyRequests && se.Code < 500 ||
			errors.Is(err, ErrTooLarge) || errors.Is(err, ErrRedirect) {
			return nil, err // trying again will not help
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		lastErr = err
		if attempt >= c.Retries {
			return nil, fmt.Errorf("giving up after %d attempts: %w", attempt+1, lastErr)
		}
		d := c.BaseDelay << attempt
		if d > c.MaxDelay || d <= 0 {
			d = c.MaxDelay
		}
		if limit := cmp.Or(c.MaxRetryAfter, DefaultMaxRetryAfter); retryAfter > limit {
			return nil, fmt.Errorf("%w: %v asked, %v at most (max_wait): %w", ErrRetryTooLong, retryAfter.Round(time.Second), limit, lastErr)
		}
		if retryAfter > d {
			d = retryAfter
		}
		c.Log.Warn("retrying", "url", c.Redact(rawURL), "attempt", attempt+1, "wait", d, "error", lastErr)
		if err := c.Sleep(ctx, d); err != nil {
			return nil, err
		}
	}
}

// wait keeps MinInterval between requests.
func (c *Client) wait(ctx context.Context) error {
	c.mu.Lock()
	now := c.Now()
	next := c.last.Add(c.MinInterval)
	d := next.Sub(now)
	if d < 0 {
		d = 0
	}
	c.last = now.Add(d)
	c.mu.Unlock()
	if d > 0 {
		return c.Sleep(ctx, d)
	}
	return ctx.Err()
}

func (c *Client) once(ctx context.Context, method, rawURL string, hdr http.Header, body []byte) ([]byte, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return nil, 0, errors.New(c.Redact(err.Error()))
	}
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if errors.Is(err, ErrRedirect) {
			return nil, 0, fmt.Errorf("GET %s: %w", c.Redact(rawURL), ErrRedirect)
		}
		return nil, 0, errors.New(c.Redact(err.Error()))
	}
	defer resp.Body.Close()
	limit := c.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	if resp.ContentLength > limit {
		return nil, 0, fmt.Errorf("GET %s: %d bytes announced: %w of %d bytes", c.Redact(rawURL), resp.ContentLength, ErrTooLarge, limit)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: read body: %s", c.Redact(rawURL), c.Redact(err.Error()))
	}
	if int64(len(b)) > limit {
		return nil, 0, fmt.Errorf("GET %s: %w of %d bytes", c.Redact(rawURL), ErrTooLarge, limit)
	}
	if resp.StatusCode/100 == 2 {
		return b, 0, nil
	}
	snippet := string(b)
	if len(snippet) > 200 {
		snippet = snippet[:200] + "…"
	}
	return nil, retryAfter(resp.Header.Get("Retry-After"), c.Now()), &StatusError{Code: resp.StatusCode, Body: c.Redact(strings.TrimSpace(snippet)), URL: c.Redact(rawURL)}
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && s >= 0 {
		return time.Duration(min(s, math.MaxInt64/int64(time.Second))) * time.Second
	} else if errors.Is(err, strconv.ErrRange) {
		return time.Duration(math.MaxInt64)
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now)
	}
	return 0
}

// GetJSON fetches url and decodes its JSON body into v, keeping numbers
// as json.Number so that ids and codes keep all their digits.
func (c *Client) GetJSON(ctx context.Context, rawURL string, hdr http.Header, v any) error {
	b, err := c.Get(ctx, rawURL, hdr)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("GET %s: bad JSON: %w", c.Redact(rawURL), err)
	}
	return nil
}
