package service

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/reports"
)

// Clock tells the time and waits; tests run it fast.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx ends (then it returns ctx's error).
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Server runs cycles on the config's schedule and serves the archive.
type Server struct {
	Runner *Runner
	Clock  Clock // default: the real clock
	Log    *slog.Logger
	// RetryAfter is how soon a failed cycle is tried again, before the
	// next scheduled time (default 1 hour).
	RetryAfter time.Duration

	mu      sync.Mutex
	running string          // the week of the cycle running now, "" when none
	cycles  map[Outcome]int // cycles run since the process started, by outcome
}

func (s *Server) clock() Clock {
	if s.Clock == nil {
		return realClock{}
	}
	return s.Clock
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Server) cycleCount(o Outcome) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cycles[o]
}

func (s *Server) archive() archive { return archive{s.Runner.Config.Archive.Dir} }

// ListenAndServe listens on the config's address, calls ready with the
// address it got, and serves the archive while running the schedule,
// until ctx ends: then it stops taking requests, abandons a running cycle
// (its work is rolled back, its staging folder removed) and returns.
func (s *Server) ListenAndServe(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", s.Runner.Config.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.Runner.Config.Server.Listen, err)
	}
	if !loopback(ln.Addr()) {
		s.log().Warn("serving beyond this machine: the archive is readable by anyone who can reach this address; put it behind a proxy with access control or listen on 127.0.0.1", "addr", ln.Addr().String())
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	return s.Serve(ctx, ln)
}

// loopback reports whether a listener's address is reachable only from
// this machine.
func loopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// Serve is ListenAndServe on a listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.Clock != nil {
		s.Runner.Now = s.Clock.Now
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	sched := make(chan struct{})
	go func() {
		defer close(sched)
		s.schedule(ctx)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(shut)
	<-sched // the running cycle, if any, has returned
	s.log().Info("stopped")
	return err
}

// schedule catches up, then runs a catch-up at each scheduled time,
// retrying a failure after RetryAfter.
func (s *Server) schedule(ctx context.Context) {
	cfg := s.Runner.Config
	sched, err := cron.ParseStandard(cfg.Schedule.Cron)
	if err != nil { // checked by LoadConfig
		s.log().Error("schedule", "err", err)
		return
	}
	retry := s.RetryAfter
	if retry == 0 {
		retry = time.Hour
	}
	for {
		failed := s.CatchUp(ctx) != nil
		if ctx.Err() != nil {
			return
		}
		now := s.clock().Now().In(cfg.Location())
		next := nextWake(sched, now, failed, retry)
		s.log().Info("next cycle", "at", next)
		if err := s.clock().Sleep(ctx, next.Sub(now)); err != nil {
			return
		}
	}
}

// minWake is the shortest wait between two cycles, whatever the schedule
// says: the scheduler never spins.
const minWake = time.Minute

// nextWake is when the scheduler wakes after a catch-up at now: the next
// scheduled time, or sooner to retry a failure, but never before minWake
// has passed, and at the retry interval when the schedule has no next time.
func nextWake(sched cron.Schedule, now time.Time, failed bool, retry time.Duration) time.Time {
	next := sched.Next(now)
	if next.IsZero() || (failed && now.Add(retry).Before(next)) {
		next = now.Add(retry)
	}
	return maxTime(next, now.Add(minWake))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// CatchUp runs a cycle for every week of the last catch_up_weeks complete
// weeks that the archive lacks, oldest first. A week that fails does not
// stop the weeks after it; the error joins every failure.
func (s *Server) CatchUp(ctx context.Context) error {
	cfg := s.Runner.Config
	last := LastCompleteWeek(s.clock().Now(), cfg.Location())
	var errs []error
	for i := min(cfg.Schedule.CatchUpWeeks, MaxCatchUpWeeks) - 1; i >= 0; i-- {
		w := equity311.Week(last.From.AddDate(0, 0, -7*i)).Label
		if s.archive().has(w) {
			continue
		}
		s.mu.Lock()
		s.running = w
		s.mu.Unlock()
		res, err := s.Runner.Run(ctx, w)
		s.mu.Lock()
		s.running = ""
		if s.cycles == nil {
			s.cycles = map[Outcome]int{}
		}
		s.cycles[res.Outcome(err)]++
		s.mu.Unlock()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// An older week without data is tried again at the next scheduled
		// time, not at the retry interval: it may never have had any.
		if err != nil && (i == 0 || !errors.Is(err, ErrNoData)) {
			errs = append(errs, fmt.Errorf("week %s: %w", w, err))
		}
	}
	return errors.Join(errs...)
}

// Handler serves the archive read-only.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", s.metricsHandler())
	mux.HandleFunc("GET /status.json", s.status)
	mux.HandleFunc("GET /latest/", s.latest)
	mux.Handle("GET /reports/", http.StripPrefix("/reports/", http.HandlerFunc(s.reports)))
	return securityHeaders(canonicalOnly(mux))
}

