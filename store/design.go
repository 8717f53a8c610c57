package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// The designs a source can have.
const (
	DesignComplete = "complete" // every request of the city in the source's span
	DesignSample   = "sample"   // drawn from a frame (which may itself be filtered)
	DesignExtract  = "extract"  // a selection: by status, type, area or time
)

// The kinds of filter a source can show.
const (
	FilterStatus = "status"
	FilterType   = "type"
	FilterArea   = "area"
	FilterTime   = "time"
)

// Design is what a source is, as declared when it is loaded.
type Design struct {
	Design  string // DesignComplete, DesignSample, DesignExtract; "" when not declared
	Frame   string // what a sample was drawn from
	Filters []Filter
}

// Declared reports whether anything is declared.
func (d Design) Declared() bool { return d.Design != "" || d.Frame != "" || len(d.Filters) > 0 }

// Filter is a selection a source shows, with its reason.
type Filter struct {
	Kind   string // FilterStatus, FilterType, FilterArea, FilterTime
	Value  string // e.g. "open"
	Reason string
}

// Check returns the first problem with a declared design.
func (d Design) Check() error {
	if d.Design != "" && d.Design != DesignComplete && d.Design != DesignSample && d.Design != DesignExtract {
		return fmt.Errorf("design %q: want %s, %s or %s", d.Design, DesignComplete, DesignSample, DesignExtract)
	}
	if d.Design == DesignComplete && len(d.Filters) > 0 {
		return fmt.Errorf("a complete source has no filters; a filtered one is an extract (or a sample)")
	}
	for _, f := range d.Filters {
		switch f.Kind {
		case FilterStatus, FilterType, FilterArea, FilterTime:
		default:
			return fmt.Errorf("filter %q: want a kind of %s, %s, %s or %s", f.Kind, FilterStatus, FilterType, FilterArea, FilterTime)
		}
		if f.Value == "" || f.Reason == "" {
			return fmt.Errorf("filter %s: give its value and its reason (KIND=VALUE: REASON)", f.Kind)
		}
	}
	return nil
}

// ParseFilter reads a filter written as "KIND=VALUE: REASON".
func ParseFilter(s string) (Filter, error) {
	kv, reason, ok := strings.Cut(s, ":")
	kind, value, ok2 := strings.Cut(kv, "=")
	f := Filter{Kind: strings.TrimSpace(kind), Value: strings.TrimSpace(value), Reason: strings.TrimSpace(reason)}
	if !ok || !ok2 || f.Kind == "" || f.Value == "" || f.Reason == "" {
		return f, fmt.Errorf("filter %q: write it as KIND=VALUE: REASON, e.g. \"status=open: the portal's open-cases view\"", s)
	}
	return f, nil
}

// declare records a declared design for a source, replacing an earlier
// declaration.
func declare(ctx context.Context, conn *sql.Conn, id int64, d Design) error {
	if _, err := conn.ExecContext(ctx, `UPDATE sources SET design = ?, design_frame = ? WHERE source_id = ?`,
		nullIfEmpty(d.Design), nullIfEmpty(d.Frame), id); err != nil {
		return fmt.Errorf("declare the design of source %d: %w", id, err)
	}
	if _, err := conn.ExecContext(ctx, `DELETE FROM source_filters WHERE source_id = ? AND basis = 'declared'`, id); err != nil {
		return err
	}
	for _, f := range d.Filters {
		if _, err := conn.ExecContext(ctx, `INSERT OR REPLACE INTO source_filters VALUES (?, 'declared', ?, ?, ?)`, id, f.Kind, f.Value, f.Reason); err != nil {
			return fmt.Errorf("declare a filter of source %d: %w", id, err)
		}
	}
	return nil
}

// Thresholds of the detection: only what the data make certain.
const (
	detectMinRequests = 20 // fewer say nothing
	detectMinSpan     = 28 * 24 * time.Hour
	detectLastWeek    = 5                      // requests opened in the last week that must all be closed
	detectTypeShare   = 0.95                   // a few types making this much of a source …
	detectFewTypes    = 3                      // … at most this many …
	detectTypeSpan    = 6 * 7 * 24 * time.Hour // … over this long
	detectTypeMin     = 100
)

