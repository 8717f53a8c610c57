package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/analysis"
	"github.com/equity311/equity311/analysis/results"
	"github.com/equity311/equity311/geo"
	"github.com/equity311/equity311/geo/boundary"
	"github.com/equity311/equity311/ingest/census"
	"github.com/equity311/equity311/ingest/source"
	"github.com/equity311/equity311/internal/fetch"
	"github.com/equity311/equity311/reports"
	"github.com/equity311/equity311/store"
)

// CycleResult is what one cycle did.
type CycleResult struct {
	Week     string    `json:"week"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Seconds  float64   `json:"seconds"`
	OK       bool      `json:"ok"`    // the week's reports were published
	Error    string    `json:"error"` // why not, when not
	// NoData is a week in which no source gave a request: not published.
	NoData bool `json:"no_data,omitempty"`
	// Interrupted is a cycle abandoned because the process was stopped.
	Interrupted bool           `json:"interrupted,omitempty"`
	Sources     []SourceResult `json:"sources"`
}

// SourceResult is one source's part of a cycle. A source that fails does
// not stop the others: its error is kept here and the cycle goes on.
type SourceResult struct {
	Name     string    `json:"name"`
	Kind     string    `json:"kind"`
	OK       bool      `json:"ok"`
	Error    string    `json:"error,omitempty"`
	Loaded   int64     `json:"rows_loaded"`   // rows loaded in the cycle
	Rejected int64     `json:"rows_rejected"` // rows rejected in the cycle
	Files    int       `json:"files,omitempty"`
	Newest   time.Time `json:"newest,omitzero"` // the newest request it has given (feed lag = now − newest)
}

// Runner runs cycles for a config.
type Runner struct {
	Config *Config
	Now    func() time.Time // default time.Now
	Log    *slog.Logger     // default: discard
	// HTTP makes the client for a feed; default fetch.New. The source sets
	// its rate limit on it.
	HTTP func() *fetch.Client
	// Progress draws a dump load's progress (bytes) on a terminal; nil
	// draws nothing.
	Progress func(label string) (update func(done, total int64), finish func())
	// OpenWait is how long a cycle waits for the database while another
	// process (a researcher's connection) holds it (default 2 minutes).
	OpenWait time.Duration
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.DiscardHandler)
}

// LastCompleteWeek is the ISO week before the one t falls in, in loc.
func LastCompleteWeek(t time.Time, loc *time.Location) equity311.Period {
	return equity311.Week(equity311.Week(t.In(loc)).From.AddDate(0, 0, -1))
}

// ErrNoData is a week in which no source gave a single request: nothing
// is published, so that an outage is never reported as an empty week.
var ErrNoData = errors.New("no requests in the week from any source; nothing published")

// ErrInterrupted is a cycle abandoned because the process was asked to
// stop (SIGINT, SIGTERM): not a failure of the cycle.
var ErrInterrupted = errors.New("the cycle was interrupted (the service was asked to stop); the next one starts afresh")

// Outcome names a cycle's result, as counted in /metrics.
type Outcome string

// The outcomes of a cycle.
const (
	OutcomePublished   Outcome = "published"   // the week is in the archive
	OutcomePartial     Outcome = "partial"     // published, but some source failed
	OutcomeNoData      Outcome = "no_data"     // no requests in the week: nothing published
	OutcomeFailed      Outcome = "failed"      // not published
	OutcomeBusy        Outcome = "busy"        // another cycle held the archive's lock
	OutcomeInterrupted Outcome = "interrupted" // the process was asked to stop
)

// Outcome says how the cycle ended, given Run's error.
func (c CycleResult) Outcome(err error) Outcome {
	switch {
	case errors.Is(err, ErrBusy):
		return OutcomeBusy
	case errors.Is(err, ErrInterrupted):
		return OutcomeInterrupted
	case errors.Is(err, ErrNoData):
		return OutcomeNoData
	case err != nil:
		return OutcomeFailed
	}
	for _, s := range c.Sources {
		if !s.OK {
			return OutcomePartial
		}
	}
	return OutcomePublished
}

// Run runs one cycle for week ("" for the last complete week in the
// city's time zone): it syncs and loads every source, loads boundaries and
// census files not loaded yet, places new requests, analyses the 13 weeks
// to the week and publishes the reports into the archive. The archive's
// state records the result either way (a week without any request as "no
// data"), and every outcome is logged, including a cycle that could not
// take the lock. The error is non-nil when the week was not published:
// ErrBusy, ErrNoData, ErrInterrupted or why it failed. The cycle ends by
// the config's cycle_timeout at the latest.
func (r *Runner) Run(ctx context.Context, week string) (CycleResult, error) {
	cfg := r.Config
	ar := archive{cfg.Archive.Dir}
	var unlock func()
	err := ar.own()
	if err == nil {
		unlock, err = ar.lock()
	}
	if err != nil {
		r.log().Error("cycle not started", "week", week, "err", err, "outcome", CycleResult{}.Outcome(err))
		return CycleResult{Week: week, Error: err.Error()}, err
	}
	defer unlock()
	limit := cmp.Or(cfg.Schedule.CycleTimeout, DefaultCycleTimeout)
	cctx, cancel := context.WithTimeout(ctx, limit)
	res, err := r.run(cctx, ar, week)
	cancel()
	switch {
	case err != nil && ctx.Err() != nil:
		err = fmt.Errorf("%w: %v", ErrInterrupted, err)
	case err != nil && errors.Is(cctx.Err(), context.DeadlineExceeded):
		err = fmt.Errorf("the cycle ran past its deadline (schedule.cycle_timeout = %v): %w", limit, err)
	}
	res.Finished = r.now()
	res.Seconds = res.Finished.Sub(res.Started).Seconds()
	res.OK = err == nil
	res.NoData = errors.Is(err, ErrNoData)
	res.Interrupted = errors.Is(err, ErrInterrupted)
	if err != nil {
		res.Error = err.Error()
	}
	if werr := r.record(ar, res, err); werr != nil {
		werr = fmt.Errorf("save the archive's state: %w", werr)
		err = errors.Join(err, werr)
		if res.OK {
			res.OK, res.Error = false, werr.Error()
		}
	}
	log := r.log().With("week", res.Week, "outcome", res.Outcome(err), "seconds", res.Seconds)
	switch {
	case res.Interrupted:
		log.Info("cycle interrupted", "err", err)
	case err != nil:
		log.Error("cycle failed", "err", err)
	default:
		log.Info("cycle done")
	}
	return res, err
}

// record writes a cycle's result into the archive's state: the last
// cycle, the sources still in the config, the weeks found without data.
// An interrupted cycle is not counted as a failure.
func (r *Runner) record(ar archive, res CycleResult, err error) error {
	st, corrupt, serr := ar.state()
	if serr != nil {
		r.log().Warn("archive state unreadable; starting afresh", "err", serr)
	}
	if corrupt {
		aside, err := ar.setAsideState(r.now())
		if err != nil {
			return fmt.Errorf("set the unreadable state.json aside: %w", err)
		}
		r.log().Warn("state.json could not be read: set aside and rebuilt from the published weeks", "kept_as", aside)
	}
	st.Last = &res
	inConfig := map[string]bool{}
	for _, s := range r.Config.Sources {
		inConfig[s.Name] = true
	}
	for name := range st.Sources {
		if !inConfig[name] {
			delete(st.Sources, name) // removed from the config
		}
	}
	if st.Sources == nil {
		st.Sources = map[string]SourceResult{}
	}
	for _, s := range res.Sources {
		if prev, ok := st.Sources[s.Name]; ok && s.Newest.IsZero() {
			s.Newest = prev.Newest
		}
		st.Sources[s.Name] = s
	}
	switch {
	case err == nil:
		st.LastSuccess, st.LastSuccessWeek, st.Failures = res.Finished, res.Week, 0
		delete(st.NoData, res.Week)
	case res.Interrupted:
	default:
		st.Failures++
	}
	if res.NoData {
		if st.NoData == nil {
			st.NoData = map[string]CycleResult{}
		}
		st.NoData[res.Week] = res
	}
	return ar.saveState(st)
}

func (r *Runner) run(ctx context.Context, ar archive, week string) (CycleResult, error) {
	cfg := r.Config
	res := CycleResult{Week: week, Started: r.now()}
	if err := ar.cleanup(); err != nil {
		return res, fmt.Errorf("clean the archive: %w", err)
	}
	w := LastCompleteWeek(res.Started, cfg.Location())
	if week != "" {
		var err error
		if w, err = equity311.ParseWeek(week, cfg.Location()); err != nil {
			return res, err
		}
		if w.To.After(res.Started) {
			res.Week = w.Label
			return res, fmt.Errorf("week %s is not over yet (it ends %s): a week is published once it is complete", w.Label, w.To.Format("Monday 2 January 2006 15:04 MST"))
		}
	}
	res.Week = w.Label
	log := r.log().With("week", w.Label)
	log.Info("cycle starts")
	st, err := r.open(ctx)
	if err != nil {
		return res, err
	}
	defer st.Close()
	if err := r.loadGeography(ctx, st); err != nil {
		return res, err
	}
	for i, src := range cfg.Sources {
		s := r.source(ctx, st, i, src)
		if !s.OK {
			log.Warn("source failed; the others go on", "source", s.Name, "err", s.Error)
		}
		res.Sources = append(res.Sources, s)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	if _, err := geo.Assign(ctx, st, geo.AssignOptions{Log: log}); err != nil {
		return res, fmt.Errorf("assign: %w", err)
	}
	var n int64
	if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM tickets WHERE city = ? AND opened_at >= ? AND opened_at < ?`,
		cfg.City.Name, w.From, w.To).Scan(&n); err != nil {
		return res, fmt.Errorf("count the week's requests: %w", err)
	}
	if n == 0 {
		return res, fmt.Errorf("%w (%s to %s)", ErrNoData, w.From.Format("2006-01-02"), w.To.AddDate(0, 0, -1).Format("2006-01-02"))
	}
	period := equity311.WeeklyWindow(w)
	if _, err := analysis.Analyze(ctx, st, analysis.Options{Period: &period, Log: log}); err != nil {
		return res, fmt.Errorf("analyze %s: %w", period.Label, err)
	}
	if err := r.publish(ctx, st, ar, w, period); err != nil {
		return res, err
	}
	return res, nil
}

