// Package csvrec reads CSV records the way city data portals write them,
// and keeps going past bad ones.
//
// Unlike encoding/csv it reports each record's raw bytes and starting line
// (for rejects), strips a UTF-8 byte-order mark and CR before LF, skips blank
// lines, keeps stray quotes inside unquoted fields literally, and recovers
// from an unterminated quote: the record that opened it is reported as bad
// and reading resumes on the line after it. Fields are byte slices into an
// internal buffer, valid until the next call to Read, so reading a large file
// allocates little.
package csvrec

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrUnterminatedQuote reports a quoted field that does not close within
// MaxRecordBytes or before the end of the input.
var ErrUnterminatedQuote = errors.New("unterminated quoted field")

// ErrFieldCount reports a record with another number of fields than
// Reader.FieldsPerRecord asks for (the way encoding/csv reports it).
var ErrFieldCount = errors.New("wrong number of fields")

// FieldCountError is the error of a record with the wrong number of
// fields; it wraps ErrFieldCount.
type FieldCountError struct{ Got, Want int }

func (e *FieldCountError) Error() string {
	return fmt.Sprintf("row has %d fields, header has %d", e.Got, e.Want)
}

// Unwrap returns ErrFieldCount.
func (e *FieldCountError) Unwrap() error { return ErrFieldCount }

// ErrLineTooLong reports a line longer than MaxRecordBytes; the reader
// skips it without holding it in memory.
var ErrLineTooLong = errors.New("line longer than the limit")

// DefaultMaxRecordBytes bounds a record: one line, or lines joined inside
// quotes.
const DefaultMaxRecordBytes = 1 << 20