// closedSQL is true for a request that is closed: it has a close time, or
// its status says so (Closed, Resolved, Completed, Canceled …).
const closedSQL = `(closed_at IS NOT NULL OR regexp_matches(lower(coalesce(status, '')), 'clos|resol|complet|cancel|duplicate'))`

// detect finds what a source's requests make certain about its design
// and records it: every request still open over many weeks (an open-cases
// extract), every request closed including those opened in its last week
// (a closed-cases selection: old requests of a complete dump are nearly
// all closed, recent ones are not), a few request types making nearly all
// of a source that spans many weeks.
func detect(ctx context.Context, conn *sql.Conn, id int64) error {
	var n, closed, lastWeek, lastWeekClosed int64
	var first, last sql.NullTime
	err := conn.QueryRowContext(ctx, `WITH t AS (SELECT * FROM tickets WHERE source_id = $1),
		span AS (SELECT max(opened_at) AS hi FROM t)
		SELECT count(*), count(*) FILTER (WHERE `+closedSQL+`), min(opened_at), max(opened_at),
			count(*) FILTER (WHERE opened_at > span.hi - INTERVAL 7 DAY),
			count(*) FILTER (WHERE opened_at > span.hi - INTERVAL 7 DAY AND `+closedSQL+`)
		FROM t, span GROUP BY span.hi`, id).Scan(&n, &closed, &first, &last, &lastWeek, &lastWeekClosed)
	if err == sql.ErrNoRows || n < detectMinRequests || !first.Valid {
		return nil
	}
	if err != nil {
		return fmt.Errorf("detect the design of source %d: %w", id, err)
	}
	span := last.Time.Sub(first.Time)
	weeks := int(math.Round(span.Hours() / 24 / 7))
	dates := fmt.Sprintf("%s to %s", first.Time.UTC().Format("2006-01-02"), last.Time.UTC().Format("2006-01-02"))
	var found []Filter
	switch {
	case span >= detectMinSpan && closed == 0:
		found = append(found, Filter{FilterStatus, "open", fmt.Sprintf("every one of its %d requests is open, though they were opened over %d weeks (%s): an extract of open cases", n, weeks, dates)})
	case span >= detectMinSpan && closed == n && lastWeek >= detectLastWeek:
		found = append(found, Filter{FilterStatus, "closed", fmt.Sprintf("every one of its %d requests is closed, including the %d opened in its last week (%s): a selection of closed cases", n, lastWeek, dates)})
	}
	if span >= detectTypeSpan && n >= detectTypeMin {
		rows, err := conn.QueryContext(ctx, `SELECT coalesce(service_name, service_code, '(none)'), count(*) FROM tickets WHERE source_id = ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?`, id, detectFewTypes+1)
		if err != nil {
			return fmt.Errorf("detect the types of source %d: %w", id, err)
		}
		var names []string
		var top int64
		for rows.Next() {
			var name string
			var k int64
			if err := rows.Scan(&name, &k); err != nil {
				rows.Close()
				return err
			}
			if len(names) < detectFewTypes && float64(top) < detectTypeShare*float64(n) {
				names, top = append(names, name), top+k
			}
		}
		rows.Close()
		if float64(top) >= detectTypeShare*float64(n) {
			slices.Sort(names)
			found = append(found, Filter{FilterType, strings.Join(names, "; "), fmt.Sprintf("%d request types make %.0f%% of its %d requests over %d weeks (%s): a selection of types",
				len(names), 100*float64(top)/float64(n), n, weeks, dates)})
		}
	}
	if len(found) == 0 {
		return nil
	}
	if _, err := conn.ExecContext(ctx, `UPDATE sources SET detected_design = ? WHERE source_id = ?`, DesignExtract, id); err != nil {
		return err
	}
	for _, f := range found {
		if _, err := conn.ExecContext(ctx, `INSERT OR REPLACE INTO source_filters VALUES (?, 'detected', ?, ?, ?)`, id, f.Kind, f.Value, f.Reason); err != nil {
			return err
		}
	}
	return nil
}
