package ingest

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/ingest/fetch"
	"github.com/equity311/equity311/ingest/open311"
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
status = "status"
service_code = "service_code"
service_name = "service_name"
department = "agency_responsible"
channel = "channel"
lat = "lat"
lon = "long"
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

// Open311Options configure LoadOpen311.
type Open311Options struct {
	Client *open311.Client
	City   string
	// Since is where a first sync starts (default 90 days before now);
	// later syncs continue from the saved cursor.
	Since    time.Time
	Window   time.Duration
	PageSize int
	Cap      int
	// UpdatedAfter also asks for every request updated since the previous
	// sync, for servers that support updated_after (the v2.1 draft):
	// status changes of requests closed and reopened, not only open ones.
	UpdatedAfter bool
	Now          func() time.Time
	Log          *slog.Logger
}

// Open311Result reports a sync.
type Open311Result struct {
	Services int
	Windows  int
	Requests int64 // requests written (windows and re-polls)
	Repolled int   // open requests asked for again by id
	From, To time.Time
}

// LoadOpen311 syncs an Open311 endpoint into tickets: its services into
// open311_services, then requests window by window from the saved cursor
// to now, then every still-open request again by id so that status changes
// arrive. Each window is written and the cursor advanced after it, so a
// sync killed at any point resumes where it stopped, with no gap and no
// duplicate. Channel-less tickets from dumps are reconciled afterwards.
func LoadOpen311(ctx context.Context, st *equity311.Store, opt Open311Options) (Open311Result, error) {
	var res Open311Result
	c := opt.Client
	if c == nil || c.Endpoint == "" {
		return res, fmt.Errorf("open311: an endpoint is required")
	}
	if c.HTTP == nil {
		c.HTTP = fetch.New()
	}
	if opt.City == "" {
		return res, fmt.Errorf("open311: a city name is required (--city)")
	}
	if opt.Now == nil {
		opt.Now = st.Now
	}
	log := orDiscard(opt.Log)
	p, err := ParseProfile("open311", []byte(open311Profile))
	if err != nil {
		return res, err
	}
	services, err := c.Services(ctx)
	if err != nil {
		return res, err
	}
	if err := saveServices(ctx, st, c.Endpoint, services); err != nil {
		return res, err
	}
	res.Services = len(services)
	feed := "open311:" + c.Endpoint
	cursor, err := loadCursor(ctx, st, feed)
	if err != nil {
		return res, err
	}
	from := opt.Since
	if cursor != "" {
		if from, err = time.Parse(time.RFC3339Nano, cursor); err != nil {
			return res, fmt.Errorf("open311: bad saved cursor %q: %w", cursor, err)
		}
	} else if from.IsZero() {
		from = opt.Now().Add(-90 * 24 * time.Hour)
	}
	res.From, res.To = from, opt.Now()
	write := func(reqs []open311.Request, what string) error {
		if len(reqs) == 0 {
			return nil
		}
		r, err := loadRecords(ctx, st, loadSpec{kind: "open311", name: c.Endpoint + " " + what, profile: p, city: opt.City,
			headers: open311Headers(), records: &open311Records{reqs: reqs}, checksum: open311Checksum(reqs), log: log})
		if err != nil {
			return err
		}
		res.Requests += r.Loaded
		return markSeen(ctx, st, opt.City, c.Endpoint, reqs, p)
	}
	err = c.Sync(ctx, open311.SyncOptions{From: from, To: res.To, Window: opt.Window, PageSize: opt.PageSize, Cap: opt.Cap},
		func(end time.Time, reqs []open311.Request) error {
			res.Windows++
			if err := write(reqs, "until "+end.UTC().Format(time.RFC3339)); err != nil {
				return err
			}
			return saveCursor(ctx, st, feed, end.UTC().Format(time.RFC3339Nano))
		})
	if err != nil {
		return res, err
	}
	if opt.UpdatedAfter {
		uFeed := "open311-updated:" + c.Endpoint
		last, err := loadCursor(ctx, st, uFeed)
		if err != nil {
			return res, err
		}
		if last != "" {
			t, err := time.Parse(time.RFC3339Nano, last)
			if err != nil {
				return res, err
			}
			reqs, err := c.UpdatedAfter(ctx, t, opt.PageSize)
			if err != nil {
				return res, fmt.Errorf("updated_after: %w", err)
			}
			if err := write(reqs, "updated after "+last); err != nil {
				return res, err
			}
		}
		if err := saveCursor(ctx, st, uFeed, res.To.UTC().Format(time.RFC3339Nano)); err != nil {
			return res, err
		}
	}
	// Re-poll what is still open.
	rows, err := st.DB().QueryContext(ctx, `SELECT t.ticket_id FROM tickets t JOIN open311_seen s USING (city, ticket_id)
		WHERE t.city = ? AND s.endpoint = ? AND coalesce(t.status, '') <> 'closed' ORDER BY 1`, opt.City, c.Endpoint)
	if err != nil {
		return res, err
	}
	var open []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return res, err
		}
		open = append(open, id)
	}
	rows.Close()
	if len(open) > 0 {
		reqs, err := c.ByID(ctx, open)
		if err != nil {
			return res, fmt.Errorf("re-poll open requests: %w", err)
		}
		res.Repolled = len(open)
		if err := write(reqs, "re-poll "+opt.Now().UTC().Format(time.RFC3339)); err != nil {
			return res, err
		}
	}
	if _, err := Reconcile(ctx, st); err != nil {
		return res, err
	}
	log.Info("synced open311", "endpoint", c.Redacted(), "windows", res.Windows, "requests", res.Requests, "repolled", res.Repolled)
	return res, nil
}

