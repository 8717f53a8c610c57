package main

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/equity311/equity311/internal/shareddata"
	"github.com/equity311/equity311/internal/storetest"
	"github.com/equity311/equity311/store"
)

// TestREADMEWalkthrough runs the README's Boston walkthrough as written
// (its shell block, with the shared data folder for $D) and checks that
// the report's first screen answers who: the clearest adjusted gap first
// — on Boston's samples majority-Black against majority-white tracts —
// with the table's numbers, where a raw gap shrinks for the same kinds of
// requests, how much of the period the sources cover, and no rate from
// samples.
func TestREADMEWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the walkthrough over every Boston sample takes about 10 s; the full suite runs it")
	}
	data := shareddata.Dir()
	if data == "" {
		shareddata.Path(t, "SOURCES.md") // skips with the message
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	sec := string(readme)[strings.Index(string(readme), "## Walkthrough"):]
	block := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(sec)
	if block == nil {
		t.Fatal("no shell block in the walkthrough")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "boston.duckdb")
	var report string
	for _, line := range strings.Split(strings.ReplaceAll(block[1], "\\\n", " "), "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(strings.ReplaceAll(line, "$D", data))
		if len(f) == 0 || f[0] != "./equity311" {
			continue
		}
		args := f[1:]
		for i, a := range args {
			if a == "--out" && i+1 < len(args) {
				args[i+1] = filepath.Join(dir, args[i+1])
			}
		}
		out := runCLI(t, append([]string{"--db", db, "--quiet"}, args...)...)
		if args[0] == "report" {
			report = strings.TrimSpace(out)
		}
	}
	if report == "" {
		t.Fatal("the walkthrough wrote no report")
	}
	findings := findingsOf(t, readFile(t, report))
	first := strings.Join(findings, "\n")
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The report's "who" layer: the one with the most areas in income groups.
	want := storetest.Strings(t, st, `WITH who AS (SELECT layer FROM analysis_groups WHERE grouping = 'income_quintile'
			GROUP BY layer ORDER BY sum(areas) DESC, layer LIMIT 1)
		SELECT 'gap', grouping || ' ' || bottom_label || ' ' || gap::VARCHAR || ' ' || gap_lo::VARCHAR || ' ' || gap_hi::VARCHAR
		FROM analysis_adjusted_gaps WHERE layer = (SELECT layer FROM who) AND fitted ORDER BY greatest(gap_lo, -gap_hi) DESC LIMIT 1`)["gap"]
	f := strings.Fields(want)
	if len(f) != 5 || f[0] != "majority_race" || f[1] != "black" {
		t.Fatalf("the clearest adjusted gap is %q, want majority-Black against majority-white tracts", want)
	}
	m := regexp.MustCompile(`Requests from tracts where the largest group of residents is Black came through the app ([\d.]+) points less often than from tracts where the largest group of residents is white, for the same kinds of requests \(95% interval: between ([\d.]+) and ([\d.]+) points less\)`).FindStringSubmatch(findings[1])
	if m == nil {
		t.Fatalf("the first gap the report gives is not the race gap:\n%s", first)
	}
	gap, lo, hi := parseF(t, f[2]), parseF(t, f[3]), parseF(t, f[4])
	for i, v := range []float64{gap, lo, hi} {
		if math.Abs(parseF(t, m[i+1])-100*v) > 0.051 {
			t.Errorf("race gap figure %d: the report says %s, the table %.3f", i, m[i+1], 100*v)
		}
	}
	if !strings.Contains(first, "the raw difference of") || !strings.Contains(first, "mostly reflects the kinds of requests made there") {
		t.Errorf("the first screen does not say where a raw gap shrinks for the same kinds of requests:\n%s", first)
	}
	if !regexp.MustCompile(`The sources that record the app cover \d+ of the period's \d+ weeks`).MatchString(first) || strings.Contains(first, "per 1,000 residents") {
		t.Errorf("the first screen should give the covered weeks and no rate:\n%s", first)
	}
}
