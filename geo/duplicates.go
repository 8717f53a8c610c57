package geo

import (
	"context"
	"fmt"
	"math"

	"github.com/equity311/equity311/store"
)

// MatchOptions configure MatchDuplicates.
type MatchOptions struct {
	// Metres is how far apart a request and the earlier one it
	// duplicates may lie (default DefaultMatchMetres).
	Metres float64 `toml:"metres" flag:"metres" help:"how far apart a duplicate and the request it repeats may lie, in metres"`
	// Days is how long after the earlier request a duplicate may come
	// (default DefaultMatchDays), while the earlier one is still open.
	Days float64 `toml:"days" flag:"days" help:"how many days after the request it repeats a duplicate may come (while that one is open)"`
}

// Defaults of MatchDuplicates: on Chicago's sample, whose reported links
// give the truth, a wider radius finds more links and more false ones
// (the README and the test give the figures).
const (
	DefaultMatchMetres = 50
	DefaultMatchDays   = 30
)

// MatchResult is what MatchDuplicates found, and how it scores against
// the reported links where a source gives them.
type MatchResult struct {
	Matched int64 // links stored with basis 'matched'
	// Against the reported links whose parent is loaded (the truth where
	// a city marks its duplicates): matched links that equal one, of
	// those matched among the requests such cities report on.
	Reported, Recovered, MatchedThere, Correct int64
}

// Precision is the share of matched links, in cities that report
// duplicates, that equal a reported link; Recall the share of reported
// links with a loaded parent that matching found.
func (r MatchResult) Precision() float64 { return ratio(r.Correct, r.MatchedThere) }

// Recall: see Precision.
func (r MatchResult) Recall() float64 { return ratio(r.Recovered, r.Reported) }

func ratio(a, b int64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// MatchDuplicates links each request to an earlier one it repeats where
// the source gives no link: the same city and request type, within
// Metres, opened within Days after it and while it was still open; of
// several, the earliest opened (then the lowest id), so that a chain of
// repeats points at its first report. Links found so replace earlier
// matched ones (basis 'matched'); reported and text links stay. It scores
// the matching against the reported links with a loaded parent: every
// request is matched, those with a reported link too, and compared.
func MatchDuplicates(ctx context.Context, st *store.Store, opt MatchOptions) (MatchResult, error) {
	var res MatchResult
	if opt.Metres <= 0 {
		opt.Metres = DefaultMatchMetres
	}
	if opt.Days <= 0 {
		opt.Days = DefaultMatchDays
	}
	conn, err := st.Conn(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Close()
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS stage_matched")
	// Candidates meet in grid cells of the radius (a point and its eight
	// neighbours), then by distance, type, time and openness.
	cell := opt.Metres / 111_320
	q := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE stage_matched AS
		WITH t AS (
			SELECT city, ticket_id, service_code, opened_at, closed_at, lat, lon,
				floor(lat / %[1]g)::BIGINT AS cy, floor(lon / %[1]g)::BIGINT AS cx
			FROM tickets WHERE lat IS NOT NULL AND lon IS NOT NULL AND service_code IS NOT NULL AND geo_quality IS DISTINCT FROM 'default_point'),
		p AS (SELECT *, cy + dy AS ny, cx + dx AS nx FROM t, (SELECT unnest([-1, 0, 1]) AS dy), (SELECT unnest([-1, 0, 1]) AS dx))
		SELECT d.city, d.ticket_id, p.ticket_id AS parent_id
		FROM t d JOIN p ON p.city = d.city AND p.ny = d.cy AND p.nx = d.cx AND p.service_code = d.service_code
		WHERE p.opened_at < d.opened_at AND d.opened_at <= p.opened_at + INTERVAL (%[2]g * 86400) SECOND
			AND (p.closed_at IS NULL OR p.closed_at > d.opened_at)
			AND 111320 * sqrt(power((d.lon - p.lon) * cos(radians(d.lat)), 2) + power(d.lat - p.lat, 2)) <= %[3]g
		QUALIFY row_number() OVER (PARTITION BY d.city, d.ticket_id ORDER BY p.opened_at, p.ticket_id) = 1`, cell, opt.Days, opt.Metres)
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return res, fmt.Errorf("match duplicates: %w", err)
	}
	err = store.InTx(ctx, conn, func() error {
		if _, err := conn.ExecContext(ctx, `DELETE FROM duplicates WHERE basis = 'matched'`); err != nil {
			return err
		}
		r, err := conn.ExecContext(ctx, `INSERT INTO duplicates
			SELECT m.city, m.ticket_id, m.parent_id, 'matched', NULL, t.source_id, t.ticket_no
			FROM stage_matched m JOIN tickets t USING (city, ticket_id)
			WHERE NOT EXISTS (SELECT 1 FROM duplicates d WHERE d.city = m.city AND d.ticket_id = m.ticket_id)`)
		if err != nil {
			return err
		}
		res.Matched, err = r.RowsAffected()
		return err
	})
	if err != nil {
		return res, fmt.Errorf("store matched duplicates: %w", err)
	}
	err = conn.QueryRowContext(ctx, `WITH truth AS (SELECT city, ticket_id, parent_id FROM duplicate_links WHERE basis = 'reported' AND parent_loaded),
			cities AS (SELECT DISTINCT city FROM duplicates WHERE basis = 'reported'),
			there AS (SELECT m.* FROM stage_matched m SEMI JOIN cities USING (city))
		SELECT (SELECT count(*) FROM truth),
			(SELECT count(*) FROM truth SEMI JOIN there USING (city, ticket_id, parent_id)),
			(SELECT count(*) FROM there),
			(SELECT count(*) FROM there SEMI JOIN truth USING (city, ticket_id, parent_id))`).
		Scan(&res.Reported, &res.Recovered, &res.MatchedThere, &res.Correct)
	return res, err
}