// Reconcile gives tickets that came without a channel (channel_basis
// 'none') the channel their Open311 feed recorded, with channel_basis
// 'open311'. It returns how many tickets it changed.
func Reconcile(ctx context.Context, st *equity311.Store) (int64, error) {
	var resident []string
	for _, ch := range equity311.Channels() {
		if r, ok := ch.ResidentInitiated(); ok {
			resident = append(resident, fmt.Sprintf("WHEN '%s' THEN %v", ch, r))
		}
	}
	r, err := st.DB().ExecContext(ctx, `UPDATE tickets SET channel = s.channel, channel_basis = 'open311',
		resident_initiated = CASE s.channel `+strings.Join(resident, " ")+` ELSE NULL END
		FROM open311_seen s
		WHERE tickets.city = s.city AND tickets.ticket_id = s.ticket_id AND tickets.channel_basis = 'none'`)
	if err != nil {
		return 0, fmt.Errorf("reconcile channels: %w", err)
	}
	return r.RowsAffected()
}

func saveServices(ctx context.Context, st *equity311.Store, endpoint string, services []open311.Service) error {
	conn, err := st.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return equity311.InTx(ctx, conn, func() error {
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
func markSeen(ctx context.Context, st *equity311.Store, city, endpoint string, reqs []open311.Request, p *Profile) error {
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
	i := 0
	if _, err := equity311.Append(ctx, conn, "stage_seen", 6, func(row []driver.Value) (bool, error) {
		if i == len(reqs) {
			return false, nil
		}
		r := reqs[i]
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
	return equity311.InTx(ctx, conn, func() error {
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

func open311Headers() []string {
	return []string{"service_request_id", "requested_datetime", "closed_datetime", "updated_datetime", "status",
		"service_code", "service_name", "agency_responsible", "channel", "lat", "long"}
}

// open311Records hands requests to loadRecords as records.
type open311Records struct {
	reqs   []open311.Request
	i      int
	raw    []byte
	fields [][]byte
}

func (o *open311Records) Read() ([][]byte, int, error) {
	if o.i == len(o.reqs) {
		return nil, 0, io.EOF
	}
	r := o.reqs[o.i]
	o.i++
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
	vals := []string{r.ID, r.Requested.Format(time.RFC3339), closed, ts(r.Updated), r.Status, r.ServiceCode,
		r.ServiceName, r.AgencyResponsible, channelRaw(r), fl(r.Lat), fl(r.Lon)}
	o.fields = o.fields[:0]
	for _, v := range vals {
		o.fields = append(o.fields, []byte(v))
	}
	o.raw = []byte(strings.Join(vals, ","))
	return o.fields, o.i, nil
}

func (o *open311Records) Raw() []byte { return o.raw }

// open311Checksum identifies a batch by its requests' ids and versions, so
// that fetching the same versions again changes nothing.
func open311Checksum(reqs []open311.Request) func() (string, error) {
	return func() (string, error) {
		var b strings.Builder
		for _, r := range reqs {
			b.WriteString(r.ID + "|" + r.Status + "|")
			if r.Updated != nil {
				b.WriteString(r.Updated.UTC().Format(time.RFC3339Nano))
			}
			b.WriteString("\n")
		}
		sum := sha256sum([]byte(b.String()))
		return sum, nil
	}
}
