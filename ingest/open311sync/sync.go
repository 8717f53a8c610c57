// Package open311sync syncs an Open311 GeoReport v2 server into the
// store: its service list (the request types its app offers), its requests
// window by window from a saved cursor (loaded into tickets through the
// open311 profile), status changes by re-polling open requests, and the
// channel each request came through, which reconciles dumps that lack one.
package open311sync

import (
	"cmp"
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/ingest/csvrec"
	"github.com/equity311/equity311/ingest/dump"
	"github.com/equity311/equity311/internal/fetch"
	"github.com/equity311/equity311/open311"
	"github.com/equity311/equity311/store"
)

// feedChannel is channel_raw for a request that a feed lists without an
// extended channel: it came in through an Open311 client, an app.
const feedChannel = "(open311 feed)"

// noChannel is channel_raw for a request whose extended attributes name no channel.
const noChannel = "(none)"

// open311Profile reads requests as the Open311 client hands them over.
const open311Profile = `
name = "open311"
description = "Open311 GeoReport v2 requests"
city = "open311"
timezone = "UTC"
time_formats = ["2006-01-02T15:04:05Z07:00"]
[columns]
ticket_id = "service_request_id"
opened_at = "requested_datetime"
closed_at = "closed_datetime"
updated_at = "updated_datetime"
target_at = "expected_datetime"
status = "status"
service_code = "service_code"
service_name = "service_name"
department = "agency_responsible"
channel = "channel"
lat = "lat"
lon = "long"
duplicate = "duplicate"
parent_id = "parent_service_request_id"
[channels]
"(open311 feed)" = "app"
"open311" = "app"
"android" = "app"
"iphone" = "app"
"ios" = "app"
"mobile" = "app"
"app" = "app"
"web" = "web"
"phone" = "phone"
"voice" = "phone"
"email" = "email"
"twitter" = "social"
"employee" = "employee"
"integration" = "integration"
"(none)" = "unknown"
`

// Options configure Sync.
type Options struct {
	Client *open311.Client
	City   string
	// Since is where a first sync starts (default 90 days before now);
	// later syncs continue from the saved cursor.
	Since    time.Time
	Window   time.Duration
	PageSize int
	Cap      int
	MaxPages int // pages per window before ErrTooManyPages (default open311.DefaultMaxPages)
	// UpdatedAfter also asks for every request updated since the previous
	// sync, for servers that support updated_after (the v2.1 draft):
	// status changes of requests closed and reopened, not only open ones.
	UpdatedAfter bool
	// Design is what the feed is, as declared (recorded with every window's
	// load; a feed's windows and re-polls are parts of one source, so
	// nothing is detected from them one by one).
	Design store.Design
	Now    func() time.Time
	Log    *slog.Logger
}

// Result reports a sync.
type Result struct {
	Services int
	Windows  int
	Requests int64 // requests written (windows and re-polls)
	Repolled int   // open requests asked for again by id
	From, To time.Time
}

// syncer holds one sync's state.
type syncer struct {
	ctx     context.Context
	st      *store.Store
	opt     Options
	c       *open311.Client
	profile *dump.Profile
	log     *slog.Logger
	res     Result
}

// Sync syncs an Open311 endpoint into tickets: its services into
// open311_services, then requests window by window from the saved cursor
// to now, then every still-open request again by id so that status changes
// arrive. Each window is written and the cursor advanced after it, so a
// sync killed at any point resumes where it stopped, with no gap and no
// duplicate. Channel-less tickets from dumps are reconciled afterwards.
func Sync(ctx context.Context, st *store.Store, opt Options) (Result, error) {
	c := opt.Client
	if c == nil || c.Endpoint == "" {
		return Result{}, fmt.Errorf("open311: an endpoint is required")
	}
	if c.HTTP == nil {
		c.HTTP = fetch.New()
	}
	if err := c.Prepare(); err != nil {
		return Result{}, fmt.Errorf("open311: %w", err)
	}
	if opt.City == "" {
		return Result{}, equity311.OptionErrorf("city", "open311: a city name is required")
	}
	if opt.Now == nil {
		opt.Now = st.Now
	}
	p, err := dump.ParseProfile("open311", []byte(open311Profile))
	if err != nil {
		return Result{}, err
	}
	s := &syncer{ctx: ctx, st: st, opt: opt, c: c, profile: p, log: cmp.Or(opt.Log, slog.New(slog.DiscardHandler))}
	for _, step := range []func() error{s.services, s.windows, s.updatedAfter, s.repollOpen, s.reconcile} {
		if err := step(); err != nil {
			return s.res, err
		}
	}
	s.log.Info("synced open311", "endpoint", c.Redacted(), "windows", s.res.Windows, "requests", s.res.Requests, "repolled", s.res.Repolled)
	return s.res, nil
}

