package dump

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"

	"github.com/equity311/equity311/internal/jsontext"
)

// pageFunc fetches the records of one page starting at offset; an empty
// page ends the feed.
type pageFunc func(ctx context.Context, offset int) ([]map[string]any, error)

// apiRecords reads JSON records page by page as a RecordReader: each
// record's values in header order (matched by normalized name, since APIs
// write "unique_key" where dumps write "Unique Key" and leave out null
// fields), numbered from 1, with the record's JSON as raw text.
type apiRecords struct {
	ctx     context.Context
	headers []string
	fetch   pageFunc
	page    []map[string]any
	pos     int
	offset  int
	n       int
	done    bool
	raw     []byte
	fields  [][]byte
	hash    hash.Hash
	onPage  func(records []map[string]any)

	pages, maxPages int
	lastPage        [sha256.Size]byte // the sha256 of the page before
}

// DefaultMaxPages is the default cap on the pages of a CKAN or Socrata
// feed: ten million records at the default page size.
const DefaultMaxPages = 10_000

// ErrTooManyPages is a feed still sending records after its page cap.
var ErrTooManyPages = errors.New("too many pages")

// ErrRepeatedPage is a page equal to the one before it: a server that
// ignores the offset would otherwise be read for ever.
var ErrRepeatedPage = errors.New("a page repeats the page before it")

func newAPIRecords(ctx context.Context, headers []string, fetch pageFunc, maxPages int) *apiRecords {
	if maxPages <= 0 {
		maxPages = DefaultMaxPages
	}
	return &apiRecords{ctx: ctx, headers: headers, fetch: fetch, hash: sha256.New(), maxPages: maxPages}
}

func (a *apiRecords) Read() ([][]byte, int, error) {
	for a.pos == len(a.page) {
		if a.done {
			return nil, 0, io.EOF
		}
		page, err := a.fetch(a.ctx, a.offset)
		if err != nil {
			return nil, 0, err
		}
		if len(page) == 0 {
			a.done = true
			return nil, 0, io.EOF
		}
		if a.pages++; a.pages > a.maxPages {
			return nil, 0, fmt.Errorf("%w: still sending records after %d pages (raise the cap for a larger feed)", ErrTooManyPages, a.maxPages)
		}
		if b, err := json.Marshal(page); err == nil {
			sum := sha256.Sum256(b)
			if a.pages > 1 && sum == a.lastPage {
				return nil, 0, fmt.Errorf("%w at offset %d: the server ignores the offset", ErrRepeatedPage, a.offset)
			}
			a.lastPage = sum
		}
		if a.onPage != nil {
			a.onPage(page)
		}
		a.page, a.pos = page, 0
		a.offset += len(page)
	}
	rec := a.page[a.pos]
	a.pos++
	a.n++
	norm := make(map[string]any, len(rec))
	for k, v := range rec {
		norm[normHeader(k)] = v
	}
	a.fields = a.fields[:0]
	for _, h := range a.headers {
		a.fields = append(a.fields, []byte(jsontext.String(norm[normHeader(h)])))
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return nil, 0, err
	}
	a.raw = raw
	a.hash.Write(raw)
	a.hash.Write([]byte{'\n'})
	return a.fields, a.n, nil
}

func (a *apiRecords) Raw() []byte { return a.raw }

// checksum is the sha256 of every record read.
func (a *apiRecords) checksum() (string, error) { return hex.EncodeToString(a.hash.Sum(nil)), nil }

// ProfileHeaders lists the columns a profile reads, for feeds that have no
// header line.
func ProfileHeaders(p *Profile) []string {
	var hs []string
	add := func(h string) {
		if h != "" && !slices.ContainsFunc(hs, func(x string) bool { return normHeader(x) == normHeader(h) }) {
			hs = append(hs, h)
		}
	}
	for _, f := range p.fields() {
		add(f.header)
	}
	for _, ex := range p.Exclude {
		add(ex.Column)
	}
	for _, d := range p.Detect {
		add(d)
	}
	return hs
}

// recordKeys returns the keys seen in a page of records, for detection.
func recordKeys(page []map[string]any) []string {
	seen := map[string]bool{}
	var keys []string
	for _, r := range page {
		for k := range r {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// pickProfile returns p, or detects a built-in profile from keys.
func pickProfile(p *Profile, keys []string) (*Profile, error) {
	if p != nil {
		return p, nil
	}
	builtins, err := BuiltinProfiles()
	if err != nil {
		return nil, err
	}
	return DetectProfile(keys, builtins)
}

func trimSlash(s string) string { return strings.TrimRight(s, "/") }
