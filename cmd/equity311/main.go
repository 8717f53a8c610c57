// Command equity311 measures who reports problems to a city through its
// smartphone app and who does not. The pipeline runs
//
//	ingest (dumps, boundaries, census) → DuckDB file → assign (geo) → analyze → report
//
// and each stage is a subcommand; demo runs them all on a synthetic city.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // city time zones on machines without a zoneinfo database

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/equity311/equity311/store"
)

func main() {
	// Batch loads allocate short-lived rows fast; collecting less often
	// saved about 10% of a 1M-row load (GOGC=400 vs 100) for ~15% more heap.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a := newApp(os.Stdout, os.Stderr, time.Now)
	err := a.root().ExecuteContext(ctx)
	stop()
	err = errors.Join(err, a.stopProfile())
	if err != nil {
		fmt.Fprintln(os.Stderr, "equity311:", err)
		os.Exit(exitStatus(err))
	}
}

// stopProfile finishes the CPU profile, if one is being written: after
// the command, whether or not it failed.
func (a *app) stopProfile() error {
	if a.profile == nil {
		return nil
	}
	pprof.StopCPUProfile()
	f := a.profile
	a.profile = nil
	if err := f.Close(); err != nil {
		return fmt.Errorf("cpu profile %s: %w", a.cpuProfile, err)
	}
	return nil
}

// exitError asks for an exit status other than 1: cron and systemd tell
// a partial cycle from a failed one by it.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitStatus is the process's exit status for a command's error.
func exitStatus(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return 1
}

// app holds the global flags and the process's outputs.
type app struct {
	db string
	// summaries receives one line per pipeline step: stdout for the step's
	// own command, stderr inside demo (whose output is the report path).
	summaries io.Writer
	quiet     bool
	verbose   bool
	// cpuProfile, when set, is the file a CPU profile of the command is
	// written to (go tool pprof reads it).
	cpuProfile string
	profile    *os.File // the CPU profile being written, until stopProfile
	stdout     io.Writer
	stderr     io.Writer
	now        func() time.Time
}

func newApp(stdout, stderr io.Writer, now func() time.Time) *app {
	return &app{stdout: stdout, stderr: stderr, now: now}
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "equity311",
		Short: "Who reports problems to the city through the app, and who does not",
		Long: `equity311 loads a city's 311 service requests (dumps and APIs), places every
request in its neighborhood and census tract, joins census demographics,
measures channel use per area with honest statistics, and writes HTML reports.

Pipeline: ingest → assign → analyze → report. Try: equity311 demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	def := os.Getenv("EQUITY311_DB")
	if def == "" {
		def = "equity311.duckdb"
	}
	root.PersistentFlags().StringVar(&a.db, "db", def, "DuckDB file (env EQUITY311_DB)")
	root.PersistentFlags().BoolVarP(&a.quiet, "quiet", "q", false, "no progress or log output")
	root.PersistentFlags().BoolVarP(&a.verbose, "verbose", "v", false, "debug logging")
	root.PersistentFlags().StringVar(&a.cpuProfile, "cpuprofile", "", "write a CPU profile of the command to `FILE` (for go tool pprof)")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if a.cpuProfile == "" {
			return nil
		}
		f, err := os.Create(a.cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("cpu profile %s: %w", a.cpuProfile, err)
		}
		a.profile = f
		return nil
	}
	root.AddCommand(a.demoCmd(), a.ingestCmd(), a.assignCmd(), a.matchDuplicatesCmd(), a.analyzeCmd(), a.reportCmd(),
		a.exportCmd(), a.profilesCmd(), a.statusCmd(), a.sandboxCmd(), a.configCmd(), a.runCmd(), a.serveCmd())
	requireSubcommands(root)
	mendOptionErrors(root)
	return root
}

// requireSubcommands makes every command that only groups others fail on a
// missing or unknown subcommand, instead of printing its help and exiting
// 0 as cobra does below the root.
func requireSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		requireSubcommands(sub)
	}
	if !c.HasSubCommands() || c.Runnable() {
		return
	}
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		var names []string
		for _, s := range cmd.Commands() {
			if s.IsAvailableCommand() {
				names = append(names, s.Name())
			}
		}
		if len(args) == 0 {
			return fmt.Errorf("%s needs a subcommand: %s", cmd.CommandPath(), strings.Join(names, ", "))
		}
		return fmt.Errorf("unknown command %q for %s; its subcommands are %s", args[0], cmd.CommandPath(), strings.Join(names, ", "))
	}
}

// logger logs warnings to stderr as text unless --quiet.
func (a *app) logger() *slog.Logger { return a.newLogger(slog.LevelWarn, false) }

// newLogger logs at level (debug with --verbose, nothing with --quiet),
// as JSON lines when json is set.
func (a *app) newLogger(level slog.Level, json bool) *slog.Logger {
	if a.quiet {
		return slog.New(slog.DiscardHandler)
	}
	if a.verbose {
		level = slog.LevelDebug
	}
	opt := &slog.HandlerOptions{Level: level}
	if json {
		return slog.New(slog.NewJSONHandler(a.stderr, opt))
	}
	return slog.New(slog.NewTextHandler(a.stderr, opt))
}

// open opens the database named by --db.
func (a *app) open(ctx context.Context) (*store.Store, error) {
	st, err := store.Open(ctx, a.db)
	if err != nil {
		return nil, err
	}
	st.SetClock(a.now)
	return st, nil
}

// withStore runs fn on the open database and closes it.
func (a *app) withStore(ctx context.Context, fn func(*store.Store) error) (err error) {
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	return fn(st)
}

// isTerminal reports whether stderr is a terminal that progress bars may draw on.
func (a *app) isTerminal() bool {
	f, ok := a.stderr.(*os.File)
	return ok && !a.quiet && term.IsTerminal(int(f.Fd()))
}

// progress returns a callback drawing a byte progress bar on a terminal,
// and a function to finish it; both do nothing elsewhere.
func (a *app) progress(label string) (func(done, total int64), func()) {
	if !a.isTerminal() {
		return nil, func() {}
	}
	var bar *progressbar.ProgressBar
	return func(done, total int64) {
			if bar == nil {
				bar = progressbar.NewOptions64(total, progressbar.OptionSetDescription(label),
					progressbar.OptionSetWriter(a.stderr), progressbar.OptionShowBytes(true),
					progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
			}
			bar.Set64(done)
		}, func() {
			if bar != nil {
				bar.Finish()
			}
		}
}

// summary is where step summaries go: nowhere with --quiet.
func (a *app) summary() io.Writer {
	switch {
	case a.quiet:
		return io.Discard
	case a.summaries != nil:
		return a.summaries
	}
	return a.stdout
}