// services stores the endpoint's service list.
func (s *syncer) services() error {
	services, err := s.c.Services(s.ctx)
	if err != nil {
		return err
	}
	s.res.Services = len(services)
	return saveServices(s.ctx, s.st, s.c.Name(), services)
}

// windows fetches requests from the saved cursor (or Since) to now,
// window by window, saving the cursor after each.
func (s *syncer) windows() error {
	feed := "open311:" + s.c.Name()
	cursor, err := s.st.Cursor(s.ctx, feed)
	if err != nil {
		return err
	}
	from := s.opt.Since
	if cursor != "" {
		if from, err = time.Parse(time.RFC3339Nano, cursor); err != nil {
			return fmt.Errorf("open311: bad saved cursor %q: %w", cursor, err)
		}
	} else if from.IsZero() {
		from = s.opt.Now().Add(-90 * 24 * time.Hour)
	}
	s.res.From, s.res.To = from, s.opt.Now()
	return s.c.Sync(s.ctx, open311.SyncOptions{From: from, To: s.res.To, Window: s.opt.Window, PageSize: s.opt.PageSize, Cap: s.opt.Cap, MaxPages: s.opt.MaxPages},
		func(end time.Time, reqs []open311.Request) error {
			s.res.Windows++
			if err := s.write(reqs, "until "+end.UTC().Format(time.RFC3339)); err != nil {
				return err
			}
			return s.st.SaveCursor(s.ctx, feed, end.UTC().Format(time.RFC3339Nano))
		})
}

// updatedAfter asks for every request updated since the previous sync,
// when Options.UpdatedAfter is set.
func (s *syncer) updatedAfter() error {
	if !s.opt.UpdatedAfter {
		return nil
	}
	feed := "open311-updated:" + s.c.Name()
	last, err := s.st.Cursor(s.ctx, feed)
	if err != nil {
		return err
	}
	if last != "" {
		t, err := time.Parse(time.RFC3339Nano, last)
		if err != nil {
			return err
		}
		reqs, err := s.c.UpdatedAfter(s.ctx, t, s.opt.PageSize)
		if err != nil {
			return fmt.Errorf("updated_after: %w", err)
		}
		if err := s.write(reqs, "updated after "+last); err != nil {
			return err
		}
	}
	return s.st.SaveCursor(s.ctx, feed, s.res.To.UTC().Format(time.RFC3339Nano))
}

// repollOpen asks again, by id, for every request of this feed that is
// not closed, so that status changes arrive.
func (s *syncer) repollOpen() error {
	rows, err := s.st.DB().QueryContext(s.ctx, `SELECT t.ticket_id FROM tickets t JOIN open311_seen o USING (city, ticket_id)
		WHERE t.city = ? AND o.endpoint = ? AND coalesce(t.status, '') <> 'closed' ORDER BY 1`, s.opt.City, s.c.Name())
	if err != nil {
		return err
	}
	var open []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		open = append(open, id)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if len(open) == 0 {
		return nil
	}
	reqs, err := s.c.ByID(s.ctx, open)
	if err != nil {
		return fmt.Errorf("re-poll open requests: %w", err)
	}
	s.res.Repolled = len(open)
	return s.write(reqs, "re-poll "+s.opt.Now().UTC().Format(time.RFC3339))
}

// reconcile gives channel-less dump tickets the channel the feed recorded.
func (s *syncer) reconcile() error {
	_, err := dump.Reconcile(s.ctx, s.st)
	return err
}

// write loads a batch of requests into tickets and records their channels.
func (s *syncer) write(reqs []open311.Request, what string) error {
	if len(reqs) == 0 {
		return nil
	}
	headers := dump.ProfileHeaders(s.profile)
	r, err := dump.LoadRecords(s.ctx, s.st, dump.Records{Kind: "open311", Name: s.c.Name() + " " + what, Profile: s.profile,
		City: s.opt.City, Headers: headers, Reader: &records{reqs: reqs, headers: headers}, Checksum: checksum(reqs), Log: s.log,
		Design: s.opt.Design})
	if err != nil {
		return err
	}
	s.res.Requests += r.Loaded
	return markSeen(s.ctx, s.st, s.opt.City, s.c.Name(), reqs, s.profile)
}

