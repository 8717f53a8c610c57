package reports

import (
	"context"
	"testing"

	"github.com/equity311/equity311/internal/browser"
)

// TestReportInChromium opens a report whose area names are HTML in
// headless Chromium: the charts draw, nothing is fetched, and the names do
// not run as code.
func TestReportInChromium(t *testing.T) {
	browser.Path(t)
	st, res := hostileCity(t)
	files, err := Write(context.Background(), st, res, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := browser.Open(t, "file://"+files.HTML, browser.Options{Eval: map[string]string{"pwned": "window.pwned || 0"}})
	if len(p.Exceptions) > 0 {
		t.Errorf("JavaScript exceptions: %v", p.Exceptions)
	}
	if len(p.Requests) == 0 {
		t.Error("no requests seen: the network listener is not working")
	}
	if ext := p.External(); len(ext) > 0 {
		t.Errorf("the report fetched from outside the file: %v", ext)
	}
	if p.Eval["pwned"] != float64(0) {
		t.Errorf("an area name ran as code: window.pwned = %v", p.Eval["pwned"])
	}
	// Two areas on the map: at least two filled paths.
	if n := p.Charts["map-0"]; n < 2 {
		t.Errorf("map drew %d paths, want at least one per area; charts %v", n, p.Charts)
	}
	if _, ok := p.Charts["chart-rank"]; !ok {
		t.Errorf("ranking chart not rendered; charts %v", p.Charts)
	}
}
