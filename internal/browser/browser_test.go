package browser

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestOpenSeesWhatAPageDoes checks the helper itself on a page that does
// everything a report must not: fetch from the network, log an error,
// throw, and stick out of a phone's width. The network must be off on every
// Chromium CI can meet (148 drops a network state set before navigation,
// 156 keeps it): the external image and script are seen, and their loads
// fail, in the browser's network log and in the page itself.
func TestOpenSeesWhatAPageDoes(t *testing.T) {
	Path(t)
	dir := t.TempDir()
	page := `<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"></head><body><main>
<section><h2>A</h2><pre>` + strings.Repeat("x", 200) + `</pre></section>
<div id="c" class="chart"><svg><path d="M0 0L1 1"/><path d="M1 1L2 2"/></svg></div>
<img id="img" src="http://example.com/pixel.png" onerror="window.imgFailed = true" onload="window.imgLoaded = true">
<script src="https://example.com/lib.js" onerror="window.scriptFailed = true" onload="window.scriptLoaded = true"></script>
<script>console.error("bad thing"); document.getElementById("c").setAttribute("data-rendered", "true"); setTimeout(function () { null.x; }, 0);</script>
</main></body></html>`
	path := filepath.Join(dir, "p.html")
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "p.png")
	p := Open(t, "file://"+path, Options{Width: 390, Screenshot: shot, Eval: map[string]string{
		"online":   "navigator.onLine",
		"img":      "[window.imgFailed === true, window.imgLoaded === true, document.getElementById('img').naturalWidth]",
		"script":   "[window.scriptFailed === true, window.scriptLoaded === true]",
		"fetchErr": "fetch('https://example.com/data.json').then(() => 'reached', e => 'failed: ' + e.name)",
	}})
	t.Logf("Chromium %s: navigator.onLine = %v after load; failed loads %v", p.Version, p.Eval["online"], p.Failed)
	if !strings.Contains(p.Version, "/") {
		t.Errorf("browser version %q, want Product/N.N", p.Version)
	}
	for _, u := range []string{"http://example.com/pixel.png", "https://example.com/lib.js"} {
		if !slices.Contains(p.External(), u) {
			t.Errorf("the external load of %s was not seen; requests %v", u, p.Requests)
		}
		if reason, ok := p.Failed[u]; !ok || !strings.HasPrefix(reason, "net::ERR_") {
			t.Errorf("the load of %s did not fail (failed loads %v)", u, p.Failed)
		}
	}
	if got := fmt.Sprint(p.Eval["img"]); got != "[true false 0]" {
		t.Errorf("image [failed loaded naturalWidth] = %s, want [true false 0]: the page reached the network", got)
	}
	if got := fmt.Sprint(p.Eval["script"]); got != "[true false]" {
		t.Errorf("script [failed loaded] = %s, want [true false]: the page reached the network", got)
	}
	if got := fmt.Sprint(p.Eval["fetchErr"]); got != "failed: TypeError" {
		t.Errorf("fetch after load: %s, want failed: TypeError", got)
	}
	if p.Eval["online"] != false {
		t.Errorf("navigator.onLine = %v after load, want false", p.Eval["online"])
	}
	if len(p.Console) == 0 || !strings.Contains(p.Console[0], "bad thing") {
		t.Errorf("console %q, want the logged error", p.Console)
	}
	if p.Charts["c"] != 2 {
		t.Errorf("charts %v, want c with 2 paths", p.Charts)
	}
	if p.Overflow == 0 || len(p.OverflowBy) == 0 || !strings.HasPrefix(p.OverflowBy[0], "pre") {
		t.Errorf("overflow %d by %v, want the 200-character pre", p.Overflow, p.OverflowBy)
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 1000 {
		t.Errorf("screenshot: %v", err)
	}
}

// TestAxeSeesInaccessiblePages runs the accessibility check on a page with
// the faults a report could have — no language, an image without
// alternative text, a button without a name, grey text on grey — and on
// the same page mended: the first shows each rule, the second none.
func TestAxeSeesInaccessiblePages(t *testing.T) {
	Path(t)
	AxeScript(t)
	dir := t.TempDir()
	write := func(name, html string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(html), 0o644); err != nil {
			t.Fatal(err)
		}
		return "file://" + path
	}
	const chart = `<div id="c" class="chart" role="img" aria-label="A chart"><svg><path d="M0 0L1 1"/></svg></div><script>document.getElementById("c").setAttribute("data-rendered", "true")</script>`
	bad := write("bad.html", `<!DOCTYPE html><html><head><title>t</title></head><body><main><h1>Report</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<button></button>
<p style="color:#999;background:#aaa">Faint text</p>`+chart+`</main></body></html>`)
	good := write("good.html", `<!DOCTYPE html><html lang="en"><head><title>t</title></head><body><main><h1>Report</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="A dot">
<button>Show</button>
<p style="color:#222;background:#fff">Clear text</p>`+chart+`</main></body></html>`)
	p := Open(t, bad, Options{Axe: true})
	got := strings.Join(p.Violations, "\n")
	for _, rule := range []string{"html-has-lang", "image-alt", "button-name", "color-contrast"} {
		if !strings.Contains(got, rule+" (") {
			t.Errorf("axe missed %s on the faulty page; it found:\n%s", rule, got)
		}
	}
	if p := Open(t, good, Options{Axe: true}); len(p.Violations) > 0 || p.AxePasses == 0 {
		t.Errorf("the mended page: %d rules passed, violations:\n%s", p.AxePasses, strings.Join(p.Violations, "\n"))
	}
}