// canonicalOnly answers 404 to a path that is not in its clean form once
// decoded ("//", "." or ".." elements, backslashes, NUL) instead of the
// mux's redirect to the cleaned path: such a request was not for a
// published file.
func canonicalOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.ContainsAny(p, "\\\x00") || strings.Contains(p, "//") || strings.Contains(p, "/./") || strings.Contains(p, "/../") ||
			strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..") {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// csp is the pages' Content-Security-Policy: nothing loads from
// anywhere, and the only scripts that run are those whose hashes are
// given (a published report's own, recorded when it was written).
func csp(scripts []string) string {
	src := "'none'"
	if len(scripts) > 0 {
		src = strings.Join(scripts, " ")
	}
	return "default-src 'none'; script-src " + src + "; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
}

// securityHeaders keeps the pages from being framed or sniffed and from
// loading anything but themselves.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", csp(nil))
		h.ServeHTTP(w, r)
	})
}

// reports serves the files of published weeks only: the first path
// element must name a week whose summary.json is there (a week is
// published whole, by a rename, with its summary), no element may be
// ".." or hidden (after decoding), and the file is opened through an
// os.Root of that week's folder, which refuses absolute paths and
// symbolic links that lead out of it. Anything else is a 404: the
// archive's root, its staging folders, state and lock, unpublished weeks.
func (s *Server) reports(w http.ResponseWriter, r *http.Request) {
	week, rest, _ := strings.Cut(r.URL.Path, "/")
	if !weekPattern.MatchString(week) || !cleanRelative(rest) || !s.archive().has(week) {
		http.NotFound(w, r)
		return
	}
	root, err := os.OpenRoot(s.archive().weekDir(week))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer root.Close()
	if _, err := root.Stat(cmp.Or(strings.TrimSuffix(rest, "/"), ".")); err != nil {
		http.NotFound(w, r) // missing, or a link out of the week
		return
	}
	page := strings.TrimSuffix(rest, "/")
	if page == "" || strings.HasSuffix(rest, "/") {
		page = strings.TrimPrefix(page+"/index.html", "/")
	}
	var sum Summary
	if err := readJSON(filepath.Join(s.archive().weekDir(week), "summary.json"), &sum); err == nil {
		w.Header().Set("Content-Security-Policy", csp(sum.ScriptHashes[page]))
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawPath = "/"+rest, ""
	http.FileServerFS(notFoundFS{root.FS()}).ServeHTTP(w, r2)
}

// cleanRelative reports whether a decoded path inside a week may be
// served: no "..", no hidden element, no backslash or NUL, not absolute.
func cleanRelative(p string) bool {
	if strings.ContainsAny(p, "\\\x00") || strings.HasPrefix(p, "/") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || strings.HasPrefix(seg, ".") {
			return false
		}
	}
	return true
}

// notFoundFS answers every error opening a file as "not found": a link
// that leads out of the week is refused by os.Root, and must read as a
// missing file (404), not as a server failure (500).
type notFoundFS struct{ fsys fs.FS }

