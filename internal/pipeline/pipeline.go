// Package pipeline runs a city's steps in the order the data flows —
// ingest (dumps, boundary layers, census tables) → assign → analyze — as
// the CLI's demo and the tests that plant truths in synthetic cities both
// need them: one list of steps, each done by its own package.
package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/equity311/equity311/analysis"
	"github.com/equity311/equity311/geo"
	"github.com/equity311/equity311/geo/boundary"
	"github.com/equity311/equity311/ingest/census"
	"github.com/equity311/equity311/ingest/dump"
	"github.com/equity311/equity311/ingest/source"
	"github.com/equity311/equity311/internal/synthcity"
	"github.com/equity311/equity311/store"
)

// Boundary is a boundary file and how it loads.
type Boundary struct {
	File    string
	Options boundary.Options
}

// Census is a census table and how it loads.
type Census struct {
	File    string
	Options census.Options
}

// Files are a city's inputs, loaded in this order: the dumps, the
// boundary layers, the census tables.
type Files struct {
	Dumps      []string
	Boundaries []Boundary
	Census     []Census
}

// Synthetic is how a synthetic city's files load: its dump; its
// neighborhoods (id nbhd_id) and tracts (id GEOID), each named by name;
// and the tracts' census table, vintage "synthetic".
func Synthetic(f synthcity.Files) Files {
	return Files{
		Dumps: []string{f.Dump},
		Boundaries: []Boundary{
			{f.Neighborhoods, boundary.Options{Layer: "neighborhoods", IDProp: "nbhd_id", NameProp: "name"}},
			{f.Tracts, boundary.Options{Layer: "tracts", IDProp: "GEOID", NameProp: "name"}},
		},
		Census: []Census{{f.Census, census.Options{Layer: "tracts", Vintage: "synthetic"}}},
	}
}

// Observer receives each step's result as the step ends (the CLI prints
// them); a nil member is skipped.
type Observer struct {
	Dump       func(dump.Result)
	Boundaries func(file string, r boundary.Result)
	Census     func(file string, r census.Result)
	Assign     func(geo.AssignResult)
	Analyze    func(analysis.Result)
}

// Options configure Run.
type Options struct {
	// Dump is how the dumps load; the zero value detects each file's
	// profile from its header, as source.DefaultDump does.
	Dump source.Dump
	// Env is the dumps' city, clock and log.
	Env     source.Env
	Assign  geo.AssignOptions
	Analyze analysis.Options
	// Log is set on every step's options that have no logger of their own.
	Log     *slog.Logger
	Observe Observer
}

// Run loads f into st, places the tickets and analyses them, stopping at
// the first step that fails, which the error names.
func Run(ctx context.Context, st *store.Store, f Files, opt Options) (analysis.Result, error) {
	var res analysis.Result
	if opt.Env.Log == nil {
		opt.Env.Log = opt.Log
	}
	for _, file := range f.Dumps {
		r, err := opt.Dump.Load(ctx, st, opt.Env, file)
		if err != nil {
			return res, fmt.Errorf("ingest dump %s: %w", filepath.Base(file), err)
		}
		if opt.Observe.Dump != nil {
			opt.Observe.Dump(r)
		}
	}
	for _, b := range f.Boundaries {
		if b.Options.Log == nil {
			b.Options.Log = opt.Log
		}
		r, err := boundary.Load(ctx, st, b.File, b.Options)
		if err != nil {
			return res, fmt.Errorf("ingest boundaries %s: %w", filepath.Base(b.File), err)
		}
		if opt.Observe.Boundaries != nil {
			opt.Observe.Boundaries(b.File, r)
		}
	}
	for _, c := range f.Census {
		if c.Options.Log == nil {
			c.Options.Log = opt.Log
		}
		r, err := census.Load(ctx, st, c.File, c.Options)
		if err != nil {
			return res, fmt.Errorf("ingest census %s: %w", filepath.Base(c.File), err)
		}
		if opt.Observe.Census != nil {
			opt.Observe.Census(c.File, r)
		}
	}
	if opt.Assign.Log == nil {
		opt.Assign.Log = opt.Log
	}
	placed, err := geo.Assign(ctx, st, opt.Assign)
	if err != nil {
		return res, fmt.Errorf("assign: %w", err)
	}
	if opt.Observe.Assign != nil {
		opt.Observe.Assign(placed)
	}
	if opt.Analyze.Log == nil {
		opt.Analyze.Log = opt.Log
	}
	if res, err = analysis.Analyze(ctx, st, opt.Analyze); err != nil {
		return res, fmt.Errorf("analyze: %w", err)
	}
	if opt.Observe.Analyze != nil {
		opt.Observe.Analyze(res)
	}
	return res, nil
}
