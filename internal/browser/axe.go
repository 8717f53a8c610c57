package browser

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeDir is where .ci/run installs axe-core (npm ci), beside this file.
func axeDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "axe")
}

// AxeScript returns axe-core's script, or skips the test (fails it when
// RequiredEnv is set) when it is not installed.
func AxeScript(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(axeDir(), "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		msg := "axe-core is not installed (cd internal/browser/testdata/axe && npm ci): skipping the accessibility check"
		if os.Getenv(RequiredEnv) != "" {
			t.Fatal(msg + ", but " + RequiredEnv + " is set")
		}
		t.Skip(msg)
	}
	return string(b)
}

// axeRunJS runs axe-core's WCAG 2.1 A and AA rules on the whole document
// and keeps the serious and critical violations.
const axeRunJS = `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})
  .then(r => ({
    passes: r.passes.length,
    violations: r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
      .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — ' + v.nodes.length + ' elements, e.g. ' +
        v.nodes.slice(0, 3).map(n => n.target.join(' ') + (n.failureSummary ? ' [' + n.failureSummary.replace(/\s+/g, ' ').slice(0, 160) + ']' : '')).join('; '))
  }))`

// axeResult is what axeRunJS returns.
type axeResult struct {
	Passes     int      `json:"passes"`
	Violations []string `json:"violations"`
}

// axe injects axe-core into the page through DevTools (the page's own
// content security policy does not apply to it) and records what it finds.
func (s *session) axe(url string) {
	t := s.t
	t.Helper()
	script := AxeScript(t)
	if _, err := chromedp.Run(s.ctx, chromedp.Evaluate[bool](script+"\n;true")); err != nil {
		t.Fatalf("load axe-core into %s: %v", url, err)
	}
	res, err := chromedp.Run(s.ctx, chromedp.Evaluate[axeResult](axeRunJS, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe-core on %s: %v", url, err)
	}
	s.mu.Lock()
	s.page.Violations, s.page.AxePasses = res.Violations, res.Passes
	s.mu.Unlock()
}