func (n notFoundFS) Open(name string) (fs.File, error) {
	f, err := n.fsys.Open(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return f, nil
}

func (s *Server) latest(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/latest/")
	if !cleanRelative(rest) {
		http.NotFound(w, r)
		return
	}
	weeks, err := s.archive().weeks()
	var last *Summary
	for i := len(weeks) - 1; err == nil && i >= 0; i-- {
		if len(weeks[i].Reports) > 0 {
			last = &weeks[i]
			break
		}
	}
	if last == nil {
		http.Error(w, "no week published yet", http.StatusNotFound)
		return
	}
	if rest == "" && !slices.Contains(last.Reports, reports.KindWeekly) {
		rest = kindDir(last.Reports[0]) + "/"
	}
	http.Redirect(w, r, "/reports/"+last.Week+"/"+rest, http.StatusFound)
}

// statusDoc is /status.json.
type statusDoc struct {
	City    string    `json:"city"`
	Running string    `json:"running,omitempty"`
	State   State     `json:"state"`
	Weeks   []Summary `json:"weeks"`
}

func (s *Server) statusDoc() (statusDoc, error) {
	d := statusDoc{City: s.Runner.Config.City.Name}
	s.mu.Lock()
	d.Running = s.running
	s.mu.Unlock()
	var err error
	var corrupt bool
	if d.State, corrupt, err = s.archive().state(); err != nil {
		return d, err
	}
	if corrupt {
		s.log().Warn("state.json could not be read; showing the state rebuilt from the published weeks (the next cycle sets the file aside)")
	}
	d.Weeks, err = s.archive().weeks()
	return d, err
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	d, err := s.statusDoc()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(d)
}

// indexPage is the archive's front page.
type indexPage struct {
	City      string
	Running   string
	Last      *CycleResult
	Failures  int
	Weeks     []indexWeek
	NoData    []CycleResult // weeks found without a request, newest first
	Sparkline template.HTML
	Sources   []SourceResult
}

type indexWeek struct {
	Summary
	Share, Interval, WeekShare string
	Links                      []indexLink
}

type indexLink struct{ Kind, Href string }

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	d, err := s.statusDoc()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	p := indexPage{City: d.City, Running: d.Running, Last: d.State.Last, Failures: d.State.Failures}
	var series []float64
	for i := len(d.Weeks) - 1; i >= 0; i-- {
		sm := d.Weeks[i]
		iw := indexWeek{Summary: sm, Share: pct(sm.AppShare.Value), Interval: pct(sm.AppShare.Lo) + "–" + pct(sm.AppShare.Hi),
			WeekShare: pct(sm.WeekShare.Value)}
		for _, k := range sm.Reports {
			href := "/reports/" + sm.Week + "/"
			if d := kindDir(k); d != "" {
				href += d + "/"
			}
			iw.Links = append(iw.Links, indexLink{k, href})
		}
		p.Weeks = append(p.Weeks, iw)
	}
	for _, sm := range d.Weeks {
		v := math.NaN()
		if sm.WeekShare.Value != nil {
			v = *sm.WeekShare.Value
		}
		series = append(series, v)
	}
	p.Sparkline = sparkline(series, 240, 40)
	for _, nd := range d.State.NoData {
		p.NoData = append(p.NoData, nd)
	}
	sort.Slice(p.NoData, func(i, j int) bool { return p.NoData[i].Week > p.NoData[j].Week })
	names := make([]string, 0, len(d.State.Sources))
	for n := range d.State.Sources {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p.Sources = append(p.Sources, d.State.Sources[n])
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := indexTemplate.Execute(w, p); err != nil {
		s.log().Warn("index page", "err", err)
	}
}

func pct(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100**v)
}

// sparkline draws the weekly app shares as an inline SVG polyline; weeks
// without a share break the line.
func sparkline(vs []float64, w, h int) template.HTML {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		if !math.IsNaN(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if len(vs) < 2 || math.IsInf(lo, 0) {
		return ""
	}
	if hi-lo < 0.01 {
		lo, hi = lo-0.005, hi+0.005
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="spark" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="weekly app share, oldest to newest, from %.1f%% to %.1f%%">`, w, h, w, h, 100*lo, 100*hi)
	var pts []string
	flush := func() {
		if len(pts) > 0 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="#3b528b" stroke-width="1.5" points="%s"/>`, strings.Join(pts, " "))
			pts = nil
		}
	}
	for i, v := range vs {
		if math.IsNaN(v) {
			flush()
			continue
		}
		x := float64(i) * float64(w-4) / float64(len(vs)-1)
		y := float64(h-4) - (v-lo)/(hi-lo)*float64(h-8)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x+2, y+2))
	}
	flush()
	b.WriteString("</svg>")
	return template.HTML(b.String()) // numbers only, built here
}

