package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/equity311/equity311/service"
)

const defaultConfig = "equity311.toml"

func (a *app) configCmd() *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Check the weekly service's config file"}
	c.AddCommand(&cobra.Command{
		Use:   "check [FILE]",
		Short: "Check a config file: every bad key with its line, missing files, empty secret variables",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := defaultConfig
			if len(args) == 1 {
				path = args[0]
			}
			cfg, err := service.LoadConfig(path)
			if err != nil {
				var ce *service.ConfigError
				if errors.As(err, &ce) {
					for _, p := range ce.Problems {
						fmt.Fprintf(a.stderr, "%s: %s\n", ce.Path, p)
					}
					if len(ce.Problems) == 1 {
						return fmt.Errorf("%s: 1 problem", ce.Path)
					}
					return fmt.Errorf("%s: %d problems", ce.Path, len(ce.Problems))
				}
				return err
			}
			fmt.Fprintf(a.stdout, "%s: ok: city %s (%s), %d sources, %d layers, %d census files, reports %v, schedule %q, archive %s, listen %s\n",
				path, cfg.City.Name, cfg.City.TimeZone, len(cfg.Sources), len(cfg.Layers), len(cfg.Census), cfg.Reports.Kinds,
				cfg.Schedule.Cron, cfg.Archive.Dir, cfg.Server.Listen)
			// Each source's options as the service will use them, defaults
			// marked: the same defaults `equity311 ingest KIND --help` shows.
			for _, src := range cfg.Sources {
				fmt.Fprintf(a.stdout, "source %s (%s):", src.Name, src.Kind())
				for _, o := range service.SourceSettings(src) {
					if o.Default {
						fmt.Fprintf(a.stdout, " %s = %s (default);", o.Key, o.Value)
					} else {
						fmt.Fprintf(a.stdout, " %s = %s;", o.Key, o.Value)
					}
				}
				fmt.Fprintln(a.stdout)
			}
			return nil
		},
	})
	return c
}

// runner makes the service's cycle runner for a config file.
func (a *app) runner(path string) (*service.Runner, error) {
	cfg, err := service.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	r := &service.Runner{Config: cfg, Now: a.now, Log: a.serviceLogger()}
	if a.isTerminal() {
		r.Progress = a.progress
	}
	return r, nil
}

// serviceLogger logs at info level: as text on a terminal, as JSON lines
// otherwise (for journald, cron mail and log collectors).
func (a *app) serviceLogger() *slog.Logger {
	return a.newLogger(slog.LevelInfo, !a.isTerminal())
}

func (a *app) runCmd() *cobra.Command {
	var path, week string
	c := &cobra.Command{
		Use:   "run [--config FILE] [--week YYYY-Www]",
		Short: "Run one cycle of the weekly service: sync, load, place, analyze, publish the week's reports",
		Long: `Run one cycle: sync every feed of the config, load new dumps from its drop
folder (each file once, by checksum), load boundaries and census files not
loaded yet, place new requests, analyse the 13 weeks to the week, and
publish the week's reports into ARCHIVE/YYYY-Www/ whole or not at all.
The week defaults to the last complete ISO week in the city's time zone.
A failed source does not stop the others. The exit status says how the
cycle ended, for cron and systemd timers:

  0  the week was published and every source synced or loaded
  1  the week was not published (the previous reports stay in place), or
     every source failed, or the cycle was interrupted
  3  the week was published, but some sources failed
  4  no source gave a single request in the week: nothing was published
     (an outage is never published as an empty week)

SIGINT/SIGTERM abandon the cycle cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := a.runner(path)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res, err := r.Run(ctx, week)
			for _, s := range res.Sources {
				status := "ok"
				if !s.OK {
					status = "FAILED: " + s.Error
				}
				fmt.Fprintf(a.summary(), "source %s (%s): %d rows loaded, %d rejected: %s\n", s.Name, s.Kind, s.Loaded, s.Rejected, status)
			}
			return runStatus(a.stdout, res, err, r.Config.Archive.Dir)
		},
	}
	c.Flags().StringVar(&path, "config", defaultConfig, "config file")
	c.Flags().StringVar(&week, "week", "", "ISO week to publish (default: the last complete one in the city's time zone)")
	return c
}

// Exit statuses of run besides 0 and 1.
const (
	exitPartial = 3 // published, but some sources failed
	exitNoData  = 4 // no request in the week: nothing published
)

// runStatus turns a cycle's result into run's outcome: nil when the week
// was published from every source (printing its folder), else an error
// carrying the exit status.
func runStatus(w io.Writer, res service.CycleResult, err error, archive string) error {
	if errors.Is(err, service.ErrNoData) {
		return &exitError{exitNoData, fmt.Errorf("cycle for %s: %w", res.Week, err)}
	}
	if err != nil {
		return fmt.Errorf("cycle for %s: %w", res.Week, err)
	}
	fmt.Fprintf(w, "%s/%s\n", archive, res.Week)
	var failed []string
	for _, s := range res.Sources {
		if !s.OK {
			failed = append(failed, s.Name)
		}
	}
	if len(failed) > 0 && len(failed) == len(res.Sources) {
		return fmt.Errorf("cycle for %s: every source failed (%s); the week was published from earlier loads only", res.Week, strings.Join(failed, ", "))
	}
	if len(failed) > 0 {
		return &exitError{exitPartial, fmt.Errorf("cycle for %s: published, but %d of %d sources failed (%s)", res.Week, len(failed), len(res.Sources), strings.Join(failed, ", "))}
	}
	return nil
}

func (a *app) serveCmd() *cobra.Command {
	var path, addr string
	c := &cobra.Command{
		Use:   "serve [--config FILE] [--addr HOST:PORT]",
		Short: "Run cycles on the config's schedule and serve the report archive read-only over HTTP",
		Long: `Run the weekly service: catch up the weeks missed while it was down (up to
schedule.catch_up_weeks), then run a cycle at each time of schedule.cron
(default Monday 06:00, city time), never two at once, opening the database
only while a cycle runs. Serve the archive read-only at --addr or
server.listen (default 127.0.0.1:8311): / (the weeks with their headline
figures), /reports/YYYY-Www/ (the weekly report; research/ beside it), /latest/, /healthz, /metrics (Prometheus) and
/status.json. SIGINT/SIGTERM stop it gracefully, abandoning a running
cycle cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := a.runner(path)
			if err != nil {
				return err
			}
			if addr != "" {
				r.Config.Server.Listen = addr
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			s := &service.Server{Runner: r, Log: r.Log}
			return s.ListenAndServe(ctx, func(addr string) {
				fmt.Fprintf(a.stdout, "serving the archive %s at http://%s/\n", r.Config.Archive.Dir, addr)
			})
		},
	}
	c.Flags().StringVar(&path, "config", defaultConfig, "config file")
	c.Flags().StringVar(&addr, "addr", "", "address to serve on, instead of the config's server.listen (default 127.0.0.1:8311)")
	return c
}