func saveServices(ctx context.Context, st *store.Store, endpoint string, services []open311.Service) error {
	conn, err := st.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return store.InTx(ctx, conn, func() error {
		if _, err := conn.ExecContext(ctx, "DELETE FROM open311_services WHERE endpoint = ?", endpoint); err != nil {
			return err
		}
		for _, s := range services {
			if _, err := conn.ExecContext(ctx, `INSERT OR REPLACE INTO open311_services VALUES (?, ?, ?, ?, ?, ?, true)`,
				endpoint, s.Code, s.Name, s.Group, s.Type, s.Metadata); err != nil {
				return err
			}
		}
		return nil
	})
}

// markSeen records the feed's channel for each request.
func markSeen(ctx context.Context, st *store.Store, city, endpoint string, reqs []open311.Request, p *dump.Profile) error {
	conn, err := st.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE stage_seen AS SELECT * FROM open311_seen LIMIT 0"); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS stage_seen")
	now := st.Now()
	var good []open311.Request
	for _, r := range reqs {
		if r.Err == nil && r.ID != "" {
			good = append(good, r)
		}
	}
	i := 0
	if _, err := store.Append(ctx, conn, "stage_seen", 6, func(row []driver.Value) (bool, error) {
		if i == len(good) {
			return false, nil
		}
		r := good[i]
		raw := channelRaw(r)
		ch, ok := p.Channel(raw)
		if !ok {
			ch = equity311.Unknown
		}
		row[0], row[1], row[2], row[3], row[4], row[5] = city, r.ID, endpoint, raw, string(ch), now
		i++
		return true, nil
	}); err != nil {
		return err
	}
	return store.InTx(ctx, conn, func() error {
		_, err := conn.ExecContext(ctx, `INSERT OR REPLACE INTO open311_seen
			SELECT * FROM stage_seen QUALIFY row_number() OVER (PARTITION BY city, ticket_id) = 1`)
		return err
	})
}

// channelRaw is what a request says of its channel: the extended channel,
// "(none)" when the feed has extensions but no channel for it, or the
// feed's own mark when the feed has no extensions.
func channelRaw(r open311.Request) string {
	switch {
	case r.Channel != "":
		return r.Channel
	case r.Extended:
		return noChannel
	}
	return feedChannel
}

// records hands requests to dump.LoadRecords as records: each request's
// values under the open311 profile's column names, in header order.
type records struct {
	reqs    []open311.Request
	headers []string
	i       int
	raw     []byte
	fields  [][]byte
}

// Read returns the next request as fields.
func (o *records) Read() ([][]byte, int, error) {
	if o.i == len(o.reqs) {
		return nil, 0, io.EOF
	}
	r := o.reqs[o.i]
	o.i++
	if r.Err != nil {
		o.raw = []byte(r.Raw)
		return nil, o.i, &csvrec.RecordError{Line: o.i, Raw: o.raw, Err: r.Err}
	}
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.Format(time.RFC3339)
	}
	fl := func(f *float64) string {
		if f == nil {
			return ""
		}
		return strconv.FormatFloat(*f, 'f', -1, 64)
	}
	closed := ""
	if r.Status == "closed" {
		closed = ts(r.Updated)
	}
	byName := map[string]string{
		"service_request_id": r.ID, "requested_datetime": r.Requested.Format(time.RFC3339), "closed_datetime": closed,
		"updated_datetime": ts(r.Updated), "expected_datetime": ts(r.Expected), "status": r.Status, "service_code": r.ServiceCode, "service_name": r.ServiceName,
		"agency_responsible": r.AgencyResponsible, "channel": channelRaw(r), "lat": fl(r.Lat), "long": fl(r.Lon),
		"duplicate": strconv.FormatBool(r.Duplicate), "parent_service_request_id": r.ParentID,
	}
	o.fields = o.fields[:0]
	vals := make([]string, len(o.headers))
	for k, h := range o.headers {
		vals[k] = byName[h]
		o.fields = append(o.fields, []byte(vals[k]))
	}
	o.raw = []byte(strings.Join(vals, ","))
	return o.fields, o.i, nil
}

// Raw returns the last request's values, comma-separated.
func (o *records) Raw() []byte { return o.raw }

// checksum identifies a batch by its requests' ids and versions, so
// that fetching the same versions again changes nothing.
func checksum(reqs []open311.Request) func() (string, error) {
	return func() (string, error) {
		var b strings.Builder
		for _, r := range reqs {
			b.WriteString(r.ID + "|" + r.Status + "|")
			if r.Updated != nil {
				b.WriteString(r.Updated.UTC().Format(time.RFC3339Nano))
			}
			b.WriteString("\n")
		}
		return store.Checksum([]byte(b.String())), nil
	}
}
