package service

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// steppingClock jumps forward by every wait instead of waiting, counts the
// waits and ends the run once it has covered span.
type steppingClock struct {
	mu     sync.Mutex
	now    time.Time
	end    time.Time
	cancel context.CancelFunc
	waits  []time.Duration
}

func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *steppingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	if !c.now.Before(c.end) || len(c.waits) > 10_000 {
		c.cancel()
		return context.Canceled
	}
	return nil
}

// TestSchedulerNeverSpins: with a schedule that has no next time (30
// February, written around the config check) and every cycle failing, the
// scheduler wakes at its retry interval and never faster; with a failing
// cycle and an hourly retry, two days hold at most 49 wake-ups.
func TestSchedulerNeverSpins(t *testing.T) {
	for _, cronSpec := range []string{"0 6 30 2 *", "0 6 * * 1"} {
		t.Run(cronSpec, func(t *testing.T) {
			dir := t.TempDir()
			cfg := &Config{Database: filepath.Join(dir, "missing", "eq.duckdb"), City: City{Name: "c"},
				Schedule: Schedule{Cron: cronSpec, CatchUpWeeks: 1}, Archive: Archive{Dir: filepath.Join(dir, "archive")}, loc: time.UTC}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			start := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
			clock := &steppingClock{now: start, end: start.Add(48 * time.Hour), cancel: cancel}
			s := &Server{Runner: &Runner{Config: cfg, OpenWait: time.Millisecond}, Clock: clock, RetryAfter: time.Hour}
			s.Runner.Now = clock.Now
			s.schedule(ctx)
			for _, d := range clock.waits {
				if d < minWake {
					t.Fatalf("waited %v, less than %v: %v", d, minWake, clock.waits[:min(len(clock.waits), 10)])
				}
			}
			limit := 49
			if n := len(clock.waits); n > limit || n < 2 {
				t.Errorf("%d wake-ups in two days, want 2 to %d", n, limit)
			}
		})
	}
}
