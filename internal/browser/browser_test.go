package browser

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestOpenSeesWhatAPageDoes checks the helper itself on a page that does
// everything a report must not: fetch from the network, log an error,
// throw, and stick out of a phone's width.
func TestOpenSeesWhatAPageDoes(t *testing.T) {
	Path(t)
	dir := t.TempDir()
	page := `<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"></head><body><main>
<section><h2>A</h2><pre>` + strings.Repeat("x", 200) + `</pre></section>
<div id="c" class="chart"><svg><path d="M0 0L1 1"/><path d="M1 1L2 2"/></svg></div>
<img src="http://example.com/pixel.png">
<script>console.error("bad thing"); document.getElementById("c").setAttribute("data-rendered", "true"); setTimeout(function () { null.x; }, 0);</script>
</main></body></html>`
	path := filepath.Join(dir, "p.html")
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "p.png")
	p := Open(t, "file://"+path, Options{Width: 390, Screenshot: shot, Eval: map[string]string{"online": "navigator.onLine"}})
	if !slices.Contains(p.External(), "http://example.com/pixel.png") {
		t.Errorf("the external image was not seen; requests %v", p.Requests)
	}
	if p.Eval["online"] != false {
		t.Errorf("navigator.onLine = %v, want false", p.Eval["online"])
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
