package service

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// requirePromtoolEnv makes a missing promtool a failure instead of a skip
// (.ci/run sets it and installs Debian's prometheus package).
const requirePromtoolEnv = "EQUITY311_REQUIRE_PROMTOOL"

// TestMetricsPassPromtool serves /metrics from a published archive whose
// state names a source with a quote, a backslash, a tab, a newline and
// U+2028, and checks the answer three ways: Prometheus's own text parser
// reads every metric back with the label exactly as written, the
// service's metrics and the standard go_/process_ collectors are there,
// and `promtool check metrics` (the format and its naming conventions)
// finds nothing to say.
func TestMetricsPassPromtool(t *testing.T) {
	r, _ := published(t)
	ar := archive{r.Config.Archive.Dir}
	st, _, err := ar.state()
	if err != nil {
		t.Fatal(err)
	}
	odd := "odd \"name\" \\ with\ttab\nline\u2028sep"
	st.Sources[odd] = SourceResult{Name: odd, Kind: "folder", OK: true, Loaded: 7, Newest: cityEnd}
	if err := ar.saveState(st); err != nil {
		t.Fatal(err)
	}
	s := &Server{Runner: r, Clock: fixedClock(cityEnd.Add(30 * time.Hour))}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	code, body, h := get(t, http.DefaultClient, ts.URL+"/metrics")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %q", code, h.Get("Content-Type"))
	}

	parser := expfmt.NewTextParser(model.LegacyValidation) // classic names: what every Prometheus accepts
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("Prometheus's text parser refuses /metrics: %v\n%s", err, body)
	}
	for _, name := range []string{"equity311_cycles_total", "equity311_archive_reports", "equity311_source_up",
		"equity311_source_feed_lag_seconds", "go_goroutines", "process_resident_memory_bytes"} {
		if families[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
	loaded := map[string]float64{}
	for _, m := range families["equity311_source_rows_loaded"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "source" {
				loaded[l.GetValue()] = m.GetGauge().GetValue()
			}
		}
	}
	if loaded[odd] != 7 || len(loaded) != 2 {
		t.Errorf("rows loaded by source, read back: %v", loaded)
	}
	if f := families["equity311_cycles_total"]; f != nil && f.GetType().String() != "COUNTER" {
		t.Errorf("equity311_cycles_total is a %v", f.GetType())
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv(requirePromtoolEnv) != "" {
			t.Fatalf("promtool is not installed and %s is set (CI installs Debian's prometheus package)", requirePromtoolEnv)
		}
		t.Skip("promtool not installed (apt-get install prometheus); the format was checked by Prometheus's parser only")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil || strings.TrimSpace(out.String()) != "" {
		t.Errorf("promtool check metrics: %v\n%s", err, out.String())
	}
}
