package dump

import (
	"cmp"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/equity311/equity311/ingest/csvrec"
	"github.com/equity311/equity311/store"
)

const batchRecords = 4096

// The columns of the staging table stage_tickets, in Append order: a
// staged row is a [stageCols]driver.Value indexed by these. To keep the
// appender's per-value cost down, the channel, its basis,
// resident_initiated and the geo quality travel packed in one integer
// (see codeTables.pack) and are unpacked in SQL; service_name is NULL when
// it comes from the same column as service_code.
const (
	sLine = iota
	sTicketID
	sOpenedAt
	sClosedAt
	sUpdatedAt
	sTargetAt
	sStatus
	sServiceCode
	sServiceName
	sDepartment
	sChannelRaw
	sCode
	sLat
	sLon
	sDupBasis // duplicates: reported, text, or NULL
	sDupParent
	sDupPattern
	stageCols
)

var stageColumns = [stageCols]string{
	sLine: "line BIGINT", sTicketID: "ticket_id VARCHAR", sOpenedAt: "opened_at TIMESTAMPTZ",
	sClosedAt: "closed_at TIMESTAMPTZ", sUpdatedAt: "updated_at TIMESTAMPTZ", sTargetAt: "target_at TIMESTAMPTZ", sStatus: "status VARCHAR",
	sServiceCode: "service_code VARCHAR", sServiceName: "service_name VARCHAR", sDepartment: "department VARCHAR",
	sChannelRaw: "channel_raw VARCHAR", sCode: "code INTEGER", sLat: "lat DOUBLE", sLon: "lon DOUBLE",
	sDupBasis: "dup_basis VARCHAR", sDupParent: "dup_parent VARCHAR", sDupPattern: "dup_pattern VARCHAR",
}

// stageDDL creates the staging table from stageColumns.
func stageDDL() string {
	return "CREATE OR REPLACE TEMP TABLE stage_tickets (" + strings.Join(stageColumns[:], ", ") + ")"
}

// recordBatch holds raw records copied out of the reader's buffer: every
// field's bytes and every record's raw text in one arena.
type recordBatch struct {
	arena []byte
	ends  []int // end offset in arena of each field, then of the raw text, per record
	recs  []recordRef
}

type recordRef struct {
	line   int
	first  int // index in ends of the record's first field
	fields int
}

// rowBatch is a batch of converted rows ready to append.
type rowBatch struct{ rows [][stageCols]driver.Value }

// stager runs the read → convert pipeline of one file.
type stager struct {
	rows     chan rowBatch
	cancel   context.CancelFunc
	done     chan struct{}
	err      error
	nread    atomic.Int64 // records read, good and bad
	mu       sync.Mutex   // guards excluded and rejects
	excluded int64
	rejects  []store.Reject
}

// stageRecords reads every record of rd in one goroutine and converts them
// with rp in one goroutine per CPU. Rows arrive on s.rows in no particular
// order (each carries its line); rejects are sorted by line when wait
// returns. progress is called after each batch read.
func stageRecords(ctx context.Context, rd RecordReader, rp *rowParser, progress func()) *stager {
	ctx, cancel := context.WithCancel(ctx)
	s := &stager{rows: make(chan rowBatch, 4), cancel: cancel, done: make(chan struct{})}
	raw := make(chan recordBatch, 4)
	var readErr error
	go func() {
		defer close(raw)
		readErr = s.read(ctx, rd, raw, progress)
	}()
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.convert(ctx, raw, rp)
		}()
	}
	go func() {
		wg.Wait()
		close(s.rows)
		if readErr == nil && ctx.Err() != nil {
			readErr = ctx.Err()
		}
		s.err = readErr
		close(s.done)
	}()
	return s
}

// read copies records out of rd into batches of batchRecords and sends
// them on raw; bad records become rejects. It returns the reader's error.
func (s *stager) read(ctx context.Context, rd RecordReader, raw chan<- recordBatch, progress func()) error {
	b := recordBatch{}
	var rej []store.Reject
	last := 1 // the line of the last good record (1: the header)
	send := func() bool {
		select {
		case raw <- b:
		case <-ctx.Done():
			return false
		}
		b = recordBatch{arena: make([]byte, 0, len(b.arena)), ends: make([]int, 0, len(b.ends))}
		progress()
		return true
	}
	for {
		fields, line, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var re *csvrec.RecordError
			if !errors.As(err, &re) {
				return fmt.Errorf("after line %d: %w", last, err)
			}
			s.nread.Add(1)
			rej = append(rej, store.Reject{Line: int64(re.Line), Reason: re.Err.Error(), Raw: string(re.Raw)})
			continue
		}
		s.nread.Add(1)
		last = line
		ref := recordRef{line: line, first: len(b.ends), fields: len(fields)}
		for _, f := range fields {
			b.arena = append(b.arena, f...)
			b.ends = append(b.ends, len(b.arena))
		}
		b.arena = append(b.arena, rd.Raw()...)
		b.ends = append(b.ends, len(b.arena))
		b.recs = append(b.recs, ref)
		if len(b.recs) == batchRecords && !send() {
			return nil
		}
	}
	if len(b.recs) > 0 {
		send()
	}
	s.addRejects(rej, 0)
	return nil
}

// convert turns batches of records into rows with rp until raw closes or
// the pipeline is cancelled.
func (s *stager) convert(ctx context.Context, raw <-chan recordBatch, rp *rowParser) {
	var rej []store.Reject
	var excluded int64
	layouts := make([]int64, len(rp.layoutRows))
	defer func() {
		s.addRejects(rej, excluded)
		for i, n := range layouts {
			rp.layoutRows[i].Add(n)
		}
	}()
	var fields [][]byte
	for b := range raw {
		out := rowBatch{rows: make([][stageCols]driver.Value, 0, len(b.recs))}
		for _, r := range b.recs {
			fields = fields[:0]
			start := 0
			if r.first > 0 {
				start = b.ends[r.first-1]
			}
			for k := r.first; k < r.first+r.fields; k++ {
				fields = append(fields, b.arena[start:b.ends[k]])
				start = b.ends[k]
			}
			var row [stageCols]driver.Value
			res := rp.parse(fields, r.line, &row)
			if res.layout > 0 {
				layouts[res.layout-1]++
			}
			switch {
			case res.excluded:
				excluded++
			case res.Reason != "" && !res.Partial:
				res.Raw = string(b.arena[start:b.ends[r.first+r.fields]])
				rej = append(rej, res.Reject)
			case res.Partial:
				res.Raw = string(b.arena[start:b.ends[r.first+r.fields]])
				rej = append(rej, res.Reject)
				out.rows = append(out.rows, row)
			default:
				out.rows = append(out.rows, row)
			}
		}
		select {
		case s.rows <- out:
		case <-ctx.Done():
			for range raw {
			}
			return
		}
	}
}

func (s *stager) addRejects(r []store.Reject, excluded int64) {
	s.mu.Lock()
	s.rejects = append(s.rejects, r...)
	s.excluded += excluded
	s.mu.Unlock()
}

// wait waits for the pipeline to finish and returns its error.
func (s *stager) wait() error {
	<-s.done
	s.cancel()
	slices.SortFunc(s.rejects, func(a, b store.Reject) int { return cmp.Compare(a.Line, b.Line) })
	return s.err
}