var indexTemplate = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>equity311 — {{.City}}: weekly reports</title>
<style>
 body { font-family: system-ui, sans-serif; margin: 0; color: #1b1b1b; line-height: 1.5; }
 main { max-width: 900px; margin: 0 auto; padding: 1rem; }
 table { border-collapse: collapse; width: 100%; font-size: .9rem; }
 th, td { padding: .3rem .5rem; border-bottom: 1px solid #e3e3e3; text-align: left; }
 td.n { text-align: right; white-space: nowrap; }
 .fail { background: #fdecea; border-left: 4px solid #b3261e; padding: .5rem 1rem; }
 .scroll { overflow-x: auto; }
</style></head>
<body><main>
<h1>{{.City}}: who reports through the app, week by week</h1>
{{if .Running}}<p>A cycle for {{.Running}} is running now.</p>{{end}}
{{with .Last}}{{if .NoData}}<div class="fail"><b>No data for {{.Week}}</b>: no source gave a single request in that week, so nothing was published for it (an outage is not an empty week). See the sources below; the next cycle tries again.</div>{{else if .Interrupted}}<p>The last cycle ({{.Week}}) was interrupted when the service stopped; the next one starts afresh.</p>{{else if not .OK}}<div class="fail"><b>The last cycle ({{.Week}}) failed</b>: {{.Error}}. The reports below are from earlier cycles; the next cycle tries again.</div>{{end}}{{end}}
{{if .Sparkline}}<p>App share of resident requests, week by week: {{.Sparkline}}</p>{{end}}
{{if .Weeks}}<p><a href="/latest/">The latest week's report</a></p>
<div class="scroll"><table><thead><tr><th>Week</th><th>Reports</th><th class="n">Requests (13 weeks)</th><th class="n">App share (13 weeks)</th><th class="n">95% interval</th><th class="n">App share (the week)</th></tr></thead><tbody>
{{range .Weeks}}<tr><td>{{.Week}}</td><td>{{range $i, $l := .Links}}{{if $i}} · {{end}}<a href="{{$l.Href}}">{{$l.Kind}}</a>{{end}}</td><td class="n">{{.Tickets}}</td><td class="n">{{.Share}}</td><td class="n">{{.Interval}}</td><td class="n">{{.WeekShare}}</td></tr>
{{end}}</tbody></table></div>
{{else}}<p>No week has been published yet.</p>{{end}}
{{if .NoData}}<h2>Weeks with no data</h2>
<div class="scroll"><table><thead><tr><th>Week</th><th>Status</th><th>Checked</th><th>Sources then</th></tr></thead><tbody>
{{range .NoData}}<tr><td>{{.Week}}</td><td>no data: not published</td><td>{{.Finished.Format "2006-01-02 15:04 MST"}}</td><td>{{range $i, $s := .Sources}}{{if $i}}; {{end}}{{$s.Name}}: {{if $s.OK}}ok, {{$s.Loaded}} rows{{else}}failed{{end}}{{end}}</td></tr>
{{end}}</tbody></table></div>{{end}}
{{if .Sources}}<h2>Sources at the last cycle</h2>
<div class="scroll"><table><thead><tr><th>Source</th><th>Kind</th><th>Status</th><th class="n">Rows loaded</th><th class="n">Rows rejected</th><th>Newest request</th></tr></thead><tbody>
{{range .Sources}}<tr><td>{{.Name}}</td><td>{{.Kind}}</td><td>{{if .OK}}ok{{else}}failed: {{.Error}}{{end}}</td><td class="n">{{.Loaded}}</td><td class="n">{{.Rejected}}</td><td>{{if not .Newest.IsZero}}{{.Newest.Format "2006-01-02 15:04 MST"}}{{end}}</td></tr>
{{end}}</tbody></table></div>{{end}}
<p><a href="/status.json">status.json</a> · <a href="/metrics">metrics</a></p>
</main></body></html>
`))
