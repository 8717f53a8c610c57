package reports

import (
	"testing"

	"github.com/equity311/equity311/internal/browser"
)

// TestReportInChromium opens both kinds of report for a city whose names
// are HTML in headless Chromium: the charts draw, nothing is fetched, and
// no name runs as code.
func TestReportInChromium(t *testing.T) {
	browser.Path(t)
	res := hostileCity(t)
	for _, kind := range []string{KindWeekly, KindResearch} {
		files, err := Write(res, t.TempDir(), Options{Kind: kind})
		if err != nil {
			t.Fatal(err)
		}
		p := browser.Open(t, "file://"+files.HTML, browser.Options{Eval: map[string]string{"pwned": "window.pwned || 0"}})
		if len(p.Exceptions) > 0 || len(p.Console) > 0 {
			t.Errorf("%s: JavaScript exceptions %q, console %q", kind, p.Exceptions, p.Console)
		}
		if len(p.Requests) == 0 {
			t.Errorf("%s: no requests seen: the network listener is not working", kind)
		}
		if ext := p.External(); len(ext) > 0 {
			t.Errorf("%s: the report fetched from outside the file: %v", kind, ext)
		}
		if p.Eval["pwned"] != float64(0) {
			t.Errorf("%s: a name from the data ran as code: window.pwned = %v", kind, p.Eval["pwned"])
		}
		// Two areas on the map: at least two filled paths.
		if n := p.Charts["map-0"]; n < 2 {
			t.Errorf("%s: map drew %d paths, want at least one per area; charts %v", kind, n, p.Charts)
		}
		if _, ok := p.Charts["chart-rank"]; !ok {
			t.Errorf("%s: ranking chart not rendered; charts %v", kind, p.Charts)
		}
	}
}
