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

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
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
	Requests []string // every URL the page requested
	// Failed maps each requested URL whose load failed to Chromium's
	// error text (net::ERR_PROXY_CONNECTION_FAILED,
	// net::ERR_INTERNET_DISCONNECTED, …).
	Failed     map[string]string
	Version    string         // the browser's product and version, e.g. Chrome/148.0.7778.167
	Exceptions []string       // uncaught JavaScript exceptions
	Console    []string       // console.error and console.warn messages
	Charts     map[string]int // id of each rendered chart → SVG paths drawn in it
	Eval       map[string]any // results of the extra expressions
	LoadTime   time.Duration  // navigation start to all charts rendered
	// Overflow is how many CSS pixels the page is wider than the window
	// (0 when nothing needs sideways scrolling but scroll boxes), and
	// OverflowBy the outermost elements that stick out.
	Overflow   int
	OverflowBy []string
	// Overlaps lists pairs of top-level page blocks (figures, tables,
	// headings) whose boxes overlap: a layout broken by a chart's size.
	Overlaps []string
}

// Options configure Open.
type Options struct {
	Width int               // window width in CSS pixels; 0 means 1300
	Eval  map[string]string // name → JavaScript expression to evaluate after load (a promise is awaited)
	// Screenshot, when set, is a file the full page is saved to as PNG.
	Screenshot string
}

// overlapJS finds overlapping boxes among the page's blocks.
const overlapJS = `(() => {
  const els = Array.from(document.querySelectorAll('main > section > figure, main > section > .scroll, main > section > h2, main > section > h3, main > section > p, main > section > ul'))
    .filter(e => e.offsetParent !== null);
  const out = [];
  for (let i = 0; i + 1 < els.length; i++) {
    const a = els[i].getBoundingClientRect(), b = els[i+1].getBoundingClientRect();
    if (b.top < a.bottom - 1 && a.height > 0 && b.height > 0) {
      out.push((els[i].id || els[i].tagName) + ' / ' + (els[i+1].id || els[i+1].tagName) + ' (' + Math.round(a.bottom - b.top) + ' px)');
    }
  }
  return out;
})()`

// Open loads url in a fresh headless Chromium with the network off, waits
// until every chart element carries data-rendered, measures the layout, and
// evaluates the given expressions.
//
// The network is off in two ways. Every http(s) request goes to a proxy
// that is not there, so it fails whatever the browser's version (Page.Failed
// records each failure). And the DevTools network state is set offline both
// before and after the navigation: Chromium 156 keeps the first through the
// navigation, Chromium 148 drops it there, so the second makes
// navigator.onLine false on both once the page has loaded.
func Open(t testing.TB, url string, opt Options) Page {
	t.Helper()
	if opt.Width == 0 {
		opt.Width = 1300
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Path(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		// The network is off: every http(s) request goes to a proxy that
		// is not there (and is still seen by the request listener).
		chromedp.ProxyServer("127.0.0.1:9"),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
		chromedp.WindowSize(opt.Width, 1800),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	var mu sync.Mutex
	p := Page{Failed: map[string]string{}}
	urls := map[network.RequestID]string{}
	ctx, cancel2 := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			p.Requests = append(p.Requests, e.Request.URL)
			urls[e.RequestID] = e.Request.URL
		case *network.EventLoadingFailed:
			if u, ok := urls[e.RequestID]; ok {
				p.Failed[u] = e.ErrorText
			}
		case *runtime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			p.Exceptions = append(p.Exceptions, msg)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
				}
				p.Console = append(p.Console, string(e.Type)+": "+strings.Join(parts, " "))
			}
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
	version, err := chromedp.CallBrowser(ctx, cdpbrowser.GetVersion, cdp.Empty{})
	if err != nil {
		t.Fatalf("ask Chromium its version: %v", err)
	}
	p.Version = version.Product
	t.Logf("browser: %s", version.Product)
	offline := func() error {
		_, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	}
	if err := offline(); err != nil {
		t.Fatalf("take the page offline: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(opt.Width), 900, chromedp.EmulateScale(1))); err != nil {
		t.Fatalf("set the viewport to %d px: %v", opt.Width, err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("load %s in Chromium: %v", url, err)
	}
	if err := offline(); err != nil {
		t.Fatalf("take the page offline after loading it: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll('.chart').length > 0 &&
			document.querySelectorAll('.chart').length === document.querySelectorAll('.chart[data-rendered]').length`,
		chromedp.WithPollingTimeout(8*time.Second))); err != nil {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("wait for the charts of %s: %v (exceptions %q, console %q)", url, err, p.Exceptions, p.Console)
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
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Math.max(0, document.documentElement.scrollWidth - window.innerWidth)`))
	if err != nil {
		t.Fatalf("measure overflow: %v", err)
	}
	p.Overflow = overflow
	if overflow > 0 {
		by, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
  const clipped = e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) { if (getComputedStyle(a).overflowX !== 'visible') { return true; } } return false; };
  return Array.from(document.querySelectorAll('body *'))
    .filter(e => !e.closest('svg') && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible' && !clipped(e) && e.clientWidth > 0)
    .filter((e, _, all) => !all.some(o => o !== e && e.contains(o)))
    .slice(0, 5)
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + e.scrollWidth + ' px wide in ' + e.clientWidth);
})()`))
		if err != nil {
			t.Fatalf("find what overflows: %v", err)
		}
		p.OverflowBy = by
	}
	overlaps, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](overlapJS))
	if err != nil {
		t.Fatalf("measure overlaps: %v", err)
	}
	p.Overlaps = overlaps
	if opt.Screenshot != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
		if err != nil {
			t.Fatalf("screenshot %s: %v", url, err)
		}
		if err := os.WriteFile(opt.Screenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.Eval = map[string]any{}
	for name, expr := range opt.Eval {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr, chromedp.EvalAwaitPromise))
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
