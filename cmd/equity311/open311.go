package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/equity311/equity311/internal/synthcity"
	"github.com/equity311/equity311/open311/sandbox"
)

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
