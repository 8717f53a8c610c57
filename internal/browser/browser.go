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
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
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
	// Printing (with Options.PDF): the PDF's size, and each chart's drawn
	// width as a share of the printed page's content width.
	PDFBytes    int
	PrintWidths map[string]float64
	// Accessibility (with Options.Axe): axe-core's WCAG 2.1 A and AA
	// violations of serious or critical impact, each as "rule (impact):
	// help — first elements", and how many rules passed.
	Violations []string
	AxePasses  int
}

// Options configure Open.
type Options struct {
	Width int               // window width in CSS pixels; 0 means 1300
	Eval  map[string]string // name → JavaScript expression to evaluate after load (a promise is awaited)
	// Screenshot, when set, is a file the full page is saved to as PNG.
	Screenshot string
	// PDF, when set, is a file the page is printed to (US Letter, as a
	// reader's Ctrl+P: print media, beforeprint dispatched first).
	PDF string
	// Axe runs axe-core on the loaded page (see Page.Violations).
	Axe bool
	// NoCharts is for a page without charts (a comparison of cities):
	// Open does not wait for charts to draw.
	NoCharts bool
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
	s := start(t, opt.Width)
	defer s.close()
	s.load(url, opt.Width, !opt.NoCharts)
	s.measure(url)
	if opt.Screenshot != "" {
		png, err := chromedp.Run(s.ctx, chromedp.FullScreenshot(90))
		if err != nil {
			t.Fatalf("screenshot %s: %v", url, err)
		}
		if err := os.WriteFile(opt.Screenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if opt.Axe {
		s.axe(url)
	}
	if opt.PDF != "" {
		s.print(url, opt.PDF)
	}
	s.page.Eval = map[string]any{}
	for name, expr := range opt.Eval {
		v, err := chromedp.Run(s.ctx, chromedp.Evaluate[any](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("evaluate %s: %v", name, err)
		}
		s.page.Eval[name] = v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.page
}

// session is one headless Chromium with one tab, and what its listener
// has seen of the page.
type session struct {
	t     testing.TB
	ctx   context.Context
	close func()
	mu    sync.Mutex
	page  Page
	urls  map[network.RequestID]string
}

// start launches Chromium with the network off (a dead proxy) and a
// listener that records requests, failed loads, exceptions and console
// errors.
func start(t testing.TB, width int) *session {
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
		// The network is off: every http(s) request goes to a proxy that
		// is not there (and is still seen by the request listener).
		chromedp.ProxyServer("127.0.0.1:9"),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
		chromedp.WindowSize(width, 1800),
		chromedp.UserDataDir(t.TempDir()),
	)
	s := &session{t: t, page: Page{Failed: map[string]string{}}, urls: map[network.RequestID]string{}}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel2 := chromedp.NewContext(actx, chromedp.WithListener(s.listen))
	ctx, cancel3 := context.WithTimeout(ctx, 60*time.Second)
	s.ctx, s.close = ctx, func() { cancel3(); cancel2(); cancel() }
	if err := chromedp.Do(ctx); err != nil {
		s.close()
		t.Fatalf("start Chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		s.close()
		t.Fatalf("enable network events: %v", err)
	}
	version, err := chromedp.CallBrowser(ctx, cdpbrowser.GetVersion, cdp.Empty{})
	if err != nil {
		s.close()
		t.Fatalf("ask Chromium its version: %v", err)
	}
	s.page.Version = version.Product
	t.Logf("browser: %s", version.Product)
	return s
}

// listen records what the page does.
func (s *session) listen(ev any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &s.page
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		p.Requests = append(p.Requests, e.Request.URL)
		s.urls[e.RequestID] = e.Request.URL
	case *network.EventLoadingFailed:
		if u, ok := s.urls[e.RequestID]; ok {
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
}

// offline sets the DevTools network state offline.
func (s *session) offline() error {
	_, err := chromedp.Call(s.ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
	return err
}

// load navigates to url at the given width, offline before and after the
// navigation, and (when charts is set) waits until there are charts and
// every one carries data-rendered.
func (s *session) load(url string, width int, charts bool) {
	t := s.t
	t.Helper()
	if err := s.offline(); err != nil {
		t.Fatalf("take the page offline: %v", err)
	}
	if err := chromedp.Do(s.ctx, chromedp.EmulateViewport(int64(width), 900, chromedp.EmulateScale(1))); err != nil {
		t.Fatalf("set the viewport to %d px: %v", width, err)
	}
	if err := chromedp.Do(s.ctx, chromedp.Navigate(url), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("load %s in Chromium: %v", url, err)
	}
	if err := s.offline(); err != nil {
		t.Fatalf("take the page offline after loading it: %v", err)
	}
	if !charts {
		return
	}
	if _, err := chromedp.Run(s.ctx, chromedp.Poll[bool](`document.querySelectorAll('.chart').length > 0 &&
			document.querySelectorAll('.chart').length === document.querySelectorAll('.chart[data-rendered]').length`,
		chromedp.WithPollingTimeout(8*time.Second))); err != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		t.Fatalf("wait for the charts of %s: %v (exceptions %q, console %q)", url, err, s.page.Exceptions, s.page.Console)
	}
}

// overflowJS names the outermost elements wider than their box.
const overflowJS = `(() => {
  const clipped = e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) { if (getComputedStyle(a).overflowX !== 'visible') { return true; } } return false; };
  return Array.from(document.querySelectorAll('body *'))
    .filter(e => !e.closest('svg') && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible' && !clipped(e) && e.clientWidth > 0)
    .filter((e, _, all) => !all.some(o => o !== e && e.contains(o)))
    .slice(0, 5)
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + e.scrollWidth + ' px wide in ' + e.clientWidth);
})()`

// measure counts each chart's paths, the time to draw, the overflow and
// the overlapping blocks.
func (s *session) measure(url string) {
	t := s.t
	t.Helper()
	charts, err := chromedp.Run(s.ctx, chromedp.Evaluate[map[string]int](`(() => { const o = {}; document.querySelectorAll('.chart[data-rendered]').forEach(el => { o[el.id] = el.querySelectorAll('svg path').length; }); return o; })()`))
	if err != nil {
		t.Fatalf("count chart paths of %s: %v", url, err)
	}
	ms, err := chromedp.Run(s.ctx, chromedp.Evaluate[float64](`performance.now()`))
	if err != nil {
		t.Fatal(err)
	}
	overflow, err := chromedp.Run(s.ctx, chromedp.Evaluate[int](`Math.max(0, document.documentElement.scrollWidth - window.innerWidth)`))
	if err != nil {
		t.Fatalf("measure overflow: %v", err)
	}
	var by []string
	if overflow > 0 {
		if by, err = chromedp.Run(s.ctx, chromedp.Evaluate[[]string](overflowJS)); err != nil {
			t.Fatalf("find what overflows: %v", err)
		}
	}
	overlaps, err := chromedp.Run(s.ctx, chromedp.Evaluate[[]string](overlapJS))
	if err != nil {
		t.Fatalf("measure overlaps: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.page.Charts, s.page.LoadTime = charts, time.Duration(ms*float64(time.Millisecond))
	s.page.Overflow, s.page.OverflowBy, s.page.Overlaps = overflow, by, overlaps
}

// printWidthsJS measures each chart's drawn width (its SVG) against the
// width of the page's main column.
const printWidthsJS = `(() => {
  const main = document.querySelector('main') || document.body;
  const w = main.getBoundingClientRect().width - parseFloat(getComputedStyle(main).paddingLeft) - parseFloat(getComputedStyle(main).paddingRight);
  const o = {};
  document.querySelectorAll('.chart[data-rendered]').forEach(el => {
    const svg = el.querySelector('svg');
    o[el.id] = svg ? svg.getBoundingClientRect().width / w : 0;
  });
  return o;
})()`

// printColumn is the width of US Letter's printed column in CSS px.
const printColumn = (85 - 2*4) * 96 / 10

// print prints the page as a reader would: print media, the page's
// beforeprint handlers run (Chromium's printToPDF does not fire them),
// then Page.printToPDF on US Letter with backgrounds; it records the
// charts' widths in print and the PDF's size, and saves it to path.
func (s *session) print(url, path string) {
	t := s.t
	t.Helper()
	// The printed column: US Letter less Chromium's default margins of
	// 0.4 in each side, at 96 CSS px an inch.
	if err := chromedp.Do(s.ctx, chromedp.EmulateViewport(printColumn, 1000, chromedp.EmulateScale(1))); err != nil {
		t.Fatalf("set the viewport to the printed column: %v", err)
	}
	if _, err := chromedp.Call(s.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatalf("emulate print media for %s: %v", url, err)
	}
	if _, err := chromedp.Run(s.ctx, chromedp.Evaluate[bool](`window.dispatchEvent(new Event('beforeprint')); true`)); err != nil {
		t.Fatalf("run the beforeprint handlers of %s: %v", url, err)
	}
	time.Sleep(300 * time.Millisecond) // the charts redraw at their printed size
	widths, err := chromedp.Run(s.ctx, chromedp.Evaluate[map[string]float64](printWidthsJS))
	if err != nil {
		t.Fatalf("measure the printed charts of %s: %v", url, err)
	}
	yes := true
	res, err := chromedp.Call(s.ctx, page.PrintToPDF, page.PrintToPDFParams{PrintBackground: &yes, PaperWidth: 8.5, PaperHeight: 11})
	if err != nil {
		t.Fatalf("print %s to PDF: %v", url, err)
	}
	if err := os.WriteFile(path, res.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.page.PDFBytes, s.page.PrintWidths = len(res.Data), widths
	s.mu.Unlock()
	if _, err := chromedp.Call(s.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatalf("end print media: %v", err)
	}
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