// open opens the database, waiting while another process holds it.
func (r *Runner) open(ctx context.Context) (*store.Store, error) {
	wait := r.OpenWait
	if wait == 0 {
		wait = 2 * time.Minute
	}
	deadline := time.Now().Add(wait)
	for delay := 250 * time.Millisecond; ; delay = min(2*delay, 10*time.Second) {
		st, err := store.Open(ctx, r.Config.Database)
		if err == nil {
			return st, nil
		}
		if !strings.Contains(strings.ToLower(err.Error()), "lock") || time.Now().Add(delay).After(deadline) {
			return nil, fmt.Errorf("open %s: %w", r.Config.Database, err)
		}
		r.log().Info("the database is held by another process; waiting", "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
	}
}

// loadGeography loads the boundary and census files; one loaded before
// changes nothing.
func (r *Runner) loadGeography(ctx context.Context, st *store.Store) error {
	for i, l := range r.Config.Layers {
		opt := l.Options
		opt.Log = r.log()
		res, err := boundary.Load(ctx, st, l.File, opt)
		if err != nil {
			return fmt.Errorf("layer %s: %s", l.Layer, mendKey(fmt.Sprintf("layer[%d]", i), err))
		}
		for _, w := range res.Warnings {
			r.log().Warn("boundary file", "layer", l.Layer, "file", l.File, "warning", w)
		}
	}
	for i, c := range r.Config.Census {
		opt := c.Options
		opt.Log = r.log()
		if _, err := census.Load(ctx, st, c.File, opt); err != nil {
			return fmt.Errorf("census %s: %s", c.File, mendKey(fmt.Sprintf("census[%d]", i), err))
		}
	}
	return nil
}

// source syncs or loads one source and counts what it added.
func (r *Runner) source(ctx context.Context, st *store.Store, i int, src Source) SourceResult {
	out := SourceResult{Name: src.Name, Kind: src.Kind()}
	var before int64
	if err := st.DB().QueryRowContext(ctx, `SELECT coalesce(max(source_id), 0) FROM sources`).Scan(&before); err != nil {
		out.Error = err.Error()
		return out
	}
	err := r.ingest(ctx, st, i, src, &out)
	// Count what this source added, even when it failed part way.
	if cerr := st.DB().QueryRowContext(ctx, `SELECT coalesce(sum(rows_loaded), 0), coalesce(sum(rows_rejected), 0) FROM sources WHERE source_id > ?`, before).
		Scan(&out.Loaded, &out.Rejected); cerr != nil && err == nil {
		err = cerr
	}
	var newest *time.Time
	if cerr := st.DB().QueryRowContext(ctx, `SELECT max(opened_at) FROM tickets WHERE source_id > ?`, before).Scan(&newest); cerr == nil && newest != nil {
		out.Newest = newest.UTC()
	}
	out.OK = err == nil
	if err != nil {
		out.Error = err.Error()
	}
	return out
}

// ingest syncs or loads one source through its kind's own definition.
func (r *Runner) ingest(ctx context.Context, st *store.Store, i int, src Source, out *SourceResult) error {
	env := source.Env{City: r.Config.City.Name, Location: r.Config.Location(), Log: r.log(), Now: r.Now, HTTP: r.HTTP, Progress: r.Progress}
	res, err := src.Ingest(ctx, st, env)
	out.Files = res.Files
	if err != nil {
		return errors.New(mendKey(fmt.Sprintf("source[%d]", i), err))
	}
	return nil
}

// mendKey says which key of the config mends an option a library found
// wrong: "… (source[0].api_key_env in the config)".
func mendKey(at string, err error) string {
	key := equity311.OptionKey(err)
	if key == "" {
		return err.Error()
	}
	var keys []string
	for _, k := range strings.Split(key, "/") {
		keys = append(keys, at+"."+k)
	}
	return fmt.Sprintf("%v (%s in the config)", err, strings.Join(keys, ", "))
}

// scriptHashes lists, per HTML page under dir (by its path inside the
// week), the CSP hashes of the inline scripts the report wrote: the server
// lets those run and no other script.
func scriptHashes(dir string) (map[string][]string, error) {
	out := map[string][]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = reports.InlineScriptHashes(b)
		return nil
	})
	return out, err
}

