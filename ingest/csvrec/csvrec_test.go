package csvrec

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
)

type rec struct {
	Line   int
	Fields []string
	Err    string
}

func readAll(t *testing.T, in string) []rec {
	t.Helper()
	r := NewReader(strings.NewReader(in))
	var out []rec
	for {
		f, line, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			out = append(out, rec{Line: re.Line, Err: re.Err.Error()})
			continue
		}
		var s []string
		for _, b := range f {
			s = append(s, string(b))
		}
		out = append(out, rec{Line: line, Fields: s})
	}
}

func TestRead(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []rec
	}{
		{"plain", "a,b,c\n1,2,3\n", []rec{{1, []string{"a", "b", "c"}, ""}, {2, []string{"1", "2", "3"}, ""}}},
		{"bom crlf blank", "\xef\xbb\xbfa,b\r\n\r\n1,2\r\n", []rec{{1, []string{"a", "b"}, ""}, {3, []string{"1", "2"}, ""}}},
		{"no final newline", "a,b\n1,", []rec{{1, []string{"a", "b"}, ""}, {2, []string{"1", ""}, ""}}},
		{"quotes", `x,"a ""LED"" b","c,d",""` + "\n", []rec{{1, []string{"x", `a "LED" b`, "c,d", ""}, ""}}},
		{"multiline", "1,\"two\nlines\",3\n4,5,6\n", []rec{{1, []string{"1", "two\nlines", "3"}, ""}, {3, []string{"4", "5", "6"}, ""}}},
		{"bare quote kept", "1,ab\"c,3\n", []rec{{1, []string{"1", `ab"c`, "3"}, ""}}},
		{"unterminated resumes", "h1,h2\n1,\"oops\n2,b\n3,c\n", []rec{
			{1, []string{"h1", "h2"}, ""},
			{2, nil, ErrUnterminatedQuote.Error()},
			{3, []string{"2", "b"}, ""},
			{4, []string{"3", "c"}, ""},
		}},
		{"backslash", `a\b,"c\"` + "\n", []rec{{1, []string{`a\b`, `c\`}, ""}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := readAll(t, c.in)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// TestAgreesWithEncodingCSV checks well-formed input against the standard
// library's parser.
func TestAgreesWithEncodingCSV(t *testing.T) {
	in := "id,text,n\n1,\"multi\nline, with comma\",3\n2,\"\"\"quoted\"\"\",\n3,plain,4\n"
	std, err := csv.NewReader(strings.NewReader(in)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, in)
	if len(got) != len(std) {
		t.Fatalf("%d records, encoding/csv %d", len(got), len(std))
	}
	for i := range std {
		if !reflect.DeepEqual(got[i].Fields, std[i]) {
			t.Errorf("record %d: %q, encoding/csv %q", i, got[i].Fields, std[i])
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add("a,b\n1,\"x\ny\"\n")
	f.Add("\xef\xbb\xbf\"unterminated\n1,2\r\n")
	f.Add(",,\n\n\"\"\"\"")
	f.Fuzz(func(t *testing.T, in string) {
		r := NewReader(strings.NewReader(in))
		r.MaxRecordBytes = 64
		lastLine := 0
		for i := 0; ; i++ {
			_, line, err := r.Read()
			if err == io.EOF {
				return
			}
			var re *RecordError
			if errors.As(err, &re) {
				line = re.Line
			} else if err != nil {
				t.Fatalf("non-record error %v", err)
			}
			if line <= lastLine {
				t.Fatalf("record %d starts at line %d after line %d", i, line, lastLine)
			}
			lastLine = line
			if i > len(in)+1 {
				t.Fatal("more records than bytes: reader does not advance")
			}
		}
	})
}

// TestLongLineSkipped: a line far over the limit is one bad record,
// skipped without being held, and reading goes on after it.
func TestLongLineSkipped(t *testing.T) {
	long := strings.Repeat("x", 5<<20)
	in := "a,b\n1,2\n" + long + ",3\n4,5\n\"6\n" + long + "\n7,8\n"
	r := NewReader(strings.NewReader(in))
	var got []string
	var bad []int
	for {
		f, line, err := r.Read()
		if err == io.EOF {
			break
		}
		var re *RecordError
		if errors.As(err, &re) {
			if !errors.Is(err, ErrLineTooLong) || len(re.Raw) > 200 {
				t.Fatalf("line %d: %v (raw %d bytes)", re.Line, err, len(re.Raw))
			}
			bad = append(bad, re.Line)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%s", line, bytes.Join(f, []byte("|"))))
	}
	want := []string{"1:a|b", "2:1|2", "4:4|5", "7:7|8"}
	if !slices.Equal(got, want) || !slices.Equal(bad, []int{3, 5}) {
		t.Errorf("records %v, bad lines %v; want %v and [3 5]", got, bad, want)
	}
}
