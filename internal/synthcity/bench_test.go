package synthcity

import (
	"bufio"
	"context"
	"io"
	"testing"
	"time"
)

// BenchmarkWriteDump writes a city of 1M requests (duplicates planted) to
// io.Discard: the demo's generator on its own, in rows per second.
func BenchmarkWriteDump(b *testing.B) {
	for i := 0; i < b.N; i++ {
		c, err := New(Options{Seed: 1, Tickets: 1_000_000, Weeks: 12, Duplicates: true, End: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriterSize(io.Discard, 1<<20)
		start := time.Now()
		if err := c.WriteDump(context.Background(), w); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(c.Truth.Rows)/time.Since(start).Seconds(), "rows/s")
	}
}
