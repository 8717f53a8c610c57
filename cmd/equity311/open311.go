package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/equity311/equity311"

	"github.com/equity311/equity311/ingest/open311sync"
	"github.com/equity311/equity311/internal/fetch"
	"github.com/equity311/equity311/internal/synthcity"
	"github.com/equity311/equity311/open311"
	"github.com/equity311/equity311/open311/sandbox"
	"github.com/equity311/equity311/store"
)

func (a *app) ingestOpen311Cmd() *cobra.Command {
	var c open311.Client
	var keyEnv, since, city, discovery, discoveryType string
	var perMinute float64
	var window time.Duration
	var pageSize, maxPages int
	var maxMB int64
	var updatedAfter bool
	cmd := &cobra.Command{
		Use:   "open311 --endpoint URL|--discovery URL --city C [--jurisdiction J] [--format json|xml] [--api-key-env VAR] [--since T]",
		Short: "Sync an Open311 GeoReport v2 server, incrementally",
		Long: `Sync an Open311 GeoReport v2 server into tickets: its services (the request
types its app offers), then requests window by window from where the last
sync stopped (or --since, default 90 days ago), paging where the server
pages, shrinking windows the server truncates, then every request still open
again by id so status changes arrive. Requests carry the feed's extended
channel (extensions=true), or the app channel when the feed gives none.
Dump tickets without a channel take it from the feed (channel_basis open311).
The rate limit defaults to 10 requests a minute, as Connected Bits cities ask.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if keyEnv != "" {
				if c.APIKey = os.Getenv(keyEnv); c.APIKey == "" {
					return fmt.Errorf("--api-key-env %s: the variable is empty", keyEnv)
				}
			}
			c.HTTP = a.fetchClient()
			c.HTTP.MaxBytes = maxMB << 20
			if perMinute > 0 {
				c.HTTP.MinInterval = time.Duration(float64(time.Minute) / perMinute)
			}
			switch {
			case discovery != "":
				if _, err := c.Discover(cmd.Context(), discovery, discoveryType); err != nil {
					return err
				}
			case c.Endpoint == "":
				return errors.New("give --endpoint, or --discovery to find it")
			}
			opt := open311sync.Options{Client: &c, City: city, Window: window, PageSize: pageSize, MaxPages: maxPages, UpdatedAfter: updatedAfter, Log: a.logger(), Now: a.now}
			if since != "" {
				t, err := equity311.ParseDate(since, time.UTC)
				if err != nil {
					return err
				}
				opt.Since = t
			}
			return a.withStore(cmd.Context(), func(st *store.Store) error {
				res, err := open311sync.Sync(cmd.Context(), st, opt)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.summary(), "%s: %d services, %d windows from %s to %s, %d requests written, %d open ones re-polled\n",
					c.Redacted(), res.Services, res.Windows, res.From.UTC().Format(time.RFC3339), res.To.UTC().Format(time.RFC3339), res.Requests, res.Repolled)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&c.Endpoint, "endpoint", "", "GeoReport v2 base URL, e.g. https://host/open311/v2")
	cmd.Flags().StringVar(&c.Jurisdiction, "jurisdiction", "", "jurisdiction_id, for servers that host several")
	cmd.Flags().StringVar(&c.Format, "format", "json", "json or xml")
	cmd.Flags().StringVar(&keyEnv, "api-key-env", "", "environment variable holding an API key (never printed)")
	cmd.Flags().BoolVar(&c.Extensions, "extensions", true, "ask for extended_attributes (the channel)")
	cmd.Flags().StringVar(&since, "since", "", "first sync starts here (YYYY-MM-DD or RFC 3339); later syncs continue from the cursor")
	cmd.Flags().StringVar(&city, "city", "", "city name for the tickets (required)")
	cmd.Flags().Float64Var(&perMinute, "rate", 10, "requests per minute at most")
	cmd.Flags().DurationVar(&window, "window", 7*24*time.Hour, "first window of requested time")
	cmd.Flags().IntVar(&pageSize, "page-size", 100, "requests per page where the server pages")
	cmd.Flags().IntVar(&maxPages, "max-pages", open311.DefaultMaxPages, "pages per window before giving up (a server that never stops paging)")
	cmd.Flags().Int64Var(&maxMB, "max-response-mb", fetch.DefaultMaxBytes>>20, "largest answer read, in MiB")
	cmd.Flags().BoolVar(&updatedAfter, "updated-after", false, "also ask for requests updated since the last sync (servers with the v2.1 draft's updated_after)")
	cmd.Flags().StringVar(&discovery, "discovery", "", "a discovery document's URL, instead of --endpoint")
	cmd.Flags().StringVar(&discoveryType, "type", "production", "with --discovery: the endpoint type, production or test")
	cmd.MarkFlagRequired("city")
	return cmd
}

func (a *app) sandboxCmd() *cobra.Command {
	var addr string
	var city synthcity.Options
	var sb sandbox.Options
	c := &cobra.Command{
		Use:   "sandbox [--addr 127.0.0.1:PORT] [--seed S] [--reset 24h] [--stream RATE] [--clock-speed X]",
		Short: "Run the Open311 sandbox server (serving the synthetic city)",
		Long: `Run an Open311 GeoReport v2 sandbox that serves the synthetic city (the same
seed as demo gives the same requests): discovery, services, service
definitions, POST requests (api_key sandbox-key), tokens, GET requests with
every spec filter plus page/page_size and updated_after, GET one request, in
JSON and XML. Requests move from open through review to closed on a clock
that --clock-speed can run fast; --stream adds new requests each simulated
hour; --reset drops posted and streamed ones on schedule. Fault switches
test clients. It listens on localhost unless --addr says otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			city.Now = a.now
			sb.Seed = city.Seed
			srv, err := sandbox.FromCity(cmd.Context(), city, sb)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Open311 sandbox on http://%s/open311/v2/ (discovery.json, services.json, requests.json; POST with api_key=sandbox-key)\n", ln.Addr())
			hs := srv.HTTPServer()
			go func() {
				<-cmd.Context().Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				hs.Shutdown(ctx)
			}()
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:3311", "listen address (localhost by default)")
	c.Flags().Uint64Var(&city.Seed, "seed", 1, "synthetic city seed")
	c.Flags().IntVar(&city.Tickets, "tickets", 20000, "requests in the city")
	c.Flags().IntVar(&city.Weeks, "weeks", 12, "weeks of requests")
	c.Flags().DurationVar(&sb.Reset, "reset", 24*time.Hour, "drop posted and streamed requests after this much simulated time (0 never)")
	c.Flags().Float64Var(&sb.StreamPerHour, "stream", 20, "new requests per simulated hour")
	c.Flags().Float64Var(&sb.ClockSpeed, "clock-speed", 1, "simulated seconds per real second")
	c.Flags().DurationVar(&sb.Faults.Latency, "latency", 0, "fault: delay every answer")
	c.Flags().Float64Var(&sb.Faults.ErrorRate, "error-rate", 0, "fault: share of answers that are 500 or 503")
	c.Flags().IntVar(&sb.Faults.RateLimit, "rate-limit", 0, "fault: requests per minute before 429")
	c.Flags().IntVar(&sb.Faults.RetryAfter, "retry-after", 0, "fault: Retry-After seconds with 429 and 503")
	c.Flags().BoolVar(&sb.Faults.ShortPages, "short-pages", false, "fault: pages shorter than page_size before the end")
	c.Flags().BoolVar(&sb.Faults.RepeatPages, "repeat-pages", false, "fault: past the last page, repeat it")
	c.Flags().IntVar(&sb.Faults.Cap, "cap", 0, "fault: truncate every query's results at this count")
	return c
}