// Reader reads comma-separated records.
type Reader struct {
	// Comma is the field delimiter (default ',').
	Comma byte
	// MaxRecordBytes bounds a record: a longer line is skipped and reported
	// as ErrLineTooLong, a quote left open longer as ErrUnterminatedQuote.
	MaxRecordBytes int
	// FieldsPerRecord, if positive, is the number of fields every record
	// must have; a record with another number is a *RecordError wrapping
	// ErrFieldCount (a *FieldCountError), and reading can continue.
	FieldsPerRecord int

	r       *bufio.Reader
	pending [][]byte // lines pushed back after an unterminated quote
	line    int      // lines consumed so far
	started bool

	raw    []byte // the current record's bytes, lines joined with '\n'
	fields [][]byte
	buf    []byte // unescaped field bytes
	ends   []int
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader {
	return &Reader{Comma: ',', MaxRecordBytes: DefaultMaxRecordBytes, r: bufio.NewReaderSize(r, 1<<20)}
}

// RecordError is a record that could not be parsed. Reading can continue.
type RecordError struct {
	Line int    // line where the record starts (1-based)
	Raw  []byte // the record's first line
	Err  error
}

func (e *RecordError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *RecordError) Unwrap() error { return e.Err }

// Read returns the fields of the next record and the line it starts on.
// Blank lines are skipped. At the end of input it returns io.EOF. A
// malformed record yields a *RecordError; the next call continues after it.
func (r *Reader) Read() (fields [][]byte, line int, err error) {
	for {
		l, err := r.nextLine()
		if errors.Is(err, ErrLineTooLong) {
			return nil, r.line, &RecordError{Line: r.line, Raw: l, Err: fmt.Errorf("%w (%d bytes)", ErrLineTooLong, r.MaxRecordBytes)}
		}
		if err != nil {
			return nil, 0, err
		}
		start := r.line
		if !r.started {
			r.started = true
			l = bytes.TrimPrefix(l, []byte("\xef\xbb\xbf"))
		}
		if len(l) == 0 {
			continue
		}
		r.raw = append(r.raw[:0], l...)
		fields, err := r.parse(start)
		if err != nil {
			return nil, start, err
		}
		if r.FieldsPerRecord > 0 && len(fields) != r.FieldsPerRecord {
			return nil, start, &RecordError{Line: start, Raw: r.raw, Err: &FieldCountError{Got: len(fields), Want: r.FieldsPerRecord}}
		}
		return fields, start, nil
	}
}

// Raw returns the bytes of the last record read, its lines joined by '\n'.
func (r *Reader) Raw() []byte { return r.raw }

// nextLine returns the next line without its line ending. The slice is
// valid until the next call.
func (r *Reader) nextLine() ([]byte, error) {
	if n := len(r.pending); n > 0 {
		l := r.pending[0]
		r.pending = r.pending[1:]
		r.line++
		return l, nil
	}
	l, err := r.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		long := append([]byte(nil), l...)
		for err == bufio.ErrBufferFull {
			l, err = r.r.ReadSlice('\n')
			if len(long)+len(l) > r.MaxRecordBytes {
				// Too long to be a record: skip to the end of the line
				// without keeping it, and report its start.
				head := long[:min(len(long), 200)]
				for err == bufio.ErrBufferFull {
					_, err = r.r.ReadSlice('\n')
				}
				if err != nil && err != io.EOF {
					return nil, err
				}
				r.line++
				return head, ErrLineTooLong
			}
			long = append(long, l...)
		}
		l = long
	}
	if err == io.EOF && len(l) > 0 {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	r.line++
	l = bytes.TrimSuffix(l, []byte{'\n'})
	l = bytes.TrimSuffix(l, []byte{'\r'})
	return l, nil
}

// parse splits r.raw into fields, pulling further lines while a quoted
// field is open.
func (r *Reader) parse(start int) ([][]byte, error) {
	r.buf = r.buf[:0]
	r.ends = r.ends[:0]
	pos := 0
	firstLineEnd := len(r.raw)
	var extra [][]byte // lines consumed by a multi-line field, for push-back
	for {
		// One field begins at pos.
		if pos < len(r.raw) && r.raw[pos] == '"' {
			pos++
			for {
				i := bytes.IndexByte(r.raw[pos:], '"')
				if i < 0 {
					// The quote continues on the next line.
					r.buf = append(r.buf, r.raw[pos:]...)
					r.buf = append(r.buf, '\n')
					if len(r.raw) > r.MaxRecordBytes {
						return nil, r.unterminated(start, firstLineEnd, extra)
					}
					l, err := r.nextLine()
					if err == io.EOF {
						return nil, r.unterminated(start, firstLineEnd, extra)
					}
					if errors.Is(err, ErrLineTooLong) {
						// The record and the lines it swallowed go as one bad record.
						return nil, &RecordError{Line: start, Raw: append([]byte(nil), r.raw[:firstLineEnd]...), Err: fmt.Errorf("%w (%d bytes)", ErrLineTooLong, r.MaxRecordBytes)}
					}
					if err != nil {
						return nil, err
					}
					extra = append(extra, append([]byte(nil), l...))
					r.raw = append(r.raw, '\n')
					pos = len(r.raw)
					r.raw = append(r.raw, l...)
					continue
				}
				r.buf = append(r.buf, r.raw[pos:pos+i]...)
				pos += i + 1
				if pos < len(r.raw) && r.raw[pos] == '"' { // escaped quote
					r.buf = append(r.buf, '"')
					pos++
					continue
				}
				break
			}
			// Text after the closing quote, up to the delimiter, is kept.
			j := bytes.IndexByte(r.raw[pos:], r.Comma)
			if j < 0 {
				j = len(r.raw) - pos
			}
			r.buf = append(r.buf, r.raw[pos:pos+j]...)
			pos += j
		} else {
			j := bytes.IndexByte(r.raw[pos:], r.Comma)
			if j < 0 {
				j = len(r.raw) - pos
			}
			r.buf = append(r.buf, r.raw[pos:pos+j]...)
			pos += j
		}
		r.ends = append(r.ends, len(r.buf))
		if pos >= len(r.raw) {
			break
		}
		pos++ // the delimiter
		if pos == len(r.raw) {
			r.ends = append(r.ends, len(r.buf)) // trailing empty field
			break
		}
	}
	r.fields = r.fields[:0]
	prev := 0
	for _, e := range r.ends {
		r.fields = append(r.fields, r.buf[prev:e:e])
		prev = e
	}
	return r.fields, nil
}

// unterminated reports the record at start as bad and pushes the lines it
// swallowed back, so reading resumes on the line after start.
func (r *Reader) unterminated(start, firstLineEnd int, extra [][]byte) error {
	first := append([]byte(nil), r.raw[:firstLineEnd]...)
	r.pending = append(extra, r.pending...)
	r.line -= len(extra)
	r.raw = append(r.raw[:0], first...)
	return &RecordError{Line: start, Raw: first, Err: ErrUnterminatedQuote}
}