// publish writes the week's reports and summary into a staging folder and
// renames it into the archive.
func (r *Runner) publish(ctx context.Context, st *store.Store, ar archive, w, period equity311.Period) error {
	res, err := analysis.LoadCity(ctx, st, period.Label, r.Config.City.Name)
	if err != nil {
		return fmt.Errorf("load the analysis of %s: %w", period.Label, err)
	}
	staged, err := ar.staging(w.Label)
	if err != nil {
		return err
	}
	defer os.RemoveAll(staged) // gone after the rename; left only on failure
	kinds := r.Config.kinds()
	for _, k := range kinds {
		if _, err := reports.Write(res, filepath.Join(staged, kindDir(k)), reports.Options{Kind: k, MainLayer: r.Config.Reports.MainLayer}); err != nil {
			return fmt.Errorf("%s report: %w", k, err)
		}
	}
	c := res.CityRow()
	sum := Summary{Week: w.Label, Period: period.Label, PeriodBasis: res.PeriodBasis, City: res.City,
		From: period.From.Format("2006-01-02"), To: period.To.Format("2006-01-02"),
		Tickets: c.Tickets, Resident: c.Resident, ShareBase: c.ShareBase, App: c.App, AppShare: interval(c.AppShare),
		WeekShare: interval(results.Estimate{Value: nan(), Lo: nan(), Hi: nan()}), Reports: kinds}
	for _, t := range res.Trends {
		if t.Grouping == "city" && t.Channel == equity311.App && t.Week == w.Label {
			sum.WeekShare = interval(t.Share)
		}
	}
	if sum.ScriptHashes, err = scriptHashes(staged); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(staged, "summary.json"), sum); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ar.publish(staged, w.Label); err != nil {
		return fmt.Errorf("publish %s: %w", w.Label, err)
	}
	return nil
}
