// Package browser opens reports in headless Chromium for tests: it checks
// what the page drew, what it fetched and what it threw.
package browser

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// RequiredEnv, when set (CI sets it), turns a missing browser from a skip
// into a failure.
const RequiredEnv = "EQUITY311_REQUIRE_BROWSER"

// Path returns the Chromium executable, or skips the test (fails it when
// RequiredEnv is set) when there is none.
func Path(t testing.TB) string {
	t.Helper()
	for _, name := range []string{os.Getenv("EQUITY311_CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (install Debian's chromium, or set EQUITY311_CHROMIUM): skipping the browser test"
	if os.Getenv(RequiredEnv) != "" {
		t.Fatal(msg + ", but " + RequiredEnv + " is set")
	}
	t.Skip(msg)
	return ""
}

// Page is what a loaded page showed.
type Page struct {
	Requests   []string       // every URL the page requested
	Exceptions []string       // uncaught JavaScript exceptions
	Charts     map[string]int // id of each rendered chart → SVG paths drawn in it
	Eval       map[string]any // results of the extra expressions
	LoadTime   time.Duration  // navigation start to all charts rendered
}

// Open loads url in a fresh headless Chromium, waits until every chart
// element carries data-rendered, and evaluates the given expressions.
func Open(t testing.TB, url string, exprs map[string]string) Page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Path(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1300, 1800),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	var mu sync.Mutex
	var p Page
	ctx, cancel2 := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			p.Requests = append(p.Requests, e.Request.URL)
		case *runtime.EventExceptionThrown:
			p.Exceptions = append(p.Exceptions, e.ExceptionDetails.Text)
		}
	}))
	defer cancel2()
	ctx, cancel3 := context.WithTimeout(ctx, 60*time.Second)
	defer cancel3()

	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("enable network events: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("load %s in Chromium: %v", url, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll('.chart').length > 0 &&
			document.querySelectorAll('.chart').length === document.querySelectorAll('.chart[data-rendered]').length`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("wait for the charts of %s: %v", url, err)
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]int](`(() => { const o = {}; document.querySelectorAll('.chart[data-rendered]').forEach(el => { o[el.id] = el.querySelectorAll('svg path').length; }); return o; })()`))
	if err != nil {
		t.Fatalf("count chart paths: %v", err)
	}
	ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.now()`))
	if err != nil {
		t.Fatal(err)
	}
	p.Charts = charts
	p.LoadTime = time.Duration(ms * float64(time.Millisecond))
	p.Eval = map[string]any{}
	for name, expr := range exprs {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", name, err)
		}
		p.Eval[name] = v
	}
	mu.Lock()
	defer mu.Unlock()
	return p
}

// External returns the requests that left the file: anything but file:
// and data: URLs.
func (p Page) External() []string {
	var out []string
	for _, u := range p.Requests {
		if !strings.HasPrefix(u, "file:") && !strings.HasPrefix(u, "data:") {
			out = append(out, u)
		}
	}
	return out
}
