package service

import (
	"net/http"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsHandler serves /metrics through prometheus/client_golang: the
// service's own metrics, read from the archive's state at each scrape,
// beside the standard go_ and process_ collectors. The registry is the
// handler's own (no global default registry).
func (s *Server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newArchiveCollector(s),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError})
}

// archiveCollector turns the archive's state into metrics at each scrape,
// so a second process reading the same archive reports the same figures.
type archiveCollector struct {
	s              *Server
	lastSuccess    *prometheus.Desc
	lastOK         *prometheus.Desc
	lastDuration   *prometheus.Desc
	failures       *prometheus.Desc
	cycles         *prometheus.Desc
	running        *prometheus.Desc
	weeks          *prometheus.Desc
	sourceUp       *prometheus.Desc
	sourceLoaded   *prometheus.Desc
	sourceRejected *prometheus.Desc
	sourceLag      *prometheus.Desc
}

func newArchiveCollector(s *Server) *archiveCollector {
	return &archiveCollector{
		s: s,
		lastSuccess: prometheus.NewDesc("equity311_last_success_timestamp_seconds",
			"Unix time the last successful cycle finished (0: never).", nil, nil),
		lastOK: prometheus.NewDesc("equity311_last_cycle_success",
			"1 if the last cycle published its week, else 0.", nil, nil),
		lastDuration: prometheus.NewDesc("equity311_last_cycle_duration_seconds",
			"How long the last cycle took.", nil, nil),
		failures: prometheus.NewDesc("equity311_consecutive_failures",
			"Cycles failed since the last success.", nil, nil),
		cycles: prometheus.NewDesc("equity311_cycles_total",
			"Cycles run since the service started, by outcome (published, partial, no_data, failed, busy, interrupted).",
			[]string{"outcome"}, nil),
		running: prometheus.NewDesc("equity311_cycle_running",
			"1 while a cycle runs.", nil, nil),
		weeks: prometheus.NewDesc("equity311_archive_reports",
			"Weekly reports published in the archive (named _reports, not _weeks: promtool reads a _weeks suffix as a time unit that should be seconds).", nil, nil),
		sourceUp: prometheus.NewDesc("equity311_source_up",
			"1 if the source's last sync or load succeeded.", []string{"source", "kind"}, nil),
		sourceLoaded: prometheus.NewDesc("equity311_source_rows_loaded",
			"Rows the source loaded in the last cycle.", []string{"source", "kind"}, nil),
		sourceRejected: prometheus.NewDesc("equity311_source_rows_rejected",
			"Rows the source rejected in the last cycle.", []string{"source", "kind"}, nil),
		sourceLag: prometheus.NewDesc("equity311_source_feed_lag_seconds",
			"Now minus the newest request the source has given.", []string{"source", "kind"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *archiveCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.lastSuccess, c.lastOK, c.lastDuration, c.failures,
		c.cycles, c.running, c.weeks, c.sourceUp, c.sourceLoaded, c.sourceRejected, c.sourceLag} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *archiveCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	d, err := s.statusDoc()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.weeks, err)
		return
	}
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	gauge(c.lastSuccess, unix(d.State.LastSuccess))
	ok, dur := 0.0, 0.0
	if d.State.Last != nil {
		ok = boolFloat(d.State.Last.OK)
		dur = d.State.Last.Seconds
	}
	gauge(c.lastOK, ok)
	gauge(c.lastDuration, dur)
	gauge(c.failures, float64(d.State.Failures))
	for _, o := range []Outcome{OutcomePublished, OutcomePartial, OutcomeNoData, OutcomeFailed, OutcomeBusy, OutcomeInterrupted} {
		ch <- prometheus.MustNewConstMetric(c.cycles, prometheus.CounterValue, float64(s.cycleCount(o)), string(o))
	}
	gauge(c.running, boolFloat(d.Running != ""))
	gauge(c.weeks, float64(len(d.Weeks)))
	names := make([]string, 0, len(d.State.Sources))
	for n := range d.State.Sources {
		names = append(names, n)
	}
	sort.Strings(names)
	now := s.clock().Now()
	for _, n := range names {
		src := d.State.Sources[n]
		gauge(c.sourceUp, boolFloat(src.OK), n, src.Kind)
		gauge(c.sourceLoaded, float64(src.Loaded), n, src.Kind)
		gauge(c.sourceRejected, float64(src.Rejected), n, src.Kind)
		if !src.Newest.IsZero() {
			gauge(c.sourceLag, now.Sub(src.Newest).Seconds(), n, src.Kind)
		}
	}
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
